//! `post_build` (spec 03 §16): waves, name order, once per active allocation, hook
//! environment, KV writes committed only when every hook succeeded.

use crate::harness::{alloc_id, Bucket};

/// Appends the hook environment to `<bucket>/runs.log` and writes one job variable.
const RECORD: &str = r#"import os
import maand

root = maand.find_bucket_root()
keys = ["JOB", "COMMAND", "EVENT", "ALLOCATION_IP", "ALLOCATION_INDEX", "DISABLED",
        "CURRENT_VERSION", "NEW_VERSION"]
with open(root / "runs.log", "a") as f:
    f.write(" ".join(os.environ.get(k, "-") for k in keys) + "\n")
with open(root / "env.log", "a") as f:
    f.write(" ".join([
        os.environ["ALLOCATION_ID"],
        os.environ["JOB_COMMAND_API_HOST"],
        os.environ["JOB_COMMAND_API_PORT"],
        os.environ["MAAND_API_URL"],
        str(len(os.environ["MAAND_API_TOKEN"])),
        os.environ["MAAND_SSH_KNOWN_HOSTS"],
        os.environ.get("PYTHONUNBUFFERED", "-"),
        os.getcwd(),
    ]) + "\n")
key = f"{maand.command_name()}_{maand.allocation_index()}"
maand.put_job_variable(key, "v-" + maand.allocation_ip()).raise_for_status()
if (root / "fail_on").exists() and (root / "fail_on").read_text().strip() == maand.allocation_ip():
    print("failing on purpose")
    raise SystemExit(3)
print("ok")
"#;

#[test]
fn post_build_runs_waves_in_order_with_the_hook_environment() {
    let b = Bucket::standard();
    b.body(RECORD);
    let o = b.maand(&["build"]);
    o.ok();
    assert_eq!(
        o.stdout,
        "build: 2 workers, 2 jobs, 4 allocations (3 active, 1 disabled, 0 removed), 5 post_build hook runs\n"
    );
    assert_eq!(
        b.lines("runs.log"),
        [
            "alpha command_a post_build 127.0.0.1 0 0 0.0.0 1.0.0",
            "alpha command_a post_build 127.0.0.2 1 0 0.0.0 1.0.0",
            "alpha command_b post_build 127.0.0.1 0 0 0.0.0 1.0.0",
            "alpha command_b post_build 127.0.0.2 1 0 0.0.0 1.0.0",
            "beta command_d post_build 127.0.0.1 0 0 0.0.0 2.0.0",
        ]
    );
    assert!(o.stderr.contains("alpha@127.0.0.1 | ok\n"), "{}", o.stderr);
    assert!(o.stderr.contains("beta@127.0.0.1 | ok\n"), "{}", o.stderr);
    let env = b.lines("env.log");
    let first: Vec<&str> = env[0].split(' ').collect();
    assert_eq!(first[0], alloc_id(&b, "alpha", "127.0.0.1"));
    assert_eq!(first[1], "127.0.0.1");
    assert_eq!(first[3], format!("http://127.0.0.1:{}", first[2]));
    assert_eq!(first[4], "64");
    assert_eq!(
        first[5],
        b.root().join("secrets/known_hosts").to_string_lossy()
    );
    assert_eq!(first[6], "1");
    assert_eq!(
        std::fs::canonicalize(first[7]).unwrap(),
        std::fs::canonicalize(b.path("tmp/workers/127.0.0.1/jobs/alpha/_modules")).unwrap()
    );
    // Staging: raw job files, helpers; tmp/ is private.
    assert!(b.path("tmp/workers/127.0.0.1/jobs/alpha/Makefile").exists());
    assert!(b
        .path("tmp/workers/127.0.0.1/jobs/alpha/_modules/maand.py")
        .exists());
    assert!(b
        .path("tmp/workers/127.0.0.1/jobs/alpha/_modules/maand.ts")
        .exists());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(b.path("tmp"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    // KV writes of the pass are committed.
    assert_eq!(
        b.kv("vars/job/alpha", "command_a_1").as_deref(),
        Some("v-127.0.0.2")
    );
    assert_eq!(
        b.kv("vars/job/beta", "command_d_0").as_deref(),
        Some("v-127.0.0.1")
    );
    // Logs carry the hook event.
    let log = b.read("logs/127.0.0.1.log");
    assert!(
        log.lines().any(|l| l.contains("phase=job_command")
            && l.contains("action=command_a")
            && l.contains("hook_event=post_build")
            && l.contains("msg=ok")),
        "{log}"
    );
    let token_len_line = log.lines().any(|l| l.contains("MAAND_API_TOKEN"));
    assert!(!token_len_line, "the hook environment is never logged");
}

#[test]
fn post_build_failure_discards_kv_and_stops_later_waves() {
    let b = Bucket::standard();
    b.body(RECORD);
    b.write("fail_on", "127.0.0.2");
    let o = b.maand(&["build"]);
    o.failed();
    assert!(
        o.stderr.ends_with(
            "error: job command failed\npost_build: job alpha hook command_a failed: 127.0.0.2: exit status 3\n"
        ),
        "{}",
        o.stderr
    );
    // Both allocations ran; command_b (after the failing command) and wave 1 did not.
    assert_eq!(
        b.lines("runs.log"),
        [
            "alpha command_a post_build 127.0.0.1 0 0 0.0.0 1.0.0",
            "alpha command_a post_build 127.0.0.2 1 0 0.0.0 1.0.0",
        ]
    );
    // T1 stays committed, hook KV writes are discarded.
    assert_eq!(b.kv("maand/job/alpha", "version").as_deref(), Some("1.0.0"));
    assert_eq!(b.kv("vars/job/alpha", "command_a_0"), None);
    // Re-running the build runs every hook again.
    std::fs::remove_file(b.path("fail_on")).unwrap();
    std::fs::remove_file(b.path("runs.log")).unwrap();
    b.maand(&["build"]).ok();
    assert_eq!(b.lines("runs.log").len(), 5);
    assert_eq!(
        b.kv("vars/job/alpha", "command_a_0").as_deref(),
        Some("v-127.0.0.1")
    );
}

#[test]
fn build_without_post_build_hooks_runs_nothing() {
    let b = Bucket::new();
    b.write(
        "workspace/workers.json",
        r#"[{ "host": "127.0.0.1", "labels": ["x"] }]"#,
    );
    b.job(
        "x",
        r#"{ "version": "1.0.0", "selectors": ["x"], "commands": { "command_q": { "executed_on": ["cli"] } } }"#,
        &["command_q"],
    );
    let o = b.maand(&["build"]);
    assert_eq!(
        o.ok().stdout,
        "build: 1 worker, 1 job, 1 allocation (1 active, 0 disabled, 0 removed), 0 post_build hook runs\n"
    );
    assert!(!b.path("tmp/workers").exists());
}
