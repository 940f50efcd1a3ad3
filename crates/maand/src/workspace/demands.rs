//! Cross-job checks (spec 03 §7): demands, participant versions, version ranges, cycles.

use super::job::Job;
use super::version::Version;
use crate::error::{Error, Kind, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The job-level demand graph: job → distinct upstream jobs, both in name order.
pub fn graph(jobs: &[Job]) -> BTreeMap<String, BTreeSet<String>> {
    jobs.iter()
        .map(|j| {
            let ups = j
                .manifest
                .commands
                .iter()
                .filter(|c| !c.demand.job.is_empty())
                .map(|c| c.demand.job.clone())
                .collect();
            (j.name.clone(), ups)
        })
        .collect()
}

/// Validates every demand; `jobs` are in name order.
pub fn validate(jobs: &[Job]) -> Result<()> {
    let by_name: BTreeMap<&str, &Job> = jobs.iter().map(|j| (j.name.as_str(), j)).collect();
    let mut participants = BTreeSet::new();
    for job in jobs {
        for cmd in &job.manifest.commands {
            let d = &cmd.demand;
            let at = format!("job {} hook {}", job.name, cmd.name);
            if d.job.is_empty() && d.command.is_empty() {
                continue;
            }
            if d.job.is_empty() || d.command.is_empty() {
                return Err(Error::new(
                    Kind::InvalidJobCommandDemand,
                    format!("{at}: demands.job and demands.command must both be set"),
                ));
            }
            if d.job == job.name {
                return Err(Error::new(
                    Kind::InvalidJobCommandConfiguration,
                    format!("{at}: self referencing demand"),
                ));
            }
            let Some(up) = by_name.get(d.job.as_str()) else {
                return Err(Error::new(
                    Kind::InvalidJobCommandDemand,
                    format!("{at} demands unknown job \"{}\"", d.job),
                ));
            };
            if !up.manifest.commands.iter().any(|c| c.name == d.command) {
                return Err(Error::new(
                    Kind::InvalidJobCommandDemand,
                    format!(
                        "{at} demands job \"{}\" hook \"{}\" which is not declared",
                        d.job, d.command
                    ),
                ));
            }
            participants.insert(job.name.clone());
            participants.insert(d.job.clone());
        }
    }
    for name in &participants {
        if by_name[name.as_str()].manifest.parsed_version.is_none() {
            return Err(Error::new(
                Kind::InvalidJobVersion,
                format!("job \"{name}\" must declare version (dependency participant)"),
            ));
        }
    }
    for job in jobs {
        for cmd in &job.manifest.commands {
            let d = &cmd.demand;
            if d.job.is_empty() {
                continue;
            }
            let at = format!("job {} hook {}", job.name, cmd.name);
            let bound = |key: &str| -> Result<Option<Version>> {
                match d.config.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Version::parse(s).map(Some).map_err(|e| {
                        Error::new(
                            Kind::InvalidJobVersion,
                            format!("{at}: demands.config.{key}: {e}"),
                        )
                    }),
                    Some(Value::Number(n)) if n.as_u64().is_some() => Ok(Some(Version {
                        major: n.as_u64().unwrap_or(0),
                        minor: 0,
                        patch: 0,
                        pre: None,
                    })),
                    Some(other) => Err(Error::new(
                        Kind::InvalidJobVersion,
                        format!("{at}: demands.config.{key}: {other} is not a version"),
                    )),
                }
            };
            let (min, max) = (bound("min_version")?, bound("max_version")?);
            if let (Some(a), Some(b)) = (&min, &max) {
                if a > b {
                    return Err(Error::new(
                        Kind::InvalidJobCommandConfiguration,
                        format!("{at}: min_version {a} > max_version {b}"),
                    ));
                }
            }
            let Some(upv) = by_name[d.job.as_str()].manifest.parsed_version.as_ref() else {
                continue;
            };
            let mismatch = |what: &str, b: &Version| {
                Error::new(
                    Kind::JobCommandDemandVersionMismatch,
                    format!(
                        "{at} depends on {}: upstream version {upv} {what} {b}",
                        d.job
                    ),
                )
            };
            if let Some(a) = &min {
                if upv < a {
                    return Err(mismatch("below min_version", a));
                }
            }
            if let Some(b) = &max {
                if upv > b {
                    return Err(mismatch("above max_version", b));
                }
            }
        }
    }
    check_cycles(&graph(jobs))
}

/// Depth-first search in name order; reports the first cycle as `a -> b -> a`.
pub fn check_cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Result<()> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit<'a>(
        n: &'a str,
        g: &'a BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Option<String> {
        marks.insert(n, Mark::Active);
        stack.push(n);
        for up in g.get(n).into_iter().flatten() {
            match marks.get(up.as_str()).copied().unwrap_or(Mark::New) {
                Mark::Active => {
                    let start = stack.iter().position(|s| *s == up).unwrap_or(0);
                    let mut path: Vec<&str> = stack[start..].to_vec();
                    path.push(up);
                    return Some(path.join(" -> "));
                }
                Mark::New => {
                    if let Some(c) = visit(up, g, marks, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks.insert(n, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for n in graph.keys() {
        if marks.get(n.as_str()).copied().unwrap_or(Mark::New) == Mark::New {
            if let Some(c) = visit(n, graph, &mut marks, &mut Vec::new()) {
                return Err(Error::new(Kind::CircularJobCommandDependency, c));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(edges: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        edges
            .iter()
            .map(|(a, bs)| (a.to_string(), bs.iter().map(|b| b.to_string()).collect()))
            .collect()
    }

    #[test]
    fn cycles() {
        assert!(check_cycles(&g(&[("a", &["b"]), ("b", &["c"]), ("c", &[])])).is_ok());
        let e = check_cycles(&g(&[("a", &["b"]), ("b", &["a"])])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "circular job command dependency: a -> b -> a"
        );
        let e = check_cycles(&g(&[("a", &["b"]), ("b", &["c"]), ("c", &["b"])])).unwrap_err();
        assert_eq!(e.detail, "b -> c -> b");
    }
}
