//! Runbook pages (spec 11 §6.3): each job's `_prometheus/runbooks/<slug>.md` rendered to a
//! static console page, so an alert's `runbook_url` opens on the Prometheus host itself.

use std::collections::BTreeMap;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

use crate::page;

/// One runbook as stored in the catalog; the slug is the file name without `.md`.
pub struct Runbook {
    pub job: String,
    pub slug: String,
    pub markdown: String,
}

/// Renders the whole `consoles/runbooks/` tree, paths relative to it. Nothing at all when
/// there are no runbooks, so a bucket without them gets no empty index. Runbooks with an
/// invalid slug (build rejects them) are skipped rather than written outside the tree.
pub fn render(runbooks: &[Runbook]) -> Vec<(String, Vec<u8>)> {
    let mut files = BTreeMap::new();
    let mut index: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for runbook in runbooks.iter().filter(|r| valid_slug(&r.slug)) {
        let (job, slug) = (runbook.job.as_str(), runbook.slug.as_str());
        files.insert(format!("{job}/{slug}.html"), runbook_page(runbook));
        index.entry(job).or_default().push(slug);
    }
    if files.is_empty() {
        return Vec::new();
    }
    files.insert("index.html".to_string(), index_page(index));
    files.insert("style.css".to_string(), page::STYLE.as_bytes().to_vec());
    files.into_iter().collect()
}

