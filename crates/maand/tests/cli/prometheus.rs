//! The Prometheus integration (spec 11) through the real binary, without a fleet: build
//! validation of `_prometheus/`, the `maand/prometheus` scrape catalog, `cat prometheus`,
//! and the server-job assembly seen through `maand render` and `deploy --dry-run` (which
//! stages under `tmp/workers/` but contacts no worker). Workers are loopback addresses.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::harness::{job, TestBucket};
use serde_json::{json, Value};

// ---- bucket helpers -------------------------------------------------------------------------

/// The server's `prometheus.yml.tpl` (spec 11 §6.5 example).
const SERVER_TPL: &str = "\
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['{{ .WorkerIP }}:9090']
{{ scrapeConfigs }}

{{ ruleFiles }}";

/// Two loopback workers: 127.0.0.1 (label `prom`, hosts the server) and 127.0.0.2.
fn workers(b: &TestBucket) {
    b.write(
        "workspace/workers.json",
        r#"[{"host": "127.0.0.1", "labels": ["prom"]}, {"host": "127.0.0.2"}]"#,
    );
}

/// The Prometheus server job `prometheus` on 127.0.0.1, declaring `prometheus_port_http`.
fn server(b: &TestBucket) {
    job(
        b,
        "prometheus",
        r#"{"version": "2.53.0", "selectors": ["prom"], "resources": {"ports": {"prometheus_port_http": {}}}}"#,
    );
    b.write("workspace/jobs/prometheus/prometheus.yml.tpl", SERVER_TPL);
}

/// An application job placed on every worker, declaring `ports`.
fn app(b: &TestBucket, name: &str, ports: &[&str]) {
    let ports: serde_json::Map<String, Value> =
        ports.iter().map(|p| (p.to_string(), json!({}))).collect();
    let manifest = json!({"selectors": ["worker"], "resources": {"ports": ports}});
    job(b, name, &manifest.to_string());
}

/// Writes `workspace/jobs/<job>/_prometheus/<rel>`.
fn prom(b: &TestBucket, job: &str, rel: &str, content: &str) {
    b.write(&format!("workspace/jobs/{job}/_prometheus/{rel}"), content);
}

/// `workspace/jobs/<job>/_prometheus/<rel>` removed.
fn unprom(b: &TestBucket, job: &str, rel: &str) {
    b.remove(&format!("workspace/jobs/{job}/_prometheus/{rel}"));
}

const API_SCRAPE: &str = "\
- job_name: maand:job
  metrics_path: /metrics
  static_configs:
    - targets: ['maand:port/_implicit']
      labels:
        maand_job: maand:job
        team: core
";

const API_ALERTS: &str = "\
groups:
  - name: api
    rules:
      - alert: ApiDown
        expr: up{job=\"api\"} == 0
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: api is down
          runbook: api-down
";

/// Server, `api` (scrape via `_implicit`, one alert file and its runbook) and `web` (no
/// monitoring content); not built.
fn monitored() -> TestBucket {
    let b = TestBucket::new();
    workers(&b);
    server(&b);
    app(&b, "api", &["api_http_port", "api_metrics_port"]);
    app(&b, "web", &["web_metrics_port"]);
    prom(&b, "api", "scrape.yaml", API_SCRAPE);
    prom(&b, "api", "alerts/slo.yaml", API_ALERTS);
    prom(
        &b,
        "api",
        "runbooks/api-down.md",
        "# API down\n\nRestart it.\n",
    );
    b
}

/// A port number build assigned (`maand/bucket`).
fn port(b: &TestBucket, key: &str) -> String {
    b.kv("maand/bucket", key)
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// YAML text as JSON, through python3's yaml module (the crate has no YAML dependency).
fn yaml(text: &str) -> Value {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with the yaml module");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "not YAML:\n{text}");
    parse_json(&String::from_utf8(out.stdout).unwrap())
}

// ---- 1. build validation (spec 11 §3, §4) -----------------------------------------------------

/// One broken variant of [`monitored`]: files written over it (paths relative to
/// `workspace/jobs/`), and the start of the build error.
type Case = (&'static [(&'static str, &'static str)], &'static str);

/// Each case on a fresh, successfully built [`monitored`] bucket: the next build fails
/// with exit 1, the expected message (job, file, position, problem), and leaves the
/// catalog and KV exactly as they were.
#[track_caller]
fn rejects(cases: &[Case]) {
    for (files, expected) in cases {
        let b = monitored();
        b.ok(&["build"]);
        for (rel, content) in *files {
            b.write(&format!("workspace/jobs/{rel}"), content);
        }
        b.build_fails(expected);
    }
}

#[test]
fn scrape_file_shape_errors() {
    rejects(&[
        (
            &[("api/_prometheus/scrape.yaml", "  \n")],
            "invalid job: job api: scrape.yaml is empty\n",
        ),
        (
            &[("api/_prometheus/scrape.yaml", "job_name: api\n")],
            "invalid job: job api: scrape.yaml: must be a YAML sequence of scrape configs\n",
        ),
        (
            &[("api/_prometheus/scrape.yaml", "[]\n")],
            "invalid job: job api: scrape.yaml: must be a YAML sequence of scrape configs\n",
        ),
        (
            &[("api/_prometheus/scrape.yaml", "- api\n")],
            "invalid job: job api: scrape.yaml[0]: must be a mapping\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- static_configs:\n    - targets: ['a:1']\n",
            )],
            "invalid job: job api: scrape.yaml[0]: missing job_name\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: ''\n  static_configs:\n    - targets: ['a:1']\n",
            )],
            "invalid job: job api: scrape.yaml[0]: missing job_name\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: a\n  static_configs:\n    - targets: ['a:1']\n\
                 - job_name: b\n  dns_sd_configs:\n    - names: [x]\n",
            )],
            "invalid job: job api: scrape.yaml[1].dns_sd_configs is not supported (use static_configs with maand:port placeholders)\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: a\n  my_custom_sd_configs: []\n",
            )],
            "invalid job: job api: scrape.yaml[0].my_custom_sd_configs is not supported (use static_configs with maand:port placeholders)\n",
        ),
        (
            &[("api/_prometheus/scrape.yaml", "- job_name: a\n")],
            "invalid job: job api: scrape.yaml[0]: static_configs must be a non-empty sequence\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: a\n  static_configs: []\n",
            )],
            "invalid job: job api: scrape.yaml[0]: static_configs must be a non-empty sequence\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: a\n  static_configs: [x]\n",
            )],
            "invalid job: job api: scrape.yaml[0].static_configs[0]: must be a mapping\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: a\n  static_configs:\n    - labels: {a: b}\n",
            )],
            "invalid job: job api: scrape.yaml[0].static_configs[0]: targets must be a non-empty sequence\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: a\n  static_configs:\n    - targets: []\n",
            )],
            "invalid job: job api: scrape.yaml[0].static_configs[0]: targets must be a non-empty sequence\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: a\n  static_configs:\n    - targets: ['a:1', 9100]\n",
            )],
            "invalid job: job api: scrape.yaml[0].static_configs[0].targets[1]: must be a string\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: a\n  static_configs:\n    - targets: ['a:1']\n      labels: [x]\n",
            )],
            "invalid job: job api: scrape.yaml[0].static_configs[0].labels: must be a mapping of strings\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: a\n  static_configs:\n    - targets: ['a:1']\n      labels: {team: core, shard: 3}\n",
            )],
            "invalid job: job api: scrape.yaml[0].static_configs[0].labels.shard: must be a string\n",
        ),
    ]);
}

