//! `maand cat certs [--jobs] [--workers]` (spec 10 §7): the bucket CA and every leaf in
//! KV with its expiry status. Read-only; reads the database directly.

use super::filters::{admits, csv, validate};
use super::output::{self, Output};
use crate::bucket::Bucket;
use crate::catalog::{allocations, Catalog};
use crate::certs::days_left;
use crate::certs::listing::{self, Entry};
use crate::error::{Error, Kind, Result};
use serde::Serialize;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only leaves of these jobs (comma-separated); the CA row is always shown.
    #[arg(long)]
    jobs: Option<String>,
    /// Only leaves of these workers (comma-separated IPs).
    #[arg(long)]
    workers: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Debug, Serialize)]
struct Row {
    scope: &'static str,
    job: String,
    worker: String,
    cert: String,
    common_name: Option<String>,
    /// RFC 3339 in JSON.
    not_after: Option<String>,
    days_left: Option<i64>,
    status: &'static str,
    #[serde(skip)]
    not_after_unix: Option<i64>,
}

fn row(e: Entry, now: i64) -> Row {
    Row {
        scope: e.scope,
        not_after: e.not_after.and_then(|t| {
            chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        }),
        days_left: e.not_after.map(|t| days_left(t, now)),
        status: e.status.as_str(),
        not_after_unix: e.not_after,
        job: e.job,
        worker: e.worker,
        cert: e.cert,
        common_name: e.common_name,
    }
}

pub fn run(bucket: &Bucket, cat: &Catalog, args: Args) -> Result<i32> {
    let c = cat.conn();
    let now = chrono::Utc::now().timestamp();
    let allocs = allocations::list(c)?;
    let mut jobs: Vec<String> = allocs.iter().map(|a| a.job.clone()).collect();
    jobs.dedup();
    let mut alloc_workers: Vec<String> = allocs.iter().map(|a| a.worker_ip.clone()).collect();
    alloc_workers.sort();
    alloc_workers.dedup();
    let jf = validate("jobs", &csv(args.jobs.as_deref()), &jobs)?;
    let wf = validate("workers", &csv(args.workers.as_deref()), &alloc_workers)?;

    let rows: Vec<Row> = listing::list(bucket, c, now)?
        .into_iter()
        .filter(|e| e.scope == "ca" || (admits(&jf, &e.job) && admits(&wf, &e.worker)))
        .map(|e| row(e, now))
        .collect();

    match args.output {
        Output::Json => output::json(&rows),
        Output::Table if rows.is_empty() => {
            return Err(Error::bare(Kind::NotFound, "no certificates found"))
        }
        Output::Table => output::table(
            &[
                "scope",
                "job",
                "worker",
                "cert",
                "common_name",
                "not_after",
                "days_left",
                "status",
            ],
            rows.iter()
                .map(|r| {
                    vec![
                        r.scope.to_string(),
                        r.job.clone(),
                        r.worker.clone(),
                        r.cert.clone(),
                        r.common_name.clone().unwrap_or_default(),
                        r.not_after_unix
                            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                            .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                            .unwrap_or_default(),
                        r.days_left.map(|d| d.to_string()).unwrap_or_default(),
                        r.status.to_string(),
                    ]
                })
                .collect(),
        ),
    }
    Ok(0)
}
