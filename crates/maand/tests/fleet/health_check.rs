//! `maand health_check` and the `run_command --health_check` gate against real workers
//! (spec 08). Probe targets are listeners this test process opens on the workers'
//! loopback addresses.

use crate::harness::FleetBucket;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

/// Serves HTTP on `ip:port` until the test process ends: `200` for `/healthz`, `404`
/// otherwise.
fn http_server(ip: &str, port: u16) {
    let l = TcpListener::bind((ip, port)).unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut line = String::new();
            let _ = BufReader::new(&s).read_line(&mut line);
            let status = if line.starts_with("GET /healthz ") {
                "200 OK"
            } else {
                "404 Not Found"
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
}

#[test]
fn worker_gate_pass_fail_drained_and_unknown_jobs() {
    let Some(mut b) = FleetBucket::new("worker_gate_pass_fail_drained_and_unknown_jobs", 2) else {
        return;
    };
    b.maand(&["build"]).ok();
    b.maand(&["health_check"])
        .ok()
        .has("worker health check passed");
    b.maand(&["health_check", "--jobs", "nope, x,nope"])
        .failed()
        .has("jobs not in this bucket: [nope x]")
        .lacks("worker health check");

    b.fleet.kill(1).unwrap();
    let h1 = b.host(1);
    let out = b.maand(&["health_check"]).failed();
    out.has("worker health check failed")
        .has(&format!("worker health: worker {h1} ssh port 2222: "))
        .has("refused")
        .lacks(&format!("worker {} ssh port", b.host(0)));

    b.write(
        "workspace/disabled.json",
        format!(r#"{{"workers": ["{h1}"]}}"#),
    );
    b.maand(&["health_check"])
        .ok()
        .has(&format!("worker health check skipped: {h1} (disabled)"))
        .has("worker health check passed");

    b.write("workspace/disabled.json", "{}");
    b.write("workspace/workers.json", "[]");
    b.maand(&["build"]).ok();
    b.maand(&["health_check"])
        .ok()
        .has("worker health check skipped: no workers");
}

#[test]
fn worker_gate_waits_for_a_worker_to_come_back() {
    let Some(mut b) = FleetBucket::new("worker_gate_waits_for_a_worker_to_come_back", 1) else {
        return;
    };
    b.maand(&["build"]).ok();
    b.fleet.kill(0).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_maand"))
        .args(["health_check", "--wait"])
        .current_dir(b.root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    b.fleet.restart(0).unwrap();
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("worker health check failed (attempt 1/30), retrying..."),
        "{all}"
    );
    assert!(all.contains("worker health check passed"), "{all}");
    assert!(!all.contains("attempt 30/30"), "{all}");
}

#[test]
fn tcp_and_http_probes_and_skips() {
    let Some(b) = FleetBucket::new("tcp_and_http_probes_and_skips", 2) else {
        return;
    };
    let (h0, h1) = (b.host(0), b.host(1));
    let (tcp_port, http_port, bad_port) = (31011u16, 31012u16, 31013u16);
    b.job(
        "tcpjob",
        &format!(
            r#"{{"selectors":["worker"],"resources":{{"ports":{{"tcp_port":{tcp_port}}}}},
               "health_check":{{"checks":[{{"type":"TCP ","port":"tcp_port"}}],"timeout_seconds":2}}}}"#
        ),
    );
    b.job(
        "webjob",
        &format!(
            r#"{{"selectors":["worker"],"resources":{{"ports":{{"web_port":{http_port}}}}},
               "health_check":{{"checks":[{{"type":"http","port":"web_port","path":"/healthz"}}]}}}}"#
        ),
    );
    b.job(
        "webbad",
        &format!(
            r#"{{"selectors":["worker"],"resources":{{"ports":{{"web_port":{bad_port}}}}},
               "health_check":{{"checks":[{{"type":"http","port":"web_port","path":"/nope"}}]}}}}"#
        ),
    );
    b.job("plain", r#"{"selectors":["worker"]}"#);
    b.job(
        "drained",
        r#"{"selectors":["worker"],"health_check":{"checks":[{"type":"ssh","command":"false"}]}}"#,
    );
    b.write("workspace/disabled.json", r#"{"jobs": {"drained": {}}}"#);
    b.maand(&["build"]).ok();

    let t0 = TcpListener::bind((h0.as_str(), tcp_port)).unwrap();
    let t1 = TcpListener::bind((h1.as_str(), tcp_port)).unwrap();
    http_server(&h0, http_port);
    http_server(&h1, http_port);
    http_server(&h0, bad_port);
    http_server(&h1, bad_port);

    let out = b
        .maand(&["health_check", "--jobs", "tcpjob,webjob,plain,drained"])
        .ok();
    out.has("worker health check passed")
        .has("health check passed: tcpjob")
        .has("health check passed: webjob")
        .has("health check skipped: plain (no health_check config or commands)")
        .has("health check skipped: drained (no active allocations)");

    drop(t1);
    let out = b.maand(&["health_check", "--jobs", "tcpjob"]).failed();
    out.has("health check failed: tcpjob")
        .has(&format!("job tcpjob: tcp {h1}:{tcp_port}: "))
        .lacks(&format!("tcp {h0}:"));
    drop(t0);

    // Every job: two failures joined with "; ", the others still pass or skip.
    let out = b.maand(&["health_check"]).failed();
    out.has("health check passed: webjob")
        .has(&format!(
            "job tcpjob: tcp {h0}:{tcp_port}: Connection refused"
        ))
        .has(&format!(
            "job webbad: http http://{h0}:{bad_port}/nope: status 404 want 200"
        ));
    let err = out
        .lines()
        .into_iter()
        .find(|l| l.starts_with("error: "))
        .unwrap();
    assert!(err.contains("; job "), "{err}");
}

#[test]
fn ssh_probe_and_wait_attempts() {
    let Some(b) = FleetBucket::new("ssh_probe_and_wait_attempts", 2) else {
        return;
    };
    let h1 = b.host(1);
    b.job(
        "sshjob",
        r#"{"selectors":["worker"],"health_check":{
             "checks":[{"type":"ssh","command":"test -f /opt/worker/ok && test \"$PWD\" = \"$HOME\""}],
             "timeout_seconds":3,"wait":{"attempts":3,"interval_seconds":1}}}"#,
    );
    b.job(
        "flaky",
        r#"{"selectors":["worker"],"health_check":{
             "checks":[{"type":"ssh","command":"f=/opt/worker/runs; n=$(cat $f 2>/dev/null || echo 0); echo $((n+1)) > $f; [ $n -ge 1 ]"}],
             "wait":{"attempts":3,"interval_seconds":1}}}"#,
    );
    b.job(
        "slow",
        r#"{"selectors":["worker"],"health_check":{
             "checks":[{"type":"ssh","command":"sleep 20"}],"timeout_seconds":1}}"#,
    );
    b.maand(&["build"]).ok();
    for i in 0..2 {
        std::fs::write(b.fleet.worker_dir(i).join("ok"), "").unwrap();
    }
    b.maand(&["health_check", "--jobs", "sshjob"])
        .ok()
        .has("health check passed: sshjob");

    let marker = b.fleet.worker_dir(1).join("ok");
    std::fs::remove_file(&marker).unwrap();
    b.maand(&["health_check", "--jobs", "sshjob"])
        .failed()
        .has("health check failed: sshjob")
        .has(&format!("job sshjob: ssh {h1}: command failed (exit 1)"))
        .lacks("attempt");

    let out = b
        .maand(&["health_check", "--jobs", "sshjob", "--wait"])
        .failed();
    assert_eq!(
        out.count_line("health check failed: sshjob (attempt 1/3), retrying..."),
        1
    );
    assert_eq!(
        out.count_line("health check failed: sshjob (attempt 2/3), retrying..."),
        1
    );
    assert_eq!(
        out.count_line("health check failed: sshjob (attempt 3/3)"),
        1
    );
    out.has(&format!("job sshjob: ssh {h1}: command failed (exit 1)"));
    assert!(out.took >= Duration::from_secs(2), "two 1 s pauses");
    assert!(
        out.took < Duration::from_secs(3 + 8),
        "no pause after the last attempt"
    );

    // A probe that outlives timeout_seconds is killed.
    let out = b.maand(&["health_check", "--jobs", "slow"]).failed();
    out.has(&format!("job slow: ssh {}: timed out after 1s", b.host(0)));
    assert!(
        out.took < Duration::from_secs(8),
        "killed, took {:?}",
        out.took
    );

    // A probe that fails its first run on each worker and passes afterwards: wait mode
    // retries after the interval and then passes.
    let out = b.maand(&["health_check", "--jobs", "flaky", "--wait"]).ok();
    out.has("health check failed: flaky (attempt 1/3), retrying...")
        .has("health check passed: flaky")
        .lacks("attempt 2/3");
    assert!(out.took >= Duration::from_secs(1), "one 1 s pause");
}

