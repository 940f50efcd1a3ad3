//! The certificate step of `maand build` (spec 10 §5).
//!
//! 1. Decide, per job, cert name and allocation namespace, whether the stored pair is
//!    reused or reissued ([`plan`], pure apart from reading KV and the build hashes).
//! 2. Issue every new pair, in parallel across threads; results land by task index, so
//!    the KV writes never depend on thread timing.
//! 3. Cert-sync each allocation namespace: put `certs/<name>.crt|key` for every declared
//!    name, delete every other `certs/*` key, leave the rest alone.
//! 4. Record the `build_certs`/<job> and `build`/`ca` hashes in the build transaction, so
//!    they are promoted only when T1 commits.

use super::leaf::{self, Issued, LeafSpec, Pem};
use super::{ca, needs_renewal, Ca};
use crate::catalog::allocations::AllocationRow;
use crate::catalog::jobs::{build_hash, set_build_hash};
use crate::error::{Error, Kind, Result};
use crate::kv::KvStore;
use crate::warnings::Warnings;
use crate::workspace::manifest::CertSpec;
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;

/// Hash namespace and key of the CA certificate; namespace of per-job manifest hashes.
pub const CA_HASH: (&str, &str) = ("build", "ca");
pub const CERTS_HASH_NS: &str = "build_certs";

/// One job's declarations.
#[derive(Debug, Clone, Copy)]
pub struct JobCerts<'a> {
    pub name: &'a str,
    /// Sorted by name.
    pub certs: &'a [CertSpec],
    /// MD5 of the canonical `certs` block (spec 10 §2).
    pub certs_hash: &'a str,
}

/// Everything the step reads besides the catalog and KV.
pub struct BuildInput<'a> {
    /// `<bucket>/secrets`.
    pub secrets: &'a Path,
    pub jobs: Vec<JobCerts<'a>>,
    /// Allocation rows by job, worker-position order (removed ones included).
    pub allocations: &'a BTreeMap<&'a str, Vec<&'a AllocationRow>>,
    pub ttl_days: i64,
    pub buffer_days: i64,
    /// Unix seconds.
    pub now: i64,
    /// RSA size of new leaf keys.
    pub bits: usize,
}

/// Why a stored pair is reissued (spec 10 §5 triggers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Missing,
    Unparsable,
    Renewal,
    CaChanged,
    ManifestChanged,
}

/// Where the PEMs of one (namespace, cert name) come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Reuse(Pem),
    /// Index into [`Plan::tasks`].
    New(usize),
}

/// One issuance, with a label for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub job: String,
    pub cert: String,
    pub spec: LeafSpec,
}

/// The step's decisions.
#[derive(Debug, Default)]
pub struct Plan {
    pub tasks: Vec<Task>,
    /// Allocation namespace → (cert name → source); an empty map purges `certs/*`.
    pub namespaces: BTreeMap<String, BTreeMap<String, Source>>,
    /// Jobs whose `build_certs` hash must be recorded: (job, hash).
    pub promote: Vec<(String, String)>,
    /// Whether any declared cert has a non-removed allocation (the CA is needed).
    pub needs_ca: bool,
}

/// Whether the pair stored in `ns` for `name` must be reissued.
pub fn trigger(
    kv: &KvStore,
    ns: &str,
    name: &str,
    forced: Option<Trigger>,
    now: i64,
    buffer_days: i64,
) -> Result<Option<Trigger>> {
    let crt = kv
        .get(ns, &format!("certs/{name}.crt"))?
        .unwrap_or_default();
    let key = kv
        .get(ns, &format!("certs/{name}.key"))?
        .unwrap_or_default();
    if crt.is_empty() || key.is_empty() {
        return Ok(Some(Trigger::Missing));
    }
    let Some(info) = leaf::parse(&crt) else {
        return Ok(Some(Trigger::Unparsable));
    };
    if needs_renewal(info.not_after, now, buffer_days) {
        return Ok(Some(Trigger::Renewal));
    }
    Ok(forced)
}

