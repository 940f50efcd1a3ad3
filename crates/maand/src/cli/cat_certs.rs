//! `maand cat certs [--jobs] [--workers]` (spec 10 §7): the bucket CA and every leaf in
//! KV with its expiry status. Read-only; reads the database directly.

use super::filters::{admits, csv, validate};
use super::output::{self, Output};
use crate::bucket::Bucket;
use crate::catalog::kv::latest;
use crate::catalog::{allocations, workers, Catalog};
use crate::certs::{days_left, leaf, Status};
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

fn row(
    scope: &'static str,
    job: &str,
    worker: &str,
    cert: &str,
    pem: &str,
    now: i64,
    buffer: i64,
) -> Row {
    let info = leaf::parse(pem);
    Row {
        scope,
        job: job.to_string(),
        worker: worker.to_string(),
        cert: cert.to_string(),
        common_name: info.as_ref().map(|i| i.common_name.clone()),
        not_after: info.as_ref().and_then(|i| {
            chrono::DateTime::from_timestamp(i.not_after, 0)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        }),
        days_left: info.as_ref().map(|i| days_left(i.not_after, now)),
        status: info
            .as_ref()
            .map_or(Status::Invalid, |i| Status::of(i.not_after, now, buffer))
            .as_str(),
        not_after_unix: info.map(|i| i.not_after),
    }
}

/// `maand/job/<job>/worker/<ip>` → (job, ip).
fn allocation_namespace(ns: &str) -> Option<(&str, &str)> {
    ns.strip_prefix("maand/job/")?.split_once("/worker/")
}

pub fn run(bucket: &Bucket, cat: &Catalog, args: Args) -> Result<i32> {
    let c = cat.conn();
    let now = chrono::Utc::now().timestamp();
    let buffer = bucket.conf.certs_renewal_buffer;
    let allocs = allocations::list(c)?;
    let mut jobs: Vec<String> = allocs.iter().map(|a| a.job.clone()).collect();
    jobs.dedup();
    let mut alloc_workers: Vec<String> = allocs.iter().map(|a| a.worker_ip.clone()).collect();
    alloc_workers.sort();
    alloc_workers.dedup();
    let jf = validate("jobs", &csv(args.jobs.as_deref()), &jobs)?;
    let wf = validate("workers", &csv(args.workers.as_deref()), &alloc_workers)?;

    let mut rows = Vec::new();
    match std::fs::read_to_string(bucket.ca_cert_path()) {
        Ok(pem) => rows.push(row("ca", "", "", "ca", &pem, now, buffer)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::bare(
                Kind::Io,
                format!("bucket CA: secrets/ca.crt: {e}"),
            ))
        }
    }
    let order: Vec<String> = workers::list(c)?.into_iter().map(|w| w.worker_ip).collect();
    let pos = |ip: &str| order.iter().position(|w| w == ip).unwrap_or(usize::MAX);
    let mut leaves: Vec<(String, usize, String, Row)> = Vec::new();
    for r in latest(c)?.into_iter().filter(|r| !r.deleted) {
        let Some((job, ip)) = allocation_namespace(&r.namespace) else {
            continue;
        };
        let Some(name) = r
            .key
            .strip_prefix("certs/")
            .and_then(|k| k.strip_suffix(".crt"))
        else {
            continue;
        };
        if !admits(&jf, job) || !admits(&wf, ip) {
            continue;
        }
        leaves.push((
            job.to_string(),
            pos(ip),
            ip.to_string(),
            row("job", job, ip, name, &r.value, now, buffer),
        ));
    }
    leaves.sort_by(|a, b| (&a.0, a.1, &a.2, &a.3.cert).cmp(&(&b.0, b.1, &b.2, &b.3.cert)));
    rows.extend(leaves.into_iter().map(|(_, _, _, r)| r));

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces() {
        assert_eq!(
            allocation_namespace("maand/job/api/worker/10.0.0.1"),
            Some(("api", "10.0.0.1"))
        );
        assert_eq!(allocation_namespace("maand/job/api"), None);
        assert_eq!(allocation_namespace("maand/worker/10.0.0.1"), None);
    }

    #[test]
    fn invalid_row_is_blank() {
        let r = row("job", "api", "10.0.0.1", "tls", "garbage", 0, 0);
        assert_eq!(r.status, "invalid");
        assert_eq!(
            (r.common_name, r.not_after, r.days_left),
            (None, None, None)
        );
    }
}
