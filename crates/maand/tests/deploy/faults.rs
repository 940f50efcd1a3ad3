//! Failures: a failing lifecycle target, maand killed mid-deploy, a worker dying
//! mid-deploy. Each leaves a catalog from which the next deploy resumes.

use crate::harness::{finish, TestBucket};
use serde_json::json;

#[test]
fn failing_restart_stops_later_batches_and_is_retried() {
    let Some(b) = TestBucket::new("failing_restart_stops_later_batches_and_is_retried", 3) else {
        return;
    };
    b.job("api", json!({"max_concurrent_upgrades": 1}), "0");
    b.job("web", json!({}), "0");
    b.build_deploy();
    b.write("workspace/jobs/api/content.txt", "two\n");
    b.write("workspace/jobs/web/content.txt", "two\n");
    b.maand(&["build"]).ok();
    b.mark(1, "api", "fail_restart");

    let out = b.maand(&["deploy"]).failed();
    out.has("api: failed: ")
        .has(&b.host(1))
        .has("target restart failing on purpose")
        .has("web: deployed");
    assert_eq!(b.targets(0, "api"), ["start", "restart"]);
    assert_eq!(b.targets(1, "api"), ["start", "restart"]);
    assert_eq!(b.targets(2, "api"), ["start"], "later batch untouched");
    assert!(b.spans(1, "api", "restart").is_empty(), "restart failed");
    for i in 0..3 {
        assert_eq!(b.rollout("api", i), "restart", "not promoted");
        assert_eq!(b.rollout("web", i), "promoted");
    }

    // The next deploy rolls the failed job again, from its first batch.
    b.unmark(1, "api", "fail_restart");
    let out = b.maand(&["deploy"]).ok();
    out.has("api: deployed").has("web: skipped");
    assert_eq!(b.targets(0, "api"), ["start", "restart", "restart"]);
    assert_eq!(b.targets(1, "api"), ["start", "restart", "restart"]);
    assert_eq!(b.targets(2, "api"), ["start", "restart"]);
    for i in 0..3 {
        assert_eq!(b.rollout("api", i), "promoted");
    }
}

#[test]
fn kill_9_mid_deploy_resumes() {
    let Some(b) = TestBucket::new("kill_9_mid_deploy_resumes", 1) else {
        return;
    };
    for job in ["a", "b", "c"] {
        b.job(job, json!({}), "0");
    }
    b.maand(&["build"]).ok();
    // b's first start hangs (the marker lives in data/, which deploy never touches).
    b.mark(0, "b", "hang_start");
    let mut child = b.spawn(&["deploy"]);
    b.wait_for(30, "b to start", || !b.targets(0, "b").is_empty());
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(b.rollout("a", 0), "promoted", "committed before the kill");
    assert_eq!(b.rollout("b", 0), "new");
    assert_eq!(b.rollout("c", 0), "new");
    assert!(b.targets(0, "c").is_empty());

    let out = b.maand(&["deploy"]).ok();
    out.has("deploy: skip job \"a\"")
        .has("b: deployed")
        .has("c: deployed");
    assert_eq!(b.targets(0, "a"), ["start"]);
    assert_eq!(b.targets(0, "b"), ["start", "start"]);
    assert_eq!(b.targets(0, "c"), ["start"]);
    for job in ["a", "b", "c"] {
        assert_eq!(b.rollout(job, 0), "promoted");
    }
}

#[test]
fn worker_dying_mid_deploy_fails_only_its_job() {
    let Some(mut b) = TestBucket::new("worker_dying_mid_deploy_fails_only_its_job", 2) else {
        return;
    };
    b.workers(&[(0, vec!["x"]), (1, vec!["y"])]);
    b.job("a", json!({"selectors": ["x"]}), "1");
    b.job("b", json!({"selectors": ["y"]}), "0");
    b.job("c", json!({"selectors": ["x"]}), "0");
    b.build_deploy();
    for job in ["a", "b", "c"] {
        b.write(&format!("workspace/jobs/{job}/content.txt"), "two\n");
    }
    b.maand(&["build"]).ok();
    let child = b.spawn_piped(&["deploy"]);
    b.wait_for(30, "a to restart", || b.targets(0, "a").len() == 2);
    b.fleet.kill(1).unwrap();
    let out = finish(child).failed();
    let h1 = b.host(1);
    out.has("a: deployed")
        .has("c: deployed")
        .has("b: failed: ")
        .has(&format!("worker {h1}"));
    assert_eq!(b.rollout("a", 0), "promoted");
    assert_eq!(b.rollout("c", 0), "promoted");
    assert_eq!(b.rollout("b", 1), "restart");
    assert_eq!(b.worker_file(0, "jobs/c/content.txt"), "two\n");
}

