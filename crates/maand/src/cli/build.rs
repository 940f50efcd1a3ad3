//! `maand build`.

use super::output;
use crate::bucket::Bucket;
use crate::build;
use crate::error::Result;
use crate::warnings::Warnings;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also purge vars/job/<job> and secrets/job/<job> of removed or retired jobs.
    #[arg(long)]
    purge_job_kv: bool,
}

pub fn run(bucket: &Bucket, args: Args) -> Result<i32> {
    let _lock = bucket.lock("build")?;
    let mut warnings = Warnings::default();
    let opts = build::Options {
        purge_job_kv: args.purge_job_kv,
    };
    let result = build::main_phase(bucket, &opts, &mut warnings);
    // Warnings first, then the hooks' streamed output, then the summary (spec 03 §1).
    warnings.emit();
    let summary = build::post_build(bucket, result?)?;
    output::print(&format!("{summary}\n"));
    Ok(0)
}
