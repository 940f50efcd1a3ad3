//! Deploy as a non-root login with `use_sudo = true`, maand.conf's default (spec 12: sudo
//! paths are tested with a non-root user). `scripts/setup.sh` creates the user.

use crate::harness::TestBucket;
use std::os::unix::fs::MetadataExt;

/// Records each target with the uid it ran as and the user sudo was called by.
const MAKEFILE: &str = "start restart stop status:\n\
                        \t@mkdir -p data && echo \"$@ $$(id -u) $$SUDO_USER\" >> data/uid.log\n";

#[test]
fn deploy_change_job_and_removal_as_a_non_root_sudo_user() {
    let name = "deploy_change_job_and_removal_as_a_non_root_sudo_user";
    let Some(b) = TestBucket::new(name, 2) else {
        return;
    };
    let Some(user) = maand_fleet::sudo_user_or_skip(name) else {
        return;
    };
    b.write(
        "maand.conf",
        format!(
            "ssh_user = \"{user}\"\nssh_key = \"worker.key\"\nssh_port = {}\nuse_sudo = true\n\
             ssh_connect_timeout = 3\nssh_control_persist = 0\n",
            b.fleet.port()
        ),
    );
    b.job("app", serde_json::json!({}), "0");
    b.write("workspace/jobs/app/Makefile", MAKEFILE);
    b.build_deploy().ok();
    let uid_log = |i: usize| b.worker_file(i, "jobs/app/data/uid.log");
    let uid = |i: usize, rel: &str| std::fs::metadata(b.on_worker(i, rel)).unwrap().uid();
    for i in 0..2 {
        // Lifecycle under sudo: root on the worker, called by the non-root login.
        assert_eq!(uid_log(i), format!("start 0 {user}\n"), "worker {i}");
        // `sudo rsync` wrote the worker files and the job tree.
        assert_eq!(uid(i, "worker.json"), 0);
        assert_eq!(uid(i, "jobs/app/content.txt"), 0);
        assert_eq!(b.worker_file(i, "jobs/app/content.txt"), "one\n");
    }

    // `maand job`: the worker sync check and the target, both through sudo.
    b.maand(&["job", "status", "app"]).ok();
    assert!(uid_log(0).ends_with(&format!("status 0 {user}\n")));

    // A change rolls out as a restart.
    b.write("workspace/jobs/app/content.txt", "two\n");
    b.build_deploy().ok();
    for i in 0..2 {
        assert_eq!(b.worker_file(i, "jobs/app/content.txt"), "two\n");
        assert!(uid_log(i).ends_with(&format!("restart 0 {user}\n")));
    }

    // Removing the job stops it and cleans its tree (root's files), keeping data/.
    std::fs::remove_dir_all(b.path("workspace/jobs/app")).unwrap();
    b.build_deploy().ok();
    for i in 0..2 {
        assert!(uid_log(i).ends_with(&format!("stop 0 {user}\n")));
        assert!(!b.on_worker(i, "jobs/app/content.txt").exists());
        assert!(!b.on_worker(i, "jobs/app/Makefile").exists());
        assert!(b.on_worker(i, "jobs/app/data/uid.log").exists());
    }
}
