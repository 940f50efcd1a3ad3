//! `maand job …`.

use crate::bucket;
use crate::error::{Error, Kind, Result};
use crate::workspace::names::is_job_name;
use clap::Subcommand;
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

/// Flags shared by the lifecycle subcommands.
#[derive(clap::Args, Debug)]
struct Lifecycle {
    /// Job name(s), comma-separated.
    job: String,
    /// Worker IPs to act on (default: every active allocation).
    #[arg(long)]
    allocations: Option<String>,
    /// Health check after each batch (spec 08 spells it `--health_check`).
    #[arg(long = "health_check", alias = "health-check")]
    health_check: bool,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Run `make start` on the job's allocations.
    Start(Lifecycle),
    /// Run `make stop`.
    Stop(Lifecycle),
    /// Run `make restart`.
    Restart(Lifecycle),
    /// Run `make status`.
    Status(Lifecycle),
    /// Run any Makefile target.
    Run {
        #[command(flatten)]
        l: Lifecycle,
        #[arg(long)]
        target: String,
    },
    /// Scaffold workspace/jobs/<job>/ (manifest.json and Makefile); writes no catalog.
    Create {
        job: String,
        /// Selectors written into the manifest, comma-separated.
        #[arg(short, long)]
        selectors: Option<String>,
    },
}

const MAKEFILE: &str = "start:\n\nstop:\n\nrestart:\n\nreload:\n\nstatus:\n";

pub fn run(explicit: Option<&Path>, args: Args) -> Result<i32> {
    let (l, target) = match args.action {
        Action::Start(l) => (l, "start".to_string()),
        Action::Stop(l) => (l, "stop".to_string()),
        Action::Restart(l) => (l, "restart".to_string()),
        Action::Status(l) => (l, "status".to_string()),
        Action::Run { l, target } => (l, target),
        create => return scaffold(explicit, create),
    };
    lifecycle(&super::open(explicit)?, l, &target)
}

fn lifecycle(bucket: &bucket::Bucket, l: Lifecycle, target: &str) -> Result<i32> {
    use super::filters::{csv, validate};
    let target = crate::job_control::target(target)?;
    let mut health_check = l.health_check;
    if target == "status" && health_check {
        eprintln!("warning: --health_check is ignored by maand job status");
        health_check = false;
    }
    let _lock = bucket.lock("job")?;
    let cat = bucket.catalog()?;
    let snap = crate::snapshot::Snapshot::load(cat.conn())?;
    let mut allocated: Vec<String> = snap.allocations.iter().map(|a| a.job.clone()).collect();
    allocated.dedup();
    let jobs = validate("jobs", &csv(Some(&l.job)), &allocated)?.unwrap_or_default();
    if jobs.is_empty() {
        return Err(Error::bare(Kind::Input, "a job name is required"));
    }
    let workers: Vec<String> = snap.workers.iter().map(|w| w.worker_ip.clone()).collect();
    let allocations =
        validate("workers", &csv(l.allocations.as_deref()), &workers)?.unwrap_or_default();
    let session = crate::session::Session::open(bucket, "job", 0)?;
    let gate = |job: &str| crate::health::check_job(bucket, &session, &snap, job, true);
    let req = crate::job_control::Request {
        jobs,
        allocations,
        target,
        health_check,
    };
    let kv = std::sync::Arc::new(std::sync::Mutex::new(crate::kv::KvStore::load(
        cat.conn(),
        bucket.kv_key_path(),
    )?));
    let hooks = crate::hooks::Runtime::start(bucket, std::sync::Arc::clone(&kv))?;
    let result = crate::job_control::run(bucket, &session, &snap, &hooks, &req, &gate);
    if result.is_ok() {
        // job_control hooks' KV writes persist only when the whole command succeeded.
        let now = chrono::Utc::now().timestamp();
        kv.lock()
            .unwrap_or_else(|e| e.into_inner())
            .persist(cat.conn(), now)?;
    }
    session.progress.finish();
    result.map(|_| 0)
}

fn scaffold(explicit: Option<&Path>, action: Action) -> Result<i32> {
    match action {
        Action::Create { job, selectors } => {
            // The schema check too: a bucket behind this maand gets `run maand init` first,
            // as for every command but init.
            let root = super::open(explicit)?.root;
            if !is_job_name(&job) {
                return Err(Error::new(
                    Kind::InvalidJob,
                    format!("job name \"{job}\" must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$ (at most 128 characters)"),
                ));
            }
            let dir = root.join("workspace/jobs").join(&job);
            if dir.exists() {
                return Err(Error::bare(
                    Kind::Input,
                    format!("job directory already exists: {job}"),
                ));
            }
            let selectors = super::filters::csv(selectors.as_deref());
            let manifest = serde_json::json!({ "version": "1.0", "selectors": selectors });
            let mut text = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut text, fmt);
            serde::Serialize::serialize(&manifest, &mut ser)
                .map_err(|e| Error::bare(Kind::Io, e.to_string()))?;
            text.push(b'\n');
            fs_err::create_dir_all(&dir)?;
            fs_err::write(dir.join("manifest.json"), text)?;
            fs_err::write(dir.join("Makefile"), MAKEFILE)?;
            super::output::print(&format!("created workspace/jobs/{job}\n"));
            Ok(0)
        }
        _ => Ok(0),
    }
}
