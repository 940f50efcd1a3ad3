//! Reconcile (spec 06): stop removed and disabled allocations that run, clean removed
//! trees (keeping `data/`, `logs/`), drop hash rows, remove departed workers' roots.

use super::{remote, Deployer};
use crate::catalog::deployments::{self, DeploymentRow};
use crate::error::{Error, Kind, Result};
use crate::plan::ReconcileItem;
use maand_transport::Target;
use std::collections::BTreeSet;

/// Row changes reconcile commits.
#[derive(Default)]
pub struct Changes {
    pub delete: Vec<String>,
    pub update: Vec<DeploymentRow>,
    /// Jobs that lost every non-removed allocation: their KV is purged.
    pub purge_jobs: BTreeSet<String>,
}

impl Deployer<'_> {
    pub(super) fn reconcile(&self, items: &[ReconcileItem]) -> Result<Changes> {
        let mut changes = Changes::default();
        let mut errors = Vec::new();
        let mut departed: BTreeSet<String> = BTreeSet::new();
        for it in items.iter().filter(|i| i.stop || i.cleanup) {
            let target = |action: &str| {
                Target::worker(it.worker_ip.clone(), "reconcile", action).with_job(&it.job)
            };
            let dead = |e: &dyn std::fmt::Display| {
                let msg = format!(
                    "removed worker {} unreachable, assuming dead: {e}",
                    it.worker_ip
                );
                self.session.say(&format!("deploy: {msg}"));
                let _ = self.session.sink.event(
                    "worker_assumed_dead",
                    &[("worker", &it.worker_ip), ("job", &it.job), ("msg", &msg)],
                );
            };
            let mut reachable = true;
            if it.stop {
                let d = self.snap.deployments.get(&it.alloc_id);
                let cur = d
                    .map(|d| d.current_version.clone())
                    .unwrap_or_else(|| "0.0.0".into());
                let cmd = remote::lifecycle(
                    &self.root,
                    &self.snap.bucket_id,
                    "stop",
                    &it.job,
                    (&cur, &cur),
                    self.bucket.conf.command_timeout,
                );
                self.session.say(&format!(
                    "deploy: reconcile: stop {}@{} ({})",
                    it.job,
                    it.worker_ip,
                    if it.removed { "removed" } else { "disabled" }
                ));
                match self.session.transport.run_checked(&target("stop"), &cmd) {
                    Ok(_) => {}
                    Err(e) if it.worker_removed && e.is_unreachable() => {
                        dead(&e);
                        reachable = false;
                    }
                    Err(e) => {
                        errors.push(format!("{}@{}: stop: {e}", it.job, it.worker_ip));
                        continue;
                    }
                }
            }
            if it.stop {
                if let Err(reason) = self.after_stopped(it) {
                    errors.push(format!("{}@{}: {reason}", it.job, it.worker_ip));
                    continue;
                }
            }
            if it.cleanup && reachable {
                match self.session.transport.run_checked(
                    &target("cleanup_job_tree"),
                    &remote::cleanup_job_tree(&self.root, &it.job),
                ) {
                    Ok(_) => {}
                    Err(e) if it.worker_removed && e.is_unreachable() => dead(&e),
                    Err(e) => {
                        errors.push(format!("{}@{}: cleanup: {e}", it.job, it.worker_ip));
                        continue;
                    }
                }
            }
            if it.removed {
                let local = crate::stage::worker_dir(&self.bucket.tmp(), &it.worker_ip)
                    .join("jobs")
                    .join(&it.job);
                let _ = fs_err::remove_dir_all(local);
                changes.delete.push(it.alloc_id.clone());
                if it.worker_removed {
                    departed.insert(it.worker_ip.clone());
                }
            } else if let Some(d) = self.snap.deployments.get(&it.alloc_id) {
                changes.update.push(DeploymentRow {
                    runtime: "stopped".into(),
                    ..d.clone()
                });
            }
        }
        if !errors.is_empty() {
            return Err(Error::bare(
                Kind::Input,
                format!("reconcile failed:\n{}", errors.join("\n")),
            ));
        }
        for ip in departed {
            let t = Target::worker(ip.clone(), "gc", "cleanup_worker");
            if let Err(e) = self
                .session
                .transport
                .run_checked(&t, &remote::cleanup_worker(&self.root))
            {
                self.session.say(&format!(
                    "deploy: removed worker {ip} unreachable, assuming dead: {e}"
                ));
            }
            let _ = fs_err::remove_dir_all(crate::stage::worker_dir(&self.bucket.tmp(), &ip));
        }
        for it in items.iter().filter(|i| i.removed) {
            if self.snap.non_removed(&it.job).is_empty() {
                changes.purge_jobs.insert(it.job.clone());
            }
        }
        Ok(changes)
    }
}

impl Deployer<'_> {
    /// `after_allocation_stopped` hooks of the stopped allocation (also when its removed
    /// worker was assumed dead), if the job still registers them.
    fn after_stopped(&self, it: &ReconcileItem) -> Result<(), String> {
        if crate::hooks::Runtime::commands(&self.snap, &it.job, "after_allocation_stopped")
            .is_empty()
        {
            return Ok(());
        }
        let Some(alloc) = self
            .snap
            .allocations
            .iter()
            .find(|a| a.alloc_id == it.alloc_id)
            .cloned()
        else {
            return Ok(());
        };
        let call = crate::hooks::EventCall::new(&it.job, "after_allocation_stopped")
            .targets(vec![alloc])
            .env("BATCH_ALLOCATIONS", &it.worker_ip)
            .env("BATCH_INDEX", "0")
            .env("BATCH_COUNT", "1")
            .env("DEPLOY_PHASE", "stop")
            .env("ROLLOUT_ORDER", "")
            .env("ROLLOUT_ORDER_SOURCE", "");
        self.hooks
            .run_event(self.session, &self.snap, &call)
            .map(|_| ())
            .map_err(|e| super::rollout::hook_reason(&call, &e))
    }
}

/// Applies reconcile's row changes inside the caller's transaction.
pub fn apply(conn: &rusqlite::Connection, changes: &Changes) -> Result<()> {
    for id in &changes.delete {
        deployments::delete(conn, id)?;
    }
    for row in &changes.update {
        deployments::upsert(conn, row)?;
    }
    Ok(())
}
