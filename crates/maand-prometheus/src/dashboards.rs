//! Dashboards (spec 11 §6.4): each job's `_prometheus/dashboards/` tree copied into the
//! server job's `consoles/dashboards/<job>/`, plus an index page linking the HTML ones.

use std::collections::BTreeMap;

use globset::{GlobBuilder, GlobMatcher};

use crate::page;

/// One file of a job's dashboards tree as stored in the catalog.
pub struct DashboardFile {
    pub job: String,
    /// Relative to the job's `_prometheus/dashboards/`, `/`-separated.
    pub rel: String,
    pub content: Vec<u8>,
}

/// A job's `.dashboardignore`, compiled once: it hides partials and drafts from the index
/// while keeping them reachable by URL.
pub struct IgnoreList {
    patterns: Vec<Pattern>,
}

struct Pattern {
    matcher: GlobMatcher,
    /// A pattern without `/` also matches a file's base name at any depth.
    base_name: bool,
}

const IGNORE_FILE: &str = ".dashboardignore";

impl IgnoreList {
    /// Parses the file; the error names the line and pattern so build can point at it.
    pub fn parse(text: &str) -> Result<IgnoreList, String> {
        let mut patterns = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (glob, base_name) = match line.strip_suffix('/') {
                Some(dir) => (format!("{dir}/**"), false),
                None => (line.to_string(), !line.contains('/')),
            };
            let matcher = GlobBuilder::new(&glob)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| {
                    format!(
                        "line {}: invalid pattern {line:?}: {}",
                        number + 1,
                        e.kind()
                    )
                })?
                .compile_matcher();
            patterns.push(Pattern { matcher, base_name });
        }
        Ok(IgnoreList { patterns })
    }

    /// Whether `rel` (relative to `dashboards/`) is kept out of the index.
    pub fn is_ignored(&self, rel: &str) -> bool {
        self.patterns
            .iter()
            .any(|p| p.matcher.is_match(rel) || (p.base_name && p.matcher.is_match(base_name(rel))))
    }
}

/// Builds the whole `consoles/dashboards/` tree, paths relative to it. Nothing at all when
/// no job ships a dashboard file, so the server gets no empty index.
pub fn assemble(
    files: &[DashboardFile],
    ignores: &BTreeMap<String, IgnoreList>,
) -> Vec<(String, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut index: BTreeMap<&str, BTreeMap<&str, String>> = BTreeMap::new();
    for file in files.iter().filter(|f| base_name(&f.rel) != IGNORE_FILE) {
        out.insert(format!("{}/{}", file.job, file.rel), file.content.clone());
        let ignored = ignores
            .get(&file.job)
            .is_some_and(|i| i.is_ignored(&file.rel));
        if !ignored && is_dashboard(&file.rel) {
            let label = title(&file.content).unwrap_or_else(|| base_name(&file.rel).to_string());
            index.entry(&file.job).or_default().insert(&file.rel, label);
        }
    }
    if out.is_empty() {
        return Vec::new();
    }
    out.insert("index.html".to_string(), index_page(&index));
    out.insert("style.css".to_string(), page::STYLE.as_bytes().to_vec());
    out.into_iter().collect()
}

fn base_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// Only HTML pages are dashboards; hidden files and assets (CSS, JS, images) are not.
fn is_dashboard(rel: &str) -> bool {
    let name = base_name(rel).to_ascii_lowercase();
    !name.starts_with('.') && (name.ends_with(".html") || name.ends_with(".htm"))
}

/// The trimmed text of the first `<title>` element, found case-insensitively across lines.
fn title(content: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(content);
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    loop {
        let after = from + lower[from..].find("<title")? + "<title".len();
        from = after;
        if lower[after..].starts_with(|c: char| c == '>' || c.is_ascii_whitespace()) {
            let start = after + lower[after..].find('>')? + 1;
            let end = start + lower[start..].find("</title")?;
            let title = text[start..end].trim();
            return (!title.is_empty()).then(|| title.to_string());
        }
    }
}

