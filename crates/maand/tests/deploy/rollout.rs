//! First deploy, no-op deploy, upgrades per restart policy, version bumps, `--force`,
//! `--sync-only`.

use crate::harness::TestBucket;
use serde_json::json;

#[test]
fn first_deploy_then_noop_contacts_no_worker() {
    let Some(b) = TestBucket::new("first_deploy_then_noop_contacts_no_worker", 2) else {
        return;
    };
    b.job(
        "api",
        json!({"commands": {"command_x": {"executed_on": ["cli"]}}}),
        "0",
    );
    b.job("db", json!({"version": "2.0.0"}), "0");
    b.write(
        "workspace/jobs/api/conf/app.conf.tpl",
        "id={{ .WorkerIP }}\n",
    );
    b.write(
        "workspace/jobs/api/_modules/command_x.py",
        "print('hook')\n",
    );
    let out = b.build_deploy();
    out.has("api: deployed").has("db: deployed");
    let id = b.bucket_id().to_string();
    assert_eq!(b.update_seq(), 1);
    for i in 0..2 {
        let w: serde_json::Value = serde_json::from_str(&b.worker_file(i, "worker.json")).unwrap();
        assert_eq!(w["bucket_id"], id.as_str());
        assert_eq!(w["worker_ip"], b.host(i).as_str());
        assert_eq!(w["update_seq"], 1);
        let jobs: serde_json::Value = serde_json::from_str(&b.worker_file(i, "jobs.json")).unwrap();
        assert_eq!(
            jobs,
            json!([{"job": "api", "disabled": 0}, {"job": "db", "disabled": 0}])
        );
        assert!(b.on_worker(i, "bin/runner.py").is_file());
        assert!(b.on_worker(i, "bin/worker.py").is_file());
        assert_eq!(b.worker_file(i, "jobs/api/content.txt"), "one\n");
        // Templates are rendered per allocation; sources and hooks are never sent.
        assert_eq!(
            b.worker_file(i, "jobs/api/conf/app.conf"),
            format!("id={}\n", b.host(i))
        );
        assert!(!b.on_worker(i, "jobs/api/conf/app.conf.tpl").exists());
        assert!(!b.on_worker(i, "jobs/api/_modules").exists());
        assert_eq!(b.targets(i, "api"), ["start"]);
        let ev = &b.events(i, "db")[0];
        assert_eq!((ev.cur.as_str(), ev.new.as_str()), ("0.0.0", "2.0.0"));
    }
    for r in b.deployments() {
        assert_eq!(r["rollout"], "promoted", "{r}");
        assert_eq!(r["current_hash"], r["previous_hash"]);
    }
    assert_eq!(b.deployment("db", 0).unwrap()["current_version"], "2.0.0");

    // Nothing changed: no worker contacted, update_seq unchanged, no make target run.
    let logins = b.logins();
    b.maand(&["build"]).ok();
    let out = b.maand(&["deploy"]).ok();
    out.has("deploy: skip job \"api\" (already promoted on all allocations)")
        .has("deploy: skip job \"db\" (already promoted on all allocations)");
    assert_eq!(b.logins(), logins, "a no-op deploy logged in to a worker");
    assert_eq!(b.update_seq(), 1);
    assert_eq!(b.targets(0, "api"), ["start"]);
}

#[test]
fn upgrades_follow_restart_policy() {
    let Some(b) = TestBucket::new("upgrades_follow_restart_policy", 2) else {
        return;
    };
    b.job("always", json!({"max_concurrent_upgrades": 2}), "0");
    b.job(
        "soft",
        json!({"restart_policy": "reload", "restart_globs": ["conf/**", "Makefile"]}),
        "0",
    );
    b.write("workspace/jobs/soft/conf/a.conf", "a=1\n");
    b.job("never", json!({"restart_policy": "never"}), "0");
    b.build_deploy();

    // A content change in each job.
    b.write("workspace/jobs/always/content.txt", "two\n");
    b.write("workspace/jobs/soft/content.txt", "two\n");
    b.write("workspace/jobs/never/content.txt", "two\n");
    let out = b.build_deploy();
    out.has("always: deployed")
        .has("soft: deployed")
        .has("never: deployed");
    for i in 0..2 {
        assert_eq!(b.targets(i, "always"), ["start", "restart"]);
        assert_eq!(b.targets(i, "soft"), ["start", "reload"], "no glob matched");
        assert_eq!(b.targets(i, "never"), ["start"], "never: files only");
        for job in ["always", "soft", "never"] {
            assert_eq!(
                b.worker_file(i, &format!("jobs/{job}/content.txt")),
                "two\n"
            );
            assert_eq!(b.rollout(job, i), "promoted");
        }
    }

    // A change matching a restart glob restarts; the plan names the matched path.
    b.write("workspace/jobs/soft/conf/a.conf", "a=2\n");
    b.maand(&["build"]).ok();
    b.maand(&["deploy", "--dry-run"])
        .ok()
        .has("restart  previous_hash=")
        .has("matched=conf/a.conf");
    b.maand(&["deploy"]).ok();
    for i in 0..2 {
        assert_eq!(b.targets(i, "soft"), ["start", "reload", "restart"]);
        assert_eq!(b.worker_file(i, "jobs/soft/conf/a.conf"), "a=2\n");
    }
    // A removed file counts as a changed path too.
    std::fs::remove_file(b.path("workspace/jobs/soft/conf/a.conf")).unwrap();
    b.build_deploy();
    for i in 0..2 {
        assert_eq!(b.targets(i, "soft").last().unwrap(), "restart");
        assert!(!b.on_worker(i, "jobs/soft/conf/a.conf").exists());
    }
}

