//! `maand deploy`.

use super::filters::csv;
use super::output::{self, Output};
use crate::bucket::Bucket;
use crate::deploy::{self, report};
use crate::error::{Error, Kind, Result};
use crate::session::Session;
use crate::warnings::Warnings;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run maand build first.
    #[arg(short = 'b', long)]
    build: bool,
    /// Only these jobs (comma-separated); waves keep their order.
    #[arg(long)]
    jobs: Option<String>,
    /// Stage, hash and print the plan; change nothing.
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Roll every active allocation of the selected jobs even when promoted.
    #[arg(long)]
    force: bool,
    /// rsync and promote only; no start/restart/reload.
    #[arg(long)]
    sync_only: bool,
    /// Most workers contacted at once (default: maand.conf parallelism).
    #[arg(long)]
    parallel: Option<usize>,
    /// Plan output of --dry-run.
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

/// Exit status of an interrupted deploy (spec 06).
const EXIT_INTERRUPTED: i32 = 130;

pub fn run(bucket: &Bucket, args: Args) -> Result<i32> {
    let _lock = bucket.lock("deploy")?;
    if args.build {
        let mut warnings = Warnings::default();
        let r = crate::build::run(bucket, &crate::build::Options::default(), &mut warnings);
        warnings.emit();
        super::output::print(&format!("{}\n", r?));
    }
    let opts = deploy::Options {
        jobs: csv(args.jobs.as_deref()),
        dry_run: args.dry_run,
        force: args.force,
        sync_only: args.sync_only,
        parallel: args.parallel,
    };
    if opts.parallel == Some(0) {
        return Err(Error::bare(Kind::Input, "--parallel must be at least 1"));
    }
    let session = Session::open(bucket, "deploy", 0)?;
    let gate = |d: &deploy::Deployer, job: &str| {
        crate::health::check_job(d.bucket, d.session, &d.snap, job, true)
    };
    let outcome = deploy::run(bucket, &session, &opts, &gate);
    session.progress.finish();
    let outcome = outcome?;
    if args.dry_run {
        match args.output {
            Output::Json => output::json(&outcome.plan),
            Output::Table => output::print(&report::text(&outcome.plan)),
        }
        return Ok(0);
    }
    if !outcome.jobs.is_empty() {
        eprint!("{}", report::summary(&outcome.jobs));
    }
    if outcome.interrupted {
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(if outcome.failed() { 1 } else { 0 })
}
