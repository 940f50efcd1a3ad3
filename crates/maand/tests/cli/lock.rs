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

/// A directory holding a fake `ssh` that notes each call in `ssh-called` and answers with
/// the facts probe output, so a test can see whether `collect facts` probed a worker.
fn fake_ssh(b: &TestBucket) -> String {
    b.write(
        "fakebin/ssh",
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\nprintf 'MEMORY_MB=4096\\nCPU_MHZ=8000\\n'\n",
            b.path("ssh-called").display()
        ),
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
        assert_eq!(o.failed(), locked, "{args:?}");
    }
    // collect facts neither probed a worker nor wrote anything.
    assert!(!b.path("ssh-called").exists());
    assert!(b.read("workspace/workers.json").contains("\"16 gb\""));
    // Its dry run writes nothing, so it takes no lock: it probes and reports.
    b.maand_env(
        &["collect", "facts", "-w", "10.0.0.1", "--dry-run"],
        &[("PATH", &path)],
    )
    .succeeded();
    assert!(b.path("ssh-called").exists());
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
