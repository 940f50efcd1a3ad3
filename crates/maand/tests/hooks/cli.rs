//! `maand hooks <command> [job]` (spec 07 §10).

use crate::harness::Bucket;

/// Both allocations must be running at once: each waits for the other's marker.
const RENDEZVOUS: &str = r#"import os, time
import maand

root = maand.find_bucket_root()
mine = root / "rv" / maand.allocation_ip()
mine.parent.mkdir(exist_ok=True)
mine.write_text("here")
maand.put_job_variable("seen_" + maand.allocation_index(), maand.command_event()).raise_for_status()
deadline = time.time() + 10
while len(list(mine.parent.iterdir())) < 2:
    if time.time() > deadline:
        print("alone")
        raise SystemExit(4)
    time.sleep(0.05)
print("together")
"#;

const WRITE_THEN_FAIL: &str = r#"import maand
maand.put_job_variable("partial_" + maand.allocation_index(), "x").raise_for_status()
if maand.allocation_ip() == "127.0.0.2":
    raise SystemExit(3)
"#;

fn built() -> Bucket {
    let b = Bucket::standard();
    b.body("pass\n");
    b.maand(&["build"]).ok();
    b
}

#[test]
fn runs_concurrently_and_commits_kv() {
    let b = built();
    b.body(RENDEZVOUS);
    let o = b.maand(&["hooks", "command_a", "alpha", "--concurrency", "2"]);
    o.ok();
    assert!(
        o.stderr.contains("alpha@127.0.0.1 | together"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("alpha@127.0.0.2 | together"),
        "{}",
        o.stderr
    );
    assert_eq!(b.kv("vars/job/alpha", "seen_0").as_deref(), Some("cli"));
    assert_eq!(b.kv("vars/job/alpha", "seen_1").as_deref(), Some("cli"));
}

#[test]
fn default_concurrency_is_one_and_aliases_work() {
    let b = built();
    b.body(
        r#"import maand
root = maand.find_bucket_root()
with open(root / "seq.log", "a") as f:
    f.write(maand.allocation_ip() + " " + maand.command_event() + "\n")
"#,
    );
    for verb in ["hooks", "jobcommand", "job_command"] {
        b.maand(&[verb, "command_c"]).ok();
    }
    assert_eq!(
        b.lines("seq.log"),
        ["127.0.0.1 cli", "127.0.0.2 cli"].repeat(3)
    );
    let o = b.maand(&["hooks", "command_c", "--verbose"]);
    o.ok();
    assert!(o.stderr.contains("alpha@127.0.0.1 begin: "), "{}", o.stderr);
    assert!(
        o.stderr.contains("alpha@127.0.0.2 end: exit 0 in "),
        "{}",
        o.stderr
    );
}

#[test]
fn failure_discards_every_kv_write() {
    let b = built();
    b.body(WRITE_THEN_FAIL);
    let o = b.maand(&["hooks", "command_a"]);
    o.failed();
    assert!(
        o.stderr.ends_with(
            "error: job alpha: job alpha command command_a failed: 127.0.0.2: command execution failed (exit 3)\n"
        ),
        "{}",
        o.stderr
    );
    assert_eq!(b.kv("vars/job/alpha", "partial_0"), None);
    assert_eq!(b.kv("vars/job/alpha", "partial_1"), None);
}

#[test]
fn resolution_errors() {
    let b = built();
    let err = |args: &[&str]| b.maand(args).failed().stderr.clone();
    assert_eq!(
        err(&["hooks", "command_a", "nope"]),
        "error: job \"nope\" not found in the catalog\n"
    );
    assert_eq!(
        err(&["hooks", "command_zzz"]),
        "error: command \"command_zzz\" is not registered for event \"cli\"\n"
    );
    assert_eq!(
        err(&["hooks", "command_d", "beta"]),
        "error: job \"beta\" command \"command_d\" is not registered for event \"cli\"\n"
    );
    assert_eq!(
        err(&["hooks", "command_a", "--concurrency", "0"]),
        "error: concurrency must be at least 1\n"
    );
}

#[test]
fn a_job_without_active_allocations_succeeds() {
    let b = built();
    b.write(
        "workspace/disabled.json",
        r#"{ "jobs": { "alpha": { "allocations": ["127.0.0.1", "127.0.0.2"] } } }"#,
    );
    b.body("pass\n");
    b.maand(&["build"]).ok();
    let o = b.maand(&["hooks", "command_c"]);
    o.ok();
    assert_eq!(o.stderr, "hooks: alpha: no active allocations\n");
}

#[test]
fn missing_interpreter_is_a_prerequisite_failure() {
    let b = built();
    // A venv python that is not executable is named in the failure.
    b.write("workspace/jobs/alpha/_modules/.venv/bin/python3", "");
    let o = b.maand(&["hooks", "command_c", "alpha"]);
    o.failed();
    assert!(
        o.stderr.contains("127.0.0.1: host prerequisites not met: ")
            && o.stderr.contains(".venv/bin/python3"),
        "{}",
        o.stderr
    );
}

#[test]
fn executable_job_venv_python_runs_the_hook() {
    let b = built();
    let python = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let python = String::from_utf8(python.stdout).unwrap();
    // `venv/bin/python`, the last candidate of spec 07 §2: a wrapper recording its calls.
    let venv = "workspace/jobs/alpha/_modules/venv/bin/python";
    b.write(
        venv,
        format!(
            "#!/bin/sh\necho \"$0 $*\" >> {}/venv.log\nexec {} \"$@\"\n",
            b.root().display(),
            python.trim()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(b.path(venv), std::fs::Permissions::from_mode(0o755)).unwrap();
    b.body("print('hook ran')\n");
    let o = b.maand(&["hooks", "command_c", "alpha"]);
    o.ok();
    assert!(
        o.stderr.contains("alpha@127.0.0.2 | hook ran"),
        "{}",
        o.stderr
    );
    let calls = b.lines("venv.log");
    assert_eq!(calls.len(), 2, "{calls:?}");
    let abs = std::path::absolute(b.path(venv)).unwrap();
    assert!(
        calls
            .iter()
            .all(|l| *l == format!("{} command_c.py", abs.display())),
        "{calls:?}"
    );
}

#[test]
fn ctrl_c_is_forwarded_to_running_hooks() {
    let b = built();
    b.body(
        r#"import time
import maand
(maand.find_bucket_root() / "started").write_text("yes")
maand.put_job_variable("before_signal", "x").raise_for_status()
time.sleep(60)
"#,
    );
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_maand"))
        .args(["hooks", "command_c", "alpha"])
        .current_dir(b.root())
        .env_remove("MAAND_BUCKET")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    while !b.path("started").exists() {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "hook never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let t = std::time::Instant::now();
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        t.elapsed() < std::time::Duration::from_secs(9),
        "{:?}",
        t.elapsed()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("127.0.0.1: command execution failed (signal 2); 127.0.0.2: interrupted"),
        "{stderr}"
    );
    assert_eq!(b.kv("vars/job/alpha", "before_signal"), None);
}
