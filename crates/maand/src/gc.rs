//! `maand gc [--retain-days N]` (spec 09 §7): finish the soft delete of removed
//! allocations — worker job trees, KV, catalog rows — and trim KV history, in one
//! transaction.

use crate::bucket::Bucket;
use crate::build::HISTORY_KEEP;
use crate::catalog::deployments;
use crate::deploy::remote;
use crate::error::{Error, Kind, Result};
use crate::kv::KvStore;
use crate::session::Session;
use crate::snapshot::Snapshot;
use maand_transport::{quote, RemoteCommand, Target};
use std::collections::BTreeSet;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub allocations: usize,
    pub namespaces: usize,
    pub rows_deleted: usize,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "gc: removed {} allocation(s), purged {} KV namespace(s), deleted {} KV row(s)",
            self.allocations, self.namespaces, self.rows_deleted
        )
    }
}

pub fn run(bucket: &Bucket, session: &Session, retain_days: i64) -> Result<Report> {
    let mut cat = bucket.catalog()?;
    let snap = Snapshot::load(cat.conn())?;
    let mut kv = KvStore::load(cat.conn(), bucket.kv_key_path())?;
    let root = remote::root(&bucket.conf.worker_dir, &snap.bucket_id);
    let removed: Vec<_> = snap.allocations.iter().filter(|a| a.removed).collect();
    let in_catalog: BTreeSet<&str> = snap.workers.iter().map(|w| w.worker_ip.as_str()).collect();

    let results = maand_transport::fan_out(removed.clone(), bucket.conf.parallelism, |a| {
        let dir = format!("{root}/jobs/{}", a.job);
        let cmd = RemoteCommand::new(format!("rm -rf {}", quote(&dir))).sudo();
        session.transport.run_checked(
            &Target::worker(a.worker_ip.clone(), "gc", "cleanup_job_tree").with_job(&a.job),
            &cmd,
        )
    });
    let mut errors = Vec::new();
    for (a, r) in results {
        if let Err(e) = r {
            if in_catalog.contains(a.worker_ip.as_str()) {
                errors.push(format!("worker {}: {e}", a.worker_ip));
            } else {
                let msg = format!(
                    "gc: removed worker {} unreachable, assuming dead: {e}",
                    a.worker_ip
                );
                session.say(&msg);
                let _ = session.sink.event(
                    "worker_assumed_dead",
                    &[("worker", &a.worker_ip), ("job", &a.job), ("msg", &msg)],
                );
            }
        }
    }
    if !errors.is_empty() {
        return Err(Error::bare(
            Kind::Input,
            format!("gc aborted, nothing changed:\n{}", errors.join("\n")),
        ));
    }

    let mut namespaces = BTreeSet::new();
    for a in &removed {
        namespaces.insert(format!("maand/job/{}/worker/{}", a.job, a.worker_ip));
        if !in_catalog.contains(a.worker_ip.as_str()) {
            namespaces.insert(format!("maand/worker/{}", a.worker_ip));
            namespaces.insert(format!("maand/worker/{}/tags", a.worker_ip));
        }
        if snap.non_removed(&a.job).is_empty() {
            for ns in [
                "maand/job/{}",
                "vars/bucket/job/{}",
                "vars/job/{}",
                "secrets/job/{}",
            ] {
                namespaces.insert(ns.replace("{}", &a.job));
            }
        }
    }
    let purged = namespaces.iter().filter(|ns| kv.purge(ns) > 0).count();
    let tx = cat.conn_mut().transaction()?;
    let now = chrono::Utc::now().timestamp();
    kv.persist(&tx, now)?;
    for a in &removed {
        deployments::delete_allocation(&tx, &a.alloc_id)?;
    }
    let rows_deleted =
        crate::catalog::kv::trim_history(&tx, now - retain_days.max(0) * 86400, HISTORY_KEEP)?;
    tx.commit()?;
    Ok(Report {
        allocations: removed.len(),
        namespaces: purged,
        rows_deleted,
    })
}
