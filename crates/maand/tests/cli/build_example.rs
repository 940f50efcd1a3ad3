//! Building the spec example workspace (02 §13) and checking the worked example (03 §20).

use crate::harness::{stable_uuid, TestBucket};
use serde_json::json;

const WARNING: &str = "warning: workspace/jobs/api/manifest.json: unknown field \"deploy_parallel_count\" ignored (did you mean \"max_concurrent_starts\"?)\n";
/// The example's post_build hook (`database` `command_schema`, spec 03 §20) prints one line.
const HOOK_LINE: &str = "database@10.0.0.1 | schema ready on 10.0.0.1\n";
const SUMMARY: &str = "build: 3 workers, 3 jobs, 4 allocations (3 active, 1 disabled, 0 removed), 1 post_build hook run\n";

/// (job, worker, disabled, removed, deployment_seq, new_version) straight from the catalog.
fn allocation_rows(b: &TestBucket) -> Vec<(String, String, String, i64, i64, i64, String)> {
    let conn = rusqlite::Connection::open(b.path("data/maand.db")).unwrap();
    let mut st = conn
        .prepare("SELECT job, worker_ip, alloc_id, disabled, removed, deployment_seq, new_version FROM allocations ORDER BY job, worker_ip")
        .unwrap();
    st.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn row(
    job: &str,
    worker: &str,
    disabled: i64,
    seq: i64,
    version: &str,
) -> (String, String, String, i64, i64, i64, String) {
    (
        job.into(),
        worker.into(),
        stable_uuid(&format!("{job}|{worker}")),
        disabled,
        0,
        seq,
        version.into(),
    )
}

#[test]
fn first_build_matches_the_worked_example() {
    let b = TestBucket::example();
    let o = b.maand(&["build"]);
    assert_eq!(o.succeeded(), SUMMARY);
    assert_eq!(o.stderr, format!("{WARNING}{HOOK_LINE}"));

    assert_eq!(
        allocation_rows(&b),
        vec![
            row("api", "10.0.0.2", 0, 1, "v1.4"),
            row("api", "10.0.0.3", 1, 1, "v1.4"),
            row("database", "10.0.0.1", 0, 0, "2.1.0"),
            row("prometheus", "10.0.0.3", 0, 0, "2.53.0"),
        ]
    );
    assert_eq!(
        b.json(&["cat", "job_ports"]),
        json!([
            {"job": "api", "name": "api_http_port", "port": 30000},
            {"job": "api", "name": "api_metrics_port", "port": 30001},
            {"job": "database", "name": "database_port", "port": 5432},
        ])
    );

    // Selected KV of 03 §20 (certificate keys come with the certificates issue).
    let kv = |ns: &str, key: &str| b.kv(ns, key);
    assert_eq!(kv("maand/bucket", "activejobs"), "api,database,prometheus");
    assert_eq!(kv("maand/bucket", "jobs"), "api,database,prometheus");
    assert_eq!(kv("maand/bucket", "api_http_port"), "30000");
    assert_eq!(kv("maand/bucket", "api_metrics_port"), "30001");
    assert_eq!(kv("maand/bucket", "database_port"), "5432");
    assert_eq!(
        kv("maand/bucket", "bucket_id"),
        b.json(&["info"])["bucket_id"].as_str().unwrap()
    );
    assert_eq!(kv("maand/worker", "api_workers"), "10.0.0.2,10.0.0.3");
    assert_eq!(kv("maand/worker", "api_workers_length"), "2");
    assert_eq!(kv("maand/worker", "api_label_id"), stable_uuid("api"));
    assert_eq!(kv("maand/worker", "worker_label_id"), stable_uuid("worker"));
    assert_eq!(
        kv("maand/worker/10.0.0.3", "labels"),
        "api,prometheus,worker"
    );
    assert_eq!(kv("maand/worker/10.0.0.3", "jobs"), "prometheus");
    assert_eq!(kv("maand/worker/10.0.0.3", "api_peers"), "10.0.0.2");
    assert_eq!(kv("maand/job/api", "version"), "v1.4");
    assert_eq!(kv("maand/job/api", "memory"), "1024");
    assert_eq!(kv("maand/job/api", "max_memory_mb"), "2048");
    assert_eq!(kv("maand/job/api", "workers"), "10.0.0.2");
    assert_eq!(kv("maand/job/api", "rollout_order"), "10.0.0.2");
    assert_eq!(kv("maand/job/api", "job_id"), stable_uuid("api"));
    // `certs/*` belongs to the certificate step (spec 10 §5; checked in tests/certs).
    let mut alloc_kv = b.kv_namespace("maand/job/api/worker/10.0.0.3");
    let cert_keys: Vec<String> = alloc_kv
        .keys()
        .filter(|k| k.starts_with("certs/"))
        .cloned()
        .collect();
    assert_eq!(cert_keys, ["certs/tls.crt", "certs/tls.key"]);
    alloc_kv.retain(|k, _| !k.starts_with("certs/"));
    assert_eq!(
        alloc_kv,
        [
            ("api_allocation_index", "1"),
            ("peer_workers", "10.0.0.2"),
            ("version", "v1.4"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    );
    assert_eq!(
        b.kv_namespace("vars/bucket/job/api"),
        [("cpu", "1 ghz"), ("log_level", "info"), ("memory", "1 gb")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    );
    assert_eq!(
        b.kv_namespace("vars/job/database"),
        [("cluster_name", "prod-east"), ("max_connections", "200")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    );
    assert_eq!(
        b.kv_namespace("vars/bucket"),
        [
            ("environment", "production"),
            ("port_max", "39999"),
            ("port_min", "30000")
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    );
    assert_eq!(
        b.kv_namespace("maand/prometheus"),
        [
            ("scrape_configs", "[]"),
            ("scrape_jobs", ""),
            ("scrape_jobs_length", "0")
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    );
    // Every entry is at version 1 after the first build, none deleted.
    for r in b.json(&["cat", "kv"]).as_array().unwrap() {
        assert_eq!(r["version"], 1, "{r}");
        assert_eq!(r["deleted"], false, "{r}");
    }
}

#[test]
fn unchanged_rebuild_changes_nothing() {
    let b = TestBucket::example_built();
    let kv_before = b.json(&["cat", "kv"]);
    let dump_before = b.dump();
    let ports_before = b.json(&["cat", "job_ports"]);
    // Persisted rows carry the build's timestamp: a rewrite one second later would show.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o = b.maand(&["build"]);
    assert_eq!(o.succeeded(), SUMMARY);
    assert_eq!(o.stderr, format!("{WARNING}{HOOK_LINE}"));
    assert_eq!(b.json(&["cat", "kv"]), kv_before);
    assert_eq!(b.json(&["cat", "job_ports"]), ports_before);
    assert_eq!(b.dump(), dump_before);
}

#[test]
fn clearing_disabled_json_re_enables_the_allocation() {
    let b = TestBucket::example_built();
    b.write("workspace/disabled.json", "{}\n");
    assert_eq!(
        b.ok(&["build"]),
        "build: 3 workers, 3 jobs, 4 allocations (4 active, 0 disabled, 0 removed), 1 post_build hook run\n"
    );
    assert_eq!(
        allocation_rows(&b),
        vec![
            row("api", "10.0.0.2", 0, 1, "v1.4"),
            row("api", "10.0.0.3", 0, 1, "v1.4"),
            row("database", "10.0.0.1", 0, 0, "2.1.0"),
            row("prometheus", "10.0.0.3", 0, 0, "2.53.0"),
        ]
    );
    assert_eq!(b.kv("maand/job/api", "workers"), "10.0.0.2,10.0.0.3");
    assert_eq!(b.kv("maand/job/api", "workers_length"), "2");
    assert_eq!(b.kv("maand/job/api", "worker_1"), "10.0.0.3");
    assert_eq!(b.kv("maand/job/api", "rollout_order"), "10.0.0.2,10.0.0.3");
    assert_eq!(b.kv("maand/worker/10.0.0.3", "jobs"), "api,prometheus");
    let workers = b.json(&["cat", "kv", "get", "maand/job/api", "workers"]);
    assert_eq!(workers["version"], 2);
    // Ports and the allocation namespace are untouched.
    assert_eq!(b.kv("maand/bucket", "api_http_port"), "30000");
    let idx = b.json(&[
        "cat",
        "kv",
        "get",
        "maand/job/api/worker/10.0.0.3",
        "api_allocation_index",
    ]);
    assert_eq!(
        (idx["value"].clone(), idx["version"].clone()),
        (json!("1"), json!(1))
    );
    // 10.0.0.3 now carries api's 1024 MB / 1000 MHz: 1 MB less capacity fails the build.
    let workers = b
        .read("workspace/workers.json")
        .replace("\"memory\": \"8 gb\"", "\"memory\": \"1023 mb\"");
    b.write("workspace/workers.json", workers);
    let err = b.build_fails("insufficient resource");
    assert_eq!(
        err,
        "error: insufficient resource\nworker_ip 10.0.0.3, available memory is 1023.00 MB, required memory is 1024.00 MB\n"
    );
    // Disabled again, the same capacity is enough.
    b.write(
        "workspace/disabled.json",
        "{ \"jobs\": { \"api\": { \"allocations\": [\"10.0.0.3\"] } } }",
    );
    b.ok(&["build"]);
    assert_eq!(b.kv("maand/job/api", "workers"), "10.0.0.2");
}
