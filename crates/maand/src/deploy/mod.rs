//! `maand deploy` (spec 06): plan from catalog state and staged hashes, then apply it wave
//! by wave with rolling batches, committing each job's promotion as soon as it finishes.

mod interrupt;
mod reconcile;
pub mod remote;
pub mod report;
mod rollout;
mod staging;
mod sync;

use crate::bucket::Bucket;
use crate::catalog::{deployments, meta};
use crate::error::{Error, Kind, Result};
use crate::kv::KvStore;
use crate::plan::{self, Flags, ReconcileInput};
use crate::session::Session;
use crate::snapshot::Snapshot;
use crate::stage::prometheus::Monitoring;
use interrupt::Interrupt;
use maand_transport::Target;
use report::{JobOutcome, Plan, Wave, WaveJob};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub jobs: Vec<String>,
    pub dry_run: bool,
    pub force: bool,
    pub sync_only: bool,
    pub parallel: Option<usize>,
}

/// The health gate deploy calls after start and upgrade batches; `Ok` when the job is
/// healthy (or has nothing to check).
pub type Gate = dyn Fn(&Deployer, &str) -> Result<()> + Sync;

/// Result of a deploy.
pub struct Outcome {
    pub plan: Plan,
    pub jobs: Vec<(String, JobOutcome)>,
    pub interrupted: bool,
}

impl Outcome {
    pub fn failed(&self) -> bool {
        self.interrupted
            || self
                .jobs
                .iter()
                .any(|(_, o)| matches!(o, JobOutcome::Failed(_)))
    }
}

/// The state of one deploy run.
pub struct Deployer<'a> {
    pub bucket: &'a Bucket,
    pub session: &'a Session,
    pub snap: Snapshot,
    /// The deploy's KV session, shared with the hooks' runtime API.
    pub kv: Arc<Mutex<KvStore>>,
    pub opts: &'a Options,
    root: String,
    parallel: usize,
    interrupt: Interrupt,
    gate: &'a Gate,
    /// Runs this deploy's hooks against the shared KV session.
    pub hooks: crate::hooks::Runtime<'a>,
    /// (job, worker) pairs whose tree the wave's early sync already sent.
    presynced: Mutex<BTreeSet<(String, String)>>,
}

impl Deployer<'_> {
    /// The KV session (a poisoned lock only means a hook thread panicked; the data stays valid).
    pub fn kv(&self) -> MutexGuard<'_, KvStore> {
        self.kv.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Worker root `<worker_dir>/<bucket_id>`.
    pub fn root(&self) -> &str {
        &self.root
    }
}

/// Events whose hooks a deploy runs for the jobs it rolls out.
const DEPLOY_EVENTS: [&str; 5] = [
    "pre_deploy",
    "job_control",
    "after_allocation_started",
    "health_check",
    "post_deploy",
];

/// `meta` key: workers whose worker-level files the last push missed.
const PENDING: &str = "worker_files_pending";

/// Runs a deploy. The caller holds the bucket lock (and ran `build` first for `-b`).
pub fn run(bucket: &Bucket, session: &Session, opts: &Options, gate: &Gate) -> Result<Outcome> {
    let mut cat = bucket.catalog()?;
    let snap = Snapshot::load(cat.conn())?;
    let kv = Arc::new(Mutex::new(KvStore::load(cat.conn(), bucket.kv_key_path())?));
    let names: Vec<String> = snap.jobs.iter().map(|j| j.name.clone()).collect();
    let unknown: Vec<&String> = opts.jobs.iter().filter(|j| !names.contains(j)).collect();
    if !unknown.is_empty() {
        let u: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
        return Err(Error::bare(
            Kind::Input,
            format!(
                "unknown jobs [{}]; valid jobs: {}",
                u.join(", "),
                names.join(", ")
            ),
        ));
    }
    let hooks = crate::hooks::Runtime::start(bucket, Arc::clone(&kv)).map_err(Error::from)?;
    let d = Deployer {
        hooks,
        root: remote::root(&bucket.conf.worker_dir, &snap.bucket_id),
        parallel: opts.parallel.unwrap_or(bucket.conf.parallelism).max(1),
        interrupt: Interrupt::install(),
        bucket,
        session,
        snap,
        kv,
        opts,
        gate,
        presynced: Mutex::new(BTreeSet::new()),
    };
    d.execute(&mut cat)
}

