//! `maand build`: reconcile the workspace into the catalog and KV (spec 03).
//!
//! Pure decisions live in the submodules (placement, ports, resources, sequence, KV key
//! sets); this file wires them to the catalog inside one transaction, so a failing build
//! leaves catalog and KV exactly as they were.

pub mod kv_keys;
pub mod placement;
pub mod ports;
pub mod prometheus;
pub mod resources;
pub mod sequence;
pub mod templates;

use crate::bucket::Bucket;
use crate::catalog::allocations::{self, AllocationRow};
use crate::catalog::jobs::{self as job_sql, CertRow, CommandRow, FileRow, JobRow};
use crate::catalog::{meta, workers as worker_sql};
use crate::error::{Error, Kind, Result};
use crate::ids::stable_uuid;
use crate::kv::KvStore;
use crate::warnings::Warnings;
use crate::workspace::units::Unit;
use crate::workspace::{self, Workspace};
use resources::Reservation;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// KV history window of build (spec 04 §9).
const HISTORY_DAYS: i64 = 7;
/// Versions kept per entry once it is older than the window.
pub const HISTORY_KEEP: i64 = 7;

#[derive(Debug, Default, Clone)]
pub struct Options {
    pub purge_job_kv: bool,
}

/// Counts for the summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub workers: usize,
    pub jobs: usize,
    pub active: usize,
    pub disabled: usize,
    pub removed: usize,
    pub hook_runs: usize,
    pub kv_written: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "build: {} worker{}, {} job{}, {} allocation{} ({} active, {} disabled, {} removed), {} post_build hook run{}",
            self.workers,
            s(self.workers),
            self.jobs,
            s(self.jobs),
            self.active + self.disabled + self.removed,
            s(self.active + self.disabled + self.removed),
            self.active,
            self.disabled,
            self.removed,
            self.hook_runs,
            s(self.hook_runs)
        )
    }
}

/// A job with its resolved reservations.
struct Planned<'a> {
    job: &'a workspace::job::Job,
    memory: Reservation,
    cpu: Reservation,
}

/// Validates the workspace without touching the catalog (pipeline steps 2–3).
pub fn load_workspace(bucket: &Bucket, warnings: &mut Warnings) -> Result<Workspace> {
    workspace::load(&bucket.root, &bucket.conf, warnings)
}

/// Runs the whole build: the main transaction, then `post_build` hooks. The caller holds
/// the bucket lock.
pub fn run(bucket: &Bucket, opts: &Options, warnings: &mut Warnings) -> Result<Summary> {
    let summary = main_phase(bucket, opts, warnings)?;
    post_build(bucket, summary)
}

/// T2: `post_build` hooks (spec 03 §16); their KV writes commit only if all succeed. The
/// catalog committed by [`main_phase`] stays whatever the hooks do.
pub fn post_build(bucket: &Bucket, summary: Summary) -> Result<Summary> {
    let hook_runs = crate::hooks::post_build::run(bucket)?;
    Ok(Summary {
        hook_runs,
        ..summary
    })
}