/// Slugs become file names and URL segments, so they may not start with `.` or `-` nor
/// hold separators or characters needing escapes.
pub fn valid_slug(slug: &str) -> bool {
    let mut chars = slug.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn runbook_page(runbook: &Runbook) -> Vec<u8> {
    let (job, slug) = (
        page::escape_html(&runbook.job),
        page::escape_html(&runbook.slug),
    );
    let body = format!(
        "<p class=\"breadcrumb\"><a href=\"../index.html\">Runbooks</a> / {job} / {slug}</p>\n\
         <article>\n{}</article>\n",
        markdown_to_html(&runbook.markdown)
    );
    page::document(&format!("{} / {}", runbook.job, runbook.slug), &body)
}

fn index_page(mut index: BTreeMap<&str, Vec<&str>>) -> Vec<u8> {
    let mut body = String::from("<h1>Runbooks</h1>\n");
    for (job, slugs) in &mut index {
        slugs.sort_unstable();
        body.push_str(&format!("<h2>{}</h2>\n<ul>\n", page::escape_html(job)));
        for slug in slugs.iter() {
            let href = page::url_path(&format!("{job}/{slug}.html"));
            let label = page::escape_html(slug);
            body.push_str(&format!("<li><a href=\"{href}\">{label}</a></li>\n"));
        }
        body.push_str("</ul>\n");
    }
    page::document("Runbooks", &body)
}

/// GitHub-flavoured Markdown without raw HTML: a runbook is documentation, and markup
/// in it must not restyle the page or inject scripts into the Prometheus origin.
fn markdown_to_html(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let parser = pulldown_cmark::utils::TextMergeStream::new(Parser::new_ext(markdown, options));
    // Depth of code blocks, links and images, where bare URLs must stay text.
    let mut verbatim = 0usize;
    let mut events = Vec::new();
    for event in parser {
        match event {
            Event::Start(Tag::HtmlBlock) => {
                events.push(Event::Start(Tag::CodeBlock(CodeBlockKind::Indented)));
            }
            Event::End(TagEnd::HtmlBlock) => events.push(Event::End(TagEnd::CodeBlock)),
            Event::Html(raw) | Event::InlineHtml(raw) => events.push(Event::Text(raw)),
            Event::Start(tag @ (Tag::CodeBlock(_) | Tag::Link { .. } | Tag::Image { .. })) => {
                verbatim += 1;
                events.push(Event::Start(tag));
            }
            Event::End(end @ (TagEnd::CodeBlock | TagEnd::Link | TagEnd::Image)) => {
                verbatim = verbatim.saturating_sub(1);
                events.push(Event::End(end));
            }
            Event::Text(text) if verbatim == 0 => autolink(&text, &mut events),
            other => events.push(other),
        }
    }
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html
}

/// GFM's bare `http(s)://` autolinks, which pulldown-cmark 0.13 does not implement.
fn autolink(text: &str, events: &mut Vec<Event<'_>>) {
    let mut rest = text;
    while let Some((start, end)) = find_url(rest) {
        if start > 0 {
            events.push(Event::Text(CowStr::from(rest[..start].to_string())));
        }
        let url = CowStr::from(rest[start..end].to_string());
        events.push(Event::Start(Tag::Link {
            link_type: LinkType::Autolink,
            dest_url: url.clone(),
            title: CowStr::Borrowed(""),
            id: CowStr::Borrowed(""),
        }));
        events.push(Event::Text(url));
        events.push(Event::End(TagEnd::Link));
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        events.push(Event::Text(CowStr::from(rest.to_string())));
    }
}

/// The byte range of the first bare URL: it starts at a word boundary, runs to whitespace
/// or `<`, and loses trailing punctuation and an unbalanced `)` as in GFM.
fn find_url(text: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(found) = text[from..].find("http") {
        let start = from + found;
        let candidate = &text[start..];
        let at_boundary = !text[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        let host = candidate
            .strip_prefix("https://")
            .or_else(|| candidate.strip_prefix("http://"));
        if at_boundary
            && host.is_some_and(|h| h.starts_with(|c: char| c.is_alphanumeric() || c == '['))
        {
            let len = candidate
                .find(|c: char| c.is_whitespace() || c == '<')
                .unwrap_or(candidate.len());
            return Some((start, start + trim_url_end(&candidate[..len]).len()));
        }
        from = start + "http".len();
    }
    None
}

fn trim_url_end(mut url: &str) -> &str {
    loop {
        let mut trimmed =
            url.trim_end_matches(['.', ',', ':', ';', '!', '?', '\'', '"', '*', '_', '~']);
        if trimmed.ends_with(')') && trimmed.matches(')').count() > trimmed.matches('(').count() {
            trimmed = &trimmed[..trimmed.len() - 1];
        }
        if trimmed.len() == url.len() {
            return url;
        }
        url = trimmed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runbook(job: &str, slug: &str, markdown: &str) -> Runbook {
        Runbook {
            job: job.into(),
            slug: slug.into(),
            markdown: markdown.into(),
        }
    }

    fn file(files: &[(String, Vec<u8>)], path: &str) -> String {
        let (_, content) = files.iter().find(|(p, _)| p == path).expect(path);
        String::from_utf8(content.clone()).unwrap()
    }

    #[test]
    fn no_runbooks_no_files() {
        assert!(render(&[]).is_empty());
    }

    #[test]
    fn tree_and_index() {
        let files = render(&[
            runbook("web", "z-last", "# Z"),
            runbook("db", "restore", "# R"),
            runbook("web", "a.first", "# A"),
        ]);
        let paths: Vec<_> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "db/restore.html",
                "index.html",
                "style.css",
                "web/a.first.html",
                "web/z-last.html"
            ]
        );
        assert_eq!(file(&files, "style.css"), page::STYLE);
        let index = file(&files, "index.html");
        assert!(index.contains("<title>Runbooks</title>"));
        assert!(index.contains(
            "<h1>Runbooks</h1>\n<h2>db</h2>\n<ul>\n<li><a href=\"db/restore.html\">restore</a></li>\n</ul>\n\
             <h2>web</h2>\n<ul>\n<li><a href=\"web/a.first.html\">a.first</a></li>\n\
             <li><a href=\"web/z-last.html\">z-last</a></li>\n</ul>\n"
        ));
    }

    #[test]
    fn page_title_breadcrumb_and_markdown() {
        let files = render(&[runbook("web", "disk", "# Disk full\n\nRun `df -h`.")]);
        let page = file(&files, "web/disk.html");
        assert!(page.contains("<title>web / disk</title>"));
        assert!(page.contains(
            "<p class=\"breadcrumb\"><a href=\"../index.html\">Runbooks</a> / web / disk</p>"
        ));
        assert!(page.contains("<h1>Disk full</h1>\n<p>Run <code>df -h</code>.</p>"));
        assert!(page.contains(&format!("<style>\n{}</style>", page::STYLE)));
    }

    #[test]
    fn names_are_html_escaped() {
        let files = render(&[runbook("a<b>&", "s", "")]);
        let page = file(&files, "a<b>&/s.html");
        assert!(page.contains("<title>a&lt;b&gt;&amp; / s</title>"));
        assert!(page.contains("</a> / a&lt;b&gt;&amp; / s</p>"));
        let index = file(&files, "index.html");
        assert!(index.contains("<h2>a&lt;b&gt;&amp;</h2>"));
        assert!(index.contains("href=\"a%3Cb%3E%26/s.html\""));
    }

    #[test]
    fn invalid_slugs_are_skipped() {
        assert!(render(&[runbook("web", "../escape", "x")]).is_empty());
    }

    #[test]
    fn console_braces_are_escaped_everywhere() {
        let files = render(&[runbook("web", "tpl", "Use {{ .Value }} and `}}`.")]);
        let page = file(&files, "web/tpl.html");
        assert!(page
            .contains(r#"<p>Use {{ "{{" }} .Value {{ "}}" }} and <code>{{ "}}" }}</code>.</p>"#));
        assert!(!page
            .replace(r#"{{ "{{" }}"#, "")
            .replace(r#"{{ "}}" }}"#, "")
            .contains("{{"));
    }

    #[test]
    fn raw_html_is_shown_not_passed_through() {
        let html =
            markdown_to_html("<script>alert(1)</script>\n\nText <b onclick=\"x\">bold</b>.\n");
        assert!(!html.contains("<script") && !html.contains("<b "), "{html}");
        assert!(html.contains("<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;\n</code></pre>"));
        assert!(html.contains("<p>Text &lt;b onclick=\"x\"&gt;bold&lt;/b&gt;.</p>"));
    }

    #[test]
    fn gfm_extensions() {
        let html = markdown_to_html(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~\n\n- [x] done\n- [ ] todo\n",
        );
        assert!(
            html.contains("<table>") && html.contains("<th>a</th>") && html.contains("<td>2</td>")
        );
        assert!(html.contains("<del>old</del>"));
        assert!(html.contains("<input disabled=\"\" type=\"checkbox\" checked=\"\"/>"));
        assert!(html.contains("<input disabled=\"\" type=\"checkbox\"/>"));
    }

    #[test]
    fn bare_urls_are_linked() {
        let html = markdown_to_html(
            "See https://grafana.example/d/x?a=1&b=2. Or (http://h:9090/graph), <https://auto.example>.\n",
        );
        assert!(html.contains(
            "See <a href=\"https://grafana.example/d/x?a=1&amp;b=2\">https://grafana.example/d/x?a=1&amp;b=2</a>. "
        ), "{html}");
        assert!(html.contains("(<a href=\"http://h:9090/graph\">http://h:9090/graph</a>)"));
        assert!(html.contains("<a href=\"https://auto.example\">https://auto.example</a>."));
    }

    #[test]
    fn urls_stay_text_in_code_and_links() {
        let html = markdown_to_html(
            "`http://a.b` [x http://c.d](http://e.f) xhttp://g.h http://\n\n    http://i.j\n",
        );
        assert_eq!(html.matches("<a ").count(), 1, "{html}");
        assert!(html.contains("<code>http://a.b</code>"));
        assert!(html.contains("xhttp://g.h http://</p>"));
    }

    #[test]
    fn url_trimming() {
        assert_eq!(trim_url_end("http://x/a_(b))."), "http://x/a_(b)");
        assert_eq!(trim_url_end("http://x/\"';"), "http://x/");
    }

    #[test]
    fn slugs() {
        for ok in ["a", "A0", "db-restore", "v1.2_x"] {
            assert!(valid_slug(ok), "{ok}");
        }
        for bad in ["", ".hidden", "-x", "_x", "a/b", "a b", "é", "a\\b"] {
            assert!(!valid_slug(bad), "{bad}");
        }
    }
}
