//! `maand render` on the worked example (spec 03 §20, 02 §13): the exact files deploy would
//! stage, and template errors in full (spec 05 §7).

use crate::harness::TestBucket;

/// `config.json` of api as the worked example renders it on `ip` (ports 30000/30001 from the
/// pool, `prod-east` from database's vars.toml, `info` from bucket.jobs.prod.conf).
fn api_config(ip: &str, index: u32, peers: &str) -> String {
    format!(
        "{{\n  \"listen\": \"{ip}:30000\",\n  \"metrics\": \"{ip}:30001\",\n  \"database\": \"prod-east\",\n  \"allocation_index\": {index},\n  \"peers\": \"{peers}\",\n  \"log_level\": \"info\",\n  \"environment\": \"production\"\n}}\n"
    )
}

#[test]
fn render_example_config_per_worker() {
    let b = TestBucket::example_built();
    // The values come from what build wrote.
    assert_eq!(b.kv("maand/bucket", "api_http_port"), "30000");
    assert_eq!(b.kv("maand/bucket", "api_metrics_port"), "30001");
    assert_eq!(b.kv("vars/job/database", "cluster_name"), "prod-east");
    assert_eq!(b.kv("vars/bucket/job/api", "log_level"), "info");
    for (ip, index, peers) in [("10.0.0.2", 0, "10.0.0.3"), ("10.0.0.3", 1, "10.0.0.2")] {
        let ns = format!("maand/job/api/worker/{ip}");
        assert_eq!(b.kv(&ns, "api_allocation_index"), index.to_string());
        assert_eq!(b.kv(&ns, "peer_workers"), peers);
        let o = b.maand(&["render", "api", "--worker", ip, "config.json"]);
        assert_eq!(o.succeeded(), api_config(ip, index, peers), "{ip}");
        assert_eq!(o.stderr, "", "{ip}");
    }
    // Without --worker: the first allocation (10.0.0.2), every template under a header.
    let all = b.ok(&["render", "api"]);
    assert!(
        all.contains(&format!(
            "==> config.json <==\n{}",
            api_config("10.0.0.2", 0, "10.0.0.3")
        )),
        "{all}"
    );
}

#[test]
fn render_worker_without_allocation() {
    let b = TestBucket::example_built();
    let o = b.maand(&["render", "api", "--worker", "10.0.0.1"]);
    assert_eq!(
        o.failed(),
        "error: job api has no allocation on worker 10.0.0.1\n"
    );
    assert_eq!(o.stdout, "");
}

/// The built example with `from` replaced by `to` in api's config.json.tpl (rebuilt: the
/// errors below are found only when rendering), then `render api --worker 10.0.0.2`.
#[track_caller]
fn render_fails(from: &str, to: &str, expected: &str) {
    let b = TestBucket::example_built();
    let rel = "workspace/jobs/api/config.json.tpl";
    let tpl = b.read(rel);
    assert!(tpl.contains(from), "{from:?}");
    b.write(rel, tpl.replacen(from, to, 1));
    b.ok(&["build"]);
    let o = b.maand(&["render", "api", "--worker", "10.0.0.2", "config.json"]);
    assert_eq!(o.failed(), expected);
    assert_eq!(o.stdout, "");
}

#[test]
fn render_error_missing_kv_key() {
    render_fails(
        "\"api_metrics_port\"",
        "\"api_grpc_port\"",
        "error: template error: job api, worker 10.0.0.2, config.json.tpl:3:31: get \"maand/bucket\" \"api_grpc_port\": key not found: namespace maand/bucket, key api_grpc_port\n",
    );
}

#[test]
fn render_error_namespace_not_readable() {
    render_fails(
        "{{ get \"vars/job/database\" \"cluster_name\" }}",
        "{{ get \"vars/job/other\" \"x\" }}",
        "error: template error: job api, worker 10.0.0.2, config.json.tpl:4:16: get \"vars/job/other\" \"x\": namespace vars/job/other is not readable by job api on 10.0.0.2 (other jobs' namespaces need a command demand on that job)\n",
    );
}

#[test]
fn render_error_misspelt_field() {
    render_fails(
        "\"listen\": \"{{ .WorkerIP }}",
        "\"listen\": \"{{ .WorkerIp }}",
        "error: template error: job api, worker 10.0.0.2, config.json.tpl:2:14: can't evaluate field WorkerIp in type record\n",
    );
}

/// Sets the catalog's `update_seq` (what a number of earlier deploys would have left).
fn set_update_seq(b: &TestBucket, seq: i64) {
    let conn = rusqlite::Connection::open(b.path("data/maand.db")).unwrap();
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('update_seq', ?1) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [seq.to_string()],
    )
    .unwrap();
}

#[test]
fn render_update_seq_is_the_next_deploy() {
    // Deploy stages with update_seq + 1 (docs/decisions.md ".UpdateSeq in templates"); the
    // preview shows the same value.
    let b = TestBucket::example();
    b.write("workspace/jobs/api/seq.txt.tpl", "seq {{ .UpdateSeq }}\n");
    b.ok(&["build"]);
    assert_eq!(b.json(&["info"])["update_seq"], 0);
    assert_eq!(b.ok(&["render", "api", "seq.txt"]), "seq 1\n");
    set_update_seq(&b, 41);
    assert_eq!(b.json(&["info"])["update_seq"], 41);
    assert_eq!(b.ok(&["render", "api", "seq.txt"]), "seq 42\n");
}
