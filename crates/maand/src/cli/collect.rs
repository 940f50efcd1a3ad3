//! `maand collect facts` (alias `maand worker_facts`).

use super::filters::csv;
use crate::bucket::Bucket;
use crate::build;
use crate::error::Result;
use crate::facts::{self, Options};
use crate::session::Session;
use crate::warnings::Warnings;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand, Debug)]
enum What {
    /// Probe worker memory and CPU over SSH and write them into workspace/workers.json.
    Facts(FactsArgs),
}

#[derive(clap::Args, Debug)]
pub struct FactsArgs {
    /// Hosts from workers.json, comma-separated.
    #[arg(short = 'w', long)]
    workers: Option<String>,
    /// Workers carrying any of these labels (case-insensitive), comma-separated.
    #[arg(short = 'l', long)]
    labels: Option<String>,
    /// Probes running at once.
    #[arg(short = 'c', long, default_value_t = 1, allow_negative_numbers = true)]
    concurrency: i64,
    /// Show the changes; do not write workers.json.
    #[arg(long)]
    dry_run: bool,
    /// Run `maand build` after workers.json was updated.
    #[arg(long)]
    build: bool,
}

pub fn run(bucket: &Bucket, args: Args) -> Result<i32> {
    match args.what {
        What::Facts(a) => facts(bucket, a),
    }
}

/// `collect facts`: probe, print the changes, then write and build. Unless `--dry-run`,
/// under the bucket lock from the start, so that next to another mutating command it
/// fails at once instead of after probing every worker.
pub fn facts(bucket: &Bucket, args: FactsArgs) -> Result<i32> {
    let _lock = if args.dry_run {
        None
    } else {
        Some(bucket.lock("collect facts")?)
    };
    let opts = Options {
        workers: csv(args.workers.as_deref()),
        labels: csv(args.labels.as_deref()),
        concurrency: args.concurrency,
    };
    let session = Session::open(bucket, "collect_facts", 0)?;
    let plan = facts::collect(bucket, &session, &opts);
    session.progress.finish();
    let plan = plan?;
    for c in &plan.changes {
        super::output::print(&format!("{}\n", c.line(args.dry_run)));
    }
    if args.dry_run {
        super::output::print("dry run: workers.json not modified\n");
        return Ok(0);
    }
    if plan.is_noop() {
        super::output::print("workers.json already up to date\n");
        return Ok(0);
    }
    let n = facts::apply(bucket, &plan.facts)?;
    if n == 0 {
        super::output::print("workers.json already up to date\n");
        return Ok(0);
    }
    super::output::print(&format!("updated {n} worker(s) in workers.json\n"));
    if args.build {
        let mut warnings = Warnings::default();
        let result = build::run(
            bucket,
            &build::Options {
                purge_job_kv: false,
            },
            &mut warnings,
        );
        warnings.emit();
        super::output::print(&format!("{}\n", result?));
    }
    Ok(0)
}
