//! Renders every case of tests/cases/ and compares with what Go's own
//! text/template produced (tests/gogen/main.go, via tests/regen.sh), or with
//! a hand-written expectation from tests/overrides.txt where maand decided
//! differently (spec 05). Outputs must match byte for byte; errors must
//! match class and contain the message fragment.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use maand_template::{check, render, Context, Dialect, ErrorKind, KvSource, TemplateError};

/// The fixture of spec 05 §9; keep in step with tests/gogen/main.go.
struct Fixture {
    deploy: bool,
}

const KV: &[(&str, &str, &str)] = &[
    ("vars/job/api", "cluster_name", "prod-east"),
    ("vars/job/api", "memory", "2048"),
    ("vars/job/api", "flags", "tls,v2"),
    ("vars/job/api", "empty", ""),
    ("maand/job/api/worker/10.0.0.1", "peer_workers", "10.0.0.2"),
    ("secrets/job/api", "db_password", "s3cret"),
    ("vars/job/db", "host", "db.internal"),
    ("secrets/job/db", "password", "pw-db"),
    ("vars/job/other", "x", "1"),
];

const DEPLOY_READABLE: &[&str] = &[
    "maand/bucket",
    "vars/bucket",
    "maand/worker",
    "maand/worker/10.0.0.1",
    "maand/worker/10.0.0.1/tags",
    "maand/job/api",
    "vars/bucket/job/api",
    "vars/job/api",
    "secrets/job/api",
    "maand/job/api/worker/10.0.0.1",
    "maand/prometheus",
    "maand/job/db",
    "vars/job/db",
    "secrets/job/db",
];

const SCRAPE_READABLE: &[&str] = &[
    "maand/bucket",
    "vars/bucket",
    "maand/job/api",
    "vars/bucket/job/api",
    "vars/job/api",
    "secrets/job/api",
    "maand/job/db",
    "vars/job/db",
    "secrets/job/db",
];

impl Fixture {
    fn readable(&self, ns: &str) -> Result<(), String> {
        let (set, on) = if self.deploy {
            (DEPLOY_READABLE, " on 10.0.0.1")
        } else {
            (SCRAPE_READABLE, "")
        };
        if set.contains(&ns) {
            Ok(())
        } else {
            Err(format!(
                "namespace {ns} is not readable by job api{on} (other jobs' namespaces need a command demand on that job)"
            ))
        }
    }
}

impl KvSource for Fixture {
    fn get(&self, namespace: &str, key: &str) -> Result<Option<String>, String> {
        self.readable(namespace)?;
        Ok(KV
            .iter()
            .find(|(n, k, _)| *n == namespace && *k == key)
            .map(|(_, _, v)| v.to_string()))
    }

    fn keys(&self, namespace: &str) -> Result<Vec<String>, String> {
        self.readable(namespace)?;
        let mut keys: Vec<String> = KV
            .iter()
            .filter(|(n, _, _)| *n == namespace)
            .map(|(_, k, _)| k.to_string())
            .collect();
        keys.sort();
        Ok(keys)
    }

    fn scrape_configs(&self) -> Result<String, String> {
        Ok(String::new())
    }

    fn rule_files(&self) -> Result<String, String> {
        Ok("rule_files:\n  - rules/maand/certs.yaml\n".into())
    }
}

fn fixture_context(deploy: bool) -> Context {
    if deploy {
        Context {
            allocation_id: "7f3c2a10-0000-4000-8000-000000000001".into(),
            job: "api".into(),
            current_version: "1.0.0".into(),
            new_version: "1.1.0".into(),
            worker_ip: "10.0.0.1".into(),
            worker_id: "w-1".into(),
            labels: vec!["api".into(), "worker".into()],
            bucket_id: "bkt-1".into(),
            update_seq: 4,
            bucket_path: "/opt/worker/bkt-1".into(),
            job_path: "/opt/worker/bkt-1/jobs/api".into(),
        }
    } else {
        Context {
            job: "api".into(),
            current_version: "1.1.0".into(),
            new_version: "1.1.0".into(),
            ..Context::default()
        }
    }
}

#[derive(Clone, Debug)]
enum Expected {
    Out(String),
    /// Go's own message (a `.err` file): ours must be the same bytes, optionally followed
    /// by our `(in template "x" called at line N)` context.
    Err(ErrorKind, String),
    /// A hand-written override: a fragment our message must contain.
    ErrFragment(ErrorKind, String),
}