#[test]
fn version_bump_alone_upgrades_with_versions_in_make_env() {
    let Some(b) = TestBucket::new("version_bump_alone_upgrades_with_versions_in_make_env", 1)
    else {
        return;
    };
    b.job("api", json!({}), "0");
    b.job("soft", json!({"restart_policy": "reload"}), "0");
    b.build_deploy();
    b.job("api", json!({"version": "1.1.0"}), "0");
    b.job(
        "soft",
        json!({"version": "1.1.0", "restart_policy": "reload"}),
        "0",
    );
    b.maand(&["build"]).ok();
    assert_eq!(b.rollout("api", 0), "restart");
    b.maand(&["deploy"]).ok();
    let ev = b.events(0, "api");
    let last = ev.iter().rfind(|e| e.phase == "begin").unwrap();
    assert_eq!(last.target, "restart");
    assert_eq!((last.cur.as_str(), last.new.as_str()), ("1.0.0", "1.1.0"));
    // Version-only change under the reload policy → reload.
    assert_eq!(b.targets(0, "soft"), ["start", "reload"]);
    let row = b.deployment("api", 0).unwrap();
    assert_eq!(row["current_version"], "1.1.0");
    assert_eq!(row["rollout"], "promoted");
}

#[test]
fn force_and_sync_only() {
    let Some(b) = TestBucket::new("force_and_sync_only", 2) else {
        return;
    };
    b.job("api", json!({"max_concurrent_upgrades": 2}), "0");
    b.job("web", json!({}), "0");
    b.build_deploy();

    // --force rolls promoted allocations of the selected jobs only.
    let seq = b.update_seq();
    b.maand(&["deploy", "--force", "--jobs", "api"])
        .ok()
        .has("api: deployed");
    for i in 0..2 {
        assert_eq!(b.targets(i, "api"), ["start", "restart"]);
        assert_eq!(b.targets(i, "web"), ["start"]);
    }
    assert_eq!(b.update_seq(), seq + 1);

    // --sync-only: files and promotion, no make target.
    b.write("workspace/jobs/api/content.txt", "two\n");
    b.maand(&["build"]).ok();
    b.maand(&["deploy", "--sync-only"]).ok();
    for i in 0..2 {
        assert_eq!(b.worker_file(i, "jobs/api/content.txt"), "two\n");
        assert_eq!(b.targets(i, "api"), ["start", "restart"]);
        assert_eq!(b.rollout("api", i), "promoted");
    }

    // --sync-only cannot start a new allocation.
    b.job("new", json!({}), "0");
    b.maand(&["build"]).ok();
    let out = b.maand(&["deploy", "--sync-only"]).failed();
    out.has("new: failed: --sync-only cannot start new allocations")
        .has(&b.host(0));
    assert!(b.targets(0, "new").is_empty());
    assert_eq!(b.rollout("new", 0), "new");
    b.maand(&["deploy"]).ok().has("new: deployed");
    assert_eq!(b.targets(1, "new"), ["start"]);
}

/// `rsync` command_begin events of the last run in a worker's log, as `action` values.
fn rsync_actions(b: &TestBucket, i: usize) -> Vec<String> {
    let log = std::fs::read_to_string(b.path(&format!("logs/{}.log", b.host(i)))).unwrap();
    let last_run = log
        .lines()
        .rev()
        .filter_map(|l| l.split(" run=").nth(1))
        .find_map(|r| r.split(' ').next())
        .unwrap_or_default()
        .to_string();
    log.lines()
        .filter(|l| l.contains("event=command_begin") && l.contains("phase=rsync"))
        .filter(|l| l.contains(&format!(" run={last_run} ")))
        .filter_map(|l| l.split(" action=").nth(1))
        .filter_map(|a| a.split(' ').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn one_rsync_per_worker_per_wave() {
    let Some(b) = TestBucket::new("one_rsync_per_worker_per_wave", 2) else {
        return;
    };
    // Wave 0: up and side; wave 1: down (it demands a hook of up).
    b.up_and_down("0");
    b.job("side", json!({}), "0");
    b.write("workspace/jobs/side/extra.txt", "extra\n");
    b.build_deploy();
    for i in 0..2 {
        // The bump carries wave 0's trees; wave 1 gets one early sync; no per-job rsync.
        assert_eq!(rsync_actions(&b, i), ["worker_files", "wave"], "worker {i}");
        for job in ["up", "side", "down"] {
            assert_eq!(b.targets(i, job), ["start"], "{job}@{i}");
            assert_eq!(
                b.worker_file(i, &format!("jobs/{job}/content.txt")),
                "one\n"
            );
        }
    }

    // A file removed from one job disappears from the workers; the job's data/ (where
    // its Makefile records targets) and the other jobs' trees are left alone.
    std::fs::remove_file(b.path("workspace/jobs/side/extra.txt")).unwrap();
    b.write("workspace/jobs/up/content.txt", "two\n");
    b.maand(&["build"]).ok();
    b.maand(&["deploy"]).ok();
    for i in 0..2 {
        assert_eq!(rsync_actions(&b, i), ["worker_files"], "worker {i}");
        assert!(
            !b.on_worker(i, "jobs/side/extra.txt").exists(),
            "extra.txt left on worker {i}"
        );
        assert_eq!(b.targets(i, "side"), ["start", "restart"]);
        assert_eq!(b.targets(i, "up"), ["start", "restart"]);
        assert_eq!(b.targets(i, "down"), ["start"], "down untouched");
        assert_eq!(b.worker_file(i, "jobs/up/content.txt"), "two\n");
        assert_eq!(b.worker_file(i, "jobs/down/content.txt"), "one\n");
    }
}
