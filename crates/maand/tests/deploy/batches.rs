//! Batches (`max_concurrent_starts`, `max_concurrent_upgrades`), `rollout_order` and waves,
//! observed through the timestamps the Makefiles record on the workers.

use crate::harness::{Span, TestBucket};
use serde_json::json;

/// The single span of `target` of `job` on each worker `0..n`.
fn last_spans(b: &TestBucket, job: &str, target: &str, n: usize) -> Vec<Span> {
    (0..n)
        .map(|i| *b.spans(i, job, target).last().expect("a completed span"))
        .collect()
}

/// Worker indexes sorted by the begin time of their last `target` span.
fn order(spans: &[Span]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..spans.len()).collect();
    idx.sort_by(|a, b| spans[*a].begin.total_cmp(&spans[*b].begin));
    idx
}

/// Asserts that no two spans overlap.
#[track_caller]
fn sequential(spans: &[Span]) {
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            assert!(!a.overlaps(b), "overlap: {spans:?}");
        }
    }
}

/// Overrides `maand/job/<job>` `rollout_order` as a `cli`/`pre_deploy` hook would, by
/// appending a newer KV version.
fn set_rollout_order(b: &TestBucket, job: &str, value: &str) {
    let c = rusqlite::Connection::open(b.path("data/maand.db")).unwrap();
    c.execute(
        "INSERT INTO key_value (namespace, key, value, version, ttl, created_date, deleted)
         SELECT ?1, 'rollout_order', ?2, MAX(version) + 1, 0, strftime('%s','now'), 0
         FROM key_value WHERE namespace = ?1 AND key = 'rollout_order'",
        rusqlite::params![format!("maand/job/{job}"), value],
    )
    .unwrap();
}

#[test]
fn batches_and_rollout_order() {
    let Some(b) = TestBucket::new("batches_and_rollout_order", 3) else {
        return;
    };
    b.job(
        "api",
        json!({"max_concurrent_starts": 2, "max_concurrent_upgrades": 1}),
        "0.5",
    );
    b.job("pair", json!({"max_concurrent_upgrades": 2}), "0.5");
    b.build_deploy();

    // Starts in batches of 2 in catalog order: w0 ∥ w1, then w2.
    let s = last_spans(&b, "api", "start", 3);
    assert!(s[0].overlaps(&s[1]), "{s:?}");
    assert!(s[2].begin >= s[0].end.max(s[1].end), "{s:?}");
    // max_concurrent_starts 0 (default): all at once.
    let s = last_spans(&b, "pair", "start", 3);
    assert!(s[0].overlaps(&s[1]) && s[1].overlaps(&s[2]), "{s:?}");

    // Upgrades: one at a time in catalog order; two at a time for "pair".
    b.write("workspace/jobs/api/content.txt", "two\n");
    b.write("workspace/jobs/pair/content.txt", "two\n");
    b.build_deploy();
    let s = last_spans(&b, "api", "restart", 3);
    sequential(&s);
    assert_eq!(order(&s), [0, 1, 2]);
    let s = last_spans(&b, "pair", "restart", 3);
    assert!(s[0].overlaps(&s[1]), "{s:?}");
    assert!(s[2].begin >= s[0].end.max(s[1].end), "{s:?}");

    // The default order is the catalog (workers.json) order.
    b.workers(&[(2, vec![]), (1, vec![]), (0, vec![])]);
    b.write("workspace/jobs/api/content.txt", "three\n");
    b.maand(&["build"]).ok();
    b.maand(&["deploy", "--jobs", "api"]).ok();
    let s = last_spans(&b, "api", "restart", 3);
    sequential(&s);
    assert_eq!(order(&s), [2, 1, 0]);

    // A KV override wins; a stale one is repaired (missing IPs appended, unknown dropped).
    b.write("workspace/jobs/api/content.txt", "four\n");
    b.maand(&["build"]).ok();
    set_rollout_order(&b, "api", &format!("{},10.9.9.9,{}", b.host(1), b.host(2)));
    let out = b.maand(&["deploy", "--jobs", "api"]).ok();
    out.has("rollout_order").has("repaired");
    let s = last_spans(&b, "api", "restart", 3);
    sequential(&s);
    assert_eq!(order(&s), [1, 2, 0]);
}

#[test]
fn jobs_filter_and_waves() {
    let Some(b) = TestBucket::new("jobs_filter_and_waves", 2) else {
        return;
    };
    // "down" demands a hook of "up": up is deployment_seq 0, down 1.
    b.up_and_down("0.2");
    b.maand(&["build"]).ok();
    let jobs = b.maand(&["cat", "jobs", "--output", "json"]).ok().json();
    let seq = |name: &str| {
        jobs.as_array()
            .unwrap()
            .iter()
            .find(|j| j["name"] == name || j["job"] == name)
            .map(|j| j["deployment_seq"].clone())
            .unwrap()
    };
    assert_eq!((seq("up"), seq("down")), (json!(0), json!(1)));

    // --jobs lists in any order; waves still run in deployment_seq order.
    b.maand(&["deploy", "--jobs", "down,up"]).ok();
    let up_end = (0..2)
        .map(|i| b.spans(i, "up", "start")[0].end)
        .fold(0.0, f64::max);
    let down_begin = (0..2)
        .map(|i| b.spans(i, "down", "start")[0].begin)
        .fold(f64::MAX, f64::min);
    assert!(up_end <= down_begin, "wave 1 began before wave 0 ended");

    // Only the selected job is rolled.
    b.write("workspace/jobs/up/content.txt", "two\n");
    b.write("workspace/jobs/down/content.txt", "two\n");
    b.maand(&["build"]).ok();
    b.maand(&["deploy", "--jobs", "down"]).ok();
    assert_eq!(b.targets(0, "down"), ["start", "restart"]);
    assert_eq!(b.targets(0, "up"), ["start"]);
    assert_eq!(b.worker_file(0, "jobs/up/content.txt"), "one\n");
    b.maand(&["deploy", "--dry-run"])
        .ok()
        .has("job \"up\": deploy required")
        .has("job \"down\": skip");
    assert_eq!(b.rollout("down", 0), "promoted");

    b.maand(&["deploy", "--jobs", "nope,up"])
        .failed()
        .has("unknown jobs [nope]; valid jobs: ");
    assert_eq!(b.targets(0, "up"), ["start"]);
}