#[test]
fn run_command_health_check_gate_stops_after_batch() {
    let Some(b) = FleetBucket::new("run_command_health_check_gate_stops_after_batch", 2) else {
        return;
    };
    let (h0, h1) = (b.host(0), b.host(1));
    let port = 31021u16;
    b.job(
        "svc",
        &format!(
            r#"{{"selectors":["worker"],"resources":{{"ports":{{"svc_port":{port}}}}},
               "health_check":{{"checks":[{{"type":"tcp","port":"svc_port"}}],"timeout_seconds":1,
               "wait":{{"attempts":2,"interval_seconds":1}}}}}}"#
        ),
    );
    b.maand(&["build"]).ok();
    // Only worker 0 answers: the gate after batch 1 fails on worker 1's allocation.
    let _l0 = TcpListener::bind((h0.as_str(), port)).unwrap();
    let out = b
        .maand(&["run_command", "echo ran", "--health_check"])
        .failed();
    assert_eq!(out.count_line(&format!("{h0} | ran")), 1);
    out.lacks(&format!("{h1} | ran"))
        .has("worker health check passed")
        .has("health check failed: svc (attempt 1/2), retrying...")
        .has(&format!(
            "after worker batch 1: job svc: tcp {h1}:{port}: Connection refused"
        ));
    assert!(
        out.took >= Duration::from_secs(10),
        "10 s pause before the gate"
    );
}
