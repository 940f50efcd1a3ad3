//! Disabling and re-enabling allocations, jobs and workers; removing a worker and a job,
//! then `maand gc`.

use crate::harness::TestBucket;
use serde_json::json;

#[test]
fn disable_then_reenable() {
    let Some(b) = TestBucket::new("disable_then_reenable", 3) else {
        return;
    };
    let (h0, h2) = (b.host(0), b.host(2));
    b.job("api", json!({"max_concurrent_upgrades": 3}), "0");
    b.job("web", json!({}), "0");
    b.job("db", json!({}), "0");
    b.build_deploy();

    // One allocation, a whole job, a whole worker.
    b.write(
        "workspace/disabled.json",
        format!(r#"{{"jobs": {{"api": {{"allocations": ["{h0}"]}}, "web": {{}}}}, "workers": ["{h2}"]}}"#),
    );
    b.maand(&["build"]).ok();
    let out = b.maand(&["deploy"]).ok();
    out.has(&format!("deploy: reconcile: stop api@{h0} (disabled)"));
    let stopped = [
        ("api", 0),
        ("api", 2),
        ("web", 0),
        ("web", 1),
        ("web", 2),
        ("db", 2),
    ];
    let running = [("api", 1), ("db", 0), ("db", 1)];
    for (job, i) in stopped {
        assert_eq!(b.targets(i, job), ["start", "stop"], "{job}@{i}");
        assert_eq!(
            b.worker_file(i, &format!("jobs/{job}/content.txt")),
            "one\n",
            "files kept"
        );
        assert_eq!(b.rollout(job, i), "disabled");
    }
    for (job, i) in running {
        assert_eq!(b.targets(i, job), ["start"], "{job}@{i}");
        assert_eq!(b.rollout(job, i), "promoted");
    }
    let jobs: serde_json::Value = serde_json::from_str(&b.worker_file(2, "jobs.json")).unwrap();
    assert!(jobs.as_array().unwrap().iter().all(|j| j["disabled"] == 1));

    // A second deploy has nothing to stop.
    let logins = b.logins();
    b.maand(&["deploy"]).ok();
    assert_eq!(b.logins(), logins);

    // A content change while disabled is promoted without starting anything.
    b.write("workspace/jobs/web/content.txt", "two\n");
    b.maand(&["build"]).ok();
    let plan = b.maand(&["deploy", "--dry-run"]).ok();
    plan.has(
        "job \"web\": skip (already promoted on all allocations) (promote disabled allocations)",
    );
    b.maand(&["deploy"]).ok();
    for i in 0..3 {
        assert_eq!(b.targets(i, "web"), ["start", "stop"]);
        assert_eq!(b.rollout("web", i), "disabled");
        assert_eq!(
            b.worker_file(i, "jobs/web/content.txt"),
            "one\n",
            "no rsync"
        );
    }

    // Re-enable everything: the stopped allocations start again.
    b.write("workspace/disabled.json", "{}");
    b.maand(&["build"]).ok();
    b.maand(&["deploy"]).ok();
    for (job, i) in stopped {
        assert_eq!(b.targets(i, job), ["start", "stop", "start"], "{job}@{i}");
        assert_eq!(b.rollout(job, i), "promoted");
    }
    assert_eq!(b.worker_file(1, "jobs/web/content.txt"), "two\n");
    for (job, i) in running {
        assert_eq!(b.targets(i, job), ["start"], "{job}@{i}");
    }
}

/// `maand cat kv --output json` namespaces with a live key.
fn live_namespaces(b: &TestBucket) -> Vec<String> {
    let v = b
        .maand(&["cat", "kv", "--active", "--output", "json"])
        .ok()
        .json();
    let mut ns: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["namespace"].as_str().unwrap().to_string())
        .collect();
    ns.dedup();
    ns
}

#[test]
fn remove_worker_and_job_then_gc() {
    let Some(b) = TestBucket::new("remove_worker_and_job_then_gc", 2) else {
        return;
    };
    let h1 = b.host(1);
    b.job("api", json!({}), "0");
    b.job("old", json!({}), "0");
    b.build_deploy();
    assert!(live_namespaces(&b).contains(&"maand/job/old".to_string()));

    // Remove job "old" and worker 1.
    std::fs::remove_dir_all(b.path("workspace/jobs/old")).unwrap();
    b.workers(&[(0, vec![])]);
    b.maand(&["build"]).ok();
    assert_eq!(b.rollout("old", 0), "removed");
    assert_eq!(b.rollout("api", 1), "removed");
    let out = b.maand(&["deploy"]).ok();
    out.has("stop old@").has(&format!("stop api@{h1}"));
    // Worker 0: "old" stopped, its tree gone except data/ and logs/.
    assert_eq!(b.targets(0, "old"), ["start", "stop"]);
    assert!(!b.on_worker(0, "jobs/old/Makefile").exists());
    assert!(!b.on_worker(0, "jobs/old/content.txt").exists());
    assert!(b.on_worker(0, "jobs/old/data/events.log").exists());
    assert!(b.on_worker(0, "jobs/api/Makefile").exists());
    let jobs: serde_json::Value = serde_json::from_str(&b.worker_file(0, "jobs.json")).unwrap();
    assert_eq!(jobs, json!([{"job": "api", "disabled": 0}]));
    // Worker 1 left workers.json: its whole root is deleted.
    assert!(!b.fleet.worker_dir(1).join(b.bucket_id()).exists());
    // Hash rows are gone; the allocation rows stay until gc.
    let row = b.deployment("old", 0).unwrap();
    assert_eq!(row["rollout"], "removed");
    for k in ["current_hash", "previous_hash"] {
        assert!(row[k].is_null() || row[k] == "", "{row}");
    }
    assert!(!live_namespaces(&b).contains(&"maand/job/old".to_string()));

    // Nothing left to reconcile.
    let logins = b.logins();
    b.maand(&["deploy"]).ok();
    assert_eq!(b.logins(), logins);

    // gc: worker trees, rows and KV.
    b.maand(&["gc"]).ok().has("gc: removed 3 allocation(s)");
    assert!(!b.on_worker(0, "jobs/old").exists());
    assert!(b.deployment("old", 0).is_none());
    assert!(b.deployment("api", 1).is_none());
    let ns = live_namespaces(&b);
    assert!(!ns.iter().any(|n| n.contains("/old")), "{ns:?}");
    assert!(!ns.iter().any(|n| n.contains(&h1)), "{ns:?}");
    assert!(ns.contains(&"maand/job/api".to_string()));
    // A second gc has nothing to do.
    b.maand(&["gc"]).ok().has("gc: removed 0 allocation(s)");
}
