//! `maand info`.

use super::output::{self, Output};
use crate::bucket::Bucket;
use crate::catalog::{allocations, jobs, meta, workers};
use crate::error::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(serde::Serialize)]
struct Info {
    bucket_id: String,
    update_seq: i64,
    workers: usize,
    jobs: usize,
    allocations: usize,
}

pub fn run(bucket: &Bucket, args: Args) -> Result<i32> {
    let cat = bucket.catalog()?;
    let c = cat.conn();
    let info = Info {
        bucket_id: meta::bucket_id(c)?,
        update_seq: meta::update_seq(c)?,
        workers: workers::list(c)?.len(),
        jobs: jobs::list(c)?.len(),
        allocations: allocations::list(c)?.len(),
    };
    match args.output {
        Output::Json => output::json(&info),
        Output::Table => output::table(
            &["Description", "Value"],
            vec![
                vec!["Bucket ID".into(), info.bucket_id],
                vec!["Update Sequence".into(), info.update_seq.to_string()],
                vec!["Number of Workers".into(), info.workers.to_string()],
                vec!["Number of Jobs".into(), info.jobs.to_string()],
                vec!["Number of Allocations".into(), info.allocations.to_string()],
            ],
        ),
    }
    Ok(0)
}