#[test]
fn scrape_placeholder_errors() {
    rejects(&[
        // The spec's own example position.
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: a\n  static_configs:\n    - targets: ['a:1']\n    - targets: ['b:1', 'maand:port/api_http_port', 'maand:port/x']\n",
            )],
            "invalid job: job api: scrape.yaml[0].static_configs[1].targets[2]: port \"x\" is not declared in manifest resources.ports\n",
        ),
        (
            &[
                ("api/manifest.json", r#"{"selectors": ["worker"], "resources": {"ports": {"api_http_port": {}}}}"#),
            ],
            "invalid job: job api: scrape.yaml[0].static_configs[0].targets[0]: uses maand:port/_implicit but no metrics port is declared in manifest\n",
        ),
        (
            &[
                ("web/manifest.json", r#"{"selectors": ["worker"], "resources": {"ports": {"a_metrics_port": {}, "b_metrics_port": {}}}}"#),
                ("web/_prometheus/scrape.yaml", "- job_name: web\n  static_configs:\n    - targets: ['maand:port/_implicit/127.0.0.2']\n"),
            ],
            "invalid job: job web: scrape.yaml[0].static_configs[0].targets[0]: ambiguous metrics ports [a_metrics_port, b_metrics_port]; set an explicit port in scrape.yaml\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: a\n  static_configs:\n    - targets: ['maand:port/api_metrics_port/127.0.0.9']\n",
            )],
            "invalid job: job api: scrape.yaml[0].static_configs[0].targets[0]: worker 127.0.0.9 has no allocation of job api\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: a\n  static_configs:\n    - targets: ['maand:port/']\n",
            )],
            "invalid job: job api: scrape.yaml[0].static_configs[0].targets[0]: \"maand:port/\" has an empty port key\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: a\n  static_configs:\n    - targets: ['maand:port/api_metrics_port/127.0.0.1/x']\n",
            )],
            "invalid job: job api: scrape.yaml[0].static_configs[0].targets[0]: \"maand:port/api_metrics_port/127.0.0.1/x\" has more than one /<ip> segment\n",
        ),
        (
            &[(
                "api/_prometheus/scrape.yaml",
                "- job_name: a\n  static_configs:\n    - targets: ['maand:host']\n",
            )],
            "invalid job: job api: scrape.yaml[0].static_configs[0].targets[0]: unknown placeholder \"maand:host\" (targets take maand:port/<key>[/<ip>])\n",
        ),
        // `maand:job` is resolved before the bucket-wide uniqueness check.
        (
            &[(
                "web/_prometheus/scrape.yaml",
                "- job_name: api\n  static_configs:\n    - targets: ['example.org:9100']\n",
            )],
            "invalid job: job web: scrape.yaml: duplicate prometheus job_name \"api\" (jobs api and web)\n",
        ),
        (
            &[(
                "web/_prometheus/scrape.yaml",
                "- job_name: maand:job\n  static_configs:\n    - targets: ['a:1']\n- job_name: web\n  static_configs:\n    - targets: ['b:1']\n",
            )],
            "invalid job: job web: scrape.yaml: duplicate prometheus job_name \"web\" (jobs web and web)\n",
        ),
    ]);
}