fn stored(kv: &KvStore, ns: &str, name: &str) -> Result<Pem> {
    Ok(Pem {
        crt: kv
            .get(ns, &format!("certs/{name}.crt"))?
            .unwrap_or_default(),
        key: kv
            .get(ns, &format!("certs/{name}.key"))?
            .unwrap_or_default(),
    })
}

fn namespace(job: &str, ip: &str) -> String {
    format!("maand/job/{job}/worker/{ip}")
}

/// Decides every reuse and reissue (spec 10 §5 step 2).
pub fn plan(conn: &Connection, kv: &KvStore, input: &BuildInput, ca_changed: bool) -> Result<Plan> {
    let mut p = Plan::default();
    let none = Vec::new();
    for job in &input.jobs {
        let rows = input.allocations.get(job.name).unwrap_or(&none);
        if rows.is_empty() {
            continue;
        }
        let manifest_changed =
            build_hash(conn, CERTS_HASH_NS, job.name)?.as_deref() != Some(job.certs_hash);
        p.promote
            .push((job.name.to_string(), job.certs_hash.to_string()));
        let live: Vec<&AllocationRow> = rows.iter().copied().filter(|a| !a.removed).collect();
        if job.certs.is_empty() || live.is_empty() {
            for a in rows {
                p.namespaces
                    .insert(namespace(job.name, &a.worker_ip), BTreeMap::new());
            }
            continue;
        }
        p.needs_ca = true;
        let forced = if ca_changed {
            Some(Trigger::CaChanged)
        } else if manifest_changed {
            Some(Trigger::ManifestChanged)
        } else {
            None
        };
        let nss: Vec<String> = live
            .iter()
            .map(|a| namespace(job.name, &a.worker_ip))
            .collect();
        for ns in &nss {
            p.namespaces.entry(ns.clone()).or_default();
        }
        for cert in job.certs {
            let mut triggered = Vec::with_capacity(nss.len());
            for ns in &nss {
                triggered.push(
                    trigger(kv, ns, &cert.name, forced, input.now, input.buffer_days)?.is_some(),
                );
            }
            let mut task = |hosts: Vec<String>| {
                p.tasks.push(Task {
                    job: job.name.to_string(),
                    cert: cert.name.clone(),
                    spec: LeafSpec {
                        common_name: cert.common_name.clone(),
                        hosts,
                        pkcs8: cert.pkcs8,
                    },
                });
                Source::New(p.tasks.len() - 1)
            };
            let sources: Vec<Source> = if cert.one {
                let src = if triggered.iter().any(|t| *t) {
                    task(live.iter().map(|a| a.worker_ip.clone()).collect())
                } else {
                    Source::Reuse(stored(kv, &nss[0], &cert.name)?)
                };
                vec![src; nss.len()]
            } else {
                let mut v = Vec::with_capacity(nss.len());
                for (i, a) in live.iter().enumerate() {
                    v.push(if triggered[i] {
                        task(vec![a.worker_ip.clone()])
                    } else {
                        Source::Reuse(stored(kv, &nss[i], &cert.name)?)
                    });
                }
                v
            };
            for (ns, src) in nss.iter().zip(sources) {
                if let Some(m) = p.namespaces.get_mut(ns) {
                    m.insert(cert.name.clone(), src);
                }
            }
        }
    }
    Ok(p)
}