impl Deployer<'_> {
    fn reconcile_inputs(&self) -> Vec<ReconcileInput> {
        let in_catalog: BTreeSet<&str> = self
            .snap
            .workers
            .iter()
            .map(|w| w.worker_ip.as_str())
            .collect();
        self.snap
            .allocations
            .iter()
            .filter(|a| a.removed || a.disabled)
            .map(|a| {
                let d = self.snap.deployments.get(&a.alloc_id);
                ReconcileInput {
                    job: a.job.clone(),
                    worker_ip: a.worker_ip.clone(),
                    alloc_id: a.alloc_id.clone(),
                    removed: a.removed,
                    disabled: a.disabled,
                    deployed: d
                        .is_some_and(|d| d.previous_hash.is_some() || d.runtime == "running"),
                    running: d.is_some_and(|d| d.runtime == "running"),
                    worker_in_catalog: in_catalog.contains(a.worker_ip.as_str()),
                }
            })
            .collect()
    }

    fn execute(mut self, cat: &mut crate::catalog::Catalog) -> Result<Outcome> {
        let flags = Flags {
            force: self.opts.force,
            sync_only: self.opts.sync_only,
        };
        let next_seq = self.snap.update_seq + 1;
        let rec_items = plan::reconcile(&self.reconcile_inputs());
        let rec_work = rec_items.iter().any(|r| r.stop || r.cleanup);
        self.check_host_tools(cat, &rec_items)?;
        let mut bumped = false;
        if rec_work && !self.opts.dry_run {
            self.bump(cat, next_seq, &sync::WaveTrees::new())?;
            bumped = true;
            let changes = self.reconcile(&rec_items)?;
            let tx = cat.conn_mut().transaction()?;
            reconcile::apply(&tx, &changes)?;
            let mut kv = self.kv();
            for job in &changes.purge_jobs {
                purge_job_kv(&mut kv, job, &self.snap);
            }
            kv.persist(&tx, chrono::Utc::now().timestamp())?;
            drop(kv);
            tx.commit()?;
            // Later waves plan from the reconciled rows.
            self.snap.deployments = deployments::all(cat.conn())?;
            // One gate per job that lost a running allocation but still has active ones
            // (spec 08 §7); a failure stops the deploy before the first wave.
            let stopped: BTreeSet<&str> = plan_stopped_jobs(&rec_items);
            for job in stopped {
                if !self.snap.active(job).is_empty() {
                    (self.gate)(&self, job).map_err(|e| {
                        Error::bare(Kind::Input, format!("reconcile health check failed: {e}"))
                    })?;
                }
            }
        } else if self.opts.dry_run {
            // Plan the waves from the rows reconcile would leave, as the real deploy does:
            // a disabled allocation it stops is not listed again as `stop` in its wave.
            for it in rec_items.iter().filter(|r| r.stop && !r.removed) {
                if let Some(d) = self.snap.deployments.get_mut(&it.alloc_id) {
                    d.runtime = "stopped".into();
                }
            }
        }

        let mut notes = Vec::new();
        let monitoring = Monitoring::load(
            cat.conn(),
            &self.snap,
            &self.kv(),
            self.bucket.conf.certs_renewal_buffer,
            &mut notes,
        )?;
        for note in notes {
            self.session.say(&format!("warning: {note}"));
        }
        let mut waves: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for j in &self.snap.jobs {
            if self.opts.jobs.is_empty() || self.opts.jobs.contains(&j.name) {
                waves
                    .entry(j.deployment_seq)
                    .or_default()
                    .push(j.name.clone());
            }
        }
        let mut plan = Plan {
            deployment_required: rec_work,
            reconcile: rec_items,
            waves: Vec::new(),
        };
        let mut outcomes = Vec::new();
        let mut interrupted = false;
        for (seq, jobs) in waves {
            let mut wave = Wave {
                deployment_seq: seq,
                jobs: Vec::new(),
            };
            let mut staged_jobs = Vec::new();
            for name in jobs {
                let Some(job) = self.snap.job(&name).cloned() else {
                    continue;
                };
                if let Err(reason) = self.pre_deploy(cat, &name)? {
                    plan.deployment_required = true;
                    self.session
                        .say(&format!("deploy: job \"{name}\" failed: {reason}"));
                    wave.jobs.push(WaveJob {
                        job: name.clone(),
                        needs_rollout: false,
                        plan: None,
                        error: Some(reason.clone()),
                    });
                    outcomes.push((name, JobOutcome::Failed(reason)));
                    continue;
                }
                let kv = self.kv();
                let env = staging::StageEnv {
                    conn: cat.conn(),
                    snap: &self.snap,
                    kv: &kv,
                    tmp: &self.bucket.tmp(),
                    worker_dir: &self.bucket.conf.worker_dir,
                    update_seq: next_seq,
                    flags,
                    monitoring: &monitoring,
                };
                let staged = staging::stage_job(&env, &job);
                drop(kv);
                match staged {
                    Ok(sj) => {
                        for ip in sj.staged.keys() {
                            self.hooks.mark_rendered(ip, &name);
                        }
                        let needs = sj.plan.needs_rollout();
                        plan.deployment_required |= needs;
                        wave.jobs.push(WaveJob {
                            job: name.clone(),
                            needs_rollout: needs,
                            plan: Some(sj.plan.clone()),
                            error: None,
                        });
                        staged_jobs.push(sj);
                    }
                    Err(e) => {
                        plan.deployment_required = true;
                        self.session.say(&format!("deploy: job \"{name}\": {e}"));
                        wave.jobs.push(WaveJob {
                            job: name.clone(),
                            needs_rollout: false,
                            plan: None,
                            error: Some(e.to_string()),
                        });
                        outcomes.push((name, JobOutcome::Failed(e.to_string())));
                    }
                }
            }
            plan.waves.push(wave);
            if self.opts.dry_run {
                continue;
            }
            let trees = self.wave_trees(&staged_jobs);
            if !trees.is_empty() && !interrupted && !self.interrupt.requested() {
                if bumped {
                    self.presync(&trees);
                } else {
                    self.bump(cat, next_seq, &trees)?;
                    bumped = true;
                }
            }
            for sj in staged_jobs {
                let name = sj.plan.job.clone();
                if !sj.plan.needs_rollout() {
                    if sj.plan.changes_anything() {
                        self.commit_job(cat, &sj, &rollout::Progress::default(), true)?;
                    }
                    self.session.say(&format!(
                        "deploy: skip job \"{name}\" (already promoted on all allocations)"
                    ));
                    let _ = self.session.sink.event(
                        "deploy_skip",
                        &[
                            ("worker", "-"),
                            ("job", &name),
                            ("reason", "already_promoted"),
                        ],
                    );
                    outcomes.push((name, JobOutcome::Skipped));
                    continue;
                }
                if interrupted || self.interrupt.requested() {
                    interrupted = true;
                    outcomes.push((name, JobOutcome::Failed("interrupted".into())));
                    continue;
                }
                if !bumped {
                    self.bump(cat, next_seq, &sync::WaveTrees::new())?;
                    bumped = true;
                }
                let mut progress = rollout::Progress::default();
                let unit = self.session.progress.start(&name);
                let result = self.rollout(&sj, &mut progress);
                self.commit_job(cat, &sj, &progress, result.is_ok())?;
                match result {
                    Ok(()) => {
                        unit.finish_ok();
                        outcomes.push((name, JobOutcome::Deployed));
                    }
                    Err(reason) => {
                        unit.finish_failed(&reason);
                        if reason == "interrupted" {
                            interrupted = true;
                        }
                        self.session
                            .say(&format!("deploy: job \"{name}\" failed: {reason}"));
                        outcomes.push((name, JobOutcome::Failed(reason)));
                    }
                }
            }
        }
        // A Ctrl-C that arrived while the last batch ran still ends the deploy with 130.
        let interrupted = interrupted || self.interrupt.requested();
        if !self.opts.dry_run && !bumped {
            let behind = self.pending_worker_files(cat)?;
            if !behind.is_empty() {
                let failed = self.push_worker_files(cat, &behind, &sync::WaveTrees::new())?;
                let done: Vec<&String> = behind.iter().filter(|ip| !failed.contains(*ip)).collect();
                if !done.is_empty() {
                    let done: Vec<&str> = done.iter().map(|s| s.as_str()).collect();
                    self.session.say(&format!(
                        "deploy: worker files (update_seq {}) pushed to {}, missed by an earlier deploy",
                        self.snap.update_seq,
                        done.join(", ")
                    ));
                }
            }
        }
        if !self.opts.dry_run && !interrupted {
            crate::certs::metrics::push_after_deploy(
                self.bucket,
                cat.conn(),
                &self.snap,
                &self.kv(),
                self.session,
            );
        }
        Ok(Outcome {
            plan,
            jobs: outcomes,
            interrupted,
        })
    }

    /// Checks once, before reconcile and any hook, the CLI host tools this deploy needs:
    /// ssh, rsync, bash and python3 (a dry run contacts no worker: only the hooks'
    /// interpreters), plus `bun` when a hook deploy may run is a `.ts` or `.js` script.
    fn check_host_tools(
        &self,
        cat: &crate::catalog::Catalog,
        rec_items: &[plan::ReconcileItem],
    ) -> Result<()> {
        let mut calls: Vec<(&str, &str)> = Vec::new();
        for j in &self.snap.jobs {
            if self.opts.jobs.is_empty() || self.opts.jobs.contains(&j.name) {
                for event in DEPLOY_EVENTS {
                    calls.push((&j.name, event));
                }
            }
        }
        for it in rec_items.iter().filter(|r| r.stop) {
            calls.push((&it.job, "after_allocation_stopped"));
            calls.push((&it.job, "health_check"));
        }
        let mut tools: Vec<&str> = if self.opts.dry_run {
            Vec::new()
        } else {
            maand_transport::HOST_TOOLS.to_vec()
        };
        for t in crate::hooks::runner::host_tools(self.bucket, cat.conn(), &self.snap, &calls)? {
            if !tools.contains(&t) {
                tools.push(t);
            }
        }
        maand_transport::check_host_tools(&tools).map_err(crate::session::transport_error)
    }

    /// Runs the job's `pre_deploy` hooks; `Ok(Err(reason))` when one failed. Their KV
    /// writes are committed at once, failed or not (never under `--dry-run`), so this
    /// deploy's templates and later runs see them (spec 07 §8).
    fn pre_deploy(
        &self,
        cat: &mut crate::catalog::Catalog,
        job: &str,
    ) -> Result<std::result::Result<(), String>> {
        if crate::hooks::Runtime::commands(&self.snap, job, "pre_deploy").is_empty() {
            return Ok(Ok(()));
        }
        let call = crate::hooks::EventCall::new(job, "pre_deploy");
        let ran = self.hooks.run_event(self.session, &self.snap, &call);
        if !self.opts.dry_run {
            let tx = cat.conn_mut().transaction()?;
            self.kv().persist(&tx, chrono::Utc::now().timestamp())?;
            tx.commit()?;
        }
        Ok(ran.map(|_| ()).map_err(|e| rollout::hook_reason(&call, &e)))
    }

    /// Increments `update_seq` in its own transaction and pushes the worker-level files
    /// (`worker.json`, `jobs.json`, `bin/`) to every catalog worker.
    fn bump(
        &mut self,
        cat: &crate::catalog::Catalog,
        seq: i64,
        trees: &sync::WaveTrees,
    ) -> Result<()> {
        meta::set(cat.conn(), "update_seq", &seq.to_string())?;
        self.snap.update_seq = seq;
        self.session.sink.set_seq(seq.max(0) as u64);
        let all: Vec<String> = self
            .snap
            .workers
            .iter()
            .map(|w| w.worker_ip.clone())
            .collect();
        self.push_worker_files(cat, &all, trees)?;
        Ok(())
    }

    /// Job trees of the wave's jobs that need rollout, by worker.
    fn wave_trees(&self, staged: &[staging::StagedJob]) -> sync::WaveTrees {
        let mut trees = sync::WaveTrees::new();
        for sj in staged.iter().filter(|sj| sj.plan.needs_rollout()) {
            for ip in self.sync_hosts(sj).unwrap_or_default() {
                trees.entry(ip).or_default().push(sj.plan.job.clone());
            }
        }
        trees
    }

    /// Sends the wave's trees, one rsync per worker. Failures are left to the jobs'
    /// rollouts, which sync those workers again and report the error.
    fn presync(&self, trees: &sync::WaveTrees) {
        let tmp = self.bucket.tmp();
        let results =
            maand_transport::fan_out(trees.keys().cloned().collect(), self.parallel, |ip| {
                let dir = crate::stage::worker_dir(&tmp, ip);
                let spec = sync::spec(&dir, &self.root, false, &trees[ip]);
                self.session
                    .transport
                    .rsync(&Target::worker(ip.clone(), "rsync", "wave"), &spec)
            });
        for (ip, r) in results {
            if r.is_ok() {
                self.mark_presynced(&ip, &trees[&ip]);
            }
        }
    }

    fn mark_presynced(&self, ip: &str, jobs: &[String]) {
        let mut done = self.presynced.lock().unwrap_or_else(|e| e.into_inner());
        for job in jobs {
            done.insert((job.clone(), ip.to_string()));
        }
    }

    /// Pushes the worker-level files of the current `update_seq` to `hosts`, with the
    /// wave's job trees in the same rsync (`trees`); returns the workers it could not
    /// reach. They are remembered in the catalog (`meta` `worker_files_pending`) so that a
    /// later deploy repairs them even when it has nothing else to do; otherwise `maand
    /// job` would refuse them until the next change.
    fn push_worker_files(
        &self,
        cat: &crate::catalog::Catalog,
        hosts: &[String],
        trees: &sync::WaveTrees,
    ) -> Result<BTreeSet<String>> {
        let tmp = self.bucket.tmp();
        let mut dirs = Vec::new();
        for w in self
            .snap
            .workers
            .iter()
            .filter(|w| hosts.contains(&w.worker_ip))
        {
            let jobs: Vec<serde_json::Value> = self
                .snap
                .allocations
                .iter()
                .filter(|a| a.worker_ip == w.worker_ip && !a.removed)
                .map(|a| serde_json::json!({ "job": a.job, "disabled": a.disabled as i32 }))
                .collect();
            let worker_json = serde_json::json!({
                "bucket_id": self.snap.bucket_id,
                "worker_id": w.worker_id,
                "worker_ip": w.worker_ip,
                "labels": w.labels.iter().collect::<Vec<_>>(),
                "update_seq": self.snap.update_seq,
            });
            let dir = crate::stage::stage_worker_files(
                &tmp,
                &w.worker_ip,
                &worker_json,
                &serde_json::Value::Array(jobs),
            )?;
            dirs.push((w.worker_ip.clone(), dir));
        }
        let root = self.root.clone();
        let hosts: Vec<String> = dirs.iter().map(|(ip, _)| ip.clone()).collect();
        let results = std::thread::scope(|s| {
            // The worker tool check every job's rollout needs runs alongside this push
            // over the same connections; its answers are cached for the rollouts, which
            // saves a round trip per deploy. Its findings are reported there.
            s.spawn(|| {
                let _ = self.session.transport.check_workers(
                    &hosts,
                    maand_transport::WORKER_TOOLS,
                    self.parallel,
                );
            });
            maand_transport::fan_out(dirs, self.parallel, |(ip, dir)| {
                let jobs = trees.get(ip).map(Vec::as_slice).unwrap_or_default();
                let spec = sync::spec(dir, &root, true, jobs);
                self.session
                    .transport
                    .rsync(&Target::worker(ip.clone(), "rsync", "worker_files"), &spec)
            })
        });
        let mut failed = BTreeSet::new();
        for ((ip, _), r) in results {
            match r {
                Ok(_) => {
                    self.mark_presynced(&ip, trees.get(&ip).map(Vec::as_slice).unwrap_or_default())
                }
                Err(e) => {
                    self.session
                        .say(&format!("warning: deploy: worker {ip}: {e}"));
                    failed.insert(ip);
                }
            }
        }
        let pending: Vec<&str> = failed.iter().map(String::as_str).collect();
        meta::set(cat.conn(), PENDING, &pending.join(","))?;
        Ok(failed)
    }

    /// Workers a bump could not reach, still in the catalog: their `worker.json` is behind.
    fn pending_worker_files(&self, cat: &crate::catalog::Catalog) -> Result<Vec<String>> {
        let listed = meta::get(cat.conn(), PENDING)?.unwrap_or_default();
        Ok(listed
            .split(',')
            .filter(|ip| self.snap.worker(ip).is_some())
            .map(str::to_string)
            .collect())
    }

    /// Commits a job's deployment rows (promoted or not) and its KV checkpoint.
    fn commit_job(
        &mut self,
        cat: &mut crate::catalog::Catalog,
        sj: &staging::StagedJob,
        progress: &rollout::Progress,
        promoted: bool,
    ) -> Result<()> {
        let rows = self.promotion_rows(sj, progress, promoted);
        let tx = cat.conn_mut().transaction()?;
        for r in &rows {
            deployments::upsert(&tx, r)?;
        }
        self.kv().persist(&tx, chrono::Utc::now().timestamp())?;
        tx.commit()?;
        for r in rows {
            self.snap.deployments.insert(r.alloc_id.clone(), r);
        }
        Ok(())
    }
}

/// Jobs of which reconcile stopped a running allocation.
fn plan_stopped_jobs(items: &[plan::ReconcileItem]) -> BTreeSet<&str> {
    items
        .iter()
        .filter(|i| i.stop)
        .map(|i| i.job.as_str())
        .collect()
}

/// After reconcile leaves a job with no non-removed allocation (spec 04 §8).
fn purge_job_kv(kv: &mut KvStore, job: &str, snap: &Snapshot) {
    for ns in [
        format!("maand/job/{job}"),
        format!("vars/bucket/job/{job}"),
        format!("vars/job/{job}"),
        format!("secrets/job/{job}"),
    ] {
        kv.purge(&ns);
    }
    for a in snap.allocations.iter().filter(|a| a.job == job) {
        kv.purge(&format!("maand/job/{job}/worker/{}", a.worker_ip));
    }
}
