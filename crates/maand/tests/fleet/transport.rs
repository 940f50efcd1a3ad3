//! The SSH transport through the binary (spec 12 "Connection settings"): with
//! `ssh_control_persist` a later maand process reuses the master an earlier one left; with
//! `0` every process closes its masters and leaves no control directory behind.

use crate::harness::{CloseMasters, FleetBucket};
use std::time::{Duration, Instant};

/// Waits until `dir` is gone or empty: a master told to exit unlinks its socket a moment
/// after `ssh -O exit` returns.
fn wait_empty(dir: &std::path::Path) {
    let until = Instant::now() + Duration::from_secs(2);
    while std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn control_persist_reuses_the_master_across_processes() {
    let Some(b) = FleetBucket::new("control_persist_reuses_the_master_across_processes", 1) else {
        return;
    };
    b.maand(&["build"]).ok();
    let h = b.host(0);
    let masters = CloseMasters {
        settings: b.ssh_settings(),
        hosts: vec![h.clone()],
    };
    let dir = masters.settings.control_dir.clone();

    // Persisting: the second process finds the first one's master, so two runs cost one
    // sshd login.
    b.set_conf("ssh_control_persist", "60");
    let before = b.logins(0);
    b.maand(&["run_command", "true"]).ok();
    assert!(masters.alive(&h), "the master outlives the first process");
    b.maand(&["run_command", "true"]).ok();
    assert_eq!(b.logins(0) - before, 1, "two processes, one login");
    assert!(masters.close(), "the persisted master was still running");
    wait_empty(&dir);

    // Not persisting: each process logs in and closes its master when it ends, and the
    // bucket's control directory goes with it.
    b.set_conf("ssh_control_persist", "0");
    let before = b.logins(0);
    b.maand(&["run_command", "true"]).ok();
    assert!(
        !masters.alive(&h),
        "persist 0: the master ends with the process"
    );
    b.maand(&["run_command", "true"]).ok();
    assert_eq!(b.logins(0) - before, 2, "two processes, two logins");
    assert!(
        !dir.exists(),
        "persist 0 leaves no control directory: {}",
        dir.display()
    );
}

#[test]
fn commands_without_masters_leave_no_control_dir() {
    let Some(mut b) = FleetBucket::new("commands_without_masters_leave_no_control_dir", 1) else {
        return;
    };
    b.maand(&["build"]).ok();
    let dir = b.ssh_settings().control_dir;
    // A persisting bucket whose worker cannot be reached: no master, no socket, so the
    // (empty) directory is removed although masters would persist.
    b.set_conf("ssh_control_persist", "60");
    b.fleet.kill(0).unwrap();
    b.maand(&["run_command", "true"]).failed();
    assert!(
        !dir.exists(),
        "empty control directory left: {}",
        dir.display()
    );
    // A command that opens a session but contacts no worker.
    b.maand(&["health_check", "--jobs", "nope"]).failed();
    assert!(!dir.exists());
}
