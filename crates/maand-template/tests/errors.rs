//! Error positions, classes and texts of spec 05 §6, and the KV error paths
//! the Go-generated corpus cannot express (decryption failures, secrets).

use std::cell::RefCell;

use maand_template::{check, render, Context, Dialect, ErrorKind, KvSource, TemplateError};

/// A KV with one readable namespace per test, recording every read.
struct Kv {
    reads: RefCell<Vec<String>>,
}

impl Kv {
    fn new() -> Self {
        Kv {
            reads: RefCell::new(Vec::new()),
        }
    }
}

impl KvSource for Kv {
    fn get(&self, namespace: &str, key: &str) -> Result<Option<String>, String> {
        self.reads.borrow_mut().push(format!("{namespace}/{key}"));
        match (namespace, key) {
            ("secrets/job/api", "broken") => Err("failed to decrypt kv value".into()),
            ("secrets/job/api", "db_password") => Ok(Some("s3cret".into())),
            ("vars/job/api", "memory") => Ok(Some("2048".into())),
            ("vars/job/api", _) => Ok(None),
            (ns, _) => Err(format!(
                "namespace {ns} is not readable by job api on 10.0.0.1"
            )),
        }
    }

    fn keys(&self, namespace: &str) -> Result<Vec<String>, String> {
        Err(format!(
            "namespace {namespace} is not readable by job api on 10.0.0.1"
        ))
    }

    fn scrape_configs(&self) -> Result<String, String> {
        Err("scrape catalog is corrupt".into())
    }
}

fn ctx() -> Context {
    Context {
        job: "api".into(),
        worker_ip: "10.0.0.1".into(),
        labels: vec!["worker".into()],
        ..Context::default()
    }
}

fn err(path: &str, src: &str) -> TemplateError {
    match render(path, src, Dialect::Deploy, &ctx(), &Kv::new()) {
        Ok(out) => panic!("expected an error, got {out:?}"),
        Err(e) => e,
    }
}

#[test]
fn render_error_names_path_line_and_column_of_the_action() {
    let e = err(
        "conf/app.tpl",
        "a: 1\nb: 2\nx: {{ get \"vars/job/api\" \"nope\" }}\n",
    );
    assert_eq!(e.kind, ErrorKind::Render);
    assert_eq!(
        e.to_string(),
        "conf/app.tpl:3:4: get \"vars/job/api\" \"nope\": key not found: namespace vars/job/api, key nope"
    );
}

#[test]
fn columns_count_characters_and_point_at_the_opening_delimiter() {
    let e = err("a.tpl", "héé {{- \n  .Nope }}");
    assert_eq!((e.line, e.col), (1, 5));
    let e = err(
        "a.tpl",
        "{{ if true }}\n  {{ if lt 1 \"x\" }}{{ end }}{{ end }}",
    );
    assert_eq!(
        (e.line, e.col, e.detail.as_str()),
        (2, 3, "incompatible types for comparison")
    );
}

#[test]
fn unclosed_block_reports_unexpected_eof_at_the_block() {
    let e = err("a.tpl", "line1\n{{ if true }}");
    assert_eq!(e.kind, ErrorKind::Parse);
    assert_eq!(e.to_string(), "a.tpl:2:1: unexpected EOF");
}

#[test]
fn errors_inside_a_define_name_the_template_and_its_call_line() {
    let e = err(
        "a.tpl",
        "{{ define \"t\" }}\n  {{ .Nope }}{{ end }}\n\n{{ template \"t\" . }}",
    );
    assert_eq!(
        e.to_string(),
        "a.tpl:2:3: can't evaluate field Nope in type record (in template \"t\" called at line 4)"
    );
}

#[test]
fn line_numbers_survive_multi_line_comments() {
    let e = err("a.tpl", "{{/* one\ntwo\nthree */}}\n{{ foo }}");
    assert_eq!((e.kind, e.line, e.col), (ErrorKind::Parse, 4, 1));
    assert_eq!(e.detail, "function \"foo\" not defined");
}

