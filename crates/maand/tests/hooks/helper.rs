//! The embedded Python helper (spec 07 §9.1): every function and alias, the Response
//! object, errors, and the SSH helpers (against a fake `ssh` that prints its argv).

use crate::harness::Bucket;

const SCRIPT: &str = r#"import json, os, subprocess
import maand

def show(name, value):
    print(f"{name}={value}")

show("context", [maand.allocation_id() == os.environ["ALLOCATION_ID"], maand.allocation_ip(),
                 maand.allocation_index(), maand.job_name(), maand.command_event(),
                 maand.command_name(), maand.is_allocation_disabled()])
show("aliases", [maand.get_allocation_id() == maand.allocation_id(),
                 maand.get_allocation_ip(), maand.get_allocation_index(), maand.get_event(),
                 maand.get_command(), maand.get_job(),
                 maand.kv_get is maand.get_store_value, maand.kv_put is maand.put_job_variable,
                 maand.kv_put_secret is maand.put_job_secret,
                 maand.get_demands is maand.list_command_demands])

r = maand.get_store_value("maand/job/alpha", "version")
show("response", [r.status_code, r.ok, bool(r), r.json()["value"], type(r.content).__name__,
                  r.headers["content-type"], r.headers.get("CONTENT-TYPE"),
                  r.url.endswith("/kv")])
show("get_kv_value", maand.get_kv_value("maand/bucket", "jobs"))
show("put", maand.put_job_variable("color", " blue ").status_code)
show("kv_put", maand.kv_put("size", "xl").status_code)
show("kv_get", maand.kv_get("vars/job/alpha", "color").json()["value"])
show("secret", [maand.put_job_secret("token", "s3cr3t-value").status_code,
                maand.kv_put_secret("other", "0th3r-s3cr3t").status_code,
                maand.get_kv_value("secrets/job/alpha", "token")])
show("keys", json.dumps(maand.list_job_keys().json(), sort_keys=True))
show("keys_ns", json.dumps(maand.list_job_keys("vars/job/alpha").json()))
show("delete", [maand.delete_job_variable("size").status_code,
                maand.delete_job_variable("size").status_code,
                maand.delete_job_secret("other").status_code])
show("rollout", [maand.put_rollout_order([" 127.0.0.2 ", "", "127.0.0.1"]).status_code,
                 maand.get_rollout_order().json()["value"]])
show("demands", json.dumps(maand.list_command_demands().json()))
show("get_demands", maand.get_demands().status_code)
show("acquire", json.dumps(maand.acquire_semaphore("m", capacity=2, timeout_seconds=5).json(),
                           sort_keys=True))
show("status", json.dumps(maand.semaphore_status("m").json(), sort_keys=True))
show("release", [maand.release_semaphore("m").status_code, maand.release_semaphore("m").status_code])

bad = maand.get_store_value("vars/job/beta", "x")
show("error_status", [bad.status_code, bad.ok, bad.text.strip()])
try:
    bad.raise_for_status()
except maand.HTTPError as e:
    show("http_error", [isinstance(e, OSError), e.response.status_code, str(e).split(" for url: ")[0]])
try:
    maand.get_kv_value("maand/bucket", "missing")
except maand.HTTPError as e:
    show("get_kv_value_error", e.response.status_code)
try:
    bad.json()
except ValueError:
    show("json_error", "ValueError")

show("bucket_root", maand.find_bucket_root() == maand.find_bucket_root().resolve())
show("load_ssh", [maand.load_ssh()[0], os.path.basename(maand.load_ssh()[1]), maand.load_ssh()[2]])
res = maand.run_ssh("127.0.0.9", "uptime", timeout=7, connect_timeout=3)
show("run_ssh", res.stdout.strip())
res.raise_for_status()
show("runner", maand.run_runner_target("start").stdout.strip())
show("make", maand.run_make_target("stop", worker_ip="127.0.0.8", job="beta").stdout.strip())
try:
    maand.run_ssh("127.0.0.9", "fail")
except subprocess.CalledProcessError as e:
    show("ssh_check", e.returncode)
show("ssh_nocheck", maand.run_ssh("127.0.0.9", "fail", check=False).returncode)

os.environ["MAAND_API_URL"] = "http://127.0.0.1:1"
try:
    maand.list_command_demands()
except maand.ConnectionError as e:
    show("connection_error", isinstance(e, OSError))
"#;

/// Prints the argv it got (one `|`-joined line); exits 5 when the remote command is `fail`.
const FAKE_SSH: &str = r#"#!/bin/sh
out=""
for a in "$@"; do out="$out|$a"; done
echo "${out#|}"
case "$*" in *" fail") exit 5;; esac
exit 0
"#;

