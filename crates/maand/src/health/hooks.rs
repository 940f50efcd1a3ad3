//! `health_check` hooks (spec 08 §3, spec 07): the seam where job commands registered for
//! the `health_check` event will run, after all probes passed.

use crate::snapshot::Snapshot;

/// What running a job's `health_check` hooks did in one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookRun {
    /// No hook ran: the hook runner (spec 07) is not wired in yet, so registered
    /// `health_check` hooks count as passed.
    NoneRan,
}

/// Names of the job's commands registered for `health_check`, in name order.
pub fn health_check_hooks(snap: &Snapshot, job: &str) -> Vec<String> {
    let mut names: Vec<String> = snap
        .commands
        .iter()
        .filter(|c| c.job == job && c.event == "health_check")
        .map(|c| c.command.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Runs the job's `health_check` hooks for one attempt (sequentially, one allocation at a
/// time, KV read-only, output echoed when `echo` is set).
///
/// Seam for the hooks issue: today it returns [`HookRun::NoneRan`] without running
/// anything. The hook runner replaces this body and returns `Err(cause)` with
/// `job <job> command <command> failed: <ip>: …` on a failing run.
pub fn run_health_check_hooks(
    _snap: &Snapshot,
    _job: &str,
    _hooks: &[String],
    _echo: bool,
) -> Result<HookRun, String> {
    Ok(HookRun::NoneRan)
}
