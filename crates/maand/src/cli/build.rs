//! `maand build`.

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
    let result = build::run(
        bucket,
        &build::Options {
            purge_job_kv: args.purge_job_kv,
        },
        &mut warnings,
    );
    warnings.emit();
    let summary = result?;
    println!("{summary}");
    Ok(0)
}