#[test]
fn every_helper_function_and_alias() {
    let mut b = Bucket::standard();
    b.body("pass\n");
    b.maand(&["build"]).ok();
    b.write("secrets/worker.key", "not a real key\n");
    // Written by a child process (`install`): a file this test process held open for
    // writing could leak into another test's fork and make exec fail with ETXTBSY.
    b.write("fakebin.src/ssh", FAKE_SSH);
    std::fs::create_dir_all(b.path("fakebin")).unwrap();
    assert!(std::process::Command::new("install")
        .arg("-m")
        .arg("755")
        .arg(b.path("fakebin.src/ssh"))
        .arg(b.path("fakebin/ssh"))
        .status()
        .unwrap()
        .success());
    b.fake_bin = Some(b.path("fakebin"));
    b.body(SCRIPT);
    let o = b.maand(&["hooks", "command_a", "alpha"]);
    o.ok();
    let out: Vec<&str> = o
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("alpha@127.0.0.1 | "))
        .collect();
    let key = b.path("secrets/worker.key");
    let known = b.path("secrets/known_hosts");
    let bucket_id = b.kv("maand/bucket", "bucket_id").unwrap();
    let ssh = |ip: &str, remote: &str, t: u32, ct: u32| {
        format!(
            "-i|{}|-o|BatchMode=yes|-o|ConnectTimeout={ct}|-p|22|-o|UserKnownHostsFile={}|-o|StrictHostKeyChecking=accept-new|agent@{ip}|sudo -E timeout {t} {remote}",
            key.display(),
            known.display()
        )
    };
    let expected = vec![
        "context=[True, '127.0.0.1', '0', 'alpha', 'cli', 'command_a', False]".to_string(),
        "aliases=[True, '127.0.0.1', '0', 'cli', 'command_a', 'alpha', True, True, True, True]"
            .to_string(),
        "response=[200, True, True, '1.0.0', 'bytes', 'application/json', 'application/json', True]"
            .to_string(),
        "get_kv_value=alpha,beta".to_string(),
        "put=200".to_string(),
        "kv_put=200".to_string(),
        "kv_get=blue".to_string(),
        "secret=[200, 200, '[redacted]']".to_string(),
        r#"keys={"namespaces": {"secrets/job/alpha": ["other", "token"], "vars/job/alpha": ["color", "size"]}}"#
            .to_string(),
        r#"keys_ns={"namespaces": {"vars/job/alpha": ["color", "size"]}}"#.to_string(),
        "delete=[200, 404, 200]".to_string(),
        "rollout=[200, '127.0.0.2,127.0.0.1']".to_string(),
        r#"demands=[{"job": "beta", "command": "command_d", "demand_config": {"min_version": "1.0.0"}}]"#
            .to_string(),
        "get_demands=200".to_string(),
        format!(
            r#"acquire={{"acquired": true, "allocation_id": "{}", "capacity": 2, "name": "m"}}"#,
            crate::harness::alloc_id(&b, "alpha", "127.0.0.1")
        ),
        format!(
            r#"status={{"available": 1, "capacity": 2, "holders": ["{}"], "name": "m", "waiting": 0}}"#,
            crate::harness::alloc_id(&b, "alpha", "127.0.0.1")
        ),
        "release=[200, 409]".to_string(),
        "error_status=[400, False, 'Invalid or unauthorized namespace']".to_string(),
        "http_error=[True, 400, '400 Error: Invalid or unauthorized namespace']".to_string(),
        "get_kv_value_error=404".to_string(),
        "json_error=ValueError".to_string(),
        "bucket_root=True".to_string(),
        "load_ssh=['agent', 'worker.key', True]".to_string(),
        format!("run_ssh={}", ssh("127.0.0.9", "uptime", 7, 3)),
        format!(
            "runner={}",
            ssh(
                "127.0.0.1",
                &format!("python3 /opt/worker/{bucket_id}/bin/runner.py {bucket_id} start --jobs alpha"),
                300,
                15
            )
        ),
        format!(
            "make={}",
            ssh(
                "127.0.0.8",
                &format!("make -C /opt/worker/{bucket_id}/jobs/beta stop"),
                300,
                15
            )
        ),
        "ssh_check=5".to_string(),
        "ssh_nocheck=5".to_string(),
        "connection_error=True".to_string(),
    ];
    assert_eq!(out, expected, "{}", o.stderr);
    // Writes of a successful run are committed; the secret never reaches the logs.
    assert_eq!(b.kv("vars/job/alpha", "color").as_deref(), Some("blue"));
    assert_eq!(
        b.kv("maand/job/alpha", "rollout_order").as_deref(),
        Some("127.0.0.2,127.0.0.1")
    );
    let logs = std::fs::read_to_string(b.path("logs/127.0.0.1.log")).unwrap();
    assert!(!logs.contains("s3cr3t-value"), "secret in logs");
}
