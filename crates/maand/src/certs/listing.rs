//! The set of certificates maand manages, as `maand cat certs` lists it (spec 10 §7) and
//! the metrics push reports it (§8.3): one source, so the two never disagree.

use rusqlite::Connection;

use super::{leaf, Status};
use crate::bucket::Bucket;
use crate::catalog::kv::latest;
use crate::catalog::workers;
use crate::error::{Error, Kind, Result};

/// One certificate: the CA (`scope` `ca`, empty job and worker) or a leaf.
#[derive(Debug, Clone)]
pub struct Entry {
    pub scope: &'static str,
    pub job: String,
    pub worker: String,
    pub cert: String,
    /// `None` for an unparsable PEM (status `invalid`).
    pub common_name: Option<String>,
    pub not_after: Option<i64>,
    pub status: Status,
}

fn entry(
    scope: &'static str,
    job: &str,
    worker: &str,
    cert: &str,
    pem: &str,
    now: i64,
    buffer: i64,
) -> Entry {
    let info = leaf::parse(pem);
    Entry {
        scope,
        job: job.to_string(),
        worker: worker.to_string(),
        cert: cert.to_string(),
        common_name: info.as_ref().map(|i| i.common_name.clone()),
        not_after: info.as_ref().map(|i| i.not_after),
        status: info.map_or(Status::Invalid, |i| Status::of(i.not_after, now, buffer)),
    }
}

/// `maand/job/<job>/worker/<ip>` → (job, ip).
fn allocation_namespace(ns: &str) -> Option<(&str, &str)> {
    ns.strip_prefix("maand/job/")?.split_once("/worker/")
}

/// The CA, then every leaf in KV ordered by job, worker position and cert name.
pub fn list(bucket: &Bucket, conn: &Connection, now: i64) -> Result<Vec<Entry>> {
    let buffer = bucket.conf.certs_renewal_buffer;
    let mut out = Vec::new();
    match std::fs::read_to_string(bucket.ca_cert_path()) {
        Ok(pem) => out.push(entry("ca", "", "", "ca", &pem, now, buffer)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::bare(
                Kind::Io,
                format!("bucket CA: secrets/ca.crt: {e}"),
            ))
        }
    }
    let order: Vec<String> = workers::list(conn)?
        .into_iter()
        .map(|w| w.worker_ip)
        .collect();
    let pos = |ip: &str| order.iter().position(|w| w == ip).unwrap_or(usize::MAX);
    let mut leaves: Vec<(usize, Entry)> = Vec::new();
    for r in latest(conn)?.into_iter().filter(|r| !r.deleted) {
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
        leaves.push((pos(ip), entry("job", job, ip, name, &r.value, now, buffer)));
    }
    leaves.sort_by(|(pa, a), (pb, b)| {
        (&a.job, pa, &a.worker, &a.cert).cmp(&(&b.job, pb, &b.worker, &b.cert))
    });
    out.extend(leaves.into_iter().map(|(_, e)| e));
    Ok(out)
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
    fn invalid_entry_is_blank() {
        let e = entry("job", "api", "10.0.0.1", "tls", "garbage", 0, 0);
        assert_eq!(e.status, Status::Invalid);
        assert_eq!((e.common_name, e.not_after), (None, None));
    }
}