#[test]
fn ctrl_c_lets_the_batch_finish_and_starts_no_new_one() {
    let Some(b) = TestBucket::new("ctrl_c_lets_the_batch_finish_and_starts_no_new_one", 3) else {
        return;
    };
    b.job("slow", json!({"max_concurrent_upgrades": 1}), "2");
    b.build_deploy();
    b.write("workspace/jobs/slow/content.txt", "two\n");
    b.maand(&["build"]).ok();
    let child = b.spawn_group_leader(&["deploy"]);
    // Ctrl-C as a terminal sends it, to maand's whole process group: the running restart
    // finishes (ssh runs in a group of its own), no further batch starts, nothing is
    // promoted, exit 130.
    b.wait_for(20, "first restart begins", || {
        b.targets(0, "slow")
            .iter()
            .filter(|t| *t == "restart")
            .count()
            == 1
    });
    let pid = format!("-{}", child.id());
    assert!(std::process::Command::new("kill")
        .args(["-INT", "--", &pid])
        .status()
        .unwrap()
        .success());
    let out = finish(child);
    assert_eq!(out.code, 130, "{out:#?}");
    let spans = b.spans(0, "slow", "restart");
    assert_eq!(spans.len(), 1, "the running restart finished");
    for i in 1..3 {
        assert!(
            !b.targets(i, "slow").iter().any(|t| t == "restart"),
            "worker {i} restarted after Ctrl-C"
        );
    }
    assert_eq!(b.rollout("slow", 1), "restart", "not promoted");
    // The next deploy finishes the rollout.
    b.maand(&["deploy"]).ok();
    for i in 0..3 {
        assert_eq!(b.rollout("slow", i), "promoted");
    }
}

#[test]
fn worker_missed_by_a_bump_is_repaired_by_the_next_deploy() {
    let name = "worker_missed_by_a_bump_is_repaired_by_the_next_deploy";
    let Some(mut b) = TestBucket::new(name, 2) else {
        return;
    };
    b.workers(&[(0, vec!["x"]), (1, vec!["y"])]);
    b.job("a", json!({"selectors": ["x"]}), "0");
    b.job("b", json!({"selectors": ["y"]}), "0");
    b.build_deploy();
    let seq = |b: &TestBucket, i: usize| -> i64 {
        let text = b.worker_file(i, "worker.json");
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["update_seq"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(seq(&b, 1), 1);

    // Worker 1 is down while a change elsewhere bumps update_seq.
    b.fleet.kill(1).unwrap();
    b.write("workspace/jobs/a/content.txt", "two\n");
    b.maand(&["build"]).ok();
    let h1 = b.host(1);
    b.maand(&["deploy"])
        .ok()
        .has("a: deployed")
        .has(&format!("warning: deploy: worker {h1}"));
    b.fleet.restart(1).unwrap();
    assert_eq!(seq(&b, 1), 1, "worker 1 missed update_seq 2");
    b.maand(&["job", "status", "b"]).failed().has(&format!(
        "worker {h1}: update_seq mismatch (run maand deploy)"
    ));

    // A deploy with no job to roll out still repairs it, and `maand job` works again.
    b.maand(&["deploy"]).ok().has(&format!(
        "deploy: worker files (update_seq 2) pushed to {h1}, missed by an earlier deploy"
    ));
    assert_eq!(seq(&b, 1), 2);
    b.maand(&["job", "status", "b"]).ok();
    // Repaired once: the next no-op deploy contacts nobody again.
    b.maand(&["deploy"]).ok().lacks("worker files");
}
