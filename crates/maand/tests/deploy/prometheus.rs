//! `examples/monitoring`: a real Prometheus (Debian's `/usr/bin/prometheus`) deployed as the
//! server job scrapes the example's app jobs, loads their alert rules and the built-in
//! certificate rules, serves the runbook and dashboard consoles, picks up a changed alert
//! file through `reload` (same process), and receives the certificate gauges maand pushes
//! after every deploy. Skipped, loudly, when Prometheus is not installed.

use super::harness::{copy_dir, example, TestBucket};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

const PROMETHEUS: &str = "/usr/bin/prometheus";

/// `GET http://<addr><path>` over HTTP/1.0 (no chunked bodies): `(status, body)`, `None`
/// while nothing answers.
fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let sock = addr.parse().ok()?;
    let mut s = TcpStream::connect_timeout(&sock, Duration::from_secs(3)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// `data` of a successful Prometheus HTTP API answer.
fn api(addr: &str, path: &str) -> Option<Value> {
    let (status, body) = http_get(addr, path)?;
    let v: Value = serde_json::from_str(&body).ok()?;
    (status == 200 && v["status"] == "success").then(|| v["data"].clone())
}

/// Active targets of Prometheus job `job`: `(instance, health)`.
fn targets(addr: &str, job: &str) -> Vec<(String, String)> {
    let Some(data) = api(addr, "/api/v1/targets?state=active") else {
        return Vec::new();
    };
    data["activeTargets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["labels"]["job"] == job)
        .map(|t| {
            (
                t["labels"]["instance"].as_str().unwrap_or("").to_string(),
                t["health"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Every loaded rule (alerting and recording), by name.
fn rules(addr: &str) -> Vec<Value> {
    let Some(data) = api(addr, "/api/v1/rules") else {
        return Vec::new();
    };
    data["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn rule_names(addr: &str) -> Vec<String> {
    rules(addr)
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect()
}

/// Result vector of an instant query.
fn query(addr: &str, promql: &str) -> Vec<Value> {
    api(addr, &format!("/api/v1/query?query={promql}"))
        .and_then(|d| d["result"].as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn monitoring_example_scrapes_alerts_reloads_and_receives_cert_metrics() {
    let name = "monitoring_example_scrapes_alerts_reloads_and_receives_cert_metrics";
    if !Path::new(PROMETHEUS).exists() {
        maand_fleet::skip(
            name,
            &format!("{PROMETHEUS} is missing (apt-get install prometheus)"),
        );
        return;
    }
    let Some(b) = TestBucket::new(name, 2) else {
        return;
    };
    // api and worker run everywhere; Prometheus (no selectors: label `prometheus`) on the
    // first worker only.
    b.workers(&[(0, vec!["prometheus"]), (1, vec![])]);
    copy_dir(&example("monitoring/workspace"), &b.path("workspace"));

    let first = b.build_deploy();
    first
        .has("health check passed: prometheus")
        .has("health check passed: api")
        .has("health check passed: worker")
        .lacks("cert metrics:");
    let (h0, h1) = (b.host(0), b.host(1));
    let ports = b
        .maand(&["cat", "job_ports", "--output", "json"])
        .ok()
        .json();
    let port = |key: &str| -> u64 {
        ports
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == key)
            .and_then(|p| p["port"].as_u64())
            .unwrap_or_else(|| panic!("no port {key} in {ports}"))
    };
    let prom = format!("{h0}:{}", port("prometheus_port_http"));

    // Every app allocation is a target and scraped successfully.
    for (job, key) in [("api", "api_http_port"), ("worker", "worker_metrics_port")] {
        let want: Vec<String> = [&h0, &h1]
            .iter()
            .map(|h| format!("{h}:{}", port(key)))
            .collect();
        b.wait_for(60, &format!("{job} targets up"), || {
            let mut t = targets(&prom, job);
            t.sort();
            t.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>() == want
                && t.iter().all(|(_, h)| h == "up")
        });
    }
    let labelled = api(&prom, "/api/v1/targets?state=active").unwrap();
    let api_target = labelled["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["labels"]["job"] == "api")
        .unwrap();
    assert_eq!(api_target["labels"]["maand_job"], "api", "{api_target}");
    assert_eq!(api_target["labels"]["tier"], "frontend", "{api_target}");

    // The example's alerts and the built-in certificate alerts are loaded.
    let names = rule_names(&prom);
    for rule in [
        "api:requests:rate1m",
        "ApiDown",
        "ApiRestarted",
        "WorkerQueueBacklog",
        "WorkerFailing",
        "MaandCertExpiringSoon",
        "MaandCertExpired",
        "MaandCACertExpiringSoon",
        "MaandCACertExpired",
    ] {
        assert!(names.iter().any(|n| n == rule), "{rule} not in {names:?}");
    }
    // The runbook annotation became a link to the page Prometheus serves itself.
    let api_down = rules(&prom)
        .into_iter()
        .find(|r| r["name"] == "ApiDown")
        .unwrap();
    let link = api_down["annotations"]["runbook_url"].as_str().unwrap();
    assert_eq!(
        link,
        format!("http://{prom}/consoles/runbooks/api/api-down.html")
    );
    assert!(
        api_down["annotations"].get("runbook").is_none(),
        "{api_down}"
    );
    let (status, page) = http_get(&prom, "/consoles/runbooks/api/api-down.html").unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("api down") && page.contains("<table>"),
        "{page}"
    );
    let (status, index) = http_get(&prom, "/consoles/runbooks/index.html").unwrap();
    assert_eq!(status, 200, "{index}");
    assert!(
        index.contains("api/api-down.html") && index.contains("worker/queue-backlog.html"),
        "{index}"
    );
    // Dashboards: listed unless ignored; console templates run against live data.
    let (status, index) = http_get(&prom, "/consoles/dashboards/index.html").unwrap();
    assert_eq!(status, 200, "{index}");
    assert!(index.contains("API overview"), "{index}");
    assert!(!index.contains("drafts/latency.html"), "{index}");
    let (status, board) = http_get(&prom, "/consoles/dashboards/api/overview.html").unwrap();
    assert_eq!(status, 200, "{board}");
    assert!(
        board.contains(&format!("{h1}:{}", port("api_http_port"))),
        "{board}"
    );
    let (status, _) = http_get(&prom, "/consoles/dashboards/api/drafts/latency.html").unwrap();
    assert_eq!(status, 200);

    // The deployed configuration passes promtool on the worker (rule files included).
    b.maand(&[
        "run_command",
        "cd jobs/prometheus && promtool check config prometheus.yml",
        "-w",
        &h0,
    ])
    .ok()
    .has("SUCCESS")
    .has("rules/maand/certs.yaml");

    // maand pushed the certificate gauges after the deploy committed: the CA and the api
    // leaf of each allocation.
    let log = std::fs::read_to_string(b.path("logs/maand.log")).unwrap_or_default();
    assert!(
        log.lines()
            .any(|l| l.contains("cert_metrics_push") && l.contains("reason=ok")),
        "{log}"
    );
    b.wait_for(30, "maand_cert_not_after_seconds series", || {
        query(&prom, "maand_cert_not_after_seconds").len() == 3
    });
    let series = query(&prom, "maand_cert_not_after_seconds");
    let ca = series
        .iter()
        .find(|s| s["metric"]["scope"] == "ca")
        .unwrap();
    assert!(ca["metric"].get("job").is_none(), "{ca}");
    for h in [&h0, &h1] {
        let leaf = series
            .iter()
            .find(|s| s["metric"]["worker"] == h.as_str())
            .unwrap_or_else(|| panic!("no leaf for {h}: {series:?}"));
        assert_eq!(leaf["metric"]["job"], "api", "{leaf}");
        assert_eq!(leaf["metric"]["cert"], "tls", "{leaf}");
        assert_eq!(leaf["metric"]["common_name"], "api.internal", "{leaf}");
        let not_after: f64 = leaf["value"][1].as_str().unwrap().parse().unwrap();
        assert!(
            not_after > chrono_now() + 50.0 * 86400.0,
            "60-day leaf: {leaf}"
        );
    }
    assert_eq!(query(&prom, "maand_cert_expired").len(), 3);

    // A new alert in an app job: the server job reloads (same process) and loads it.
    let pid = b.worker_file(0, "jobs/prometheus/data/pid");
    assert!(!pid.trim().is_empty(), "prometheus pidfile");
    let alerts = b.path("workspace/jobs/api/_prometheus/alerts/api.yaml");
    let mut text = std::fs::read_to_string(&alerts).unwrap();
    text.push_str(
        "      - alert: ApiTooManyRequests\n\
         \x20       expr: sum(api:requests:rate1m) > 1000\n\
         \x20       labels:\n\
         \x20         severity: warning\n\
         \x20       annotations:\n\
         \x20         summary: api serves more than 1000 requests per second\n\
         \x20         runbook: api-down\n",
    );
    std::fs::write(&alerts, text).unwrap();
    let second = b.build_deploy();
    second
        .has(&format!("\"prometheus\": {h0} reload"))
        .lacks(&format!("\"prometheus\": {h0} restart"))
        .lacks("cert metrics:");
    b.wait_for(30, "ApiTooManyRequests loaded", || {
        rule_names(&prom).iter().any(|n| n == "ApiTooManyRequests")
    });
    assert_eq!(
        b.worker_file(0, "jobs/prometheus/data/pid"),
        pid,
        "reload must keep the Prometheus process"
    );
    assert!(b
        .worker_file(0, "jobs/prometheus/rules/api/api.yaml")
        .contains("ApiTooManyRequests"));
    // Still answering, still scraping, and the second push arrived as well.
    b.wait_for(30, "api targets still up", || {
        let t = targets(&prom, "api");
        t.len() == 2 && t.iter().all(|(_, h)| h == "up")
    });

    for job in ["prometheus", "api", "worker"] {
        b.maand(&["job", "stop", job]).ok();
    }
    b.wait_for(15, "prometheus stopped", || {
        http_get(&prom, "/-/ready").is_none()
    });
}

fn chrono_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
