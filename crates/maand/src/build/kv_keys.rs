//! The KV namespaces build computes (spec 03 §12, spec 04 §2). Pure: every function
//! returns the complete key set of a namespace; the caller syncs it into the session.

use crate::catalog::allocations::AllocationRow;
use crate::ids::stable_uuid;
use crate::workspace::units::format_number;
use crate::workspace::workers::Worker;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub type Pairs = Vec<(String, String)>;

fn kv(k: impl Into<String>, v: impl Into<String>) -> (String, String) {
    (k.into(), v.into())
}

/// Per-label worker lists of `maand/worker`, plus the CA when present.
pub fn worker_shared(workers: &[Worker], ca_pem: Option<&str>) -> Pairs {
    let mut by_label: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for w in workers {
        for l in &w.labels {
            by_label.entry(l).or_default().push(&w.host);
        }
    }
    let mut out = Pairs::new();
    for (label, hosts) in &by_label {
        out.push(kv(format!("{label}_label_id"), stable_uuid(label)));
        out.push(kv(format!("{label}_workers"), hosts.join(",")));
        out.push(kv(
            format!("{label}_workers_length"),
            hosts.len().to_string(),
        ));
        for (i, h) in hosts.iter().enumerate() {
            out.push(kv(format!("{label}_{i}"), *h));
        }
    }
    if let Some(pem) = ca_pem {
        out.push(kv("certs/ca.crt", pem));
    }
    out
}

/// Hosts carrying each label, in worker order, and each host's index among them; built
/// once per build so `worker_own` stays linear in the size of its output.
pub struct LabelIndex<'a> {
    hosts: HashMap<&'a str, Vec<&'a str>>,
    index: HashMap<(&'a str, &'a str), usize>,
}

impl<'a> LabelIndex<'a> {
    /// `workers` in worker order.
    pub fn new(workers: &'a [Worker]) -> LabelIndex<'a> {
        let mut hosts: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut index = HashMap::new();
        for w in workers {
            for l in &w.labels {
                let list = hosts.entry(l.as_str()).or_default();
                index.insert((l.as_str(), w.host.as_str()), list.len());
                list.push(&w.host);
            }
        }
        LabelIndex { hosts, index }
    }
}

/// `maand/worker/<host>`; `active_jobs` are the jobs with an active allocation there.
pub fn worker_own(
    w: &Worker,
    worker_id: &str,
    labels: &LabelIndex,
    active_jobs: &BTreeSet<&str>,
) -> Pairs {
    let mut out = vec![kv("worker_ip", &w.host), kv("worker_id", worker_id)];
    if let Some(h) = &w.hostname {
        out.push(kv("hostname", h));
    }
    out.push(kv("position", w.position.to_string()));
    out.push(kv(
        "labels",
        w.labels.iter().cloned().collect::<Vec<_>>().join(","),
    ));
    out.push(kv("worker_memory_mb", format_number(w.memory_mb)));
    out.push(kv("worker_cpu_mhz", format_number(w.cpu_mhz)));
    out.push(kv(
        "jobs",
        active_jobs.iter().copied().collect::<Vec<_>>().join(","),
    ));
    for label in &w.labels {
        let with = labels
            .hosts
            .get(label.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let peers: Vec<&str> = with.iter().copied().filter(|h| *h != w.host).collect();
        // Written even when empty (spec 04 §2.4 decision) so templates can `get` it safely.
        out.push(kv(format!("{label}_peers"), peers.join(",")));
        let idx = labels
            .index
            .get(&(label.as_str(), w.host.as_str()))
            .copied()
            .unwrap_or(0);
        out.push(kv(format!("{label}_allocation_index"), idx.to_string()));
    }
    out
}

/// Inputs of `maand/job/<job>`.
pub struct JobKv<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub job_name: &'a str,
    pub selectors: &'a [String],
    pub memory: (f64, f64, f64),
    pub cpu: (f64, f64, f64),
    /// Hosts of the job's active allocations, worker order.
    pub workers: Vec<&'a str>,
}

pub fn job(j: &JobKv) -> Pairs {
    let bounds = |(min, max, cur): (f64, f64, f64)| {
        if min == 0.0 && max == 0.0 {
            (cur, cur)
        } else {
            (min, max)
        }
    };
    let (min_m, max_m) = bounds(j.memory);
    let (min_c, max_c) = bounds(j.cpu);
    let workers = j.workers.join(",");
    let mut out = vec![
        kv("job_id", stable_uuid(j.name)),
        kv("name", j.name),
        kv("job_name", j.job_name),
        kv("version", j.version),
        kv("selectors", j.selectors.join(",")),
        kv("min_memory_mb", format_number(min_m)),
        kv("max_memory_mb", format_number(max_m)),
        kv("memory", format_number(j.memory.2)),
        kv("min_cpu_mhz", format_number(min_c)),
        kv("max_cpu_mhz", format_number(max_c)),
        kv("cpu", format_number(j.cpu.2)),
        kv("workers", workers.clone()),
        kv("workers_length", j.workers.len().to_string()),
        kv("rollout_order", workers),
    ];
    for (i, h) in j.workers.iter().enumerate() {
        out.push(kv(format!("worker_{i}"), *h));
    }
    out
}

/// `maand/job/<job>/worker/<host>` keys owned by the allocation step, for each non-removed
/// allocation of one job (given in worker order).
pub fn allocations(job: &str, non_removed: &[&AllocationRow]) -> Vec<(String, Pairs)> {
    let hosts: Vec<&str> = non_removed.iter().map(|a| a.worker_ip.as_str()).collect();
    non_removed
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let peers: Vec<&str> = hosts
                .iter()
                .copied()
                .filter(|h| *h != a.worker_ip)
                .collect();
            (
                format!("maand/job/{job}/worker/{}", a.worker_ip),
                vec![
                    kv(format!("{job}_allocation_index"), i.to_string()),
                    kv("peer_workers", peers.join(",")),
                    kv("version", &a.new_version),
                ],
            )
        })
        .collect()
}

