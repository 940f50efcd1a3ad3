//! The runtime API seen from real hooks: the token, the health_check write ban.

use crate::harness::Bucket;
use std::net::TcpListener;

#[test]
fn a_request_without_the_token_gets_401() {
    let b = Bucket::standard();
    b.body("pass\n");
    b.maand(&["build"]).ok();
    b.body(
        r#"import os, json, urllib.request, urllib.error
import maand
url = os.environ["MAAND_API_URL"] + "/demands"
req = urllib.request.Request(url, headers={
    "X-ALLOCATION-ID": maand.allocation_id(), "EVENT": "cli", "COMMAND": maand.command_name()})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    opener.open(req)
except urllib.error.HTTPError as e:
    print("no token:", e.code, e.read().decode().strip(), e.headers.get("WWW-Authenticate"))
r = maand.list_command_demands()
print("with token:", r.status_code, json.dumps(r.json()))
"#,
    );
    let o = b.maand(&["hooks", "command_a", "alpha"]);
    o.ok();
    assert!(
        o.stderr
            .contains("alpha@127.0.0.1 | no token: 401 missing or invalid API token Bearer"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains(
            r#"alpha@127.0.0.1 | with token: 200 [{"job": "beta", "command": "command_d", "demand_config": {"min_version": "1.0.0"}}]"#
        ),
        "{}",
        o.stderr
    );
    // The token never reaches the logs.
    for entry in std::fs::read_dir(b.path("logs")).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(!text.contains("MAAND_API_TOKEN="), "{}", p.display());
        }
    }
}

/// Listeners standing in for the workers' ssh ports, so the worker gate passes.
fn fake_ssh_ports() -> (u16, Vec<TcpListener>) {
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = first.local_addr().unwrap().port();
    let second = TcpListener::bind(("127.0.0.2", port)).unwrap();
    (port, vec![first, second])
}

#[test]
fn health_check_hooks_run_read_only() {
    let b = Bucket::standard();
    let (port, _listeners) = fake_ssh_ports();
    let conf = b
        .read("maand.conf")
        .replace("ssh_port = 22", &format!("ssh_port = {port}"));
    b.write("maand.conf", conf);
    b.job(
        "gamma",
        r#"{ "version": "1.0.0", "selectors": ["gamma"], "commands": {
  "command_health": { "executed_on": ["health_check"] } } }"#,
        &["command_health"],
    );
    b.body("pass\n");
    b.maand(&["build"]).ok();
    b.body(
        r#"import maand, os
r = maand.put_job_variable("k", "v")
print("put:", r.status_code, r.text.strip())
r = maand.put_job_secret("k", "v")
print("secret:", r.status_code, r.text.strip())
print("read:", maand.get_kv_value("maand/job/gamma", "version"))
print("sem:", maand.acquire_semaphore("s").json()["acquired"])
print("files:", sorted(f for f in os.listdir(".") if f != "certs"))
"#,
    );
    let o = b.maand(&["health_check", "--jobs", "gamma", "--verbose"]);
    o.ok();
    for line in [
        "gamma@127.0.0.1 | put: 400 KV writes are not allowed during health_check",
        "gamma@127.0.0.1 | secret: 400 KV writes are not allowed during health_check",
        "gamma@127.0.0.1 | read: 1.0.0",
        "gamma@127.0.0.1 | sem: True",
        "gamma@127.0.0.2 | files: ['command_health.py', 'maand.py', 'maand.ts']",
        "health check passed: gamma",
    ] {
        assert!(o.stderr.contains(line), "{line:?} not in {}", o.stderr);
    }
    // The semaphore slot of the exited hook was released with a warning.
    assert!(
        o.stderr
            .contains("exited holding semaphore \"s\" (health_check); released"),
        "{}",
        o.stderr
    );
    // Health-fast staging: no Makefile.
    assert!(!b.path("tmp/workers/127.0.0.1/jobs/gamma/Makefile").exists());

    // Without --verbose the output is not printed, but a failure carries its tail.
    b.body("print('checking')\nprint('broken')\nraise SystemExit(2)\n");
    let o = b.maand(&["health_check", "--jobs", "gamma"]);
    o.failed();
    assert!(!o.stderr.contains("gamma@127.0.0.1 | "), "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "job gamma command command_health failed: 127.0.0.1: command execution failed (exit 2)"
        ),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("    checking\n    broken"),
        "{}",
        o.stderr
    );
}
