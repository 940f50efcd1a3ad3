//! `maand run_command` (spec 09 §5): an ad-hoc shell script on selected workers, in
//! consecutive batches, with live prefixed output.

use crate::bucket::Bucket;
use crate::catalog::workers::WorkerRow;
use crate::error::{Error, Kind, Result};
use crate::session::{transport_error, worker_cause, Session};
use maand_transport::{RemoteCommand, Target, TransportError};
use std::collections::BTreeMap;

/// Which workers to run on.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub workers: Vec<String>,
    pub labels: Vec<String>,
}

/// Picks catalog workers (position order) by host list or any-of labels.
pub fn select<'a>(all: &'a [WorkerRow], sel: &Selection) -> Result<Vec<&'a WorkerRow>> {
    if !sel.workers.is_empty() && !sel.labels.is_empty() {
        return Err(Error::bare(
            Kind::Input,
            "specify either --workers or --labels, not both",
        ));
    }
    if !sel.workers.is_empty() {
        let unknown: Vec<&String> = sel
            .workers
            .iter()
            .filter(|w| !all.iter().any(|x| x.worker_ip == **w))
            .collect();
        if !unknown.is_empty() {
            let list: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
            return Err(Error::bare(
                Kind::Input,
                format!("workers not in this bucket: [{}]", list.join(" ")),
            ));
        }
    }
    let labels: Vec<String> = sel.labels.iter().map(|l| l.to_lowercase()).collect();
    let chosen: Vec<&WorkerRow> = all
        .iter()
        .filter(|w| sel.workers.is_empty() || sel.workers.contains(&w.worker_ip))
        .filter(|w| labels.is_empty() || labels.iter().any(|l| w.labels.contains(l)))
        .collect();
    if chosen.is_empty() {
        return Err(Error::bare(Kind::Input, "no workers matched the selection"));
    }
    Ok(chosen)
}

/// The bash script a worker receives (spec 09 §5, items 1–4).
pub fn compose(bucket_id: &str, worker_ip: &str, worker_dir: &str, script: &str) -> String {
    let q = |s: &str| maand_transport::quote(s).into_owned();
    format!(
        "export BUCKET_ID={}\nexport WORKER_IP={}\ncd {} 2>/dev/null || true\n{script}",
        q(bucket_id),
        q(worker_ip),
        q(&format!("{}/{bucket_id}", worker_dir.trim_end_matches('/')))
    )
}

/// One worker's failure line; `Err` is the transport's message, which may repeat the
/// worker's name in front.
pub fn failure_line(worker: &str, outcome: &std::result::Result<i32, String>) -> Option<String> {
    match outcome {
        Ok(0) => None,
        Ok(124) => Some(format!("worker {worker}: timed out")),
        Ok(255) => Some(format!("worker {worker}: ssh connection failed")),
        Ok(n) => Some(format!("worker {worker}: command failed (exit {n})")),
        Err(e) => Some(format!(
            "worker {worker}: ssh connection failed: {}",
            worker_cause(worker, e)
        )),
    }
}

/// Called after each successful batch (the `--health_check` gate), with the batch number.
pub type AfterBatch<'a> = &'a dyn Fn(usize) -> Result<()>;

pub fn run(
    bucket: &Bucket,
    session: &Session,
    bucket_id: &str,
    targets: &[&WorkerRow],
    script: &str,
    batch: usize,
    after_batch: Option<AfterBatch>,
) -> Result<()> {
    if batch < 1 {
        return Err(Error::bare(
            Kind::Input,
            "batch size (-c) must be at least 1",
        ));
    }
    maand_transport::check_host_tools(&["bash", "ssh"]).map_err(transport_error)?;
    let hosts: Vec<String> = targets.iter().map(|w| w.worker_ip.clone()).collect();
    let mut tools = vec!["bash", "timeout"];
    if bucket.conf.use_sudo {
        tools.push("sudo");
    }
    // A worker that cannot be reached fails on its own, in its batch; missing tools on a
    // reachable worker stop everything before anything runs.
    let unreachable = match session
        .transport
        .check_workers(&hosts, &tools, bucket.conf.parallelism)
    {
        Ok(()) => BTreeMap::new(),
        Err(TransportError::Prerequisites(report)) if report.missing.is_empty() => {
            report.unreachable
        }
        Err(e) => return Err(transport_error(e)),
    };
    for (n, chunk) in hosts.chunks(batch).enumerate() {
        let reachable: Vec<&String> = chunk
            .iter()
            .filter(|h| !unreachable.contains_key(*h))
            .collect();
        let results = session.transport.run_all(
            reachable
                .iter()
                .map(|h| Target::worker((*h).clone(), "run_command", "ssh"))
                .collect(),
            chunk.len(),
            |t| {
                let ip = t.worker.clone().unwrap_or_default();
                RemoteCommand::new(compose(bucket_id, &ip, &bucket.conf.worker_dir, script))
                    .sudo()
                    .timeout(bucket.conf.command_timeout)
            },
        );
        let mut failures: Vec<String> = results
            .iter()
            .filter_map(|(t, r)| {
                let w = t.worker.clone().unwrap_or_default();
                failure_line(&w, &r.as_ref().map(|o| o.exit).map_err(|e| e.to_string()))
            })
            .collect();
        for h in chunk.iter().filter(|h| unreachable.contains_key(*h)) {
            failures.extend(failure_line(h, &Err(unreachable[h].clone())));
        }
        if !failures.is_empty() {
            return Err(Error::bare(Kind::Input, failures.join("\n")));
        }
        if let Some(gate) = after_batch {
            gate(n + 1).map_err(|e| {
                Error::bare(Kind::Input, format!("after worker batch {}: {e}", n + 1))
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composes_script() {
        assert_eq!(
            compose("b-1", "127.0.0.2", "/opt/worker/", "hostname"),
            "export BUCKET_ID=b-1\nexport WORKER_IP=127.0.0.2\ncd /opt/worker/b-1 2>/dev/null || true\nhostname"
        );
    }

    #[test]
    fn failure_lines() {
        assert_eq!(failure_line("w", &Ok(0)), None);
        assert_eq!(failure_line("w", &Ok(124)).unwrap(), "worker w: timed out");
        assert_eq!(
            failure_line("w", &Ok(255)).unwrap(),
            "worker w: ssh connection failed"
        );
        assert_eq!(
            failure_line("w", &Ok(3)).unwrap(),
            "worker w: command failed (exit 3)"
        );
        // The transport's own `worker w: ` is not repeated.
        assert_eq!(
            failure_line(
                "w",
                &Err("worker w: ssh: connect to host w port 22: Connection refused".into())
            )
            .unwrap(),
            "worker w: ssh connection failed: ssh: connect to host w port 22: Connection refused"
        );
    }
}