#[test]
fn alert_file_errors() {
    rejects(&[
        (
            &[("api/_prometheus/alerts/slo.yaml", "\n")],
            "invalid job: job api: _prometheus/alerts/slo.yaml is empty\n",
        ),
        (
            &[("api/_prometheus/alerts/extra.yml", "# only a comment\n")],
            "invalid job: job api: _prometheus/alerts/extra.yml is empty\n",
        ),
        (
            &[("api/_prometheus/alerts/slo.yaml", "- alert: x\n")],
            "invalid job: job api: _prometheus/alerts/slo.yaml: must be a mapping with a groups sequence\n",
        ),
        (
            &[("api/_prometheus/alerts/slo.yaml", "groups: []\n")],
            "invalid job: job api: _prometheus/alerts/slo.yaml: groups: must be a non-empty sequence\n",
        ),
        (
            &[("api/_prometheus/alerts/slo.yaml", "groups:\n  - rules: []\n")],
            "invalid job: job api: _prometheus/alerts/slo.yaml: groups[0]: missing name\n",
        ),
        (
            &[(
                "api/_prometheus/alerts/slo.yaml",
                "groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n",
            )],
            "invalid job: job api: _prometheus/alerts/slo.yaml: groups[1]: duplicate group name \"g\"\n",
        ),
        (
            &[("api/_prometheus/alerts/slo.yaml", "groups:\n  - name: g\n")],
            "invalid job: job api: _prometheus/alerts/slo.yaml: groups[0]: rules must be a sequence\n",
        ),
        (
            &[(
                "api/_prometheus/alerts/slo.yaml",
                "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n      - alert: A\n        record: B\n        expr: up\n",
            )],
            "invalid job: job api: _prometheus/alerts/slo.yaml: groups[0].rules[1]: must define either alert or record, not both\n",
        ),
        (
            &[(
                "api/_prometheus/alerts/slo.yaml",
                "groups:\n  - name: g\n    rules:\n      - expr: up\n",
            )],
            "invalid job: job api: _prometheus/alerts/slo.yaml: groups[0].rules[0]: must define alert or record\n",
        ),
        (
            &[(
                "api/_prometheus/alerts/slo.yaml",
                "groups:\n  - name: g\n    rules:\n      - alert: Down\n        for: 5m\n",
            )],
            "invalid job: job api: _prometheus/alerts/slo.yaml: groups[0].rules[0]: \"Down\" missing expr\n",
        ),
        (
            &[(
                "api/_prometheus/alerts/slo.yaml",
                "groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n        annotations: {runbook: nope}\n",
            )],
            "invalid job: job api: _prometheus/alerts/slo.yaml: groups[0].rules[0]: alert \"Down\" references missing runbook \"nope\"\n",
        ),
        // The runbook must be the alerting job's own.
        (
            &[(
                "web/_prometheus/alerts/web.yaml",
                "groups:\n  - name: g\n    rules:\n      - alert: WebDown\n        expr: up == 0\n        annotations: {runbook: api-down}\n",
            )],
            "invalid job: job web: _prometheus/alerts/web.yaml: groups[0].rules[0]: alert \"WebDown\" references missing runbook \"api-down\"\n",
        ),
        (
            &[(
                "web/_prometheus/alerts/web.yaml",
                "groups:\n  - name: g\n    rules:\n      - alert: ApiDown\n        expr: up == 0\n",
            )],
            "invalid job: job web: _prometheus/alerts/web.yaml: duplicate alert name \"ApiDown\" (jobs api and web; first in api/_prometheus/alerts/slo.yaml)\n",
        ),
        (
            &[(
                "api/_prometheus/alerts/more.yaml",
                "groups:\n  - name: g\n    rules:\n      - alert: ApiDown\n        expr: up == 0\n",
            )],
            "invalid job: job api: _prometheus/alerts/slo.yaml: duplicate alert name \"ApiDown\" (jobs api and api; first in api/_prometheus/alerts/more.yaml)\n",
        ),
        (
            &[(
                "web/_prometheus/alerts/web.yaml",
                "groups:\n  - name: g\n    rules:\n      - alert: MaandCertExpired\n        expr: vector(1)\n",
            )],
            "invalid job: job web: _prometheus/alerts/web.yaml: alert name \"MaandCertExpired\" is reserved for maand's certificate alerts\n",
        ),
        (
            &[
                ("maand/manifest.json", r#"{"selectors": ["worker"]}"#),
                ("maand/Makefile", "start:\n"),
                (
                    "maand/_prometheus/alerts/a.yaml",
                    "groups:\n  - name: g\n    rules:\n      - alert: Mine\n        expr: up == 0\n",
                ),
            ],
            "invalid job: job maand: _prometheus/alerts/a.yaml: a job named maand may not ship alerts (rules/maand/ is reserved for maand's certificate alerts)\n",
        ),
    ]);
}

#[test]
fn runbook_dashboard_template_and_server_errors() {
    rejects(&[
        (
            &[("api/_prometheus/runbooks/-bad.md", "x\n")],
            "invalid job: job api: _prometheus/runbooks/-bad.md: runbook name \"-bad\" must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$ (it becomes a file name and URL)\n",
        ),
        (
            &[("web/_prometheus/runbooks/with space.md", "x\n")],
            "invalid job: job web: _prometheus/runbooks/with space.md: runbook name \"with space\" must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$ (it becomes a file name and URL)\n",
        ),
        (
            &[(
                "api/_prometheus/dashboards/.dashboardignore",
                "# hidden\n_partial.html\n[abc\n",
            )],
            "invalid job: job api: _prometheus/dashboards/.dashboardignore: line 3: invalid pattern \"[abc\": ",
        ),
        (
            &[("web/_prometheus/scrape.yaml.tpl", "- job_name: {{ .Job }\n")],
            "template error: job web, _prometheus/scrape.yaml.tpl:1:",
        ),
        // Deploy-only functions and allocation fields do not exist at build.
        (
            &[("web/_prometheus/scrape.yaml.tpl", "{{ scrapeConfigs }}\n")],
            "template error: job web, _prometheus/scrape.yaml.tpl:1:1: function \"scrapeConfigs\" not defined\n",
        ),
        (
            &[(
                "web/_prometheus/scrape.yaml.tpl",
                "- job_name: x\n  static_configs:\n    - targets: ['{{ getOptional \"vars/job/web\" \"a\" }}']\n",
            )],
            "template error: job web, _prometheus/scrape.yaml.tpl:3:18: function \"getOptional\" not defined\n",
        ),
        // The rendered text is validated like scrape.yaml, under the template's name.
        (
            &[(
                "web/_prometheus/scrape.yaml.tpl",
                "{{ if false }}x{{ end }}\n",
            )],
            "invalid job: job web: scrape.yaml.tpl is empty\n",
        ),
        (
            &[(
                "web/_prometheus/scrape.yaml.tpl",
                "- job_name: {{ .Job }}\n  static_configs:\n    - targets: ['maand:port/{{ .Job }}_http_port']\n",
            )],
            "invalid job: job web: scrape.yaml.tpl[0].static_configs[0].targets[0]: port \"web_http_port\" is not declared in manifest resources.ports\n",
        ),
    ]);
}

/// Spec 11 §1 and §2: the exclusivity of the two scrape files is part of `_prometheus/`
/// validation (message `cannot define both scrape.yaml and scrape.yaml.tpl`), which does
/// not run without a server job.
#[test]
fn scrape_yaml_and_template_are_prometheus_validation() {
    let b = monitored();
    b.remove("workspace/jobs/prometheus");
    prom(&b, "api", "scrape.yaml.tpl", "- job_name: x\n");
    b.ok(&["build"]);
    server(&b);
    b.build_fails("invalid job: job api: cannot define both scrape.yaml and scrape.yaml.tpl\n");
}

#[test]
fn server_job_with_both_configs_fails() {
    // Checked for every job, always; the message names the job and both files.
    let b = monitored();
    b.ok(&["build"]);
    b.write("workspace/jobs/prometheus/prometheus.yml", "global: {}\n");
    b.build_fails(
        "invalid job: job prometheus: cannot define both prometheus.yml and prometheus.yml.tpl\n",
    );
}

#[test]
fn nested_alert_and_runbook_folders_only_warn() {
    let b = monitored();
    prom(&b, "api", "alerts/old/broken.yaml", "not: [valid\n");
    prom(&b, "api", "runbooks/drafts/-x.md", "x\n");
    let o = b.maand(&["build"]);
    o.succeeded();
    assert!(
        o.stderr.contains("warning: job api: _prometheus/alerts/old/ ignored (only files directly in _prometheus/alerts/ count)"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("warning: job api: _prometheus/runbooks/drafts/ ignored (only files directly in _prometheus/runbooks/ count)"),
        "{}",
        o.stderr
    );
}

fn reset_namespace() -> BTreeMap<String, String> {
    [
        ("scrape_configs", "[]"),
        ("scrape_jobs", ""),
        ("scrape_jobs_length", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[test]
fn without_a_server_job_prometheus_content_is_ignored() {
    let b = TestBucket::new();
    workers(&b);
    app(&b, "api", &["api_metrics_port"]);
    prom(&b, "api", "scrape.yaml", "job_name: [not a sequence\n");
    prom(&b, "api", "alerts/slo.yaml", "\n");
    prom(&b, "api", "runbooks/-bad.md", "x\n");
    prom(&b, "api", "dashboards/.dashboardignore", "[abc\n");
    b.ok(&["build"]);
    assert_eq!(b.kv_namespace("maand/prometheus"), reset_namespace());
    assert_eq!(b.kv("maand/job/api", "job_name"), "api");
    // Nor does deploy staging read it (no console is assembled without a server).
    b.ok(&["deploy", "--dry-run"]);

    // A server job turns validation on ...
    server(&b);
    b.build_fails("invalid job: job api: ");
    // ... and with valid content the catalog is written.
    b.remove("workspace/jobs/api/_prometheus");
    prom(
        &b,
        "api",
        "scrape.yaml",
        "- job_name: api-metrics\n  static_configs:\n    - targets: ['maand:port/_implicit']\n",
    );
    b.ok(&["build"]);
    assert!(b
        .kv_namespace("maand/prometheus")
        .contains_key("scrape/api"));
    assert_eq!(b.kv("maand/job/api", "job_name"), "api-metrics");

    // Without the server again: the namespace is reset, scrape/api deleted, and api's
    // job_name is back to its maand job name.
    b.remove("workspace/jobs/prometheus");
    b.ok(&["build"]);
    assert_eq!(b.kv_namespace("maand/prometheus"), reset_namespace());
    assert_eq!(b.kv("maand/job/api", "job_name"), "api");
}

// ---- 2. the scrape catalog (spec 11 §5) -----------------------------------------------------

#[test]
fn scrape_catalog_in_kv() {
    let b = monitored();
    // A second item pinned to one worker.
    prom(
        &b,
        "api",
        "scrape.yaml",
        &format!(
            "{API_SCRAPE}- job_name: api-http\n  static_configs:\n    - targets: ['maand:port/api_http_port/127.0.0.2']\n"
        ),
    );
    // Literal targets only: always in the aggregate.
    prom(
        &b,
        "web",
        "scrape.yaml",
        "- job_name: web-frontend\n  static_configs:\n    - targets: ['example.org:9100']\n- job_name: web-extra\n  static_configs:\n    - targets: ['example.org:9101']\n",
    );
    // Port placeholders with every allocation disabled: stored, not aggregated.
    app(&b, "db", &["db_metrics_port"]);
    prom(
        &b,
        "db",
        "scrape.yaml",
        "- job_name: maand:job\n  static_configs:\n    - targets: ['maand:port/db_metrics_port']\n",
    );
    b.write("workspace/disabled.json", r#"{"jobs": {"db": null}}"#);
    // A template using .Job and job-level KV.
    app(&b, "tpl", &["tpl_metrics_port"]);
    b.write(
        "workspace/jobs/tpl/vars.toml",
        "metrics_path = \"/custom\"\n",
    );
    prom(
        &b,
        "tpl",
        "scrape.yaml.tpl",
        "- job_name: {{ .Job }}-{{ upper \"x\" }}\n  metrics_path: {{ get \"vars/job/tpl\" \"metrics_path\" }}\n  static_configs:\n    - targets: ['maand:port/_implicit']\n",
    );
    b.ok(&["build"]);

    let ns = b.kv_namespace("maand/prometheus");
    assert_eq!(
        ns.keys().collect::<Vec<_>>(),
        [
            "scrape/api",
            "scrape/db",
            "scrape/tpl",
            "scrape/web",
            "scrape_configs",
            "scrape_jobs",
            "scrape_jobs_length"
        ]
    );
    let api = json!([
        {"job_name": "maand:job", "metrics_path": "/metrics", "static_configs": [
            {"targets": ["maand:port/_implicit"], "labels": {"maand_job": "maand:job", "team": "core"}}
        ]},
        {"job_name": "api-http", "static_configs": [{"targets": ["maand:port/api_http_port/127.0.0.2"]}]},
    ]);
    let web = json!([
        {"job_name": "web-frontend", "static_configs": [{"targets": ["example.org:9100"]}]},
        {"job_name": "web-extra", "static_configs": [{"targets": ["example.org:9101"]}]},
    ]);
    let db = json!([
        {"job_name": "maand:job", "static_configs": [{"targets": ["maand:port/db_metrics_port"]}]},
    ]);
    let tpl = json!([
        {"job_name": "tpl-X", "metrics_path": "/custom", "static_configs": [{"targets": ["maand:port/_implicit"]}]},
    ]);
    assert_eq!(parse_json(&ns["scrape/api"]), api);
    assert_eq!(parse_json(&ns["scrape/web"]), web);
    assert_eq!(parse_json(&ns["scrape/db"]), db);
    assert_eq!(parse_json(&ns["scrape/tpl"]), tpl);
    assert_eq!(ns["scrape_jobs"], "api,tpl,web");
    assert_eq!(ns["scrape_jobs_length"], "3");
    let mut all = api.as_array().unwrap().clone();
    all.extend(tpl.as_array().unwrap().iter().cloned());
    all.extend(web.as_array().unwrap().iter().cloned());
    assert_eq!(parse_json(&ns["scrape_configs"]), Value::Array(all));

    // job_name: the first item's, resolved; the job name without a scrape file.
    for (job, name) in [
        ("api", "api"),
        ("web", "web-frontend"),
        ("db", "db"),
        ("tpl", "tpl-X"),
        ("prometheus", "prometheus"),
    ] {
        assert_eq!(b.kv(&format!("maand/job/{job}"), "job_name"), name, "{job}");
    }
    // job_files keeps the raw template.
    assert!(b
        .ok(&["cat", "prometheus", "get", "tpl", "scrape.tpl"])
        .contains("{{ .Job }}"));

    // A second build with nothing changed writes no new KV version.
    let before = b.json(&["cat", "kv"]);
    b.ok(&["build"]);
    assert_eq!(b.json(&["cat", "kv"]), before);

    // A scrape file removed: its key is deleted and it leaves the aggregate.
    unprom(&b, "web", "scrape.yaml");
    b.ok(&["build"]);
    let ns = b.kv_namespace("maand/prometheus");
    assert!(!ns.contains_key("scrape/web"), "{ns:?}");
    assert_eq!(ns["scrape_jobs"], "api,tpl");
    assert_eq!(ns["scrape_jobs_length"], "2");
    assert_eq!(b.kv("maand/job/web", "job_name"), "web");
    let o = b.maand(&["cat", "kv", "get", "maand/prometheus", "scrape/web"]);
    o.failed();

    // Enabling db again brings it into the aggregate (scrape_jobs stays sorted).
    b.remove("workspace/disabled.json");
    b.ok(&["build"]);
    assert_eq!(b.kv("maand/prometheus", "scrape_jobs"), "api,db,tpl");
    assert_eq!(b.kv("maand/prometheus", "scrape_jobs_length"), "3");
}

// ---- 3. cat prometheus (spec 11 §8) ---------------------------------------------------------

/// [`monitored`] plus dashboards, a second alert file and a templated `web` scrape, built.
fn catalogued() -> TestBucket {
    let b = monitored();
    prom(
        &b,
        "api",
        "alerts/extra.yml",
        API_ALERTS.replace("ApiDown", "ApiSlow").as_str(),
    );
    prom(&b, "api", "alerts/README.txt", "not a rule file\n");
    prom(
        &b,
        "api",
        "dashboards/overview.html",
        "<title>API</title>\n",
    );
    prom(&b, "api", "dashboards/assets/app.css", "body {}\n");
    prom(&b, "api", "dashboards/.dashboardignore", "assets/\n");
    prom(
        &b,
        "web",
        "scrape.yaml.tpl",
        "- job_name: {{ .Job }}\n  static_configs:\n    - targets: ['maand:port/_implicit']",
    );
    b.ok(&["build"]);
    b
}

#[test]
fn cat_prometheus_overview() {
    let b = catalogued();
    assert_eq!(
        b.ok(&["cat", "prometheus"]),
        "\
| job | scrape | alerts | runbooks | dashboards |
|-----|--------|--------|----------|------------|
| api | yes    | 2      | 1        | 2          |
| web | yes    | 0      | 0        | 0          |
"
    );
    // Unbuilt workspace edits count: a new runbook, a job folder never built, and a
    // removed file still counted from the catalog (the larger count wins).
    prom(&b, "api", "runbooks/new.md", "# New");
    unprom(&b, "api", "alerts/extra.yml");
    prom(&b, "fresh", "dashboards/a/b.html", "<p>b</p>\n");
    assert_eq!(
        b.ok(&["cat", "prometheus"]),
        "\
| job   | scrape | alerts | runbooks | dashboards |
|-------|--------|--------|----------|------------|
| api   | yes    | 2      | 2        | 2          |
| fresh | -      | 0      | 0        | 1          |
| web   | yes    | 0      | 0        | 0          |
"
    );
    assert_eq!(
        b.json(&["cat", "prometheus"]),
        json!([
            {"job": "api", "scrape": true, "alerts": 2, "runbooks": 2, "dashboards": 2},
            {"job": "fresh", "scrape": false, "alerts": 0, "runbooks": 0, "dashboards": 1},
            {"job": "web", "scrape": true, "alerts": 0, "runbooks": 0, "dashboards": 0},
        ])
    );
    assert_eq!(
        b.json(&["cat", "prometheus", "--jobs", "fresh,web"]),
        json!([
            {"job": "fresh", "scrape": false, "alerts": 0, "runbooks": 0, "dashboards": 1},
            {"job": "web", "scrape": true, "alerts": 0, "runbooks": 0, "dashboards": 0},
        ])
    );
    assert_eq!(
        b.fail(&["cat", "prometheus", "--jobs", "nope,other"]),
        "error: invalid input, jobs [nope, other]\n"
    );
    // A known job with nothing to show.
    assert_eq!(
        b.fail(&["cat", "prometheus", "--jobs", "prometheus"]),
        "error: no prometheus found\n"
    );
    assert_eq!(
        b.json(&["cat", "prometheus", "--jobs", "prometheus"]),
        json!([])
    );
    assert_eq!(
        TestBucket::new().fail(&["cat", "prometheus"]),
        "error: no prometheus found\n"
    );
}

#[test]
fn cat_prometheus_get() {
    let b = catalogued();
    for path in ["", "scrape", "/scrape.yaml", "alerts/../scrape.yaml"] {
        assert_eq!(
            b.ok(&["cat", "prometheus", "get", "api", path]),
            API_SCRAPE,
            "{path:?}"
        );
    }
    assert_eq!(b.ok(&["cat", "prometheus", "get", "api"]), API_SCRAPE);
    // The template is shown raw, with a final newline added.
    let tpl =
        "- job_name: {{ .Job }}\n  static_configs:\n    - targets: ['maand:port/_implicit']\n";
    for path in ["", "scrape", "scrape.tpl", "scrape.yaml.tpl"] {
        assert_eq!(
            b.ok(&["cat", "prometheus", "get", "web", path]),
            tpl,
            "{path:?}"
        );
    }
    assert_eq!(
        b.ok(&["cat", "prometheus", "get", "api", "/alerts/slo.yaml"]),
        API_ALERTS
    );
    assert_eq!(
        b.ok(&[
            "cat",
            "prometheus",
            "get",
            "api",
            "dashboards/assets/app.css"
        ]),
        "body {}\n"
    );
    for bad in [
        "../manifest.json",
        "alerts/../../x",
        "/../api/_prometheus/scrape.yaml",
    ] {
        assert_eq!(
            b.fail(&["cat", "prometheus", "get", "api", bad]),
            format!("error: invalid prometheus path \"{bad}\"\n")
        );
    }
    assert_eq!(
        b.fail(&["cat", "prometheus", "get", "api", "alerts/nope.yaml"]),
        "error: api/_prometheus/alerts/nope.yaml not found\n"
    );
    assert_eq!(
        b.fail(&["cat", "prometheus", "get", "prometheus"]),
        "error: prometheus/_prometheus/scrape.yaml not found\n"
    );
    assert_eq!(
        b.fail(&["cat", "prometheus", "get", "api", "scrape.tpl"]),
        "error: api/_prometheus/scrape.yaml.tpl not found\n"
    );

    // Catalog first: an unbuilt edit is not shown for a built file ...
    prom(&b, "api", "alerts/slo.yaml", "groups: []\n");
    assert_eq!(
        b.json(&["cat", "prometheus", "get", "api", "alerts/slo.yaml"]),
        json!({"job": "api", "path": "alerts/slo.yaml", "source": "catalog", "content": API_ALERTS})
    );
    // ... a file only in the workspace comes from there.
    prom(&b, "api", "runbooks/new.md", "# New");
    assert_eq!(
        b.json(&["cat", "prometheus", "get", "api", "runbooks/new.md"]),
        json!({"job": "api", "path": "runbooks/new.md", "source": "workspace", "content": "# New\n"})
    );
    assert_eq!(
        b.json(&["cat", "prometheus", "get", "web"]),
        json!({"job": "web", "path": "scrape.yaml.tpl", "source": "catalog", "content": tpl})
    );
}

#[test]
fn cat_prometheus_scrape() {
    let b = catalogued();
    let (api_port, web_port) = (port(&b, "api_metrics_port"), port(&b, "web_metrics_port"));
    // The {{ scrapeConfigs }} fragment without its leading newline (lines keep their
    // two-space indent), so the text is exactly what prometheus.yml receives.
    let fragment = b.ok(&["cat", "prometheus", "scrape"]);
    assert_eq!(
        fragment,
        format!(
            "  - job_name: api
    metrics_path: /metrics
    static_configs:
    - labels:
        maand_job: api
        team: core
      targets:
      - 127.0.0.1:{api_port}
      - 127.0.0.2:{api_port}
  - job_name: web
    static_configs:
    - targets:
      - 127.0.0.1:{web_port}
      - 127.0.0.2:{web_port}
"
        )
    );
    let expanded = json!([
        {"job_name": "api", "metrics_path": "/metrics", "static_configs": [{
            "labels": {"maand_job": "api", "team": "core"},
            "targets": [format!("127.0.0.1:{api_port}"), format!("127.0.0.2:{api_port}")],
        }]},
        {"job_name": "web", "static_configs": [{
            "targets": [format!("127.0.0.1:{web_port}"), format!("127.0.0.2:{web_port}")],
        }]},
    ]);
    assert_eq!(yaml(&fragment), expanded);
    assert_eq!(b.json(&["cat", "prometheus", "scrape"]), expanded);
    assert_eq!(
        b.json(&["cat", "prometheus", "scrape", "--jobs", "web"]),
        json!([expanded[1]])
    );
    assert_eq!(
        b.fail(&["cat", "prometheus", "scrape", "--jobs", "nope"]),
        "error: invalid input, jobs [nope]\n"
    );
    // A catalog job without scrape configs selects nothing.
    assert_eq!(
        b.fail(&["cat", "prometheus", "scrape", "--jobs", "prometheus"]),
        "error: no expanded scrape configs (run maand build first)\n"
    );
    assert_eq!(
        b.json(&["cat", "prometheus", "scrape", "--jobs", "prometheus"]),
        json!([])
    );
    assert_eq!(
        TestBucket::new().fail(&["cat", "prometheus", "scrape"]),
        "error: no expanded scrape configs (run maand build first)\n"
    );

    // A pinned worker disabled since: its target drops with a warning, and a block left
    // without targets skips the whole job.
    prom(
        &b,
        "web",
        "scrape.yaml.tpl",
        "- job_name: web\n  static_configs:\n    - targets: ['maand:port/_implicit/127.0.0.2']\n",
    );
    b.write(
        "workspace/disabled.json",
        r#"{"jobs": {"web": {"allocations": ["127.0.0.2"]}}}"#,
    );
    b.ok(&["build"]);
    let o = b.maand(&["cat", "prometheus", "scrape", "--output", "json"]);
    assert_eq!(parse_json(o.succeeded()), json!([expanded[0]]));
    assert_eq!(
        o.stderr,
        "warning: prometheus: job web target maand:port/_implicit/127.0.0.2 dropped: the allocation on 127.0.0.2 is not active\n"
    );
}

// ---- 4. server assembly: render and deploy --dry-run (spec 11 §6) ----------------------------

/// An alert file without runbooks: staged byte-for-byte (comments kept).
const PLAIN_RULES: &str = "\
# hand-written, kept as is
groups:
  - name: api-records
    interval: 1m
    rules:
      - record: job:api_requests:rate5m
        expr: sum(rate(api_requests_total[5m]))
";

/// Alerts whose runbook links are rewritten; every other key must survive.
const LINKED_RULES: &str = "\
groups:
  - name: api
    interval: 30s
    limit: 10
    rules:
      - alert: ApiDown
        expr: up{job=\"api\"} == 0
        for: 5m
        keep_firing_for: 10m
        labels:
          severity: critical
        annotations:
          summary: api is down
          runbook: api-down
      - alert: ApiSlow
        expr: histogram_quantile(0.99, rate(api_latency_seconds_bucket[5m])) > 1
        annotations:
          runbook: api-down
          runbook_url: https://wiki.example.org/api-slow
";

/// [`monitored`] with everything the server assembles, built.
fn assembled() -> TestBucket {
    let b = monitored();
    prom(&b, "api", "alerts/slo.yaml", LINKED_RULES);
    prom(&b, "api", "alerts/records.yml", PLAIN_RULES);
    prom(
        &b,
        "api",
        "runbooks/api-down.md",
        "# API down\n\n| step | action |\n|---|---|\n| 1 | ~~panic~~ restart |\n\nSee https://example.org/docs and `{{ .X }}`.\n",
    );
    prom(&b, "web", "runbooks/web-slow.md", "# Web slow\n");
    prom(
        &b,
        "api",
        "dashboards/overview.html",
        "<html><head>\n<TITLE>\n  API overview\n</TITLE></head><body>{{ .Params }}</body></html>\n",
    );
    prom(&b, "api", "dashboards/_partial.html", "<p>part</p>\n");
    prom(
        &b,
        "api",
        "dashboards/assets/app.css",
        "body { color: red }\n",
    );
    prom(
        &b,
        "api",
        "dashboards/.dashboardignore",
        "# partials\n_partial.html\n",
    );
    prom(
        &b,
        "web",
        "scrape.yaml",
        "- job_name: web-static\n  static_configs:\n    - targets: ['web.example.org:9100']\n",
    );
    b.ok(&["build"]);
    b
}

/// The staged tree of the server job on 127.0.0.1.
const STAGED: &str = "tmp/workers/127.0.0.1/jobs/prometheus";

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn render_expands_scrape_configs_and_rule_files() {
    let b = assembled();
    let api_port = port(&b, "api_metrics_port");
    let rendered = b.ok(&["render", "prometheus", "prometheus.yml"]);
    assert_eq!(
        b.ok(&[
            "render",
            "prometheus",
            "--worker",
            "127.0.0.1",
            "prometheus.yml.tpl"
        ]),
        rendered
    );
    assert_eq!(
        yaml(&rendered),
        json!({
            "global": {"scrape_interval": "15s"},
            "scrape_configs": [
                {"job_name": "prometheus", "static_configs": [{"targets": ["127.0.0.1:9090"]}]},
                {"job_name": "api", "metrics_path": "/metrics", "static_configs": [{
                    "labels": {"maand_job": "api", "team": "core"},
                    "targets": [format!("127.0.0.1:{api_port}"), format!("127.0.0.2:{api_port}")],
                }]},
                {"job_name": "web-static", "static_configs": [{"targets": ["web.example.org:9100"]}]},
            ],
            "rule_files": [
                "rules/maand/certs.yaml",
                "rules/api/records.yml",
                "rules/api/slo.yaml",
            ],
        })
    );
    assert!(
        rendered.ends_with(
            "\n\nrule_files:\n  - rules/maand/certs.yaml\n  - rules/api/records.yml\n  - rules/api/slo.yaml\n"
        ),
        "{rendered}"
    );
}

#[test]
fn dry_run_stages_the_server_job() {
    let b = assembled();
    let http = port(&b, "prometheus_port_http");
    let out = b.ok(&["deploy", "--dry-run"]);
    assert!(
        out.starts_with("deploy dry-run: deployment required"),
        "{out}"
    );
    let dir = b.path(STAGED);
    let generated: Vec<String> = files_under(&dir)
        .into_iter()
        .filter(|p| p.starts_with("rules/") || p.starts_with("consoles/"))
        .collect();
    assert_eq!(
        generated,
        [
            "consoles/dashboards/api/_partial.html",
            "consoles/dashboards/api/assets/app.css",
            "consoles/dashboards/api/overview.html",
            "consoles/dashboards/index.html",
            "consoles/dashboards/style.css",
            "consoles/runbooks/api/api-down.html",
            "consoles/runbooks/index.html",
            "consoles/runbooks/style.css",
            "consoles/runbooks/web/web-slow.html",
            "rules/api/records.yml",
            "rules/api/slo.yaml",
            "rules/maand/certs.yaml",
        ]
    );
    assert!(dir.join("prometheus.yml").is_file());
    // _prometheus/ is never part of a staged tree.
    for ip in ["127.0.0.1", "127.0.0.2"] {
        let api = b.path(&format!("tmp/workers/{ip}/jobs/api"));
        assert!(api.is_dir(), "{api:?}");
        assert!(!api.join("_prometheus").exists(), "{api:?}");
    }
    assert_eq!(
        b.read(&format!("{STAGED}/prometheus.yml")),
        b.ok(&["render", "prometheus", "prometheus.yml"])
    );

    // Rule files: plain ones byte-for-byte, runbook links rewritten, nothing else lost.
    assert_eq!(
        b.read(&format!("{STAGED}/rules/api/records.yml")),
        PLAIN_RULES
    );
    let mut expected = yaml(LINKED_RULES);
    let rules = &mut expected["groups"][0]["rules"];
    rules[0]["annotations"] = json!({
        "summary": "api is down",
        "runbook_url": format!("http://127.0.0.1:{http}/consoles/runbooks/api/api-down.html"),
    });
    rules[1]["annotations"] = json!({"runbook_url": "https://wiki.example.org/api-slow"});
    let staged = b.read(&format!("{STAGED}/rules/api/slo.yaml"));
    assert_eq!(yaml(&staged), expected);
    assert!(!staged.contains("runbook:"), "{staged}");
    let certs = yaml(&b.read(&format!("{STAGED}/rules/maand/certs.yaml")));
    assert_eq!(certs["groups"][0]["name"], "maand_certs");
    let alerts: Vec<&str> = certs["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["alert"].as_str().unwrap())
        .collect();
    assert_eq!(
        alerts,
        [
            "MaandCertExpiringSoon",
            "MaandCertExpired",
            "MaandCACertExpiringSoon",
            "MaandCACertExpired"
        ]
    );

    // Runbook pages: escaped console templates, breadcrumb, rendered Markdown.
    let page = b.read(&format!("{STAGED}/consoles/runbooks/api/api-down.html"));
    for needle in [
        "<title>api / api-down</title>",
        "<a href=\"../index.html\">Runbooks</a> / api / api-down",
        "<table>",
        "<del>panic</del>",
        "<a href=\"https://example.org/docs\">https://example.org/docs</a>",
        "{{ \"{{\" }} .X {{ \"}}\" }}",
        "<style>",
    ] {
        assert!(page.contains(needle), "{needle:?} missing in:\n{page}");
    }
    assert!(!page.contains("{{ .X }}"), "{page}");
    let index = b.read(&format!("{STAGED}/consoles/runbooks/index.html"));
    for needle in [
        "<title>Runbooks</title>",
        "<a href=\"api/api-down.html\">api-down</a>",
        "<a href=\"web/web-slow.html\">web-slow</a>",
    ] {
        assert!(index.contains(needle), "{needle:?} missing in:\n{index}");
    }
    assert!(index.find("api-down").unwrap() < index.find("web-slow").unwrap());

    // Dashboards: copied as they are; the index lists HTML pages not ignored.
    for rel in ["overview.html", "_partial.html", "assets/app.css"] {
        assert_eq!(
            std::fs::read(b.path(&format!("{STAGED}/consoles/dashboards/api/{rel}"))).unwrap(),
            std::fs::read(b.path(&format!("workspace/jobs/api/_prometheus/dashboards/{rel}")))
                .unwrap(),
            "{rel}"
        );
    }
    let boards = b.read(&format!("{STAGED}/consoles/dashboards/index.html"));
    assert!(
        boards.contains("<a href=\"api/overview.html\">API overview</a>"),
        "{boards}"
    );
    assert!(!boards.contains("_partial"), "{boards}");
    assert!(!boards.contains("app.css\""), "{boards}");

    // Prometheus itself accepts the configuration and every rule file.
    promtool_accepts(&dir);

    // Content leaving the catalog leaves the staged tree on the next staging.
    unprom(&b, "web", "runbooks/web-slow.md");
    unprom(&b, "api", "alerts/records.yml");
    b.ok(&["build"]);
    b.ok(&["deploy", "--dry-run"]);
    assert!(!b.path(&format!("{STAGED}/rules/api/records.yml")).exists());
    assert!(!b.path(&format!("{STAGED}/consoles/runbooks/web")).exists());
    assert!(!b
        .read(&format!("{STAGED}/prometheus.yml"))
        .contains("records.yml"));
    promtool_accepts(&dir);
}

/// `promtool check config` on the staged `prometheus.yml` (which also loads the rule files
/// it lists) and `promtool check rules` on every staged rule file.
fn promtool_accepts(dir: &Path) {
    if Command::new("promtool").arg("--version").output().is_err() {
        eprintln!(
            "\n!!!!!!!!\n!!! promtool not on PATH: staged Prometheus files NOT checked by Prometheus \
             (install Debian's prometheus package)\n!!!!!!!!\n"
        );
        return;
    }
    let run = |args: &[&str]| {
        let o = Command::new("promtool")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "promtool {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(&["check", "config", "prometheus.yml"]);
    let rules: Vec<String> = files_under(&dir.join("rules"))
        .into_iter()
        .map(|r| format!("rules/{r}"))
        .collect();
    assert!(!rules.is_empty());
    let mut args = vec!["check", "rules"];
    args.extend(rules.iter().map(String::as_str));
    run(&args);
}

#[test]
fn server_without_http_port_links_by_path() {
    let b = monitored();
    b.write(
        "workspace/jobs/prometheus/manifest.json",
        r#"{"version": "2.53.0", "selectors": ["prom"]}"#,
    );
    // Generated files replace the server job's own files of the same name.
    b.write(
        "workspace/jobs/prometheus/rules/maand/certs.yaml",
        "stale\n",
    );
    b.ok(&["build"]);
    b.ok(&["deploy", "--dry-run"]);
    let staged = yaml(&b.read(&format!("{STAGED}/rules/api/slo.yaml")));
    assert_eq!(
        staged["groups"][0]["rules"][0]["annotations"],
        json!({"summary": "api is down", "runbook_url": "/consoles/runbooks/api/api-down.html"})
    );
    let certs = yaml(&b.read(&format!("{STAGED}/rules/maand/certs.yaml")));
    assert_eq!(certs["groups"][0]["name"], "maand_certs");
}