#[test]
fn check_reports_what_never_runs() {
    let c = |src: &str| check("a.tpl", src, Dialect::Deploy).map_err(|e| e.detail);
    assert_eq!(
        c("{{ if false }}{{ nope 1 }}{{ end }}"),
        Err("function \"nope\" not defined".into())
    );
    assert_eq!(
        c("{{ if false }}{{ $x }}{{ end }}"),
        Err("undefined variable \"$x\"".into())
    );
    assert_eq!(
        c("{{ if false }}{{ break }}{{ end }}"),
        Err("{{break}} outside {{range}}".into())
    );
    assert_eq!(c("{{ get \"a\" \"b\" }}{{ template \"nowhere\" }}"), Ok(()));
    assert_eq!(
        check("scrape.yaml.tpl", "{{ scrapeConfigs }}", Dialect::Scrape).map_err(|e| e.detail),
        Err("function \"scrapeConfigs\" not defined".into())
    );
}

#[test]
fn secrets_never_appear_in_errors() {
    let e = err("a.tpl", "{{ getSecret \"broken\" }}");
    assert_eq!(e.detail, "getSecret \"broken\": failed to decrypt kv value");
    let e = err(
        "a.tpl",
        "{{ $p := getSecret \"db_password\" }}{{ add $p 1 }}",
    );
    assert_eq!(e.detail, "wrong type for value; expected int; got string");
    let e = err(
        "a.tpl",
        "{{ $p := getSecret \"db_password\" }}{{ range $p }}{{ end }}",
    );
    assert_eq!(e.detail, "range can't iterate over ******");
    let e = err(
        "a.tpl",
        "{{ int (get \"secrets/job/api\" \"db_password\") }}",
    );
    assert_eq!(e.detail, "int: invalid integer \"******\"");
}

#[test]
fn kv_errors_quote_the_call() {
    assert_eq!(
        err("a.tpl", "{{ keys \"vars/job/other\" }}").detail,
        "keys \"vars/job/other\": namespace vars/job/other is not readable by job api on 10.0.0.1"
    );
    assert_eq!(
        err("a.tpl", "{{ scrapeConfigs }}").detail,
        "scrapeConfigs: scrape catalog is corrupt"
    );
}

#[test]
fn short_circuit_skips_reads() {
    let kv = Kv::new();
    let out = render(
        "a.tpl",
        "{{ or \"x\" (get \"vars/job/other\" \"x\") }}{{ and 0 (get \"vars/job/other\" \"x\") }}",
        Dialect::Deploy,
        &ctx(),
        &kv,
    );
    assert_eq!(out, Ok("x0".into()));
    assert!(kv.reads.borrow().is_empty());
}

#[test]
fn deep_recursion_works_on_a_small_stack_thread() {
    // 30 levels stay on the calling thread; 999 restart on the helper thread.
    for (depth, want) in [(30, "30"), (999, "999")] {
        let src = format!(
            "{{{{ define \"r\" }}}}{{{{ if lt . {depth} }}}}{{{{ template \"r\" (add . 1) }}}}{{{{ else }}}}{{{{ . }}}}{{{{ end }}}}{{{{ end }}}}{{{{ template \"r\" 0 }}}}"
        );
        let out = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || render("a.tpl", &src, Dialect::Deploy, &ctx(), &Kv::new()))
            .and_then(|h| {
                h.join()
                    .map_err(|_| std::io::Error::other("render thread panicked"))
            });
        assert_eq!(out.ok(), Some(Ok(want.to_string())));
    }
}

#[test]
fn recursion_stops_at_1000_nested_calls() {
    let e = err(
        "a.tpl",
        "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}\n{{ template \"r\" 0 }}",
    );
    assert_eq!(
        e.to_string(),
        "a.tpl:1:17: template recursion too deep (in template \"r\" called at line 1)"
    );
}

#[test]
fn kv_reads_reach_the_caller_from_the_render_thread() {
    let kv = Kv::new();
    let out = render(
        "a.tpl",
        "{{ define \"m\" }}{{ get \"vars/job/api\" \"memory\" }}{{ end }}{{ template \"m\" }}",
        Dialect::Deploy,
        &ctx(),
        &kv,
    );
    assert_eq!(out, Ok("2048".into()));
    assert_eq!(*kv.reads.borrow(), ["vars/job/api/memory"]);
}

#[test]
fn scrape_dialect_hides_allocation_fields() {
    let e = render(
        "s.tpl",
        "{{ .Labels }}",
        Dialect::Scrape,
        &ctx(),
        &Kv::new(),
    )
    .err();
    assert_eq!(
        e.map(|e| e.detail),
        Some("can't evaluate field Labels in type record".into())
    );
}