/// Everything up to and including the main commit (T1, pipeline steps 1–16).
pub fn main_phase(bucket: &Bucket, opts: &Options, warnings: &mut Warnings) -> Result<Summary> {
    let ws = load_workspace(bucket, warnings)?;
    templates::check(&ws)?;
    let planned = ws
        .jobs
        .iter()
        .map(|job| {
            let table = ws.job_tables.get(&job.name);
            let raw = |k: &str| {
                table
                    .and_then(|t| t.iter().find(|(key, _)| key == k))
                    .map(|(_, v)| v.as_str())
            };
            Ok(Planned {
                job,
                memory: resources::reserve(
                    &job.name,
                    job.manifest.memory,
                    raw("memory"),
                    Unit::Memory,
                    &ws.jobs_conf_name,
                )?,
                cpu: resources::reserve(
                    &job.name,
                    job.manifest.cpu,
                    raw("cpu"),
                    Unit::Cpu,
                    &ws.jobs_conf_name,
                )?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let ca_pem = match fs_err::read_to_string(bucket.ca_cert_path()) {
        Ok(p) => Some(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };

    let mut cat = bucket.catalog()?;
    let tx = cat.conn_mut().transaction()?;
    let mut kv = KvStore::load(&tx, bucket.kv_key_path())?;
    let bucket_id = meta::bucket_id(&tx)?;

    // Workers.
    let prev_workers = worker_sql::list(&tx)?;
    let prev_ids: HashMap<&str, &str> = prev_workers
        .iter()
        .map(|w| (w.worker_ip.as_str(), w.worker_id.as_str()))
        .collect();
    let worker_rows: Vec<worker_sql::WorkerRow> = ws
        .workers
        .iter()
        .map(|w| worker_sql::WorkerRow {
            worker_ip: w.host.clone(),
            worker_id: prev_ids
                .get(w.host.as_str())
                .map(|s| s.to_string())
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            hostname: w.hostname.clone().unwrap_or_default(),
            memory_mb: w.memory_mb,
            cpu_mhz: w.cpu_mhz,
            position: w.position,
            labels: w.labels.clone(),
            tags: w.tags.clone(),
        })
        .collect();
    if worker_rows != prev_workers {
        worker_sql::replace_all(&tx, &worker_rows)?;
    }
    let worker_id: HashMap<&str, &str> = worker_rows
        .iter()
        .map(|w| (w.worker_ip.as_str(), w.worker_id.as_str()))
        .collect();
    let removed_workers: Vec<&str> = prev_workers
        .iter()
        .map(|w| w.worker_ip.as_str())
        .filter(|h| !worker_id.contains_key(h))
        .collect();

    // Deployment sequence (the graph was validated acyclic while loading).
    let seq = sequence::deployment_seq(&workspace::demands::graph(&ws.jobs));

    // Jobs.
    let prev_jobs = job_sql::list(&tx)?;
    let names: BTreeSet<&str> = ws.jobs.iter().map(|j| j.name.as_str()).collect();
    let removed_jobs: Vec<String> = prev_jobs
        .iter()
        .filter(|j| !names.contains(j.name.as_str()))
        .map(|j| j.name.clone())
        .collect();
    for name in &removed_jobs {
        job_sql::delete(&tx, name)?;
    }
    let prev_job_rows: HashMap<&str, &JobRow> =
        prev_jobs.iter().map(|j| (j.name.as_str(), j)).collect();
    for p in &planned {
        let m = &p.job.manifest;
        let row = JobRow {
            name: p.job.name.clone(),
            job_id: stable_uuid(&p.job.name),
            version: m.target_version().to_string(),
            min_memory_mb: p.memory.min,
            max_memory_mb: p.memory.max,
            current_memory_mb: p.memory.current,
            memory_source: p.memory.source.clone(),
            min_cpu_mhz: p.cpu.min,
            max_cpu_mhz: p.cpu.max,
            current_cpu_mhz: p.cpu.current,
            cpu_source: p.cpu.source.clone(),
            max_concurrent_upgrades: m.max_concurrent_upgrades,
            max_concurrent_starts: m.max_concurrent_starts,
            min_allocations_count: m.min_allocations_count,
            restart_policy: m.restart_policy.as_str().to_string(),
            restart_globs: serde_json::to_string(&m.restart_globs).unwrap_or_default(),
            health_check: m
                .health_check
                .as_ref()
                .map(|h| serde_json::to_string(h).unwrap_or_default()),
            selectors: serde_json::to_string(&m.selectors).unwrap_or_default(),
            deployment_seq: seq.get(&p.job.name).copied().unwrap_or(0),
        };
        if prev_job_rows.get(p.job.name.as_str()) != Some(&&row) {
            job_sql::upsert(&tx, &row)?;
        }
        let commands: Vec<CommandRow> = m
            .commands
            .iter()
            .flat_map(|c| {
                c.executed_on.iter().map(move |e| CommandRow {
                    job: p.job.name.clone(),
                    command: c.name.clone(),
                    event: e.clone(),
                    demand_job: c.demand.job.clone(),
                    demand_command: c.demand.command.clone(),
                    demand_config: serde_json::Value::Object(c.demand.config.clone()).to_string(),
                })
            })
            .collect();
        let certs: Vec<CertRow> = m
            .certs
            .iter()
            .map(|c| CertRow {
                name: c.name.clone(),
                pkcs8: c.pkcs8,
                one: c.one,
                subject: serde_json::json!({ "common_name": c.common_name }).to_string(),
            })
            .collect();
        let files: Vec<FileRow> = p
            .job
            .files
            .iter()
            .map(|f| FileRow {
                path: if f.path.is_empty() {
                    p.job.name.clone()
                } else {
                    format!("{}/{}", p.job.name, f.path)
                },
                is_dir: f.is_dir,
                content: f.content.clone(),
            })
            .collect();
        job_sql::replace_children(&tx, &p.job.name, &commands, &certs, &files)?;
    }

    // Ports.
    let declared: ports::Declared = ws
        .jobs
        .iter()
        .map(|j| (j.name.as_str(), j.manifest.ports.as_slice()))
        .collect();
    let prev_ports = job_sql::ports(&tx)?;
    let port_rows = ports::assign(
        &declared,
        (ws.bucket_conf.port_min, ws.bucket_conf.port_max),
        &prev_ports,
    )?;
    if port_rows != prev_ports {
        job_sql::replace_ports(&tx, &port_rows)?;
    }

    // Placement.
    let prev_allocs = allocations::list(&tx)?;
    let jp: Vec<placement::JobPlacement> = ws
        .jobs
        .iter()
        .map(|j| placement::JobPlacement {
            name: &j.name,
            selectors: &j.manifest.selectors,
            version: j.manifest.target_version(),
            seq: seq.get(&j.name).copied().unwrap_or(0),
        })
        .collect();
    let allocs = placement::place(&ws.workers, &jp, &ws.disabled, &prev_allocs);
    let prev_by_id: HashMap<&str, &AllocationRow> = prev_allocs
        .iter()
        .map(|a| (a.alloc_id.as_str(), a))
        .collect();
    let changed: Vec<AllocationRow> = allocs
        .iter()
        .filter(|a| prev_by_id.get(a.alloc_id.as_str()) != Some(a))
        .cloned()
        .collect();
    allocations::upsert(&tx, &changed)?;

    let mut by_job: BTreeMap<&str, Vec<&AllocationRow>> = BTreeMap::new();
    for a in &allocs {
        by_job.entry(a.job.as_str()).or_default().push(a);
    }

    // min_allocations_count.
    let mut short = Vec::new();
    for j in &ws.jobs {
        let min = j.manifest.min_allocations_count;
        let n = by_job
            .get(j.name.as_str())
            .map_or(0, |v| v.iter().filter(|a| !a.removed).count()) as i64;
        if min > 0 && n < min {
            short.push(format!(
                "job {} has {n} allocation(s), min_allocations_count is {min}",
                j.name
            ));
        }
    }
    if !short.is_empty() {
        return Err(Error::bare(
            Kind::InsufficientAllocations,
            format!("missing allocations\n{}", short.join("\n")),
        ));
    }

    // Capacity.
    let res_of: HashMap<&str, &Planned> =
        planned.iter().map(|p| (p.job.name.as_str(), p)).collect();
    let mut loads: Vec<resources::Load> = ws
        .workers
        .iter()
        .map(|w| resources::Load {
            host: &w.host,
            memory_capacity: w.memory_mb,
            cpu_capacity: w.cpu_mhz,
            memory_required: 0.0,
            cpu_required: 0.0,
        })
        .collect();
    let load_idx: HashMap<&str, usize> = ws
        .workers
        .iter()
        .enumerate()
        .map(|(i, w)| (w.host.as_str(), i))
        .collect();
    for a in allocs.iter().filter(|a| !a.removed && !a.disabled) {
        if let (Some(p), Some(&i)) = (
            res_of.get(a.job.as_str()),
            load_idx.get(a.worker_ip.as_str()),
        ) {
            loads[i].memory_required += p.memory.current;
            loads[i].cpu_required += p.cpu.current;
        }
    }
    resources::check_capacity(&loads)?;

    // KV: bucket, workers, jobs.
    let active = |a: &&&AllocationRow| !a.removed && !a.disabled;
    let active_jobs: BTreeSet<&str> = by_job
        .iter()
        .filter(|(_, v)| v.iter().any(|a| active(&a)))
        .map(|(j, _)| *j)
        .collect();
    let mut bucket_pairs = vec![
        ("bucket_id".to_string(), bucket_id.clone()),
        (
            "jobs".to_string(),
            names.iter().copied().collect::<Vec<_>>().join(","),
        ),
        (
            "activejobs".to_string(),
            active_jobs.iter().copied().collect::<Vec<_>>().join(","),
        ),
    ];
    let mut port_owner: BTreeMap<&str, &str> = BTreeMap::new();
    for p in &port_rows {
        if !active_jobs.contains(p.job.as_str()) {
            continue;
        }
        match port_owner.get(p.name.as_str()) {
            Some(owner) => warnings.push(format!(
                "port name \"{}\" is declared by jobs {owner} and {}; maand/bucket {} holds the port of job {owner}",
                p.name, p.job, p.name
            )),
            None => {
                port_owner.insert(&p.name, &p.job);
                bucket_pairs.push((p.name.clone(), p.port.to_string()));
            }
        }
    }
    kv.sync("maand/bucket", &bucket_pairs)?;
    kv.sync("vars/bucket", &ws.bucket_conf.vars)?;
    kv.sync(
        "maand/worker",
        &kv_keys::worker_shared(&ws.workers, ca_pem.as_deref().map(str::trim)),
    )?;
    let mut jobs_on: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for a in allocs.iter().filter(|a| !a.removed && !a.disabled) {
        jobs_on
            .entry(a.worker_ip.as_str())
            .or_default()
            .insert(a.job.as_str());
    }
    let empty = BTreeSet::new();
    let labels = kv_keys::LabelIndex::new(&ws.workers);
    for w in &ws.workers {
        let own = kv_keys::worker_own(
            w,
            worker_id[w.host.as_str()],
            &labels,
            jobs_on.get(w.host.as_str()).unwrap_or(&empty),
        );
        kv.sync(&format!("maand/worker/{}", w.host), &own)?;
        let tags: kv_keys::Pairs = w.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        kv.sync(&format!("maand/worker/{}/tags", w.host), &tags)?;
    }
    for h in &removed_workers {
        kv.purge(&format!("maand/worker/{h}"));
        kv.purge(&format!("maand/worker/{h}/tags"));
    }
    let no_rows = Vec::new();
    for p in &planned {
        let name = p.job.name.as_str();
        let rows = by_job.get(name).unwrap_or(&no_rows);
        let retired = !rows.is_empty() && rows.iter().all(|a| a.removed);
        if retired {
            purge_job(&mut kv, name, rows, opts.purge_job_kv);
            continue;
        }
        let m = &p.job.manifest;
        let pairs = kv_keys::job(&kv_keys::JobKv {
            name,
            version: m.target_version(),
            job_name: name,
            selectors: &m.selectors,
            memory: (p.memory.min, p.memory.max, p.memory.current),
            cpu: (p.cpu.min, p.cpu.max, p.cpu.current),
            workers: rows
                .iter()
                .filter(|a| active(a))
                .map(|a| a.worker_ip.as_str())
                .collect(),
        });
        kv.sync(&format!("maand/job/{name}"), &pairs)?;
        kv.sync(
            &format!("vars/bucket/job/{name}"),
            ws.job_tables.get(name).unwrap_or(&Vec::new()),
        )?;
        for (k, v) in &p.job.vars {
            kv.put(&format!("vars/job/{name}"), k, v)?;
        }
        for a in rows.iter().filter(|a| a.removed) {
            kv.purge(&format!("maand/job/{name}/worker/{}", a.worker_ip));
        }
    }
    // Jobs gone from the workspace: removed by this build, or by an earlier one (their
    // allocation rows are all removed), so a later `--purge-job-kv` still reaches them.
    let gone: BTreeSet<&str> = removed_jobs
        .iter()
        .map(String::as_str)
        .chain(by_job.keys().copied().filter(|j| !names.contains(j)))
        .collect();
    for name in gone {
        purge_job(
            &mut kv,
            name,
            by_job.get(name).unwrap_or(&no_rows),
            opts.purge_job_kv,
        );
    }

    // Certificates (spec 10 §5): cert-syncs `certs/*` of allocation namespaces; the
    // allocation step below owns every other key.
    crate::certs::build_step(
        &crate::certs::BuildInput {
            secrets: &bucket.root.join("secrets"),
            jobs: ws
                .jobs
                .iter()
                .map(|j| crate::certs::renew::JobCerts {
                    name: &j.name,
                    certs: &j.manifest.certs,
                    certs_hash: &j.manifest.certs_hash,
                })
                .collect(),
            allocations: &by_job,
            ttl_days: bucket.conf.certs_ttl,
            buffer_days: bucket.conf.certs_renewal_buffer,
            now: chrono::Utc::now().timestamp(),
            bits: crate::certs::key_bits(),
        },
        &tx,
        &mut kv,
        warnings,
    )?;

    // KV: per-allocation keys.
    for (job, rows) in &by_job {
        if !names.contains(job) {
            continue;
        }
        let non_removed: Vec<&AllocationRow> =
            rows.iter().copied().filter(|a| !a.removed).collect();
        for (ns, pairs) in kv_keys::allocations(job, &non_removed) {
            kv.sync_where(&ns, &pairs, kv_keys::allocation_owned)?;
        }
    }

    // Prometheus: `_prometheus/` validation and the scrape catalog (spec 11 §3–5).
    prometheus::step(&ws, &by_job, &mut kv, warnings)?;

    let now = chrono::Utc::now().timestamp();
    let trimmed = kv.trim_history(&tx, now - HISTORY_DAYS * 86400, HISTORY_KEEP)?;
    let stats = kv.persist(&tx, now)?;
    tx.commit()?;
    if trimmed > 0 || !removed_jobs.is_empty() || !removed_workers.is_empty() {
        if let Err(e) = cat.vacuum() {
            warnings.push(format!("VACUUM failed: {e}"));
        }
    }

    let count = |f: &dyn Fn(&AllocationRow) -> bool| allocs.iter().filter(|a| f(a)).count();
    Ok(Summary {
        workers: ws.workers.len(),
        jobs: ws.jobs.len(),
        active: count(&|a| !a.removed && !a.disabled),
        disabled: count(&|a| !a.removed && a.disabled),
        removed: count(&|a| a.removed),
        hook_runs: 0,
        kv_written: stats.written,
    })
}

/// Purge state (spec 03 §12.5): job-level namespaces and every allocation namespace.
fn purge_job(kv: &mut KvStore, job: &str, rows: &[&AllocationRow], purge_job_kv: bool) {
    kv.purge(&format!("maand/job/{job}"));
    kv.purge(&format!("vars/bucket/job/{job}"));
    for a in rows {
        kv.purge(&format!("maand/job/{job}/worker/{}", a.worker_ip));
    }
    if purge_job_kv {
        kv.purge(&format!("vars/job/{job}"));
        kv.purge(&format!("secrets/job/{job}"));
    }
}
