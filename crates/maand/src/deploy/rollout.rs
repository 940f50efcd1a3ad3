//! Rolling out one job (spec 06 "Batches, order and health gates"): rsync, start batches,
//! upgrade batches, health gates, promotion state.

use super::remote;
use super::staging::StagedJob;
use super::Deployer;
use crate::catalog::deployments::DeploymentRow;
use crate::catalog::jobs::JobRow;
use crate::hooks::{EventCall, HookError, Runtime};
use crate::plan::{self, order, Action, AllocPlan};
use crate::stage::RSYNC_EXCLUDES;
use maand_transport::{RsyncSpec, Target};
use std::collections::{BTreeMap, BTreeSet};

/// What happened to each allocation, for the promotion commit.
#[derive(Debug, Default)]
pub struct Progress {
    /// Allocations on which a lifecycle target succeeded.
    pub ran: BTreeSet<String>,
    /// Allocations of a batch whose health gate failed.
    pub health_failed: BTreeSet<String>,
}

/// The allocations a rollout touches: active and not skipped.
fn rolled(sj: &StagedJob) -> Vec<&AllocPlan> {
    sj.plan
        .allocations
        .iter()
        .filter(|a| !a.disabled && a.action != Action::Skip)
        .collect()
}

/// A hook failure as deploy reports it: hook, event, allocation, exit status and the
/// last output lines (spec 06 "Prerequisites and errors").
pub(super) fn hook_reason(call: &EventCall, e: &HookError) -> String {
    match e {
        HookError::Failed { .. } => e.report(),
        other => format!("{}: {other}", call.event),
    }
}

