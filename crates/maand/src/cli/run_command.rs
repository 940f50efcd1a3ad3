//! `maand run_command`.

use super::filters::csv;
use crate::bucket::Bucket;
use crate::catalog::{meta, workers};
use crate::error::{Error, Kind, Result};
use crate::health;
use crate::run_command::{self, Selection};
use crate::session::Session;
use crate::snapshot::Snapshot;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Shell script to run (default: workspace/command.sh).
    command: Option<String>,
    /// Worker IPs, comma-separated.
    #[arg(short = 'w', long)]
    workers: Option<String>,
    /// Workers carrying any of these labels, comma-separated.
    #[arg(short = 'l', long)]
    labels: Option<String>,
    /// Batch size.
    #[arg(short = 'c', long, default_value_t = 1, allow_negative_numbers = true)]
    concurrency: i64,
    /// After each batch: pause 10 s, then the worker gate and every catalog job's health
    /// check, in wait mode.
    #[arg(long = "health_check")]
    health_check: bool,
}

pub fn run(bucket: &Bucket, args: Args) -> Result<i32> {
    if args.concurrency < 1 {
        return Err(Error::bare(
            Kind::Input,
            "batch size (-c) must be at least 1",
        ));
    }
    let script = match args
        .command
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => s.to_string(),
        None => {
            let path = bucket.workspace().join("command.sh");
            let text = fs_err::read_to_string(&path).map_err(|_| {
                Error::bare(
                    Kind::Input,
                    "command argument or workspace/command.sh is required",
                )
            })?;
            if text.trim().is_empty() {
                return Err(Error::bare(Kind::Input, "command is empty"));
            }
            text
        }
    };
    let cat = bucket.catalog()?;
    let all = workers::list(cat.conn())?;
    let sel = Selection {
        workers: csv(args.workers.as_deref()),
        labels: csv(args.labels.as_deref()),
    };
    let targets = run_command::select(&all, &sel)?;
    let bucket_id = meta::bucket_id(cat.conn())?;
    let snap = if args.health_check {
        Some(Snapshot::load(cat.conn())?)
    } else {
        None
    };
    let session = Session::open(bucket, "run_command", targets.len())?;
    let gate = |_batch: usize| match &snap {
        Some(snap) => health::after_batch(bucket, &session, snap, health::AFTER_BATCH_PAUSE),
        None => Ok(()),
    };
    let result = run_command::run(
        bucket,
        &session,
        &bucket_id,
        &targets,
        &script,
        args.concurrency as usize,
        snap.as_ref().map(|_| &gate as run_command::AfterBatch),
    );
    session.progress.finish();
    result.map(|_| 0)
}
