//! Deploy hook events on a real fleet: `job_control` replaces make, a capacity-1
//! semaphore serialises concurrent `after_allocation_started` runs, and a health gate
//! stops a rolling upgrade at the batch that broke the service.

use super::harness::TestBucket;
use serde_json::json;

/// A hook script appending one line to `<bucket>/hook.log` (hooks run on the CLI host).
fn recorder(line: &str) -> String {
    format!(
        "import os, time, maand\n\
         root = maand.find_bucket_root()\n\
         with open(os.path.join(root, 'hook.log'), 'a') as f:\n    f.write({line} + '\\n')\n"
    )
}

#[test]
fn job_control_replaces_make() {
    let Some(b) = TestBucket::new("job_control_replaces_make", 3) else {
        return;
    };
    b.hook_job(
        "ctl",
        "0",
        "command_ctl.py",
        &["job_control"],
        recorder("f\"{maand.allocation_ip()} new={os.environ['NEW_ALLOCATIONS']} updated={os.environ['UPDATED_ALLOCATIONS']}\""),
    );
    b.build_deploy();
    let all = (0..3).map(|i| b.host(i)).collect::<Vec<_>>().join(",");
    let log = std::fs::read_to_string(b.path("hook.log")).unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(
        log.lines()
            .all(|l| l.ends_with(&format!("new={all} updated="))),
        "{log}"
    );
    for i in 0..3 {
        assert!(
            b.events(i, "ctl").is_empty(),
            "make must not run on worker {i}"
        );
    }
    std::fs::remove_file(b.path("hook.log")).unwrap();
    b.write("workspace/jobs/ctl/content.txt", "two\n");
    b.build_deploy();
    let log = std::fs::read_to_string(b.path("hook.log")).unwrap();
    assert!(
        log.lines()
            .all(|l| l.ends_with(&format!("new= updated={all}"))),
        "{log}"
    );
}

#[test]
fn semaphore_serialises_a_batch() {
    let Some(b) = TestBucket::new("semaphore_serialises_a_batch", 3) else {
        return;
    };
    b.hook_job(
        "sem",
        "0",
        "command_one.py",
        &["after_allocation_started"],
        "import os, time, maand\n\
         maand.acquire_semaphore('migration', capacity=1).raise_for_status()\n\
         try:\n    start = time.time()\n    time.sleep(0.4)\n    end = time.time()\n\
         finally:\n    maand.release_semaphore('migration').raise_for_status()\n\
         root = maand.find_bucket_root()\n\
         with open(os.path.join(root, 'sem.log'), 'a') as f:\n    f.write(f'{start} {end}\\n')\n",
    );
    b.build_deploy();
    let mut spans: Vec<(f64, f64)> = std::fs::read_to_string(b.path("sem.log"))
        .unwrap()
        .lines()
        .map(|l| {
            let (a, z) = l.split_once(' ').unwrap();
            (a.parse().unwrap(), z.parse().unwrap())
        })
        .collect();
    assert_eq!(spans.len(), 3);
    spans.sort_by(|x, y| x.0.total_cmp(&y.0));
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlapping holders: {spans:?}");
    }
}

