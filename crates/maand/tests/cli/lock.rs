//! The bucket lock (spec 00 principle 3, 03 §1): a held `data/maand.lock` makes a mutating
//! command fail at once naming the holder; a killed holder's lock is taken over.

use crate::harness::TestBucket;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A shell that takes the flock on fd 9, records itself as holder, then becomes `sleep`.
fn hold_lock(b: &TestBucket) -> std::process::Child {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(
            "exec 9>>data/maand.lock; flock -n 9 || exit 3; \
             printf 'maand deploy (pid %s, since 2026-01-01T00:00:00Z)' $$ > data/maand.lock; \
             echo locked; exec sleep 60",
        )
        .current_dir(b.root())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn sh");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "locked\n", "holder failed to take the lock");
    child
}

/// A directory holding a fake `ssh` that answers every call with the facts probe output,
/// so `collect facts` gets past its probe (it takes the lock only to write workers.json).
fn fake_ssh(b: &TestBucket) -> String {
    b.write(
        "fakebin/ssh",
        "#!/bin/sh\nprintf 'MEMORY_MB=4096\\nCPU_MHZ=8000\\n'\n",
    );
    let ssh = b.path("fakebin/ssh");
    std::fs::set_permissions(&ssh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    format!(
        "{}:{}",
        b.path("fakebin").display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn held_lock_fails_fast_and_dead_holder_is_taken_over() {
    let b = TestBucket::example();
    let path = fake_ssh(&b);
    let mut holder = hold_lock(&b);
    let pid = holder.id();
    let locked = format!(
        "error: bucket is locked by maand deploy (pid {pid}, since 2026-01-01T00:00:00Z)\n"
    );
    // Every mutating command: build, deploy, gc, hooks, job lifecycle, collect facts.
    for args in [
        &["build"][..],
        &["deploy"],
        &["gc"],
        &["hooks", "command_migrate", "api"],
        &["job", "start", "api"],
        &["job", "status", "api"],
        &["collect", "facts", "-w", "10.0.0.1"],
        &["worker_facts", "-w", "10.0.0.1"],
    ] {
        let start = Instant::now();
        let o = b.maand_env(args, &[("PATH", &path)]);
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{args:?} waited for the lock"
        );
        // collect facts probes (streaming the fake ssh output) before it takes the lock to
        // write workers.json.
        let err: String = o
            .failed()
            .lines()
            .filter(|l| !l.starts_with("10.0.0.1 | "))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(err, locked, "{args:?}");
    }
    // collect facts wrote nothing.
    assert!(b.read("workspace/workers.json").contains("\"16 gb\""));
    // Nothing was built.
    assert_eq!(b.json(&["info"])["workers"], 0);
    // Read-only commands do not take the lock.
    b.ok(&["cat", "kv", "--output", "json"]);
    b.ok(&["info"]);

    // kill -9: the kernel drops the flock with the process.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let o = b.maand(&["build"]);
    assert!(o.succeeded().starts_with("build: 3 workers"), "{o:#?}");
    // The lock file is left empty after the build exits.
    assert_eq!(b.read("data/maand.lock"), "");
}

#[test]
fn lock_is_released_after_a_failed_build() {
    let b = TestBucket::example_built();
    b.write("workspace/workers.json", "{");
    b.fail(&["build"]);
    crate::harness::copy_tree(std::path::Path::new(crate::harness::EXAMPLE), b.root());
    b.ok(&["build"]);
}
