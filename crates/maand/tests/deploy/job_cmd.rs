//! `maand job start|stop|restart|status|run` on deployed allocations, with the worker sync
//! check (spec 09 §4).

use crate::harness::TestBucket;
use serde_json::json;

#[test]
fn job_commands_and_sync_check() {
    let Some(b) = TestBucket::new("job_commands_and_sync_check", 2) else {
        return;
    };
    let (h0, h1) = (b.host(0), b.host(1));
    b.job("api", json!({"max_concurrent_upgrades": 1}), "0.2");
    b.maand(&["build"]).ok();

    // Before any deploy the workers have no worker.json.
    let out = b.maand(&["job", "start", "api"]).failed();
    for h in [&h0, &h1] {
        out.has(&format!(
            "worker {h}: worker.json missing or unreadable (run maand deploy)"
        ));
    }

    b.maand(&["deploy"]).ok();
    let out = b.maand(&["job", "status", "api"]).ok();
    out.has(&format!("api@{h0} | status done"))
        .has(&format!("api@{h1} | status done"));

    // --allocations narrows the selection.
    b.maand(&["job", "stop", "api", "--allocations", &h0]).ok();
    assert_eq!(b.targets(0, "api"), ["start", "status", "stop"]);
    assert_eq!(b.targets(1, "api"), ["start", "status"]);
    b.maand(&["job", "start", "api", "--allocations", &h0]).ok();
    assert_eq!(b.targets(0, "api").last().unwrap(), "start");

    // restart: batches of max_concurrent_upgrades (1): one worker after the other.
    b.maand(&["job", "restart", "api"]).ok();
    let s0 = *b.spans(0, "api", "restart").last().unwrap();
    let s1 = *b.spans(1, "api", "restart").last().unwrap();
    assert!(!s0.overlaps(&s1), "{s0:?} {s1:?}");

    // Custom targets; built-ins case-insensitively; bad names fail before any login.
    b.maand(&["job", "run", "api", "--target", "custom"]).ok();
    b.maand(&["job", "run", "api", "--target", "STATUS"]).ok();
    assert_eq!(b.targets(1, "api").last().unwrap(), "status");
    assert!(b.targets(1, "api").contains(&"custom".to_string()));
    let logins = b.logins();
    b.maand(&["job", "run", "api", "--target", "x;rm"])
        .failed()
        .has("invalid job control target \"x;rm\"");
    assert_eq!(b.logins(), logins);

    // A failing target names the worker; later batches are skipped.
    b.mark(0, "api", "fail_restart");
    let before = b.targets(1, "api").len();
    let out = b.maand(&["job", "restart", "api"]).failed();
    out.has(&format!(
        "job api target restart failed: {h0}: command failed (exit "
    ));
    assert_eq!(b.targets(1, "api").len(), before, "second batch skipped");
    b.unmark(0, "api", "fail_restart");

    // A worker out of sync with the catalog (as after a deploy it missed): nothing runs.
    let wj = b.on_worker(1, "worker.json");
    let mut w: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&wj).unwrap()).unwrap();
    w["update_seq"] = json!(w["update_seq"].as_i64().unwrap() + 1);
    std::fs::write(&wj, w.to_string()).unwrap();
    let before = b.targets(0, "api").len();
    b.maand(&["job", "status", "api"])
        .failed()
        .has(&format!(
            "worker {h1}: update_seq mismatch (run maand deploy)"
        ))
        .lacks(&format!("worker {h0}:"));
    assert_eq!(b.targets(0, "api").len(), before, "nothing executed");
    // Only contacted workers are checked.
    b.maand(&["job", "status", "api", "--allocations", &h0])
        .ok();
    // A deploy that changes something rewrites every worker.json.
    b.maand(&["deploy", "--force"]).ok();
    b.maand(&["job", "status", "api"]).ok();
}
