//! `maand cat deployments` (spec 09 §3.4): per-allocation rollout state.

use super::filters::{admits, csv, validate};
use super::output::{self, Output};
use crate::bucket::Bucket;
use crate::error::{Error, Kind, Result};
use crate::snapshot::Snapshot;
use serde::Serialize;

#[derive(Serialize)]
struct Row {
    job: String,
    worker_ip: String,
    alloc_id: String,
    rollout: &'static str,
    current_hash: String,
    previous_hash: String,
    current_version: String,
    new_version: String,
    disabled: bool,
    removed: bool,
}

/// The derived `rollout` column, first matching rule wins.
#[allow(clippy::too_many_arguments)]
pub fn rollout(
    removed: bool,
    disabled: bool,
    current: &str,
    previous: &str,
    cur_v: &str,
    new_v: &str,
    health_failed: bool,
) -> &'static str {
    let v = |s: &str| {
        if s.is_empty() {
            "0.0.0".to_string()
        } else {
            s.to_string()
        }
    };
    let changed = previous != current || v(cur_v) != v(new_v);
    if removed {
        "removed"
    } else if disabled && ((!previous.is_empty() && previous != current) || v(cur_v) != v(new_v)) {
        "disabled_restart"
    } else if disabled {
        "disabled"
    } else if previous.is_empty() {
        "new"
    } else if health_failed {
        "health_failed"
    } else if changed {
        "restart"
    } else {
        "promoted"
    }
}

pub fn run(bucket: &Bucket, f: super::cat::AllocationFilters) -> Result<i32> {
    let super::cat::AllocationFilters {
        jobs: jf,
        workers: wf,
        active,
        common,
    } = f;
    let out = common.output;
    let cat = bucket.catalog()?;
    let snap = Snapshot::load(cat.conn())?;
    let mut jobs: Vec<String> = snap.allocations.iter().map(|a| a.job.clone()).collect();
    jobs.sort();
    jobs.dedup();
    let mut workers: Vec<String> = snap
        .allocations
        .iter()
        .map(|a| a.worker_ip.clone())
        .collect();
    workers.sort();
    workers.dedup();
    let jf = validate("jobs", &csv(jf.as_deref()), &jobs)?;
    let wf = validate("workers", &csv(wf.as_deref()), &workers)?;
    let mut rows: Vec<Row> = snap
        .allocations
        .iter()
        .filter(|a| {
            admits(&jf, &a.job)
                && admits(&wf, &a.worker_ip)
                && (!active || (!a.removed && !a.disabled))
        })
        .map(|a| {
            let d = snap.deployments.get(&a.alloc_id);
            let current = d.and_then(|d| d.current_hash.clone()).unwrap_or_default();
            let previous = d.and_then(|d| d.previous_hash.clone()).unwrap_or_default();
            let cur_v = d
                .map(|d| d.current_version.clone())
                .unwrap_or_else(|| "0.0.0".into());
            let hf = d.is_some_and(|d| d.health_failed);
            Row {
                rollout: rollout(
                    a.removed,
                    a.disabled,
                    &current,
                    &previous,
                    &cur_v,
                    &a.new_version,
                    hf,
                ),
                job: a.job.clone(),
                worker_ip: a.worker_ip.clone(),
                alloc_id: a.alloc_id.clone(),
                current_hash: current,
                previous_hash: previous,
                current_version: if cur_v.is_empty() {
                    "0.0.0".into()
                } else {
                    cur_v
                },
                new_version: a.new_version.clone(),
                disabled: a.disabled,
                removed: a.removed,
            }
        })
        .collect();
    rows.sort_by(|a, b| (&a.job, &a.worker_ip).cmp(&(&b.job, &b.worker_ip)));
    match out {
        Output::Json => output::json(&rows),
        Output::Table if rows.is_empty() => {
            return Err(Error::bare(Kind::NotFound, "no deployments found"))
        }
        Output::Table => output::table(
            &[
                "job",
                "worker_ip",
                "alloc_id",
                "rollout",
                "current_hash",
                "previous_hash",
                "current_version",
                "new_version",
                "disabled",
                "removed",
            ],
            rows.iter()
                .map(|r| {
                    vec![
                        r.job.clone(),
                        r.worker_ip.clone(),
                        r.alloc_id.clone(),
                        r.rollout.to_string(),
                        r.current_hash.clone(),
                        r.previous_hash.clone(),
                        r.current_version.clone(),
                        r.new_version.clone(),
                        (r.disabled as u8).to_string(),
                        (r.removed as u8).to_string(),
                    ]
                })
                .collect(),
        ),
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::rollout;

    #[test]
    fn rollout_rules_in_order() {
        assert_eq!(rollout(true, true, "a", "a", "1", "1", false), "removed");
        assert_eq!(
            rollout(false, true, "b", "a", "1", "1", false),
            "disabled_restart"
        );
        assert_eq!(
            rollout(false, true, "a", "a", "1", "2", false),
            "disabled_restart"
        );
        assert_eq!(rollout(false, true, "a", "", "1", "1", false), "disabled");
        assert_eq!(rollout(false, false, "a", "", "0.0.0", "1", false), "new");
        assert_eq!(
            rollout(false, false, "b", "a", "1", "1", true),
            "health_failed"
        );
        assert_eq!(rollout(false, false, "b", "a", "1", "1", false), "restart");
        assert_eq!(
            rollout(false, false, "a", "a", "", "0.0.0", false),
            "promoted"
        );
    }
}
