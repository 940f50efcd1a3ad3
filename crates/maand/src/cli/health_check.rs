//! `maand health_check`.

use super::filters::csv;
use crate::bucket::Bucket;
use crate::error::Result;
use crate::health::{self, Options};
use crate::session::Session;
use crate::snapshot::Snapshot;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Jobs to check, comma-separated (default: every catalog job).
    #[arg(long)]
    jobs: Option<String>,
    /// Retry: the worker gate 30 × 1 s, jobs per their manifest `wait` block.
    #[arg(long)]
    wait: bool,
    /// Print health_check hook output live (it is always logged).
    #[arg(long)]
    verbose: bool,
}

pub fn run(bucket: &Bucket, args: Args) -> Result<i32> {
    let snap = Snapshot::load(bucket.catalog()?.conn())?;
    let opts = Options {
        jobs: csv(args.jobs.as_deref()),
        wait: args.wait,
        verbose: args.verbose,
    };
    let session = Session::open(bucket, "health_check", 0)?;
    let result = health::run(bucket, &session, &snap, &opts);
    session.progress.finish();
    result.map(|_| 0)
}
