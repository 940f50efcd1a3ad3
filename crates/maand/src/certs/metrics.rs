//! Certificate expiry gauges pushed to each Prometheus server job after a deploy (spec 10
//! §8). Best-effort by contract: every outcome is printed and logged, none fails the
//! deploy, because monitoring must never block a rollout.

use maand_prometheus::push::{push, Retry};
use maand_prometheus::remote_write::{encode, Series};
use rusqlite::Connection;

use super::listing::{self, Entry};
use super::Status;
use crate::bucket::Bucket;
use crate::kv::KvStore;
use crate::session::Session;
use crate::snapshot::Snapshot;
use crate::stage::prometheus::{catalog_content, HTTP_PORT};

/// Where and how to push for one server job, or why not.
enum Target {
    Push {
        url: String,
        auth: Option<(String, String)>,
    },
    Skip(String),
    Fail(String),
}

fn target(
    conn: &Connection,
    snap: &Snapshot,
    kv: &KvStore,
    job: &str,
) -> crate::error::Result<Target> {
    let Some(alloc) = snap.active(job).into_iter().next() else {
        return Ok(Target::Skip(format!("job {job} has no active allocation")));
    };
    let port = crate::catalog::jobs::ports(conn)?
        .into_iter()
        .find(|p| p.job == job && p.name == HTTP_PORT);
    let Some(port) = port else {
        return Ok(Target::Skip(format!("job {job} declares no {HTTP_PORT}")));
    };
    let ip = &alloc.worker_ip;
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.clone()
    };
    let ns = format!("secrets/job/{job}");
    let user = kv.get(&ns, "admin_username")?.filter(|v| !v.is_empty());
    let pass = kv.get(&ns, "admin_password")?.filter(|v| !v.is_empty());
    let auth = match (user, pass) {
        (Some(u), Some(p)) => Some((u, p)),
        (None, None) => None,
        _ => {
            return Ok(Target::Fail(format!(
                "prometheus remote write requires both admin_username and admin_password in {ns}"
            )))
        }
    };
    Ok(Target::Push {
        url: format!("http://{host}:{}/api/v1/write", port.port),
        auth,
    })
}

/// The three gauges of every certificate (spec 10 §8.3), stamped `now_ms`.
pub fn series(entries: &[Entry], now_ms: i64) -> Vec<Series> {
    let mut out = Vec::new();
    for e in entries {
        let labels = |name: &str| {
            vec![
                ("__name__".to_string(), name.to_string()),
                ("scope".to_string(), e.scope.to_string()),
                ("job".to_string(), e.job.clone()),
                ("worker".to_string(), e.worker.clone()),
                ("cert".to_string(), e.cert.clone()),
                (
                    "common_name".to_string(),
                    e.common_name.clone().unwrap_or_default(),
                ),
                ("status".to_string(), e.status.as_str().to_string()),
            ]
        };
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        if let Some(t) = e.not_after {
            out.push(Series {
                labels: labels("maand_cert_not_after_seconds"),
                value: t as f64,
                timestamp_ms: now_ms,
            });
        }
        out.push(Series {
            labels: labels("maand_cert_expiring"),
            value: flag(e.status == Status::Expiring),
            timestamp_ms: now_ms,
        });
        out.push(Series {
            labels: labels("maand_cert_expired"),
            value: flag(e.status == Status::Expired),
            timestamp_ms: now_ms,
        });
    }
    out
}

/// Pushes to every server job; prints `cert metrics: …` lines and logs `cert_metrics_push`.
pub fn push_after_deploy(
    bucket: &Bucket,
    conn: &Connection,
    snap: &Snapshot,
    kv: &KvStore,
    session: &Session,
) {
    // Spec 09's event table: `reason` is ok/skipped/failed, `msg` the detail.
    let log = |job: &str, reason: &str, msg: &str| {
        let _ = session.sink.event(
            "cert_metrics_push",
            &[("job", job), ("reason", reason), ("msg", msg)],
        );
    };
    let servers: Vec<String> = match catalog_content(conn) {
        Ok(c) => c
            .into_iter()
            .filter(|(_, c)| c.server)
            .map(|(j, _)| j)
            .collect(),
        Err(e) => {
            session.say(&format!("cert metrics: {e}"));
            log("-", "failed", &e.to_string());
            return;
        }
    };
    if servers.is_empty() {
        log("-", "skipped", "no prometheus server job");
        return;
    }
    let now = chrono::Utc::now();
    for job in servers {
        let (url, auth) = match target(conn, snap, kv, &job) {
            Ok(Target::Push { url, auth }) => (url, auth),
            Ok(Target::Skip(why)) => {
                log(&job, "skipped", &why);
                continue;
            }
            Ok(Target::Fail(why)) => {
                session.say(&format!("cert metrics: {why}"));
                log(&job, "failed", &why);
                continue;
            }
            Err(e) => {
                session.say(&format!("cert metrics: {e}"));
                log(&job, "failed", &e.to_string());
                continue;
            }
        };
        let entries = match listing::list(bucket, conn, now.timestamp()) {
            Ok(e) => e,
            Err(e) => {
                session.say(&format!("cert metrics: {e}"));
                log(&job, "failed", &e.to_string());
                continue;
            }
        };
        let body = encode(&series(&entries, now.timestamp_millis()));
        let auth = auth.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
        match push(&url, auth, &body, &Retry::default(), &mut |line| {
            session.say(line)
        }) {
            Ok(_) => log(&job, "ok", &url),
            Err(e) => {
                session.say(&format!("cert metrics: {e}"));
                log(&job, "failed", &e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label<'a>(s: &'a Series, name: &str) -> Option<&'a str> {
        s.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn three_gauges_per_certificate_and_none_for_invalid_dates() {
        let ok = Entry {
            scope: "job",
            job: "api".into(),
            worker: "10.0.0.1".into(),
            cert: "tls".into(),
            common_name: Some("api".into()),
            not_after: Some(2_000_000_000),
            status: Status::Expiring,
        };
        let invalid = Entry {
            not_after: None,
            common_name: None,
            status: Status::Invalid,
            ..ok.clone()
        };
        let s = series(&[ok, invalid], 7);
        let names: Vec<&str> = s.iter().map(|s| label(s, "__name__").unwrap()).collect();
        assert_eq!(
            names,
            [
                "maand_cert_not_after_seconds",
                "maand_cert_expiring",
                "maand_cert_expired",
                "maand_cert_expiring",
                "maand_cert_expired"
            ]
        );
        assert_eq!((s[0].value, s[1].value, s[2].value), (2e9, 1.0, 0.0));
        assert_eq!(label(&s[1], "status"), Some("expiring"));
        assert_eq!(label(&s[3], "status"), Some("invalid"));
        assert!(s.iter().all(|s| s.timestamp_ms == 7));
    }
}
