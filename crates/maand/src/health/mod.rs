//! Health (spec 08): the worker gate (can maand reach its workers?) and job health (do a
//! job's manifest probes and `health_check` hooks pass on every active allocation?).
//!
//! Entry points:
//! - [`check_job`]: one job in one-shot or wait mode; the gate deploy and `maand job`
//!   call after a batch.
//! - [`worker_gate::check`]: the TCP gate over every catalog worker.
//! - [`run`]: `maand health_check` (job list, gate, up to 4 jobs at once).
//! - [`after_batch`]: the `run_command --health_check` gate.
//!
//! Messages go to a [`Reporter`] (a [`Session`] prints them above the live display).

pub mod config;
pub mod hooks;
pub mod probes;
pub mod worker_gate;

use crate::bucket::Bucket;
use crate::catalog::jobs as job_sql;
use crate::error::{Error, Kind, Result};
use crate::session::Session;
use crate::snapshot::Snapshot;
use config::HealthConfig;
use probes::ProbeContext;
use std::collections::BTreeMap;
use std::time::Duration;

/// Jobs checked at once by `maand health_check` and the `run_command` gate.
pub const MAX_PARALLEL_JOBS: usize = 4;
/// Pause before the `run_command --health_check` gate (spec 08 §8).
pub const AFTER_BATCH_PAUSE: Duration = Duration::from_secs(10);

/// Where health messages go.
pub trait Reporter: Sync {
    fn say(&self, line: &str);
}

impl Reporter for Session {
    fn say(&self, line: &str) {
        Session::say(self, line);
    }
}

/// Health failures (spec 08 §10). All are kinds of "health check failed".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealthError {
    /// One job failed; `cause` is the last attempt's probe, hook or SSH error.
    #[error("job {job}: {cause}")]
    Job { job: String, cause: String },
    /// The worker gate failed; one entry per failing worker
    /// (`worker <ip> ssh port <port>: <cause>`).
    #[error("worker health: {}", .0.join("; "))]
    Workers(Vec<String>),
    /// Unknown names in `--jobs`.
    #[error("jobs not in this bucket: [{}]", .0.join(" "))]
    UnknownJobs(Vec<String>),
    /// Several jobs failed in one run.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Batch(Vec<HealthError>),
}

impl From<HealthError> for Error {
    fn from(e: HealthError) -> Error {
        Error::bare(Kind::Input, e.to_string())
    }
}

/// How to check a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    /// Wait mode: retry per the manifest's `wait` block (default 30 × 1 s).
    pub wait: bool,
    /// Print `health_check` hook output live (it is always logged).
    pub echo_hooks: bool,
}

/// Checks `job` on all its active allocations: the deploy / `maand job` gate. Messages go
/// to the session; hook output is echoed. Fails with `job <job>: <cause>`.
pub fn check_job(
    bucket: &Bucket,
    session: &Session,
    snap: &Snapshot,
    job: &str,
    wait: bool,
) -> Result<()> {
    check_job_with(
        bucket,
        session,
        session,
        snap,
        job,
        CheckOptions {
            wait,
            echo_hooks: true,
        },
    )
    .map_err(Error::from)
}

/// [`check_job`] with an explicit reporter and options, keeping the typed error.
pub fn check_job_with(
    bucket: &Bucket,
    session: &Session,
    report: &dyn Reporter,
    snap: &Snapshot,
    job: &str,
    opts: CheckOptions,
) -> Result<(), HealthError> {
    let fail = |cause: String| HealthError::Job {
        job: job.to_string(),
        cause,
    };
    let Some(row) = snap.job(job) else {
        return Err(HealthError::UnknownJobs(vec![job.to_string()]));
    };
    let active: Vec<String> = snap
        .active(job)
        .iter()
        .map(|a| a.worker_ip.clone())
        .collect();
    if active.is_empty() {
        report.say(&format!(
            "health check skipped: {job} (no active allocations)"
        ));
        return Ok(());
    }
    let cfg = HealthConfig::of(row).map_err(|e| fail(e.to_string()))?;
    let hooks = hooks::health_check_hooks(snap, job);
    if cfg.checks.is_empty() && hooks.is_empty() {
        report.say(&format!(
            "health check skipped: {job} (no health_check config or commands)"
        ));
        return Ok(());
    }
    let ports = job_ports(bucket, job).map_err(|e| fail(e.to_string()))?;
    let cx = ProbeContext {
        session,
        job,
        ports: &ports,
        timeout: Duration::from_secs(cfg.timeout_secs),
        use_sudo: bucket.conf.use_sudo,
    };
    let attempts = if opts.wait { cfg.attempts.max(1) } else { 1 };
    let mut last = String::new();
    for n in 1..=attempts {
        match attempt(bucket, &cx, &cfg, &active, snap, &hooks, opts.echo_hooks) {
            Ok(()) => {
                report.say(&format!("health check passed: {job}"));
                return Ok(());
            }
            Err(cause) => last = cause,
        }
        if !opts.wait {
            report.say(&format!("health check failed: {job}"));
        } else if n < attempts {
            report.say(&format!(
                "health check failed: {job} (attempt {n}/{attempts}), retrying..."
            ));
            std::thread::sleep(Duration::from_secs(cfg.interval_secs));
        } else {
            report.say(&format!(
                "health check failed: {job} (attempt {n}/{attempts})"
            ));
        }
    }
    Err(fail(last))
}

