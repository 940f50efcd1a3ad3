//! Placement (spec 03 §8): allocations by label matching, disabled and removed flags.

use crate::catalog::allocations::AllocationRow;
use crate::ids::stable_uuid;
use crate::workspace::disabled::Disabled;
use crate::workspace::workers::Worker;
use std::collections::HashMap;

/// What placement needs of a job.
pub struct JobPlacement<'a> {
    pub name: &'a str,
    pub selectors: &'a [String],
    pub version: &'a str,
    pub seq: i64,
}

/// Computes every allocation row: matches (active/disabled) plus previous rows that no
/// longer match (removed, `alloc_id`/`new_version` kept). Sorted by job, then worker order.
pub fn place(
    workers: &[Worker],
    jobs: &[JobPlacement],
    disabled: &Disabled,
    previous: &[AllocationRow],
) -> Vec<AllocationRow> {
    let prev: HashMap<(&str, &str), &AllocationRow> = previous
        .iter()
        .map(|a| ((a.job.as_str(), a.worker_ip.as_str()), a))
        .collect();
    let order: HashMap<&str, usize> = workers
        .iter()
        .enumerate()
        .map(|(i, w)| (w.host.as_str(), i))
        .collect();
    let mut out = Vec::new();
    let mut matched: std::collections::HashSet<(String, String)> = Default::default();
    for job in jobs {
        for w in workers {
            if !job.selectors.iter().all(|s| w.labels.contains(s)) {
                continue;
            }
            let alloc_id = prev
                .get(&(job.name, w.host.as_str()))
                .map(|a| a.alloc_id.clone())
                .unwrap_or_else(|| stable_uuid(&format!("{}|{}", job.name, w.host)));
            matched.insert((job.name.to_string(), w.host.clone()));
            out.push(AllocationRow {
                alloc_id,
                job: job.name.to_string(),
                worker_ip: w.host.clone(),
                removed: false,
                disabled: disabled.covers(job.name, &w.host),
                deployment_seq: job.seq,
                new_version: job.version.to_string(),
            });
        }
    }
    let seq_of: HashMap<&str, i64> = jobs.iter().map(|j| (j.name, j.seq)).collect();
    for a in previous {
        if !matched.contains(&(a.job.clone(), a.worker_ip.clone())) {
            let mut r = a.clone();
            r.removed = true;
            if let Some(s) = seq_of.get(a.job.as_str()) {
                r.deployment_seq = *s;
            }
            out.push(r);
        }
    }
    out.sort_by(|a, b| {
        let pos = |x: &AllocationRow| {
            order
                .get(x.worker_ip.as_str())
                .copied()
                .unwrap_or(usize::MAX)
        };
        (a.job.as_str(), pos(a), a.worker_ip.as_str()).cmp(&(
            b.job.as_str(),
            pos(b),
            b.worker_ip.as_str(),
        ))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn w(host: &str, labels: &[&str]) -> Worker {
        let mut l: BTreeSet<String> = labels.iter().map(|s| s.to_string()).collect();
        l.insert("worker".into());
        Worker {
            host: host.into(),
            hostname: None,
            labels: l,
            memory_mb: 0.0,
            cpu_mhz: 0.0,
            tags: BTreeMap::new(),
            position: 0,
        }
    }

    #[test]
    fn matching_disabled_removed() {
        let workers = vec![w("10.0.0.1", &["gpu"]), w("10.0.0.2", &[])];
        let sel_gpu = vec!["worker".to_string(), "gpu".to_string()];
        let sel_any = vec!["worker".to_string()];
        let jobs = [
            JobPlacement {
                name: "ml",
                selectors: &sel_gpu,
                version: "1",
                seq: 0,
            },
            JobPlacement {
                name: "web",
                selectors: &sel_any,
                version: "2",
                seq: 1,
            },
        ];
        let mut disabled = Disabled::default();
        disabled
            .jobs
            .insert("web".into(), ["10.0.0.2".to_string()].into());
        let prev = vec![AllocationRow {
            alloc_id: "old".into(),
            job: "ml".into(),
            worker_ip: "10.0.0.9".into(),
            removed: false,
            disabled: false,
            deployment_seq: 0,
            new_version: "0.9".into(),
        }];
        let out = place(&workers, &jobs, &disabled, &prev);
        let summary: Vec<_> = out
            .iter()
            .map(|a| (a.job.as_str(), a.worker_ip.as_str(), a.removed, a.disabled))
            .collect();
        assert_eq!(
            summary,
            [
                ("ml", "10.0.0.1", false, false),
                ("ml", "10.0.0.9", true, false),
                ("web", "10.0.0.1", false, false),
                ("web", "10.0.0.2", false, true)
            ]
        );
        assert_eq!(out[0].alloc_id, stable_uuid("ml|10.0.0.1"));
        assert_eq!(out[1].alloc_id, "old");
        assert_eq!(out[1].new_version, "0.9");
        assert_eq!(out[3].deployment_seq, 1);
    }
}