/// Issues every task, spread over the available cores; `out[i]` answers `tasks[i]`.
pub fn issue_all(
    ca: &Ca,
    tasks: &[Task],
    now: i64,
    ttl_days: i64,
    bits: usize,
) -> Result<Vec<Issued>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(tasks.len());
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, std::result::Result<Issued, String>)> = Vec::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(t) = tasks.get(i) else { break };
                        done.push((i, leaf::issue(ca, &t.spec, now, ttl_days, bits)));
                    }
                    done
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(done) => results.extend(done),
                Err(_) => results.push((usize::MAX, Err("issuing thread panicked".into()))),
            }
        }
    });
    results.sort_by_key(|(i, _)| *i);
    let mut out = Vec::with_capacity(tasks.len());
    for (i, r) in results {
        let label = tasks
            .get(i)
            .map(|t| format!("job {} cert \"{}\"", t.job, t.cert))
            .unwrap_or_else(|| "certificates".into());
        out.push(r.map_err(|e| {
            Error::bare(
                Kind::Input,
                format!("certificate issuance failed: {label}: {e}"),
            )
        })?);
    }
    Ok(out)
}

fn is_cert_key(key: &str) -> bool {
    key.starts_with("certs/")
}

/// Runs the certificate step inside the build transaction (spec 10 §5).
pub fn build_step(
    input: &BuildInput,
    conn: &Connection,
    kv: &mut KvStore,
    warnings: &mut Warnings,
) -> Result<()> {
    let ca_path = input.secrets.join(ca::CRT_FILE);
    let ca_hash = match std::fs::read(&ca_path) {
        Ok(b) => Some(crate::ids::md5_hex(&b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Error::bare(
                Kind::Io,
                format!("bucket CA: secrets/{}: {e}", ca::CRT_FILE),
            ))
        }
    };
    let promoted_ca = build_hash(conn, CA_HASH.0, CA_HASH.1)?;
    let ca_changed = ca_hash.is_some() && promoted_ca != ca_hash;
    let plan = plan(conn, kv, input, ca_changed)?;
    let issued = if plan.needs_ca {
        if input.buffer_days >= input.ttl_days {
            warnings.push(format!(
                "maand.conf: certs_renewal_buffer ({}) >= certs_ttl ({}): every build reissues every certificate",
                input.buffer_days, input.ttl_days
            ));
        }
        let ca = Ca::load(input.secrets)?;
        let issued = issue_all(&ca, &plan.tasks, input.now, input.ttl_days, input.bits)?;
        let mut capped: Vec<String> = Vec::new();
        for (t, i) in plan.tasks.iter().zip(&issued) {
            let label = format!("job {} cert \"{}\"", t.job, t.cert);
            if i.capped && !capped.contains(&label) {
                capped.push(label);
            }
        }
        for label in capped {
            warnings.push(format!(
                "{label}: NotAfter capped at the bucket CA's expiry ({}); rotate the CA",
                chrono::DateTime::from_timestamp(ca.not_after, 0)
                    .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default()
            ));
        }
        issued
    } else {
        Vec::new()
    };
    for (ns, certs) in &plan.namespaces {
        let mut pairs = Vec::with_capacity(certs.len() * 2);
        for (name, src) in certs {
            let pem = match src {
                Source::Reuse(p) => p,
                Source::New(i) => &issued[*i].pem,
            };
            pairs.push((format!("certs/{name}.crt"), pem.crt.clone()));
            pairs.push((format!("certs/{name}.key"), pem.key.clone()));
        }
        kv.sync_where(ns, &pairs, is_cert_key)?;
    }
    for (job, hash) in &plan.promote {
        if build_hash(conn, CERTS_HASH_NS, job)?.as_deref() != Some(hash) {
            set_build_hash(conn, CERTS_HASH_NS, job, hash)?;
        }
    }
    if let Some(h) = ca_hash {
        if promoted_ca.as_deref() != Some(&h) {
            set_build_hash(conn, CA_HASH.0, CA_HASH.1, &h)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::certs::leaf::tests::test_ca;
    use crate::certs::DAY;

    /// Leaf keys in these tests are 1024 bits: the decisions do not depend on the size.
    const BITS: usize = 1024;

    struct Env {
        dir: tempfile::TempDir,
        secrets: std::path::PathBuf,
        cat: Catalog,
        kv: KvStore,
        now: i64,
    }

    fn env() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        fs_err::create_dir_all(&secrets).unwrap();
        let (g, now) = test_ca();
        fs_err::write(secrets.join("ca.crt"), &g.cert_pem).unwrap();
        fs_err::write(secrets.join("ca.key"), &g.key_pem).unwrap();
        let cat = Catalog::create(&dir.path().join("maand.db")).unwrap();
        let kv = KvStore::empty(dir.path().join("kv.key"));
        Env {
            dir,
            secrets,
            cat,
            kv,
            now: *now,
        }
    }

    fn cert(name: &str, one: bool, pkcs8: bool) -> CertSpec {
        CertSpec {
            name: name.into(),
            pkcs8,
            one,
            common_name: format!("{name}.internal"),
        }
    }

    fn alloc(job: &str, ip: &str, removed: bool) -> AllocationRow {
        AllocationRow {
            alloc_id: format!("{job}|{ip}"),
            job: job.into(),
            worker_ip: ip.into(),
            removed,
            disabled: false,
            deployment_seq: 0,
            new_version: "0.0.0".into(),
        }
    }

    type Jobs<'a> = [(&'a str, Vec<CertSpec>, &'a str)];

    fn by_job(rows: &[AllocationRow]) -> BTreeMap<&str, Vec<&AllocationRow>> {
        let mut by_job: BTreeMap<&str, Vec<&AllocationRow>> = BTreeMap::new();
        for r in rows {
            by_job.entry(r.job.as_str()).or_default().push(r);
        }
        by_job
    }

    /// The build step's input over `jobs`: (name, certs, hash).
    fn input<'a>(
        secrets: &'a std::path::Path,
        jobs: &'a Jobs<'a>,
        allocations: &'a BTreeMap<&'a str, Vec<&'a AllocationRow>>,
        now: i64,
        ttl_days: i64,
        buffer_days: i64,
    ) -> BuildInput<'a> {
        BuildInput {
            secrets,
            jobs: jobs
                .iter()
                .map(|(n, c, h)| JobCerts {
                    name: n,
                    certs: c,
                    certs_hash: h,
                })
                .collect(),
            allocations,
            ttl_days,
            buffer_days,
            now,
            bits: BITS,
        }
    }

    /// One step run over `jobs` and their allocation rows.
    fn step(
        e: &mut Env,
        jobs: &Jobs,
        rows: &[AllocationRow],
        now: i64,
        ttl_days: i64,
        buffer_days: i64,
    ) -> Warnings {
        let by_job = by_job(rows);
        let input = input(&e.secrets, jobs, &by_job, now, ttl_days, buffer_days);
        let mut w = Warnings::default();
        build_step(&input, e.cat.conn(), &mut e.kv, &mut w).unwrap();
        w
    }

    fn get(e: &Env, job: &str, ip: &str, key: &str) -> Option<String> {
        e.kv.get(&namespace(job, ip), key).unwrap()
    }

    fn pem(e: &Env, job: &str, ip: &str, name: &str) -> (String, String) {
        (
            get(e, job, ip, &format!("certs/{name}.crt")).expect("crt"),
            get(e, job, ip, &format!("certs/{name}.key")).expect("key"),
        )
    }

    fn not_after(crt: &str) -> i64 {
        leaf::parse(crt).unwrap().not_after
    }

    #[test]
    fn issue_then_reuse_byte_for_byte() {
        let mut e = env();
        let now = e.now;
        let rows = [
            alloc("api", "10.0.0.2", false),
            alloc("api", "10.0.0.3", false),
        ];
        let jobs = [(
            "api",
            vec![cert("tls", false, true), cert("peer", true, false)],
            "h1",
        )];
        step(&mut e, &jobs, &rows, now, 60, 0);
        let tls2 = pem(&e, "api", "10.0.0.2", "tls");
        let tls3 = pem(&e, "api", "10.0.0.3", "tls");
        assert_ne!(tls2, tls3);
        assert!(tls2.1.starts_with("-----BEGIN PRIVATE KEY-----"));
        let peer2 = pem(&e, "api", "10.0.0.2", "peer");
        assert_eq!(peer2, pem(&e, "api", "10.0.0.3", "peer"));
        assert!(peer2.1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert_eq!(not_after(&tls2.0), now + 60 * DAY);
        assert_eq!(
            build_hash(e.cat.conn(), "build_certs", "api")
                .unwrap()
                .as_deref(),
            Some("h1")
        );
        assert!(build_hash(e.cat.conn(), "build", "ca").unwrap().is_some());
        e.kv.persist(e.cat.conn(), now).unwrap();

        // Second build a day later: nothing triggers, nothing is written.
        step(&mut e, &jobs, &rows, now + DAY, 60, 0);
        assert_eq!(tls2, pem(&e, "api", "10.0.0.2", "tls"));
        assert_eq!(tls3, pem(&e, "api", "10.0.0.3", "tls"));
        assert_eq!(peer2, pem(&e, "api", "10.0.0.3", "peer"));
        assert_eq!(e.kv.persist(e.cat.conn(), now).unwrap().written, 0);
    }

    #[test]
    fn per_allocation_reissues_only_the_triggered_one() {
        let mut e = env();
        let now = e.now;
        let rows = [
            alloc("api", "10.0.0.2", false),
            alloc("api", "10.0.0.3", false),
        ];
        let jobs = [("api", vec![cert("tls", false, false)], "h")];
        step(&mut e, &jobs, &rows, now, 60, 0);
        let keep = pem(&e, "api", "10.0.0.2", "tls");
        let old = pem(&e, "api", "10.0.0.3", "tls");
        // Missing key.
        e.kv.delete(&namespace("api", "10.0.0.3"), "certs/tls.key");
        step(&mut e, &jobs, &rows, now, 60, 0);
        assert_eq!(keep, pem(&e, "api", "10.0.0.2", "tls"));
        let new = pem(&e, "api", "10.0.0.3", "tls");
        assert_ne!(old, new);
        // Unparsable certificate.
        e.kv.put(&namespace("api", "10.0.0.3"), "certs/tls.crt", "garbage")
            .unwrap();
        step(&mut e, &jobs, &rows, now, 60, 0);
        assert_eq!(keep, pem(&e, "api", "10.0.0.2", "tls"));
        assert_ne!(new, pem(&e, "api", "10.0.0.3", "tls"));
        // A new worker gets its own pair; the others keep theirs.
        let more = [
            rows[0].clone(),
            rows[1].clone(),
            alloc("api", "10.0.0.4", false),
        ];
        let before3 = pem(&e, "api", "10.0.0.3", "tls");
        step(&mut e, &jobs, &more, now, 60, 0);
        assert_eq!(keep, pem(&e, "api", "10.0.0.2", "tls"));
        assert_eq!(before3, pem(&e, "api", "10.0.0.3", "tls"));
        pem(&e, "api", "10.0.0.4", "tls");
    }

    #[test]
    fn shared_cert_reissued_for_all_when_a_worker_is_added() {
        let mut e = env();
        let now = e.now;
        let jobs = [("db", vec![cert("peer", true, false)], "h")];
        let rows = [alloc("db", "10.0.0.1", false)];
        step(&mut e, &jobs, &rows, now, 60, 0);
        let first = pem(&e, "db", "10.0.0.1", "peer");
        let rows2 = [rows[0].clone(), alloc("db", "db2.internal", false)];
        step(&mut e, &jobs, &rows2, now, 60, 0);
        let second = pem(&e, "db", "10.0.0.1", "peer");
        assert_ne!(first, second);
        assert_eq!(second, pem(&e, "db", "db2.internal", "peer"));
        // Reused from the first allocation afterwards.
        step(&mut e, &jobs, &rows2, now, 60, 0);
        assert_eq!(second, pem(&e, "db", "db2.internal", "peer"));
    }

    #[test]
    fn renewal_triggers_by_time_and_buffer() {
        let mut e = env();
        let now = e.now;
        let jobs = [("api", vec![cert("tls", false, false)], "h")];
        let rows = [alloc("api", "10.0.0.2", false)];
        step(&mut e, &jobs, &rows, now, 30, 0);
        let a = pem(&e, "api", "10.0.0.2", "tls");
        let na = not_after(&a.0);
        // Buffer 0: reused up to the last second, reissued at NotAfter.
        step(&mut e, &jobs, &rows, na - 1, 30, 0);
        assert_eq!(a, pem(&e, "api", "10.0.0.2", "tls"));
        step(&mut e, &jobs, &rows, na, 30, 0);
        let b = pem(&e, "api", "10.0.0.2", "tls");
        assert_ne!(a, b);
        assert_eq!(not_after(&b.0), na + 30 * DAY);
        // Buffer 10 days: reissued once inside the window.
        let nb = not_after(&b.0);
        step(&mut e, &jobs, &rows, nb - 10 * DAY - 1, 30, 10);
        assert_eq!(b, pem(&e, "api", "10.0.0.2", "tls"));
        step(&mut e, &jobs, &rows, nb - 10 * DAY, 30, 10);
        assert_ne!(b, pem(&e, "api", "10.0.0.2", "tls"));
        // Buffer >= ttl: every build reissues what the previous one issued, with a warning.
        e.kv.delete(&namespace("api", "10.0.0.2"), "certs/tls.key");
        step(&mut e, &jobs, &rows, nb - 10 * DAY, 5, 5);
        let c = pem(&e, "api", "10.0.0.2", "tls");
        let w = step(&mut e, &jobs, &rows, nb - 10 * DAY, 5, 5);
        assert_ne!(c, pem(&e, "api", "10.0.0.2", "tls"));
        assert!(w
            .iter()
            .any(|m| m.contains("certs_renewal_buffer (5) >= certs_ttl (5)")));
    }

    #[test]
    fn rotated_ca_and_changed_manifest_reissue() {
        let mut e = env();
        let now = e.now;
        let rows = [
            alloc("api", "10.0.0.2", false),
            alloc("db", "10.0.0.1", false),
        ];
        let jobs = [
            ("api", vec![cert("tls", false, false)], "a1"),
            ("db", vec![cert("peer", true, false)], "d1"),
        ];
        step(&mut e, &jobs, &rows, now, 60, 0);
        let api = pem(&e, "api", "10.0.0.2", "tls");
        let db = pem(&e, "db", "10.0.0.1", "peer");
        // The api manifest changed: only api is reissued.
        let jobs2 = [jobs[0].clone(), jobs[1].clone()];
        let jobs2 = [("api", jobs2[0].1.clone(), "a2"), jobs2[1].clone()];
        step(&mut e, &jobs2, &rows, now, 60, 0);
        let api2 = pem(&e, "api", "10.0.0.2", "tls");
        assert_ne!(api, api2);
        assert_eq!(db, pem(&e, "db", "10.0.0.1", "peer"));
        // Rotate the CA: every leaf is reissued and chains to the new CA.
        let g = ca::generate("rotated", 2048, now).unwrap();
        fs_err::write(e.secrets.join("ca.crt"), &g.cert_pem).unwrap();
        fs_err::write(e.secrets.join("ca.key"), &g.key_pem).unwrap();
        step(&mut e, &jobs2, &rows, now, 60, 0);
        assert_ne!(api2, pem(&e, "api", "10.0.0.2", "tls"));
        let db2 = pem(&e, "db", "10.0.0.1", "peer");
        assert_ne!(db, db2);
        let (_, p) = x509_parser::pem::parse_x509_pem(db2.0.as_bytes()).unwrap();
        assert_eq!(p.parse_x509().unwrap().issuer().to_string(), "CN=rotated");
        // And it is promoted: the next build reuses.
        step(&mut e, &jobs2, &rows, now, 60, 0);
        assert_eq!(db2, pem(&e, "db", "10.0.0.1", "peer"));
    }

    #[test]
    fn removed_name_and_removed_block_are_purged() {
        let mut e = env();
        let now = e.now;
        let rows = [alloc("api", "10.0.0.2", false)];
        let ns = namespace("api", "10.0.0.2");
        e.kv.put(&ns, "peer_workers", "x").unwrap();
        e.kv.put(&ns, "certs/stale.crt", "old").unwrap();
        let jobs = [(
            "api",
            vec![cert("a", false, false), cert("b", false, false)],
            "h1",
        )];
        step(&mut e, &jobs, &rows, now, 60, 0);
        assert_eq!(
            e.kv.keys(&ns),
            [
                "certs/a.crt",
                "certs/a.key",
                "certs/b.crt",
                "certs/b.key",
                "peer_workers"
            ]
        );
        let a = pem(&e, "api", "10.0.0.2", "a");
        // Removing "b" changes the manifest hash, so "a" is reissued too; "b" is purged.
        step(
            &mut e,
            &[("api", vec![cert("a", false, false)], "h2")],
            &rows,
            now,
            60,
            0,
        );
        assert_eq!(
            e.kv.keys(&ns),
            ["certs/a.crt", "certs/a.key", "peer_workers"]
        );
        assert_ne!(a, pem(&e, "api", "10.0.0.2", "a"));
        // No block at all: every certs/* key goes, other keys stay.
        step(&mut e, &[("api", vec![], "h3")], &rows, now, 60, 0);
        assert_eq!(e.kv.keys(&ns), ["peer_workers"]);
    }

    #[test]
    fn no_live_allocation_purges_and_needs_no_ca() {
        let mut e = env();
        let now = e.now;
        let jobs = [("api", vec![cert("tls", false, false)], "h")];
        step(
            &mut e,
            &jobs,
            &[alloc("api", "10.0.0.2", false)],
            now,
            60,
            0,
        );
        // The CA disappears and the allocation is removed: no CA needed, keys purged.
        fs_err::remove_file(e.dir.path().join("secrets/ca.key")).unwrap();
        step(&mut e, &jobs, &[alloc("api", "10.0.0.2", true)], now, 60, 0);
        assert!(e.kv.keys(&namespace("api", "10.0.0.2")).is_empty());
    }

    #[test]
    fn broken_ca_fails_when_certs_are_declared() {
        let mut e = env();
        fs_err::write(e.secrets.join("ca.key"), "junk").unwrap();
        let rows = [alloc("api", "10.0.0.2", false)];
        let by_job = by_job(&rows);
        let jobs = [("api", vec![cert("tls", false, false)], "h")];
        let input = input(&e.secrets, &jobs, &by_job, e.now, 60, 0);
        let err = build_step(&input, e.cat.conn(), &mut e.kv, &mut Warnings::default())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bucket CA: secrets/ca.key: "), "{err}");
    }

    #[test]
    fn plan_is_deterministic() {
        let mut e = env();
        let rows: Vec<AllocationRow> = (1..=6)
            .map(|i| alloc("api", &format!("10.0.0.{i}"), false))
            .collect();
        let by_job = by_job(&rows);
        let jobs = [(
            "api",
            vec![cert("a", false, false), cert("b", true, false)],
            "h",
        )];
        let input = input(&e.secrets, &jobs, &by_job, e.now, 60, 0);
        let p = plan(e.cat.conn(), &e.kv, &input, false).unwrap();
        // Per-allocation tasks in worker order, then the shared one.
        let labels: Vec<(String, Vec<String>)> = p
            .tasks
            .iter()
            .map(|t| (t.cert.clone(), t.spec.hosts.clone()))
            .collect();
        assert_eq!(labels.len(), 7);
        assert_eq!(labels[0], ("a".to_string(), vec!["10.0.0.1".to_string()]));
        assert_eq!(labels[6].1.len(), 6);
        // Issued results land by index regardless of which thread made them.
        build_step(&input, e.cat.conn(), &mut e.kv, &mut Warnings::default()).unwrap();
        for i in 1..=6 {
            let (crt, _) = pem(&e, "api", &format!("10.0.0.{i}"), "a");
            let (_, x) = x509_parser::pem::parse_x509_pem(crt.as_bytes()).unwrap();
            let c = x.parse_x509().unwrap();
            let san = c.subject_alternative_name().unwrap().unwrap().value;
            assert!(format!("{:?}", san.general_names).contains(&format!("[10, 0, 0, {i}]")));
        }
    }

    /// Deploy staging (spec 10 §6) of what the step wrote.
    #[test]
    fn staging_writes_declared_certs_and_the_ca() {
        use crate::catalog::jobs::FileRow;
        use crate::stage::{stage_allocation, AllocationStage};
        use std::os::unix::fs::PermissionsExt;
        let mut e = env();
        let now = e.now;
        let rows = [
            alloc("api", "10.0.0.2", false),
            alloc("web", "10.0.0.2", false),
        ];
        step(
            &mut e,
            &[
                ("api", vec![cert("tls", false, true)], "h"),
                ("web", vec![], "w"),
            ],
            &rows,
            now,
            60,
            0,
        );
        e.kv.put("maand/worker", "certs/ca.crt", &test_ca().0.cert_pem)
            .unwrap();
        let tmp = e.dir.path().join("tmp");
        let manifest = |job: &str, body: &str| {
            vec![FileRow {
                path: format!("{job}/manifest.json"),
                is_dir: false,
                content: body.as_bytes().to_vec(),
            }]
        };
        let stage = |e: &Env, job: &str, files: &[FileRow]| {
            stage_allocation(&AllocationStage {
                tmp: &tmp,
                job,
                files,
                context: maand_template::Context {
                    job: job.into(),
                    worker_ip: "10.0.0.2".into(),
                    ..Default::default()
                },
                kv: &e.kv,
                reader: crate::kv::policy::Reader {
                    job: job.into(),
                    worker: Some("10.0.0.2".into()),
                    upstream: vec![],
                },
                prometheus: (String::new(), String::new()),
                generated: Vec::new(),
            })
        };
        let api = manifest("api", r#"{"certs": {"tls": {"pkcs8": true}}}"#);
        let st = stage(&e, "api", &api).unwrap();
        let certs = st.dir.join("certs");
        let mode = |f: &str| {
            fs_err::metadata(certs.join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(
            (mode(""), mode("tls.crt"), mode("tls.key"), mode("ca.crt")),
            (0o755, 0o644, 0o600, 0o644)
        );
        let (crt, _) = pem(&e, "api", "10.0.0.2", "tls");
        assert_eq!(
            fs_err::read_to_string(certs.join("tls.crt")).unwrap(),
            format!("{crt}\n")
        );
        // A job without certs still gets the CA.
        let web = manifest("web", "{}");
        let st = stage(&e, "web", &web).unwrap();
        assert_eq!(
            fs_err::read_dir(st.dir.join("certs")).unwrap().count(),
            1,
            "only ca.crt"
        );
        // A declared cert missing in KV is a staging error.
        e.kv.delete(&namespace("api", "10.0.0.2"), "certs/tls.key");
        let err = stage(&e, "api", &api).unwrap_err().to_string();
        assert!(
            err.contains("certificate \"tls\" is missing certs/tls.key"),
            "{err}"
        );
        assert!(err.ends_with("run maand build"), "{err}");
    }
}
