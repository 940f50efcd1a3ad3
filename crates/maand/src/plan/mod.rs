//! Deploy decisions (spec 06): pure functions from catalog state and staged hashes to a
//! typed plan. `deploy --dry-run` prints exactly this value and the executor applies it.

pub mod order;

use crate::glob;
use serde::Serialize;
use std::collections::BTreeMap;

/// Per-file manifest: job-relative path → MD5.
pub type FileHashes = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Start,
    Restart,
    Reload,
    Sync,
    Skip,
    Stop,
    /// Disabled allocation whose content or version changed: promoted, never started.
    Promote,
    /// Disabled allocation still running whose content changed.
    StopPromote,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Restart => "restart",
            Action::Reload => "reload",
            Action::Sync => "sync",
            Action::Skip => "skip",
            Action::Stop => "stop",
            Action::Promote => "promote",
            Action::StopPromote => "stop+promote",
        }
    }

    /// Make target run on the worker for this action, if any.
    pub fn lifecycle_target(self) -> Option<&'static str> {
        match self {
            Action::Start => Some("start"),
            Action::Restart => Some("restart"),
            Action::Reload => Some("reload"),
            _ => None,
        }
    }

    /// Whether the allocation belongs to the upgrade phase (batches of max_concurrent_upgrades).
    pub fn is_upgrade(self) -> bool {
        matches!(self, Action::Restart | Action::Reload | Action::Sync)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    Always,
    Reload,
    Never,
}

/// What the planner knows about one non-removed allocation after staging.
#[derive(Debug, Clone)]
pub struct AllocState {
    pub worker_ip: String,
    pub disabled: bool,
    /// Promoted aggregate hash; `None` = never deployed (no hash row).
    pub previous_hash: Option<String>,
    pub previous_files: Option<FileHashes>,
    pub current_hash: String,
    pub current_files: FileHashes,
    /// Last promoted version (`0.0.0` before the first promote).
    pub current_version: String,
    pub new_version: String,
    /// Whether the allocation is known to run (`runtime = running`).
    pub running: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub force: bool,
    pub sync_only: bool,
}

/// One allocation's decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocPlan {
    pub worker_ip: String,
    pub action: Action,
    /// Changed paths that matched `restart_globs` (reload policy).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<String>,
    pub previous_hash: Option<String>,
    pub current_hash: String,
    pub disabled: bool,
}

/// Changed paths between two manifests: added, removed or different MD5.
pub fn changed_paths(prev: &FileHashes, cur: &FileHashes) -> Vec<String> {
    let mut out: Vec<String> = cur
        .iter()
        .filter(|(p, h)| prev.get(*p) != Some(*h))
        .map(|(p, _)| p.clone())
        .collect();
    out.extend(prev.keys().filter(|p| !cur.contains_key(*p)).cloned());
    out.sort();
    out
}

/// The decision table of spec 06 for one allocation.
pub fn decide(a: &AllocState, policy: Policy, globs: &[String], flags: Flags) -> AllocPlan {
    let mk = |action, matched| AllocPlan {
        worker_ip: a.worker_ip.clone(),
        action,
        matched,
        previous_hash: a.previous_hash.clone(),
        current_hash: a.current_hash.clone(),
        disabled: a.disabled,
    };
    let content_changed = a.previous_hash.as_deref() != Some(a.current_hash.as_str());
    let version_changed = a.current_version != a.new_version;
    if a.disabled {
        let changed = a.previous_hash.is_none() || content_changed || version_changed;
        return match (changed, a.running) {
            (true, true) => mk(Action::StopPromote, vec![]),
            (true, false) => mk(Action::Promote, vec![]),
            (false, true) => mk(Action::Stop, vec![]),
            (false, false) => mk(Action::Skip, vec![]),
        };
    }
    if a.previous_hash.is_none() {
        return mk(Action::Start, vec![]);
    }
    if !content_changed && !version_changed && !flags.force {
        // A re-enabled allocation was stopped while disabled: start it again.
        return if a.running {
            mk(Action::Skip, vec![])
        } else {
            mk(Action::Start, vec![])
        };
    }
    if !a.running && !flags.sync_only {
        return mk(Action::Start, vec![]);
    }
    if flags.sync_only {
        return mk(Action::Sync, vec![]);
    }
    match policy {
        Policy::Always => mk(Action::Restart, vec![]),
        Policy::Never => mk(Action::Sync, vec![]),
        Policy::Reload => {
            let Some(prev) = &a.previous_files else {
                return mk(Action::Reload, vec![]);
            };
            let matched: Vec<String> = changed_paths(prev, &a.current_files)
                .into_iter()
                .filter(|p| glob::any_match(globs, p))
                .collect();
            if matched.is_empty() {
                mk(Action::Reload, vec![])
            } else {
                mk(Action::Restart, matched)
            }
        }
    }
}

