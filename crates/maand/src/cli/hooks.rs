//! `maand hooks <command> [job]` (aliases `jobcommand`, `job_command`).

use crate::bucket::Bucket;
use crate::error::Result;
use crate::hooks::operator::{self, Options};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Full command name, e.g. command_migrate.
    command: String,
    /// One job (default: every job registering the command for the cli event).
    job: Option<String>,
    /// Allocations run at once per job.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    concurrency: i64,
    /// Also print per-allocation begin/end lines.
    #[arg(long)]
    verbose: bool,
}

pub fn run(bucket: &Bucket, args: Args) -> Result<i32> {
    let _lock = bucket.lock("hooks")?;
    operator::run(
        bucket,
        &Options {
            command: args.command,
            job: args.job,
            concurrency: args.concurrency,
            verbose: args.verbose,
        },
    )?;
    Ok(0)
}
