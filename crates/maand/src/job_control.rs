//! `maand job start|stop|restart|status|run` (spec 09 §4): manual lifecycle on deployed
//! allocations, after checking that every contacted worker is in sync with the catalog.

use crate::bucket::Bucket;
use crate::deploy::remote;
use crate::error::{Error, Kind, Result};
use crate::hooks::{EventCall, Runtime};
use crate::plan;
use crate::session::Session;
use crate::snapshot::Snapshot;
use maand_transport::{quote, RemoteCommand, Target};
use std::collections::BTreeMap;

const BUILTIN: [&str; 5] = ["start", "stop", "restart", "reload", "status"];

/// Normalises a target: built-ins case-insensitively, custom ones by a strict pattern.
pub fn target(t: &str) -> Result<String> {
    let lower = t.to_ascii_lowercase();
    if BUILTIN.contains(&lower.as_str()) {
        return Ok(lower);
    }
    let ok = t.len() <= 64
        && t.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(t.to_string())
    } else {
        Err(Error::bare(
            Kind::Input,
            format!("invalid job control target \"{t}\" (built-in: start, stop, restart, reload, status; custom targets must match [a-zA-Z0-9][a-zA-Z0-9_.-]*)"),
        ))
    }
}

/// Message for a `worker.py` exit status (spec 09 §4.3).
pub fn sync_error(ip: &str, code: i32) -> Option<String> {
    let what = match code {
        0 => return None,
        1 => "bucket id mismatch",
        2 => "worker id mismatch",
        3 => "update_seq mismatch",
        _ => "worker.json missing or unreadable",
    };
    Some(format!("worker {ip}: {what} (run maand deploy)"))
}

pub struct Request {
    pub jobs: Vec<String>,
    pub allocations: Vec<String>,
    pub target: String,
    pub health_check: bool,
}

/// The health gate after each batch (`--health_check`).
pub type Gate<'a> = &'a (dyn Fn(&str) -> Result<()> + Sync);

