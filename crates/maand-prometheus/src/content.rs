//! A job's `_prometheus/` files and which of them count (spec 11 §1): one definition for
//! build (validating the workspace), deploy (assembling from the catalog) and `maand cat
//! prometheus` (counting both), so what build validates is exactly what deploy ships.

use std::collections::{BTreeMap, BTreeSet};

/// A job's monitoring files, relative to its `_prometheus/`.
#[derive(Debug, Default)]
pub struct JobContent {
    pub files: BTreeMap<String, Vec<u8>>,
    /// The job root holds `prometheus.yml` or `prometheus.yml.tpl`.
    pub server: bool,
}

impl JobContent {
    fn direct(&self, dir: &str) -> impl Iterator<Item = (&str, &Vec<u8>)> {
        let prefix = format!("{dir}/");
        self.files.iter().filter_map(move |(p, c)| {
            let name = p.strip_prefix(&prefix)?;
            (!name.contains('/')).then_some((name, c))
        })
    }

    /// Subdirectories of `dir` (`alerts` or `runbooks`): their files do not count.
    pub fn nested(&self, dir: &str) -> BTreeSet<&str> {
        let prefix = format!("{dir}/");
        self.files
            .keys()
            .filter_map(|p| p.strip_prefix(&prefix)?.split_once('/').map(|(sub, _)| sub))
            .collect()
    }

    /// `alerts/*.yaml|*.yml`, by name.
    pub fn alert_files(&self) -> impl Iterator<Item = (&str, &Vec<u8>)> {
        self.direct("alerts")
            .filter(|(n, _)| n.ends_with(".yaml") || n.ends_with(".yml"))
    }

    /// `runbooks/*.md`, by name.
    pub fn runbooks(&self) -> impl Iterator<Item = (&str, &Vec<u8>)> {
        self.direct("runbooks").filter(|(n, _)| n.ends_with(".md"))
    }

    /// Files under `dashboards/` (any depth) except `.dashboardignore`, relative to it.
    pub fn dashboards(&self) -> impl Iterator<Item = (&str, &Vec<u8>)> {
        self.files.iter().filter_map(|(p, c)| {
            let rel = p.strip_prefix("dashboards/")?;
            (rel != ".dashboardignore").then_some((rel, c))
        })
    }

    pub fn has_scrape(&self) -> bool {
        self.files.contains_key("scrape.yaml") || self.files.contains_key("scrape.yaml.tpl")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_counts() {
        let mut c = JobContent::default();
        for p in [
            "alerts/a.yaml",
            "alerts/b.yml",
            "alerts/notes.txt",
            "alerts/old/c.yaml",
            "runbooks/r.md",
            "runbooks/drafts/x.md",
            "dashboards/.dashboardignore",
            "dashboards/a/b.html",
            "scrape.yaml.tpl",
        ] {
            c.files.insert(p.to_string(), Vec::new());
        }
        let names = |it: &mut dyn Iterator<Item = (&str, &Vec<u8>)>| -> Vec<String> {
            it.map(|(n, _)| n.to_string()).collect()
        };
        assert_eq!(names(&mut c.alert_files()), ["a.yaml", "b.yml"]);
        assert_eq!(names(&mut c.runbooks()), ["r.md"]);
        assert_eq!(names(&mut c.dashboards()), ["a/b.html"]);
        assert_eq!(c.nested("alerts"), BTreeSet::from(["old"]));
        assert_eq!(c.nested("runbooks"), BTreeSet::from(["drafts"]));
        assert!(c.has_scrape());
    }
}