impl Deployer<'_> {
    /// Workers the job's tree goes to in this deploy: active allocations not skipped.
    /// `Err`: a `--sync-only` deploy that would have to start an allocation.
    pub(super) fn sync_hosts(&self, sj: &StagedJob) -> Result<Vec<String>, String> {
        let active = rolled(sj);
        if self.opts.sync_only {
            let starts: Vec<&str> = active
                .iter()
                .filter(|a| a.action == Action::Start)
                .map(|a| a.worker_ip.as_str())
                .collect();
            if !starts.is_empty() {
                return Err(format!(
                    "--sync-only cannot start new allocations: {}",
                    starts.join(", ")
                ));
            }
        }
        Ok(active.iter().map(|a| a.worker_ip.clone()).collect())
    }

    /// Runs the job's rollout; `Err` carries the failure reason for the summary.
    pub(super) fn rollout(&self, sj: &StagedJob, progress: &mut Progress) -> Result<(), String> {
        let job = self.snap.job(&sj.plan.job).ok_or("job left the catalog")?;
        let active = rolled(sj);
        let hosts = self.sync_hosts(sj)?;
        self.session
            .transport
            .check_workers(&hosts, maand_transport::WORKER_TOOLS, self.parallel)
            .map_err(|e| e.to_string())?;

        // rsync the staged tree to every allocation that is not skipped, unless the
        // wave's early sync already did (deploy/sync.rs).
        let todo: Vec<String> = {
            let done = self.presynced.lock().unwrap_or_else(|e| e.into_inner());
            hosts
                .iter()
                .filter(|ip| !done.contains(&(job.name.clone(), (*ip).clone())))
                .cloned()
                .collect()
        };
        let dest = format!("{}/jobs/{}", self.root, job.name);
        let results = maand_transport::fan_out(todo, self.parallel, |ip| {
            let mut spec = RsyncSpec::new(sj.staged[ip].dir.clone(), dest.clone())
                .delete()
                .create_dest();
            for e in RSYNC_EXCLUDES {
                spec = spec.exclude(e);
            }
            self.session.transport.rsync(
                &Target::worker(ip.clone(), "rsync", "rsync").with_job(&job.name),
                &spec,
            )
        });
        let failed: Vec<String> = results
            .iter()
            .filter_map(|(_, r)| r.as_ref().err().map(|e| e.to_string()))
            .collect();
        if !failed.is_empty() {
            return Err(failed.join("; "));
        }
        if !self.opts.sync_only {
            if Runtime::commands(&self.snap, &job.name, "job_control").is_empty() {
                self.lifecycle(job, &active, progress)?;
            } else {
                self.job_control(job, &active, progress)?;
            }
        }
        self.run_hooks(EventCall::new(&job.name, "post_deploy"))
    }

    fn run_hooks(&self, call: EventCall) -> Result<(), String> {
        if Runtime::commands(&self.snap, &call.job, &call.event).is_empty() {
            return Ok(());
        }
        self.hooks
            .run_event(self.session, &self.snap, &call)
            .map(|_| ())
            .map_err(|e| hook_reason(&call, &e))
    }

    /// A `job_control` hook replaces the Makefile lifecycle: one run per active allocation,
    /// all at once, then one health gate (spec 07 §5).
    fn job_control(
        &self,
        job: &JobRow,
        active: &[&AllocPlan],
        progress: &mut Progress,
    ) -> Result<(), String> {
        self.check_interrupt()?;
        let ips = |f: &dyn Fn(&AllocPlan) -> bool| -> String {
            active
                .iter()
                .filter(|a| f(a))
                .map(|a| a.worker_ip.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let call = EventCall::new(&job.name, "job_control")
            .env("NEW_ALLOCATIONS", ips(&|a| a.action == Action::Start))
            .env("UPDATED_ALLOCATIONS", ips(&|a| a.action != Action::Start));
        self.session
            .say(&format!("deploy: job \"{}\": job_control", job.name));
        self.run_hooks(call)?;
        progress.ran.extend(
            self.snap
                .active(&job.name)
                .iter()
                .map(|a| a.worker_ip.clone()),
        );
        let all: Vec<String> = active.iter().map(|a| a.worker_ip.clone()).collect();
        self.gate(&job.name)
            .inspect_err(|_| progress.health_failed.extend(all))
    }

    /// Start batches then upgrade batches, each followed by `after_allocation_started`
    /// hooks and the health gates of spec 08 §7.
    fn lifecycle(
        &self,
        job: &JobRow,
        active: &[&AllocPlan],
        progress: &mut Progress,
    ) -> Result<(), String> {
        let active_ips: Vec<String> = self
            .snap
            .active(&job.name)
            .iter()
            .map(|a| a.worker_ip.clone())
            .collect();
        let stored = self
            .kv()
            .get(&format!("maand/job/{}", job.name), "rollout_order")
            .ok()
            .flatten();
        let resolved = order::resolve(&active_ips, stored.as_deref());
        if let Some(why) = &resolved.repaired {
            self.session.say(&format!(
                "warning: deploy: job \"{}\": rollout_order {why}; repaired",
                job.name
            ));
        }
        let by_ip: BTreeMap<&str, &AllocPlan> =
            active.iter().map(|a| (a.worker_ip.as_str(), *a)).collect();
        let ordered = |filter: &dyn Fn(&AllocPlan) -> bool| -> Vec<String> {
            let mut v: Vec<String> = active
                .iter()
                .filter(|a| filter(a))
                .map(|a| a.worker_ip.clone())
                .collect();
            order::sort_by_order(&mut v, &resolved.order);
            v
        };
        let batch_hooks =
            |phase: &str, batch: &[String], i: usize, n: usize| -> Result<(), String> {
                let targets: Vec<_> = self
                    .snap
                    .active(&job.name)
                    .into_iter()
                    .filter(|a| {
                        batch.contains(&a.worker_ip)
                            && by_ip[a.worker_ip.as_str()]
                                .action
                                .lifecycle_target()
                                .is_some()
                    })
                    .cloned()
                    .collect();
                if targets.is_empty() {
                    return Ok(());
                }
                let call = EventCall::new(&job.name, "after_allocation_started")
                    .targets(targets)
                    .env("BATCH_ALLOCATIONS", batch.join(","))
                    .env("BATCH_INDEX", i.to_string())
                    .env("BATCH_COUNT", n.to_string())
                    .env("DEPLOY_PHASE", phase)
                    .env("ROLLOUT_ORDER", resolved.order.join(","))
                    .env("ROLLOUT_ORDER_SOURCE", resolved.source.as_str());
                self.run_hooks(call)
            };

        // New allocations: batches, their hooks, then one gate for the whole phase.
        let starts = ordered(&|a| a.action == Action::Start);
        let start_batches = plan::batches(&starts, job.max_concurrent_starts.max(0) as usize);
        for (i, batch) in start_batches.iter().enumerate() {
            self.check_interrupt()?;
            self.session.say(&format!(
                "deploy: job \"{}\": start {} (batch {}/{})",
                job.name,
                batch.join(", "),
                i + 1,
                start_batches.len()
            ));
            self.run_batch(&job.name, batch, &by_ip, progress)?;
            batch_hooks("new", batch, i, start_batches.len())?;
        }
        if !starts.is_empty() {
            self.gate(&job.name)
                .inspect_err(|_| progress.health_failed.extend(starts.iter().cloned()))?;
        }

        // Upgrades: each batch, its hooks, then a gate when a lifecycle target ran.
        let upgrades = ordered(&|a| a.action.is_upgrade());
        let upgrade_batches = plan::batches(&upgrades, job.max_concurrent_upgrades.max(1) as usize);
        for (i, batch) in upgrade_batches.iter().enumerate() {
            self.check_interrupt()?;
            let actions: Vec<String> = batch
                .iter()
                .map(|ip| format!("{ip} {}", by_ip[ip.as_str()].action.as_str()))
                .collect();
            self.session.say(&format!(
                "deploy: job \"{}\": {} (batch {}/{})",
                job.name,
                actions.join(", "),
                i + 1,
                upgrade_batches.len()
            ));
            let lifecycle = self.run_batch(&job.name, batch, &by_ip, progress)?;
            batch_hooks("update", batch, i, upgrade_batches.len())?;
            if lifecycle {
                self.gate(&job.name)
                    .inspect_err(|_| progress.health_failed.extend(batch.iter().cloned()))?;
            }
        }
        Ok(())
    }

    /// Runs the lifecycle targets of one batch in parallel; returns whether any ran.
    fn run_batch(
        &self,
        job: &str,
        batch: &[String],
        plans: &BTreeMap<&str, &AllocPlan>,
        progress: &mut Progress,
    ) -> Result<bool, String> {
        let with_target: Vec<String> = batch
            .iter()
            .filter(|ip| plans[ip.as_str()].action.lifecycle_target().is_some())
            .cloned()
            .collect();
        if with_target.is_empty() {
            return Ok(false);
        }
        let results = maand_transport::fan_out(with_target, batch.len(), |ip| {
            let target = plans[ip.as_str()]
                .action
                .lifecycle_target()
                .unwrap_or("start");
            let alloc = self
                .snap
                .non_removed(job)
                .into_iter()
                .find(|a| a.worker_ip == *ip);
            let cur = alloc
                .map(|a| self.snap.current_version(&a.alloc_id))
                .unwrap_or_else(|| "0.0.0".into());
            let new = alloc.map(|a| a.new_version.clone()).unwrap_or_default();
            let cmd = remote::lifecycle(
                &self.root,
                &self.snap.bucket_id,
                target,
                job,
                (&cur, &new),
                self.bucket.conf.command_timeout,
            );
            self.session.transport.run_checked(
                &Target::worker(ip.clone(), "rollout", target).with_job(job),
                &cmd,
            )
        });
        let mut errors = Vec::new();
        for (ip, r) in results {
            match r {
                Ok(_) => {
                    progress.ran.insert(ip);
                }
                Err(e) => errors.push(format!("{ip}: {e}")),
            }
        }
        if errors.is_empty() {
            Ok(true)
        } else {
            Err(errors.join("; "))
        }
    }

    fn check_interrupt(&self) -> Result<(), String> {
        if self.interrupt.requested() {
            Err("interrupted".into())
        } else {
            Ok(())
        }
    }

    fn gate(&self, job: &str) -> Result<(), String> {
        (self.gate)(self, job).map_err(|e| format!("health check failed: {e}"))
    }

    /// The deployment rows to commit for a job after its rollout.
    pub(super) fn promotion_rows(
        &self,
        sj: &StagedJob,
        progress: &Progress,
        promoted: bool,
    ) -> Vec<DeploymentRow> {
        let mut rows = Vec::new();
        for a in self.snap.non_removed(&sj.plan.job) {
            let Some(st) = sj.staged.get(&a.worker_ip) else {
                continue;
            };
            let Some(p) = sj
                .plan
                .allocations
                .iter()
                .find(|p| p.worker_ip == a.worker_ip)
            else {
                continue;
            };
            let mut row = self
                .snap
                .deployments
                .get(&a.alloc_id)
                .cloned()
                .unwrap_or_else(|| DeploymentRow {
                    alloc_id: a.alloc_id.clone(),
                    current_version: "0.0.0".into(),
                    runtime: "stopped".into(),
                    ..DeploymentRow::default()
                });
            row.current_hash = Some(st.hash.clone());
            row.current_files = serde_json::to_string(&st.files).ok();
            if progress.ran.contains(&a.worker_ip) {
                row.runtime = "running".into();
            }
            row.health_failed = progress.health_failed.contains(&a.worker_ip);
            if promoted {
                row.previous_hash = row.current_hash.clone();
                row.previous_files = row.current_files.clone();
                row.current_version = a.new_version.clone();
                row.health_failed = false;
                if a.disabled || p.action == Action::StopPromote {
                    row.runtime = "stopped".into();
                }
            }
            rows.push(row);
        }
        rows
    }
}