#[test]
fn broken_second_batch_stops_the_rollout() {
    let Some(b) = TestBucket::new("broken_second_batch_stops_the_rollout", 3) else {
        return;
    };
    b.job(
        "web",
        json!({
            "max_concurrent_upgrades": 1,
            "resources": {"ports": {"web_port": {}}},
            "health_check": {"checks": [{"type": "http", "port": "web_port", "path": "/"}],
                             "timeout_seconds": 1, "wait": {"attempts": 3, "interval_seconds": 1}}
        }),
        "0",
    );
    b.write(
        "workspace/jobs/web/Makefile.tpl",
        "PORT := {{ get \"maand/bucket\" \"web_port\" }}\nADDR := {{ .WorkerIP }}\n\
         start:\n\t@mkdir -p data/www && echo ok > data/www/index.html\n\
         \t@if [ -f data/broken ]; then echo not serving; else nohup python3 -m http.server --bind $(ADDR) --directory data/www $(PORT) >/dev/null 2>&1 & echo $$! > data/pid; fi\n\
         \t@for i in 1 2 3 4 5 6 7 8 9 10; do python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.2)' $(ADDR) $(PORT) 2>/dev/null && break; [ -f data/broken ] && break; sleep 0.2; done\n\
         stop:\n\t@if [ -f data/pid ]; then kill $$(cat data/pid) 2>/dev/null || true; rm -f data/pid; fi\n\
         restart: stop start\nreload: restart\nstatus:\n",
    );
    std::fs::remove_file(b.path("workspace/jobs/web/Makefile")).unwrap();
    b.build_deploy();
    assert!(b.rollout("web", 0) == "promoted" && b.rollout("web", 2) == "promoted");
    // The second worker of the rolling upgrade comes back without its server.
    b.mark(1, "web", "broken");
    b.write("workspace/jobs/web/content.txt", "two\n");
    b.maand(&["build"]).ok();
    let out = b.maand(&["deploy"]).failed();
    out.has("(batch 2/3)")
        .lacks("(batch 3/3)")
        .has(&format!("http http://{}:", b.host(1)));
    assert_eq!(b.rollout("web", 0), "restart", "the job was not promoted");
    assert_eq!(b.rollout("web", 1), "health_failed");
    assert!(
        b.worker_file(2, "jobs/web/content.txt").starts_with("two"),
        "files synced before batches"
    );
    // Gates check every active allocation (spec 08 §7), so the operator first brings the
    // broken node back; the next deploy then rolls the unpromoted allocations and promotes.
    b.unmark(1, "web", "broken");
    b.maand(&["job", "start", "web", "--allocations", &b.host(1)])
        .ok();
    b.maand(&["deploy"]).ok();
    for i in 0..3 {
        assert_eq!(b.rollout("web", i), "promoted");
    }
    b.maand(&["job", "stop", "web"]).ok();
}

#[test]
fn deploy_events_fire_in_order_with_their_env() {
    let Some(b) = TestBucket::new("deploy_events_fire_in_order_with_their_env", 2) else {
        return;
    };
    let events = [
        "pre_deploy",
        "after_allocation_started",
        "post_deploy",
        "after_allocation_stopped",
    ];
    b.job(
        "ev",
        json!({"commands": {"command_ev": {"executed_on": events}}}),
        "0",
    );
    b.write(
        "workspace/jobs/ev/_modules/command_ev.py",
        recorder(
            "' '.join([maand.command_event(), maand.allocation_ip(), 'disabled=' + os.environ['DISABLED'], \
             'phase=' + os.environ.get('DEPLOY_PHASE', '-'), 'batch=' + os.environ.get('BATCH_ALLOCATIONS', '-')])",
        ),
    );
    b.build_deploy();
    let (h0, h1) = (b.host(0), b.host(1));
    let log = std::fs::read_to_string(b.path("hook.log")).unwrap();
    // Events in order; within the concurrent batch event the two runs may interleave.
    let names: Vec<&str> = log.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "pre_deploy",
            "pre_deploy",
            "after_allocation_started",
            "after_allocation_started",
            "post_deploy",
            "post_deploy"
        ],
        "{log}"
    );
    let mut lines: Vec<&str> = log.lines().collect();
    lines[2..4].sort();
    let expected = [
        format!("pre_deploy {h0} disabled=0 phase=- batch=-"),
        format!("pre_deploy {h1} disabled=0 phase=- batch=-"),
        format!("after_allocation_started {h0} disabled=0 phase=new batch={h0},{h1}"),
        format!("after_allocation_started {h1} disabled=0 phase=new batch={h0},{h1}"),
        format!("post_deploy {h0} disabled=0 phase=- batch=-"),
        format!("post_deploy {h1} disabled=0 phase=- batch=-"),
    ];
    assert_eq!(
        lines,
        expected.iter().map(String::as_str).collect::<Vec<_>>(),
        "{log}"
    );
    // Draining one allocation stops it and fires after_allocation_stopped for it alone.
    std::fs::remove_file(b.path("hook.log")).unwrap();
    b.write(
        "workspace/disabled.json",
        format!("{{\"workers\": [\"{h1}\"]}}"),
    );
    b.build_deploy();
    let log = std::fs::read_to_string(b.path("hook.log")).unwrap();
    assert!(
        log.lines().any(|l| l == format!("after_allocation_stopped {h1} disabled=1 phase=stop batch={h1}")),
        "{log}"
    );
}
