//! The worker gate (spec 08 §1): can the CLI host open a TCP connection to every catalog
//! worker's ssh port? No SSH handshake, no login.

use super::probes::dial_cause;
use super::{HealthError, Reporter};
use crate::bucket::Bucket;
use crate::error::Result;
use crate::snapshot::Snapshot;
use crate::warnings::Warnings;
use crate::workspace::disabled;
use std::time::Duration;

/// Dial timeout per worker.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts in wait mode (fixed; manifest `wait` blocks do not apply).
pub const WAIT_ATTEMPTS: u32 = 30;
/// Pause between attempts in wait mode.
pub const WAIT_INTERVAL: Duration = Duration::from_secs(1);

/// Workers drained as a whole in `workspace/disabled.json` (`"workers": [...]`).
pub fn drained_workers(bucket: &Bucket) -> Result<Vec<String>> {
    let path = bucket.root.join(disabled::FILE);
    match fs_err::read_to_string(&path) {
        Ok(text) => Ok(disabled::parse(&text, &mut Warnings::default())?
            .workers
            .into_iter()
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// One attempt: dials every host in parallel; returns `worker <ip> ssh port <port>: <cause>`
/// for each failure, in host order.
pub fn attempt(hosts: &[String], port: u16, timeout: Duration) -> Vec<String> {
    maand_transport::fan_out(hosts.to_vec(), hosts.len().max(1), |h| {
        maand_transport::tcp_dial(h, port, timeout)
    })
    .into_iter()
    .filter_map(|(h, r)| {
        r.err()
            .map(|e| format!("worker {h} ssh port {port}: {}", dial_cause(e)))
    })
    .collect()
}

/// Runs the gate over the catalog workers of `snap` (drained ones skipped), once or in wait
/// mode, reporting the spec's messages.
pub fn check(bucket: &Bucket, snap: &Snapshot, wait: bool, report: &dyn Reporter) -> Result<()> {
    if snap.workers.is_empty() {
        report.say("worker health check skipped: no workers");
        return Ok(());
    }
    let drained = drained_workers(bucket)?;
    let mut hosts = Vec::new();
    for w in &snap.workers {
        if drained.contains(&w.worker_ip) {
            report.say(&format!(
                "worker health check skipped: {} (disabled)",
                w.worker_ip
            ));
        } else {
            hosts.push(w.worker_ip.clone());
        }
    }
    let port = bucket.conf.ssh_port;
    let attempts = if wait { WAIT_ATTEMPTS } else { 1 };
    let mut failures = Vec::new();
    for n in 1..=attempts {
        failures = attempt(&hosts, port, DIAL_TIMEOUT);
        if failures.is_empty() {
            report.say("worker health check passed");
            return Ok(());
        }
        if n < attempts {
            report.say(&format!(
                "worker health check failed (attempt {n}/{WAIT_ATTEMPTS}), retrying..."
            ));
            std::thread::sleep(WAIT_INTERVAL);
        }
    }
    report.say("worker health check failed");
    Err(HealthError::Workers(failures).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn attempt_names_each_failing_worker() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(attempt(&["127.0.0.1".into()], port, DIAL_TIMEOUT).is_empty());
        drop(l);
        let f = attempt(&["127.0.0.1".into()], port, DIAL_TIMEOUT);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].starts_with(&format!("worker 127.0.0.1 ssh port {port}: ")),
            "{f:?}"
        );
    }
}