pub fn run(
    bucket: &Bucket,
    session: &Session,
    snap: &Snapshot,
    hooks: &Runtime,
    req: &Request,
    gate: Gate,
) -> Result<()> {
    let root = remote::root(&bucket.conf.worker_dir, &snap.bucket_id);
    // Selection per job: active allocations on the selected workers, worker order.
    let mut per_job: BTreeMap<i64, Vec<(String, Vec<String>)>> = BTreeMap::new();
    for job in &req.jobs {
        let ips: Vec<String> = snap
            .active(job)
            .iter()
            .filter(|a| req.allocations.is_empty() || req.allocations.contains(&a.worker_ip))
            .map(|a| a.worker_ip.clone())
            .collect();
        if ips.is_empty() {
            session.say(&format!("job {job}: no active allocations selected"));
            continue;
        }
        let seq = snap.job(job).map_or(0, |j| j.deployment_seq);
        per_job.entry(seq).or_default().push((job.clone(), ips));
    }
    let mut contacted: Vec<String> = per_job
        .values()
        .flatten()
        .flat_map(|(_, ips)| ips.clone())
        .collect();
    contacted.sort();
    contacted.dedup();
    check_sync(bucket, session, snap, &root, &contacted)?;
    for (_, jobs) in per_job {
        let root = root.as_str();
        let failures: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = jobs
                .iter()
                .map(|(job, ips)| {
                    s.spawn(move || {
                        run_job(bucket, session, snap, hooks, root, job, ips, req, gate)
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap_or_else(|_| Some("job panicked".into())))
                .collect()
        });
        if !failures.is_empty() {
            return Err(Error::bare(Kind::Input, failures.join("\n")));
        }
    }
    Ok(())
}

fn check_sync(
    bucket: &Bucket,
    session: &Session,
    snap: &Snapshot,
    root: &str,
    hosts: &[String],
) -> Result<()> {
    let results = session.transport.run_all(
        hosts
            .iter()
            .map(|h| Target::worker(h.clone(), "validate", "worker_sync"))
            .collect(),
        bucket.conf.parallelism,
        |t| {
            let ip = t.worker.clone().unwrap_or_default();
            let id = snap
                .worker(&ip)
                .map(|w| w.worker_id.clone())
                .unwrap_or_default();
            let script = format!(
                "test -f {r}/bin/worker.py || exit 4\npython3 -S {r}/bin/worker.py {} {} {}",
                quote(&snap.bucket_id),
                quote(&id),
                snap.update_seq,
                r = quote(root)
            );
            RemoteCommand::new(script)
        },
    );
    let errors: Vec<String> = results
        .into_iter()
        .filter_map(|(t, r)| {
            let ip = t.worker.unwrap_or_default();
            match r {
                Ok(out) => sync_error(&ip, out.exit),
                Err(e) => Some(format!("worker {ip}: {e}")),
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::bare(Kind::Input, errors.join("\n")))
    }
}

#[allow(clippy::too_many_arguments)]
fn run_job(
    bucket: &Bucket,
    session: &Session,
    snap: &Snapshot,
    hooks: &Runtime,
    root: &str,
    job: &str,
    ips: &[String],
    req: &Request,
    gate: Gate,
) -> Option<String> {
    if !Runtime::commands(snap, job, "job_control").is_empty() {
        // The job's job_control hook replaces the runner (spec 09 §4.4, hook path).
        let targets = snap
            .active(job)
            .into_iter()
            .filter(|a| ips.contains(&a.worker_ip))
            .cloned()
            .collect();
        let call = EventCall::new(job, "job_control")
            .targets(targets)
            .env("TARGET", &req.target);
        if let Err(e) = hooks.run_event(session, snap, &call) {
            return Some(format!("job {job} target {}: {}", req.target, e.report()));
        }
        if req.health_check {
            if let Err(e) = gate(job) {
                return Some(format!("job {job} target {}: {e}", req.target));
            }
        }
        return None;
    }
    let size = snap
        .job(job)
        .map_or(1, |j| j.max_concurrent_upgrades.max(1)) as usize;
    for batch in plan::batches(ips, size) {
        let results = maand_transport::fan_out(batch.clone(), batch.len(), |ip| {
            let alloc = snap.active(job).into_iter().find(|a| a.worker_ip == *ip);
            let cur = alloc
                .map(|a| snap.current_version(&a.alloc_id))
                .unwrap_or_else(|| "0.0.0".into());
            let new = alloc.map(|a| a.new_version.clone()).unwrap_or_default();
            let cmd = remote::lifecycle(
                root,
                &snap.bucket_id,
                &req.target,
                job,
                (&cur, &new),
                bucket.conf.command_timeout,
            );
            session.transport.run_checked(
                &Target::worker(ip.clone(), "job_control", req.target.clone()).with_job(job),
                &cmd,
            )
        });
        let errors: Vec<String> = results
            .into_iter()
            .filter_map(|(ip, r)| {
                r.err().map(|e| {
                    let e = e.to_string();
                    format!("{ip}: {}", crate::session::worker_cause(&ip, &e))
                })
            })
            .collect();
        if !errors.is_empty() {
            return Some(format!(
                "job {job} target {} failed: {}",
                req.target,
                errors.join("; ")
            ));
        }
        if req.health_check {
            if let Err(e) = gate(job) {
                return Some(format!("job {job} target {}: {e}", req.target));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(target("START").unwrap(), "start");
        assert_eq!(target("backup-db.1").unwrap(), "backup-db.1");
        for bad in ["-rf", "a b", "x;y", "a/b", ""] {
            assert!(
                target(bad)
                    .unwrap_err()
                    .to_string()
                    .starts_with("invalid job control target"),
                "{bad}"
            );
        }
        assert!(target(&"a".repeat(65)).is_err());
    }

    #[test]
    fn sync_messages() {
        assert_eq!(sync_error("w", 0), None);
        assert_eq!(
            sync_error("w", 3).unwrap(),
            "worker w: update_seq mismatch (run maand deploy)"
        );
        assert_eq!(
            sync_error("w", 4).unwrap(),
            "worker w: worker.json missing or unreadable (run maand deploy)"
        );
    }
}
