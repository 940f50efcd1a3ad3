//! Removing workers, jobs and keys (spec 03 §5, §6, §8.3, §12.5; 04 §3, §8).

use crate::harness::{stable_uuid, TestBucket};
use serde_json::Value;
use std::collections::BTreeSet;

/// Namespaces of `cat kv --deleted` (entries whose latest row is a tombstone).
fn deleted_namespaces(b: &TestBucket) -> BTreeSet<String> {
    b.json(&["cat", "kv", "--deleted"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["namespace"].as_str().unwrap().to_string())
        .collect()
}

fn live_namespaces(b: &TestBucket) -> BTreeSet<String> {
    b.json(&["cat", "kv", "--active"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["namespace"].as_str().unwrap().to_string())
        .collect()
}

/// (job, worker, disabled, removed) from `cat allocations --output json`.
fn allocations(b: &TestBucket) -> Vec<(String, String, bool, bool)> {
    b.json(&["cat", "allocations"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["job"].as_str().unwrap().to_string(),
                r["worker_ip"].as_str().unwrap().to_string(),
                r["disabled"].as_bool().unwrap(),
                r["removed"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn a(job: &str, w: &str, disabled: bool, removed: bool) -> (String, String, bool, bool) {
    (job.into(), w.into(), disabled, removed)
}

const TWO_WORKERS: &str = r#"[
  { "host": "10.0.0.1", "hostname": "node-a", "labels": ["db"], "memory": "16 gb", "cpu": "8 ghz", "tags": { "zone": "a" } },
  { "host": "10.0.0.2", "hostname": "node-b", "labels": ["api"], "memory": "8192 mb", "cpu": "4000 mhz", "tags": { "zone": "b" } }
]"#;

#[test]
fn removing_a_worker() {
    let b = TestBucket::example_built();
    let id3 = b.kv("maand/worker/10.0.0.3", "worker_id");
    b.write("workspace/workers.json", TWO_WORKERS);
    let o = b.maand(&["build"]);
    assert_eq!(
        o.succeeded(),
        "build: 2 workers, 3 jobs, 4 allocations (2 active, 0 disabled, 2 removed), 1 post_build hook run\n"
    );
    // The disabled.json entry now names a host that is not in workers.json.
    assert!(o.stderr.contains(
        "warning: workspace/disabled.json: worker \"10.0.0.3\" is not in workers.json\n"
    ));
    assert_eq!(
        allocations(&b),
        vec![
            a("api", "10.0.0.2", false, false),
            a("api", "10.0.0.3", true, true),
            a("database", "10.0.0.1", false, false),
            a("prometheus", "10.0.0.3", false, true),
        ]
    );
    // The worker's namespaces and every allocation namespace on it are tombstoned; prometheus
    // has only removed allocations left (purge state), so its job namespaces go too.
    let deleted = deleted_namespaces(&b);
    for ns in [
        "maand/worker/10.0.0.3",
        "maand/worker/10.0.0.3/tags",
        "maand/job/api/worker/10.0.0.3",
        "maand/job/prometheus/worker/10.0.0.3",
        "maand/job/prometheus",
    ] {
        assert!(deleted.contains(ns), "{ns} not tombstoned: {deleted:?}");
    }
    let live = live_namespaces(&b);
    for ns in [
        "maand/worker/10.0.0.3",
        "maand/worker/10.0.0.3/tags",
        "maand/job/api/worker/10.0.0.3",
        "maand/job/prometheus/worker/10.0.0.3",
        "maand/job/prometheus",
    ] {
        assert!(!live.contains(ns), "{ns} still has live keys");
    }
    assert_eq!(b.kv("maand/worker", "api_workers"), "10.0.0.2");
    assert_eq!(b.kv("maand/bucket", "activejobs"), "api,database");
    assert_eq!(b.kv("maand/bucket", "jobs"), "api,database,prometheus");
    assert_eq!(b.kv("maand/job/api/worker/10.0.0.2", "peer_workers"), "");
    // A tombstone keeps the last value.
    let tomb = b
        .json(&["cat", "kv", "--deleted"])
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["namespace"] == "maand/worker/10.0.0.3/tags")
        .cloned()
        .unwrap();
    assert_eq!(
        (
            tomb["key"].clone(),
            tomb["value"].clone(),
            tomb["version"].clone()
        ),
        (Value::from("zone"), Value::from("c"), Value::from(2))
    );
    assert_eq!(
        b.fail(&["cat", "kv", "get", "maand/worker/10.0.0.3", "worker_ip"]),
        "error: key not found: namespace maand/worker/10.0.0.3, key worker_ip\n"
    );
    assert_eq!(
        b.json(&["cat", "workers"])
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["worker_ip"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["10.0.0.1", "10.0.0.2"]
    );

    // The host comes back: new worker_id, same allocation ids, removed = 0 again.
    copy_example_workers(&b);
    b.ok(&["build"]);
    assert_ne!(b.kv("maand/worker/10.0.0.3", "worker_id"), id3);
    assert_eq!(
        allocations(&b),
        vec![
            a("api", "10.0.0.2", false, false),
            a("api", "10.0.0.3", true, false),
            a("database", "10.0.0.1", false, false),
            a("prometheus", "10.0.0.3", false, false),
        ]
    );
    let ids = b.json(&["cat", "allocations", "--jobs", "prometheus"]);
    assert_eq!(
        ids[0]["allocation_id"],
        stable_uuid("prometheus|10.0.0.3").as_str()
    );
    assert_eq!(b.kv("maand/job/prometheus", "workers"), "10.0.0.3");
    let v = b.json(&["cat", "kv", "get", "maand/job/prometheus", "workers"]);
    assert_eq!(v["version"], 3, "revived after a tombstone");
}

fn copy_example_workers(b: &TestBucket) {
    let src = std::fs::read_to_string(format!(
        "{}/workspace/workers.json",
        crate::harness::EXAMPLE
    ))
    .unwrap();
    b.write("workspace/workers.json", src);
}

#[test]
fn removing_a_job() {
    let b = TestBucket::example();
    b.write(
        "workspace/jobs/prometheus/vars.toml",
        "retention = \"15d\"\n",
    );
    b.ok(&["build"]);
    assert_eq!(b.kv("vars/job/prometheus", "retention"), "15d");
    b.remove("workspace/jobs/prometheus");
    assert_eq!(
        b.ok(&["build"]),
        "build: 3 workers, 2 jobs, 4 allocations (2 active, 1 disabled, 1 removed), 1 post_build hook run\n"
    );
    assert_eq!(
        allocations(&b),
        vec![
            a("api", "10.0.0.2", false, false),
            a("api", "10.0.0.3", true, false),
            a("database", "10.0.0.1", false, false),
            a("prometheus", "10.0.0.3", false, true),
        ]
    );
    let jobs: Vec<String> = b
        .json(&["cat", "jobs"])
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(jobs, ["database", "api"]);
    let deleted = deleted_namespaces(&b);
    assert!(deleted.contains("maand/job/prometheus"));
    assert!(deleted.contains("maand/job/prometheus/worker/10.0.0.3"));
    let live = live_namespaces(&b);
    assert!(!live.contains("maand/job/prometheus"));
    assert!(!live.contains("maand/job/prometheus/worker/10.0.0.3"));
    // Without --purge-job-kv the job's variables survive.
    assert_eq!(b.kv("vars/job/prometheus", "retention"), "15d");
    assert_eq!(b.kv("maand/bucket", "jobs"), "api,database");
    assert_eq!(b.kv("maand/worker/10.0.0.3", "jobs"), "");
}

#[test]
fn removing_a_job_with_purge_job_kv() {
    let b = TestBucket::example();
    b.write(
        "workspace/jobs/prometheus/vars.toml",
        "retention = \"15d\"\n",
    );
    b.ok(&["build"]);
    b.remove("workspace/jobs/prometheus");
    b.ok(&["build", "--purge-job-kv"]);
    assert_eq!(
        b.fail(&["cat", "kv", "get", "vars/job/prometheus", "retention"]),
        "error: key not found: namespace vars/job/prometheus, key retention\n"
    );
    assert!(deleted_namespaces(&b).contains("vars/job/prometheus"));
    // vars of jobs that are still placed are untouched.
    assert_eq!(b.kv("vars/job/database", "cluster_name"), "prod-east");
}

#[test]
fn purge_job_kv_on_a_later_build() {
    // The job was removed by an earlier build; --purge-job-kv later still purges its
    // variables (it is a retired job: every allocation row removed, spec 04 §8).
    let b = TestBucket::example();
    b.write(
        "workspace/jobs/prometheus/vars.toml",
        "retention = \"15d\"\n",
    );
    b.ok(&["build"]);
    b.remove("workspace/jobs/prometheus");
    b.ok(&["build"]);
    assert_eq!(b.kv("vars/job/prometheus", "retention"), "15d");
    b.ok(&["build", "--purge-job-kv"]);
    assert!(deleted_namespaces(&b).contains("vars/job/prometheus"));
}

#[test]
fn job_losing_every_worker_enters_the_purge_state() {
    let b = TestBucket::example_built();
    let m = b
        .read("workspace/jobs/prometheus/manifest.json")
        .replace("{ \"version\"", "{ \"selectors\": [\"gpu\"], \"version\"");
    b.write("workspace/jobs/prometheus/manifest.json", m);
    b.ok(&["build"]);
    assert_eq!(
        allocations(&b).last().unwrap(),
        &a("prometheus", "10.0.0.3", false, true)
    );
    let deleted = deleted_namespaces(&b);
    assert!(deleted.contains("maand/job/prometheus"));
    assert!(deleted.contains("maand/job/prometheus/worker/10.0.0.3"));
    // The job stays in the catalog and in maand/bucket jobs.
    assert_eq!(b.kv("maand/bucket", "jobs"), "api,database,prometheus");
    assert_eq!(b.kv("maand/bucket", "activejobs"), "api,database");
}

#[test]
fn vars_toml_key_removal_keeps_the_kv_key() {
    let b = TestBucket::example_built();
    b.write(
        "workspace/jobs/database/vars.toml",
        "cluster_name = \"prod-west\"\n",
    );
    b.ok(&["build"]);
    assert_eq!(b.kv("vars/job/database", "cluster_name"), "prod-west");
    let v = b.json(&["cat", "kv", "get", "vars/job/database", "max_connections"]);
    assert_eq!(
        (v["value"].clone(), v["version"].clone()),
        ("200".into(), 1.into())
    );
    // Even without the file.
    b.remove("workspace/jobs/database/vars.toml");
    b.ok(&["build"]);
    assert_eq!(b.kv("vars/job/database", "cluster_name"), "prod-west");
}

#[test]
fn bucket_conf_key_removal_tombstones_it() {
    let b = TestBucket::example_built();
    b.write(
        "workspace/bucket.conf",
        "port_min = \"30000\"\nport_max = \"39999\"\n",
    );
    b.ok(&["build"]);
    assert_eq!(
        b.fail(&["cat", "kv", "get", "vars/bucket", "environment"]),
        "error: key not found: namespace vars/bucket, key environment\n"
    );
    let tomb = b
        .json(&["cat", "kv", "--deleted"])
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["namespace"] == "vars/bucket")
        .cloned()
        .unwrap();
    assert_eq!(tomb["key"], "environment");
    assert_eq!(tomb["value"], "production");
    assert_eq!(tomb["version"], 2);
    assert_eq!(tomb["deleted"], true);
    // Putting it back revives it with the next version.
    b.write(
        "workspace/bucket.conf",
        "port_min = \"30000\"\nport_max = \"39999\"\nenvironment = \"staging\"\n",
    );
    b.ok(&["build"]);
    let v = b.json(&["cat", "kv", "get", "vars/bucket", "environment"]);
    assert_eq!(
        (v["value"].clone(), v["version"].clone()),
        ("staging".into(), 3.into())
    );
}

#[test]
fn port_changes_keep_or_release_numbers() {
    let b = TestBucket::example_built();
    // A new pool port gets the lowest free number; existing ones keep theirs.
    let m = b.read("workspace/jobs/api/manifest.json").replace(
        "\"api_metrics_port\": {}",
        "\"api_metrics_port\": {}, \"api_admin_port\": {}",
    );
    b.write("workspace/jobs/api/manifest.json", &m);
    b.ok(&["build"]);
    assert_eq!(
        b.json(&["cat", "job_ports", "--jobs", "api"]),
        serde_json::json!([
            {"job": "api", "name": "api_admin_port", "port": 30002},
            {"job": "api", "name": "api_http_port", "port": 30000},
            {"job": "api", "name": "api_metrics_port", "port": 30001},
        ])
    );
    // Removing a port frees its number for the next new port.
    let m = m.replace("\"api_metrics_port\": {}, ", "");
    b.write("workspace/jobs/api/manifest.json", &m);
    b.ok(&["build"]);
    assert_eq!(
        b.fail(&["cat", "kv", "get", "maand/bucket", "api_metrics_port"]),
        "error: key not found: namespace maand/bucket, key api_metrics_port\n"
    );
    let m = m.replace(
        "\"api_admin_port\": {}",
        "\"api_admin_port\": {}, \"api_debug_port\": {}",
    );
    b.write("workspace/jobs/api/manifest.json", &m);
    b.ok(&["build"]);
    assert_eq!(b.kv("maand/bucket", "api_debug_port"), "30001");
    assert_eq!(b.kv("maand/bucket", "api_admin_port"), "30002");
    assert_eq!(b.kv("maand/bucket", "api_http_port"), "30000");
    // Fixed 30004 → {} keeps the number; a fixed port outside the pool → {} moves into it.
    let m = m.replace(
        "\"api_debug_port\": {}",
        "\"api_debug_port\": 30004, \"api_trace_port\": 9500",
    );
    b.write("workspace/jobs/api/manifest.json", &m);
    b.ok(&["build"]);
    let m = m.replace("30004", "{}").replace("9500", "{}");
    b.write("workspace/jobs/api/manifest.json", &m);
    b.ok(&["build"]);
    assert_eq!(b.kv("maand/bucket", "api_debug_port"), "30004");
    assert_eq!(b.kv("maand/bucket", "api_trace_port"), "30001");
}