/// Keys of an allocation namespace owned by the allocation step (everything except certs).
pub fn allocation_owned(key: &str) -> bool {
    !key.starts_with("certs/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(host: &str, labels: &[&str], pos: i64) -> Worker {
        let mut l: BTreeSet<String> = labels.iter().map(|s| s.to_string()).collect();
        l.insert("worker".into());
        Worker {
            host: host.into(),
            hostname: None,
            labels: l,
            memory_mb: 1536.5,
            cpu_mhz: 0.0,
            tags: BTreeMap::new(),
            position: pos,
        }
    }

    #[test]
    fn worker_namespaces() {
        let ws = vec![
            w("10.0.0.2", &["api"], 0),
            w("10.0.0.3", &["api", "prometheus"], 1),
        ];
        let shared = worker_shared(&ws, Some("PEM"));
        assert!(shared.contains(&kv("api_workers", "10.0.0.2,10.0.0.3")));
        assert!(shared.contains(&kv("api_workers_length", "2")));
        assert!(shared.contains(&kv("api_1", "10.0.0.3")));
        assert!(shared.contains(&kv(
            "worker_label_id",
            "b61822e8-357d-3aff-b7ea-accf348d9134"
        )));
        assert!(shared.contains(&kv("certs/ca.crt", "PEM")));
        let own = worker_own(&ws[1], "id", &LabelIndex::new(&ws), &["prometheus"].into());
        assert!(own.contains(&kv("labels", "api,prometheus,worker")));
        assert!(own.contains(&kv("jobs", "prometheus")));
        assert!(own.contains(&kv("api_peers", "10.0.0.2")));
        assert!(own.contains(&kv("prometheus_peers", "")));
        assert!(own.contains(&kv("api_allocation_index", "1")));
        assert!(own.contains(&kv("worker_memory_mb", "1536.5")));
        assert!(!own.iter().any(|(k, _)| k == "hostname"));
    }

    #[test]
    fn job_bounds_default_to_reservation() {
        let sel = vec!["api".to_string()];
        let p = job(&JobKv {
            name: "api",
            version: "v1.4",
            job_name: "api",
            selectors: &sel,
            memory: (0.0, 0.0, 512.0),
            cpu: (200.0, 2000.0, 1000.0),
            workers: vec!["10.0.0.2"],
        });
        assert!(p.contains(&kv("min_memory_mb", "512")));
        assert!(p.contains(&kv("max_memory_mb", "512")));
        assert!(p.contains(&kv("max_cpu_mhz", "2000")));
        assert!(p.contains(&kv("rollout_order", "10.0.0.2")));
        assert!(p.contains(&kv("worker_0", "10.0.0.2")));
    }
}