/// The committed corpus, or another directory of cases rendered by the same
/// generator (`MAAND_TEMPLATE_CASES=/tmp/fuzz`, e.g. for randomised runs).
fn cases_dir() -> (PathBuf, bool) {
    match std::env::var_os("MAAND_TEMPLATE_CASES") {
        Some(dir) => (PathBuf::from(dir), false),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases"),
            true,
        ),
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    out
}

/// Go's message exactly, or Go's message plus the call context we add for errors inside a
/// `define` (Go reports only the innermost position).
fn same_message(got: &str, want: &str) -> bool {
    match got.strip_prefix(want) {
        Some("") => true,
        Some(rest) => rest.starts_with(" (in template \"") && rest.ends_with(')'),
        None => false,
    }
}

fn kind(s: &str) -> ErrorKind {
    match s {
        "parse" => ErrorKind::Parse,
        "render" => ErrorKind::Render,
        other => panic!("unknown error class {other:?}"),
    }
}

fn overrides() -> BTreeMap<String, Expected> {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/overrides.txt"))
            .expect("tests/overrides.txt");
    let mut map = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let expected = match fields.as_slice() {
            [_, "out", out] => Expected::Out(unescape(out)),
            [_, "err", class, fragment] => Expected::ErrFragment(kind(class), unescape(fragment)),
            _ => panic!("bad override line: {line:?}"),
        };
        map.insert(fields[0].to_string(), expected);
    }
    map
}

fn expected(dir: &Path, name: &str, overrides: &BTreeMap<String, Expected>) -> Expected {
    if let Some(e) = overrides.get(name) {
        return e.clone();
    }
    if let Ok(out) = fs::read_to_string(dir.join(format!("{name}.out"))) {
        return Expected::Out(out);
    }
    let err = fs::read_to_string(dir.join(format!("{name}.err")))
        .unwrap_or_else(|_| panic!("{name}: no .out or .err"));
    let (class, fragment) = err.split_once('\n').unwrap_or((&err, ""));
    Expected::Err(kind(class), fragment.trim_end_matches('\n').to_string())
}

fn run_case(name: &str, src: &str) -> Result<String, TemplateError> {
    let deploy = !name.contains("-build-");
    let dialect = if deploy {
        Dialect::Deploy
    } else {
        Dialect::Scrape
    };
    let checked = check(&format!("{name}.tpl"), src, dialect);
    let rendered = render(
        &format!("{name}.tpl"),
        src,
        dialect,
        &fixture_context(deploy),
        &Fixture { deploy },
    );
    // `check` must agree with `render` about parse errors.
    match (&checked, &rendered) {
        (Err(c), Err(r)) if c.kind == ErrorKind::Parse => {
            assert_eq!(c, r, "{name}: check and render disagree")
        }
        (Ok(()), Err(r)) => assert_eq!(
            r.kind,
            ErrorKind::Render,
            "{name}: parse error missed by check"
        ),
        (Err(c), _) => panic!("{name}: check failed but render did not: {c}"),
        _ => {}
    }
    rendered
}

#[test]
fn conformance_corpus() {
    let (dir, committed) = cases_dir();
    let overrides = if committed {
        overrides()
    } else {
        BTreeMap::new()
    };
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("tests/cases")
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".tpl")
                .map(String::from)
        })
        .collect();
    names.sort();
    assert!(
        !committed || names.len() >= 80,
        "corpus too small: {}",
        names.len()
    );
    for name in overrides.keys() {
        assert!(names.contains(name), "override for unknown case {name}");
    }
    let mut failures = Vec::new();
    for name in &names {
        let src = fs::read_to_string(dir.join(format!("{name}.tpl"))).expect("case source");
        let got = run_case(name, &src);
        let ok = match (&expected(&dir, name, &overrides), &got) {
            (Expected::Out(want), Ok(out)) => want == out,
            (Expected::Err(k, want), Err(e)) => *k == e.kind && same_message(&e.detail, want),
            (Expected::ErrFragment(k, fragment), Err(e)) => {
                *k == e.kind && e.detail.contains(fragment.as_str())
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{name}:\n  want {:?}\n  got  {:?}",
                expected(&dir, name, &overrides),
                got.map_err(|e| format!("{:?} {e}", e.kind))
            ));
        }
    }
    println!(
        "{} passed, {} failed",
        names.len() - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
