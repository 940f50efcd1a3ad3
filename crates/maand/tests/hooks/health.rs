//! `health_check` hooks on a real fleet (spec 08 §3, §8): they run only after the probes
//! passed, and `maand job … --health_check` gates each batch on them.

use crate::fleet::TestBucket;
use serde_json::json;

/// Job `hc`: an ssh probe that fails while `data/sick` exists on a worker (two attempts,
/// 1 s apart, in wait mode) and a `health_check` hook appending
/// `<time> <ip>` to `<bucket>/health.log`.
fn sick_aware_job(b: &TestBucket, upgrades: usize) {
    let sick = format!("/opt/worker/{}/jobs/hc/data/sick", b.bucket_id());
    b.job(
        "hc",
        json!({
            "max_concurrent_upgrades": upgrades,
            "health_check": {
                "checks": [{"type": "ssh", "command": format!("test ! -e {sick}")}],
                "timeout_seconds": 5,
                "wait": {"attempts": 2, "interval_seconds": 1}
            },
            "commands": {"command_health": {"executed_on": ["health_check"]}}
        }),
        "0",
    );
    b.write(
        "workspace/jobs/hc/_modules/command_health.py",
        "import time, maand\n\
         with open(maand.find_bucket_root() / 'health.log', 'a') as f:\n\
         \x20   f.write(f'{time.time()} {maand.allocation_ip()}\\n')\n",
    );
}

/// `(time, ip)` lines of `<bucket>/health.log`, then the file is removed.
fn take_health(b: &TestBucket) -> Vec<(f64, String)> {
    let text = std::fs::read_to_string(b.path("health.log")).unwrap_or_default();
    let _ = std::fs::remove_file(b.path("health.log"));
    text.lines()
        .map(|l| {
            let (t, ip) = l.split_once(' ').unwrap();
            (t.parse().unwrap(), ip.to_string())
        })
        .collect()
}

#[test]
fn health_hooks_do_not_run_when_a_probe_fails() {
    let Some(b) = TestBucket::new("health_hooks_do_not_run_when_a_probe_fails", 2) else {
        return;
    };
    sick_aware_job(&b, 1);
    b.build_deploy();
    assert_eq!(
        take_health(&b).len(),
        2,
        "the start gate ran the hook on both"
    );
    b.mark(1, "hc", "sick");
    let out = b.maand(&["health_check", "--jobs", "hc"]);
    assert_ne!(out.code, 0, "{out:#?}");
    out.has(&format!("ssh {}", b.host(1)))
        .has("health check failed: hc");
    assert!(take_health(&b).is_empty(), "hooks ran after a failed probe");
    b.unmark(1, "hc", "sick");
    b.maand(&["health_check", "--jobs", "hc"])
        .ok()
        .has("health check passed: hc");
    assert_eq!(take_health(&b).len(), 2);
}

#[test]
fn job_restart_with_health_check_gates_each_batch() {
    let Some(b) = TestBucket::new("job_restart_with_health_check_gates_each_batch", 3) else {
        return;
    };
    sick_aware_job(&b, 1);
    b.build_deploy();
    take_health(&b);
    b.maand(&["job", "restart", "hc", "--health_check"]).ok();
    // Batches of one: restart on a worker, then the gate's hook on every worker, then the
    // next worker's restart.
    let health = take_health(&b);
    assert_eq!(health.len(), 9, "{health:?}");
    for (k, gate) in health.chunks(3).enumerate() {
        let mut ips: Vec<&str> = gate.iter().map(|(_, ip)| ip.as_str()).collect();
        ips.sort();
        let mut all: Vec<String> = (0..3).map(|i| b.host(i)).collect();
        all.sort();
        assert_eq!(ips, all, "gate {k} checks every active allocation");
        let restart = b.spans(k, "hc", "restart")[0];
        assert!(restart.end <= gate[0].0, "gate {k} after restart {k}");
        if k < 2 {
            let next = b.spans(k + 1, "hc", "restart")[0];
            assert!(gate[2].0 <= next.begin, "restart {} after gate {k}", k + 1);
        }
    }
    // A failing gate stops the remaining batches.
    b.mark(2, "hc", "sick");
    let out = b
        .maand(&["job", "restart", "hc", "--health_check"])
        .failed();
    out.has("job hc target restart")
        .has(&format!("ssh {}", b.host(2)));
    assert_eq!(b.spans(0, "hc", "restart").len(), 2);
    for i in [1, 2] {
        assert_eq!(
            b.spans(i, "hc", "restart").len(),
            1,
            "worker {i} was not restarted"
        );
    }
    assert!(take_health(&b).is_empty(), "no hook after failed probes");
    b.unmark(2, "hc", "sick");
}
