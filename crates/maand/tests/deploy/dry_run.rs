//! `deploy --dry-run` prints exactly what the real deploy then does: every planned action
//! per allocation is compared with the make targets the workers record.

use crate::harness::TestBucket;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Make targets each planned action runs.
fn expected_targets(action: &str) -> Vec<&'static str> {
    match action {
        "start" => vec!["start"],
        "restart" => vec!["restart"],
        "reload" => vec!["reload"],
        "stop" | "stop+promote" => vec!["stop"],
        "sync" | "skip" | "promote" => vec![],
        other => panic!("unknown action {other}"),
    }
}

#[test]
fn dry_run_plan_matches_the_real_deploy() {
    let Some(b) = TestBucket::new("dry_run_plan_matches_the_real_deploy", 3) else {
        return;
    };
    let (h0, h1) = (b.host(0), b.host(1));
    b.workers(&[(0, vec![]), (1, vec![])]);
    b.job("always", json!({"max_concurrent_upgrades": 2}), "0");
    b.job(
        "soft",
        json!({"restart_policy": "reload", "restart_globs": ["conf/**"]}),
        "0",
    );
    b.job("never", json!({"restart_policy": "never"}), "0");
    b.job("same", json!({}), "0");
    b.job("gone", json!({}), "0");
    b.job("drained", json!({}), "0");
    b.build_deploy();

    // Every kind of change at once.
    b.write("workspace/jobs/always/content.txt", "two\n");
    b.write("workspace/jobs/soft/content.txt", "two\n");
    b.write("workspace/jobs/never/content.txt", "two\n");
    std::fs::remove_dir_all(b.path("workspace/jobs/gone")).unwrap();
    b.write(
        "workspace/disabled.json",
        format!(r#"{{"jobs": {{"drained": {{"allocations": ["{h1}"]}}}}}}"#),
    );
    b.workers(&[(0, vec![]), (1, vec![]), (2, vec![])]);
    b.maand(&["build"]).ok();

    let (seq, logins, rows) = (b.update_seq(), b.logins(), b.deployments());
    let text = b.maand(&["deploy", "--dry-run"]).ok();
    text.has("deploy dry-run: deployment required")
        .has(&format!("  gone@{h0}  stop+cleanup  (removed)"))
        .has(&format!("  drained@{h1}  stop  (disabled)"))
        .has("  job \"same\": deploy required");
    let json_out = b.maand(&["deploy", "--dry-run", "--output", "json"]).ok();
    assert_eq!(
        json_out.stdout.matches("\"job\": \"same\"").count(),
        1,
        "one job key"
    );
    let plan = json_out.json();
    assert_eq!(plan["deployment_required"], true);
    // A dry run changes nothing and contacts no worker.
    assert_eq!(b.update_seq(), seq);
    assert_eq!(b.logins(), logins);
    assert_eq!(b.deployments(), rows);

    let index: BTreeMap<String, usize> = (0..3).map(|i| (b.host(i), i)).collect();
    let mut expected: BTreeMap<(String, usize), Vec<&str>> = BTreeMap::new();
    for r in plan["reconcile"].as_array().unwrap() {
        if r["stop"] == true {
            let i = index[r["worker_ip"].as_str().unwrap()];
            expected
                .entry((r["job"].as_str().unwrap().to_string(), i))
                .or_default()
                .push("stop");
        }
    }
    let mut actions = Vec::new();
    for wave in plan["waves"].as_array().unwrap() {
        for j in wave["jobs"].as_array().unwrap() {
            let job = j["job"].as_str().unwrap().to_string();
            for a in j["allocations"].as_array().unwrap_or(&Vec::new()) {
                let i = index[a["worker_ip"].as_str().unwrap()];
                let action = a["action"].as_str().unwrap();
                actions.push(format!("{job}@{i} {action}"));
                expected
                    .entry((job.clone(), i))
                    .or_default()
                    .extend(expected_targets(action));
            }
        }
    }
    actions.sort();
    assert_eq!(
        actions,
        [
            "always@0 restart",
            "always@1 restart",
            "always@2 start",
            "drained@0 skip",
            "drained@1 skip",
            "drained@2 start",
            "never@0 sync",
            "never@1 sync",
            "never@2 start",
            "same@0 skip",
            "same@1 skip",
            "same@2 start",
            "soft@0 reload",
            "soft@1 reload",
            "soft@2 start",
        ],
        "{plan:#}"
    );

    let before: BTreeMap<(String, usize), usize> = expected
        .keys()
        .map(|(job, i)| ((job.clone(), *i), b.targets(*i, job).len()))
        .collect();
    b.maand(&["deploy"]).ok();
    for ((job, i), want) in &expected {
        let ran = b.targets(*i, job)[before[&(job.clone(), *i)]..].to_vec();
        assert_eq!(&ran, want, "{job}@{i}");
    }
    b.maand(&["deploy", "--dry-run"])
        .ok()
        .has("deploy dry-run: no deployment required");
    let _: Value = b
        .maand(&["deploy", "--dry-run", "--output", "json"])
        .ok()
        .json();
}
