//! The HTML shell shared by generated console pages (runbooks and the dashboard index).
//!
//! Prometheus serves `consoles/` by executing every file as a Go `html/template`, so a
//! generated page must neutralise literal `{{`/`}}` or an innocent runbook would break
//! (or run) as a template. Pages must also work on offline hosts: the stylesheet is
//! inlined and nothing is loaded from elsewhere.

/// Inlined in every page and also shipped as `style.css` next to them. Contains no
/// `{{`/`}}`, so the shipped file is safe to serve as a console template unchanged.
pub(crate) const STYLE: &str = include_str!("style.css");

/// Escapes text for HTML element content and double- or single-quoted attributes.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a relative URL path so names with spaces, `#` or `?` still link to
/// the file they name. `/` is kept as the separator.
pub(crate) fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Makes literal `{{` and `}}` print as themselves when Prometheus executes the page as a
/// Go template. One left-to-right pass, so the braces it inserts are never re-escaped.
pub(crate) fn escape_console(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(tail) = rest.strip_prefix("{{") {
            out.push_str(r#"{{ "{{" }}"#);
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix("}}") {
            out.push_str(r#"{{ "}}" }}"#);
            rest = tail;
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// A complete, console-escaped HTML5 document. `title` is plain text; `body` is HTML
/// whose interpolated names the caller has already escaped.
pub(crate) fn document(title: &str, body: &str) -> Vec<u8> {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n\
         </body>\n</html>\n",
        escape_html(title)
    );
    escape_console(&html).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn console_escaping_is_one_pass() {
        assert_eq!(
            escape_console("a {{ b }} c"),
            r#"a {{ "{{" }} b {{ "}}" }} c"#
        );
        assert_eq!(escape_console("{{{"), r#"{{ "{{" }}{"#);
        assert_eq!(escape_console("}}}}"), r#"{{ "}}" }}{{ "}}" }}"#);
        assert_eq!(escape_console("é{ }"), "é{ }");
    }

    #[test]
    fn url_paths_are_percent_encoded() {
        assert_eq!(url_path("a b/c#d?.html"), "a%20b/c%23d%3F.html");
        assert_eq!(url_path("é"), "%C3%A9");
    }

    #[test]
    fn stylesheet_is_template_safe() {
        assert_eq!(escape_console(STYLE), STYLE);
        assert!(!STYLE.contains("url("), "no external resources");
    }

    #[test]
    fn document_is_self_contained_and_escaped() {
        let page = String::from_utf8(document("a <b> {{x}}", "<p>{{ y }}</p>\n")).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>\n"));
        assert!(page.contains(r#"<title>a &lt;b&gt; {{ "{{" }}x{{ "}}" }}</title>"#));
        assert!(page.contains(&format!("<style>\n{STYLE}</style>")));
        assert!(page.contains(r#"<p>{{ "{{" }} y {{ "}}" }}</p>"#));
        assert!(!page.contains("<script") && !page.contains("<link"));
    }
}