fn index_page(index: &BTreeMap<&str, BTreeMap<&str, String>>) -> Vec<u8> {
    let mut body = String::from("<h1>Dashboards</h1>\n");
    for (job, pages) in index {
        body.push_str(&format!("<h2>{}</h2>\n<ul>\n", page::escape_html(job)));
        for (rel, label) in pages {
            let href = page::url_path(&format!("{job}/{rel}"));
            let label = page::escape_html(label);
            body.push_str(&format!("<li><a href=\"{href}\">{label}</a></li>\n"));
        }
        body.push_str("</ul>\n");
    }
    page::document("Dashboards", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(job: &str, rel: &str, content: &[u8]) -> DashboardFile {
        DashboardFile {
            job: job.into(),
            rel: rel.into(),
            content: content.to_vec(),
        }
    }

    fn ignores(job: &str, text: &str) -> BTreeMap<String, IgnoreList> {
        BTreeMap::from([(job.to_string(), IgnoreList::parse(text).unwrap())])
    }

    fn index(out: &[(String, Vec<u8>)]) -> String {
        let (_, content) = out.iter().find(|(p, _)| p == "index.html").unwrap();
        String::from_utf8(content.clone()).unwrap()
    }

    #[test]
    fn nothing_without_files() {
        assert!(assemble(&[], &BTreeMap::new()).is_empty());
        let only_ignore = [file("web", ".dashboardignore", b"*.tmp\n")];
        assert!(assemble(&only_ignore, &BTreeMap::new()).is_empty());
    }

    #[test]
    fn files_copied_verbatim_except_ignore_file() {
        let raw = b"<title>{{ .X }}</title>\xff\x00".to_vec();
        let out = assemble(
            &[
                file("web", "main.html", &raw),
                file("web", ".dashboardignore", b"x"),
                file("web", "sub/.dashboardignore", b"x"),
                file("db", "img/logo.png", b"\x89PNG"),
            ],
            &BTreeMap::new(),
        );
        let paths: Vec<_> = out.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "db/img/logo.png",
                "index.html",
                "style.css",
                "web/main.html"
            ]
        );
        assert_eq!(out[3].1, raw);
        assert_eq!(out[2].1, page::STYLE.as_bytes());
    }

    #[test]
    fn index_order_labels_and_unlisted_files() {
        let files = [
            file(
                "web",
                "z.html",
                b"<html><TITLE lang=\"en\">\n  Zeta\n  board </Title>",
            ),
            file("web", "a/b.htm", b"<titlebar>no</titlebar>"),
            file("web", "empty.html", b"<title>  </title>"),
            file("web", ".hidden.html", b""),
            file("web", "app.css", b""),
            file("web", "partials/head.html", b""),
            file("db", "x.html", b"<title>DB & <co> {{x}}</title>"),
        ];
        let out = assemble(&files, &ignores("web", "partials/\n"));
        assert_eq!(out.len(), files.len() + 2);
        let index = index(&out);
        assert!(index.contains("<title>Dashboards</title>"));
        assert!(index.contains(
            "<h1>Dashboards</h1>\n<h2>db</h2>\n<ul>\n\
             <li><a href=\"db/x.html\">DB &amp; &lt;co&gt; {{ \"{{\" }}x{{ \"}}\" }}</a></li>\n</ul>\n\
             <h2>web</h2>\n<ul>\n<li><a href=\"web/a/b.htm\">b.htm</a></li>\n\
             <li><a href=\"web/empty.html\">empty.html</a></li>\n\
             <li><a href=\"web/z.html\">Zeta\n  board</a></li>\n</ul>\n"
        ), "{index}");
    }

    #[test]
    fn job_without_listed_pages_has_no_heading() {
        let out = assemble(&[file("web", "app.js", b"")], &BTreeMap::new());
        assert!(!index(&out).contains("<h2>"));
    }

    #[test]
    fn ignore_pattern_forms() {
        let list = IgnoreList::parse(
            "# comment\n\n  _partial.html  \n*.tmp\r\nslo/*.html\npartials/\n**/draft.html\nold/**\n",
        )
        .unwrap();
        for ignored in [
            "_partial.html",
            "deep/dir/_partial.html",
            "a.tmp",
            "x/y/a.tmp",
            "slo/one.html",
            "partials/head.html",
            "partials/deep/foot.html",
            "draft.html",
            "a/b/draft.html",
            "old/x.html",
            "old/y/z.html",
        ] {
            assert!(list.is_ignored(ignored), "{ignored}");
        }
        for kept in [
            "main.html",
            "slo/deep/one.html",
            "x/slo/one.html",
            "x/partials/a.html",
            "old.html",
            "# comment",
        ] {
            assert!(!list.is_ignored(kept), "{kept}");
        }
    }

    #[test]
    fn bad_glob_names_line_and_pattern() {
        let err = IgnoreList::parse("ok.html\n\nbad[\n").err().unwrap();
        assert!(
            err.starts_with("line 3: invalid pattern \"bad[\": "),
            "{err}"
        );
    }
}
