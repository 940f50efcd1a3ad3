//! The `post_build` hook pass of `maand build` (spec 03 §16): after T1 committed, waves by
//! `deployment_seq`, every hook once per active allocation, failures of one wave gathered,
//! no later wave after a failure, hook KV writes committed only when all succeeded.

use super::runner::{Cause, EventCall, HookError, Runtime};
use crate::bucket::Bucket;
use crate::error::{Error, Kind, Result};
use crate::kv::KvStore;
use crate::session::Session;
use crate::snapshot::Snapshot;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Short text of the failure (`ErrJobCommandFailed`).
pub const JOB_COMMAND_FAILED: &str = "job command failed";

/// `exit status 1` wording of the post_build failure lines.
fn cause_text(c: &Cause) -> String {
    match c {
        Cause::Exit(n) => format!("exit status {n}"),
        Cause::Signal(s) => format!("signal: {s}"),
        other => other.to_string(),
    }
}

/// One line per failure: `post_build: job <job> hook <command> failed: <ip>: <cause>`.
pub fn failure_lines(e: &HookError) -> Vec<String> {
    match e {
        HookError::Failed {
            job,
            command,
            failures,
            ..
        } => failures
            .iter()
            .map(|f| {
                format!(
                    "post_build: job {job} hook {command} failed: {}: {}",
                    f.worker,
                    cause_text(&f.cause)
                )
            })
            .collect(),
        other => vec![format!("post_build: {other}")],
    }
}

/// Runs the pass; returns the number of hook runs. The caller holds the bucket lock and
/// has committed the build transaction.
pub fn run(bucket: &Bucket) -> Result<usize> {
    let mut cat = bucket.catalog()?;
    let snap = Snapshot::load(cat.conn())?;
    if !snap.commands.iter().any(|c| c.event == "post_build") {
        return Ok(0);
    }
    let mut waves: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for j in &snap.jobs {
        let has_hook = !Runtime::commands(&snap, &j.name, "post_build").is_empty();
        if has_hook && !snap.non_removed(&j.name).is_empty() {
            waves
                .entry(j.deployment_seq)
                .or_default()
                .push(j.name.clone());
        }
    }
    check_host_tools(bucket, &snap, &waves)?;
    let kv = Arc::new(Mutex::new(KvStore::load(cat.conn(), bucket.kv_key_path())?));
    let runtime = Runtime::start(bucket, Arc::clone(&kv)).map_err(Error::from)?;
    let session = Session::open(bucket, "build", 0)?;
    let mut runs = 0;
    let mut lines = Vec::new();
    for jobs in waves.values() {
        for job in jobs {
            match runtime.run_event(&session, &snap, &EventCall::new(job, "post_build")) {
                Ok(n) => runs += n,
                Err(e) => {
                    if let HookError::Failed { runs: n, .. } = &e {
                        runs += n;
                    }
                    lines.extend(failure_lines(&e));
                }
            }
        }
        if !lines.is_empty() {
            break;
        }
    }
    session.progress.finish();
    if !lines.is_empty() {
        return Err(Error::bare(
            Kind::Input,
            format!("{JOB_COMMAND_FAILED}\n{}", lines.join("\n")),
        ));
    }
    let tx = cat.conn_mut().transaction()?;
    kv.lock()
        .unwrap_or_else(|e| e.into_inner())
        .persist(&tx, chrono::Utc::now().timestamp())?;
    tx.commit()?;
    Ok(runs)
}

/// `python3` (unless the job has a venv) and `bun` when a post_build hook needs them.
fn check_host_tools(
    bucket: &Bucket,
    snap: &Snapshot,
    waves: &BTreeMap<i64, Vec<String>>,
) -> Result<()> {
    let cat = bucket.catalog()?;
    let calls: Vec<(&str, &str)> = waves
        .values()
        .flatten()
        .map(|job| (job.as_str(), "post_build"))
        .collect();
    let missing: Vec<&str> = super::runner::host_tools(bucket, cat.conn(), snap, &calls)?
        .into_iter()
        .filter(|t| maand_transport::find_on_path(t).is_none())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::bare(
            Kind::Input,
            format!("host prerequisites not met: {}", missing.join(", ")),
        ))
    }
}
