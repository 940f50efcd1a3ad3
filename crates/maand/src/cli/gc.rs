//! `maand gc`.

use crate::bucket::Bucket;
use crate::error::Result;
use crate::session::Session;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// KV history window in days (negative counts as 0).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    retain_days: i64,
}

pub fn run(bucket: &Bucket, args: Args) -> Result<i32> {
    let _lock = bucket.lock("gc")?;
    let session = Session::open(bucket, "gc", 0)?;
    let report = crate::gc::run(bucket, &session, args.retain_days);
    session.progress.finish();
    super::output::print(&format!("{}\n", report?));
    Ok(0)
}