/// A job's plan: its allocations' decisions and whether anything must happen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobPlan {
    /// Not serialized: the dry-run JSON flattens this plan next to its own `job` key.
    #[serde(skip)]
    pub job: String,
    pub deployment_seq: i64,
    pub allocations: Vec<AllocPlan>,
}

impl JobPlan {
    /// A job needs rollout when an active allocation is not `skip`.
    pub fn needs_rollout(&self) -> bool {
        self.allocations
            .iter()
            .any(|a| !a.disabled && a.action != Action::Skip)
    }

    /// Whether anything (rollout or disabled promote) changes catalog state.
    pub fn changes_anything(&self) -> bool {
        self.allocations.iter().any(|a| a.action != Action::Skip)
    }

    /// Active allocations needing `start`.
    pub fn starts(&self) -> Vec<&AllocPlan> {
        self.allocations
            .iter()
            .filter(|a| !a.disabled && a.action == Action::Start)
            .collect()
    }

    /// Active allocations in the upgrade phase.
    pub fn upgrades(&self) -> Vec<&AllocPlan> {
        self.allocations
            .iter()
            .filter(|a| !a.disabled && a.action.is_upgrade())
            .collect()
    }
}

/// Reconcile decision for a removed or disabled allocation (spec 06 "Reconcile").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReconcileItem {
    pub job: String,
    pub worker_ip: String,
    pub alloc_id: String,
    pub removed: bool,
    /// Run `stop` (the allocation was deployed and runs).
    pub stop: bool,
    /// Delete the deployed job tree (removed allocations that were deployed).
    pub cleanup: bool,
    /// The worker left workers.json: remove its whole root afterwards; unreachable = dead.
    pub worker_removed: bool,
}

/// Input row for reconcile planning.
#[derive(Debug, Clone)]
pub struct ReconcileInput {
    pub job: String,
    pub worker_ip: String,
    pub alloc_id: String,
    pub removed: bool,
    pub disabled: bool,
    pub deployed: bool,
    pub running: bool,
    pub worker_in_catalog: bool,
}

pub fn reconcile(rows: &[ReconcileInput]) -> Vec<ReconcileItem> {
    rows.iter()
        .filter_map(|r| {
            if r.removed {
                Some(ReconcileItem {
                    job: r.job.clone(),
                    worker_ip: r.worker_ip.clone(),
                    alloc_id: r.alloc_id.clone(),
                    removed: true,
                    stop: r.deployed && r.running,
                    cleanup: r.deployed,
                    worker_removed: !r.worker_in_catalog,
                })
            } else if r.disabled && r.running {
                Some(ReconcileItem {
                    job: r.job.clone(),
                    worker_ip: r.worker_ip.clone(),
                    alloc_id: r.alloc_id.clone(),
                    removed: false,
                    stop: true,
                    cleanup: false,
                    worker_removed: false,
                })
            } else {
                None
            }
        })
        .collect()
}

/// Splits items into batches of `size` (0 = one batch with everything).
pub fn batches<T: Clone>(items: &[T], size: usize) -> Vec<Vec<T>> {
    if items.is_empty() {
        return Vec::new();
    }
    let size = if size == 0 { items.len() } else { size };
    items.chunks(size).map(|c| c.to_vec()).collect()
}

#[cfg(test)]
mod tests;