/// Assigned port numbers of `job`, read from the catalog at check time.
fn job_ports(bucket: &Bucket, job: &str) -> Result<BTreeMap<String, u16>> {
    let cat = bucket.catalog()?;
    Ok(job_sql::ports(cat.conn())?
        .into_iter()
        .filter(|p| p.job == job)
        .map(|p| (p.name, p.port))
        .collect())
}

/// One attempt: every probe on every active allocation in parallel (AND, first failure
/// reported), then the hooks.
fn attempt(
    bucket: &Bucket,
    cx: &ProbeContext,
    cfg: &HealthConfig,
    ips: &[String],
    snap: &Snapshot,
    hooks: &[String],
    echo_hooks: bool,
) -> Result<(), String> {
    let items: Vec<(usize, &str)> = (0..cfg.checks.len())
        .flat_map(|i| ips.iter().map(move |ip| (i, ip.as_str())))
        .collect();
    let results = maand_transport::fan_out(items, probes::MAX_PARALLEL_PROBES, |(i, ip)| {
        probes::run(cx, *i, &cfg.checks[*i], ip)
    });
    if let Some((_, Err(cause))) = results.into_iter().find(|(_, r)| r.is_err()) {
        return Err(cause);
    }
    if !hooks.is_empty() {
        hooks::run_health_check_hooks(bucket, cx.session, snap, cx.job, hooks, echo_hooks)?;
    }
    Ok(())
}

/// Resolves `--jobs` (already split and de-duplicated) against the catalog; empty means
/// every catalog job.
pub fn resolve_jobs(snap: &Snapshot, requested: &[String]) -> Result<Vec<String>, HealthError> {
    if requested.is_empty() {
        return Ok(snap.jobs.iter().map(|j| j.name.clone()).collect());
    }
    let unknown: Vec<String> = requested
        .iter()
        .filter(|j| snap.job(j).is_none())
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(HealthError::UnknownJobs(unknown));
    }
    Ok(requested.to_vec())
}

/// Checks `jobs`, up to [`MAX_PARALLEL_JOBS`] at once. One failure gives `job <job>: <cause>`,
/// several are joined with `; `.
pub fn check_jobs(
    bucket: &Bucket,
    session: &Session,
    snap: &Snapshot,
    jobs: &[String],
    opts: CheckOptions,
) -> Result<(), HealthError> {
    let mut errors: Vec<HealthError> =
        maand_transport::fan_out(jobs.to_vec(), MAX_PARALLEL_JOBS, |job| {
            check_job_with(bucket, session, session, snap, job, opts)
        })
        .into_iter()
        .filter_map(|(_, r)| r.err())
        .collect();
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(HealthError::Batch(errors)),
    }
}

/// What `maand health_check` was asked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub jobs: Vec<String>,
    pub wait: bool,
    pub verbose: bool,
}

/// `maand health_check` (spec 08 §6): validate the job list, run the worker gate, then
/// check the jobs. Takes no bucket lock.
pub fn run(bucket: &Bucket, session: &Session, snap: &Snapshot, opts: &Options) -> Result<()> {
    let jobs = resolve_jobs(snap, &opts.jobs)?;
    worker_gate::check(bucket, snap, opts.wait, session)?;
    check_jobs(
        bucket,
        session,
        snap,
        &jobs,
        CheckOptions {
            wait: opts.wait,
            echo_hooks: opts.verbose,
        },
    )?;
    Ok(())
}

/// The `run_command --health_check` gate after a worker batch (spec 08 §8): pause, then
/// the worker gate and every catalog job, all in wait mode.
pub fn after_batch(
    bucket: &Bucket,
    session: &Session,
    snap: &Snapshot,
    pause: Duration,
) -> Result<()> {
    std::thread::sleep(pause);
    worker_gate::check(bucket, snap, true, session)?;
    let jobs = resolve_jobs(snap, &[])?;
    check_jobs(
        bucket,
        session,
        snap,
        &jobs,
        CheckOptions {
            wait: true,
            echo_hooks: true,
        },
    )?;
    Ok(())
}
