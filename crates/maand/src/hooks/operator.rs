//! `maand hooks <command> [job]` (spec 07 §10): run one command under the `cli` event on
//! the active allocations of one job or of every job registering it; KV writes are
//! committed only when every targeted allocation of every job succeeded.

use super::runner::{EventCall, Runtime};
use crate::bucket::Bucket;
use crate::error::{Error, Kind, Result};
use crate::kv::KvStore;
use crate::session::Session;
use crate::snapshot::Snapshot;
use std::sync::{Arc, Mutex};

/// What the operator asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub command: String,
    pub job: Option<String>,
    pub concurrency: i64,
    pub verbose: bool,
}

/// The jobs to run `command` for, in name order.
pub fn resolve_jobs(snap: &Snapshot, command: &str, job: Option<&str>) -> Result<Vec<String>> {
    let registered = |j: &str| {
        Runtime::commands(snap, j, "cli")
            .iter()
            .any(|c| c == command)
    };
    match job {
        Some(j) => {
            if snap.job(j).is_none() {
                return Err(Error::bare(
                    Kind::NotFound,
                    format!("job \"{j}\" not found in the catalog"),
                ));
            }
            if !registered(j) {
                return Err(Error::bare(
                    Kind::NotFound,
                    format!(
                        "job \"{j}\" command \"{command}\" is not registered for event \"cli\""
                    ),
                ));
            }
            Ok(vec![j.to_string()])
        }
        None => {
            let jobs: Vec<String> = snap
                .jobs
                .iter()
                .map(|j| j.name.clone())
                .filter(|j| registered(j))
                .collect();
            if jobs.is_empty() {
                return Err(Error::bare(
                    Kind::NotFound,
                    format!("command \"{command}\" is not registered for event \"cli\""),
                ));
            }
            Ok(jobs)
        }
    }
}

/// Runs the command; the caller holds the bucket lock.
pub fn run(bucket: &Bucket, opts: &Options) -> Result<()> {
    if opts.concurrency < 1 {
        return Err(Error::bare(Kind::Input, "concurrency must be at least 1"));
    }
    let mut cat = bucket.catalog()?;
    let snap = Snapshot::load(cat.conn())?;
    let jobs = resolve_jobs(&snap, &opts.command, opts.job.as_deref())?;
    let kv = Arc::new(Mutex::new(KvStore::load(cat.conn(), bucket.kv_key_path())?));
    let runtime = Runtime::start(bucket, Arc::clone(&kv)).map_err(Error::from)?;
    let session = Session::open(bucket, "hooks", 0)?;
    let mut failures = Vec::new();
    for job in &jobs {
        if jobs.len() > 1 {
            session.say(&format!("hooks: {job}"));
        }
        if snap.active(job).is_empty() {
            session.say(&format!("hooks: {job}: no active allocations"));
            continue;
        }
        let call = EventCall::new(job, "cli")
            .concurrency(opts.concurrency as usize)
            .verbose(opts.verbose);
        if let Err(e) = runtime.run_command(&session, &snap, &call, &opts.command) {
            failures.push(format!("job {job}: {e}"));
        }
    }
    session.progress.finish();
    if !failures.is_empty() {
        return Err(Error::bare(Kind::Input, failures.join("\n")));
    }
    let tx = cat.conn_mut().transaction()?;
    kv.lock()
        .unwrap_or_else(|e| e.into_inner())
        .persist(&tx, chrono::Utc::now().timestamp())?;
    tx.commit()?;
    Ok(())
}
