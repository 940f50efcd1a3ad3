//! `health_check` hooks (spec 08 §3, spec 07): job commands registered for the
//! `health_check` event, run after all probes passed, one allocation at a time, with
//! health-fast staging and KV read-only (the runtime API refuses writes).

use crate::bucket::Bucket;
use crate::hooks::{EventCall, HookError, Runtime};
use crate::session::Session;
use crate::snapshot::Snapshot;

/// What running a job's `health_check` hooks did in one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookRun {
    /// No hook ran (no command, or no active allocation).
    NoneRan,
    /// This many hook processes ran, all successfully.
    Ran(usize),
}

/// Names of the job's commands registered for `health_check`, in name order.
pub fn health_check_hooks(snap: &Snapshot, job: &str) -> Vec<String> {
    Runtime::commands(snap, job, "health_check")
}

/// Runs the job's `health_check` hooks for one attempt. Output is always logged and
/// printed live when `echo` is set; without echo a failure carries the last 20 output
/// lines of each failing allocation. Fails with
/// `job <job> command <command> failed: <ip>: <cause>`.
pub fn run_health_check_hooks(
    bucket: &Bucket,
    session: &Session,
    snap: &Snapshot,
    job: &str,
    hooks: &[String],
    echo: bool,
) -> Result<HookRun, String> {
    if hooks.is_empty() {
        return Ok(HookRun::NoneRan);
    }
    let runtime = Runtime::for_reading(bucket).map_err(|e| e.to_string())?;
    let call = EventCall::new(job, "health_check").echo(echo);
    let mut runs = 0;
    for command in hooks {
        match runtime.run_command(session, snap, &call, command) {
            Ok(n) => runs += n,
            Err(e) => return Err(describe(&e, echo)),
        }
    }
    Ok(if runs == 0 {
        HookRun::NoneRan
    } else {
        HookRun::Ran(runs)
    })
}

fn describe(e: &HookError, echo: bool) -> String {
    let mut text = e.to_string();
    if let (HookError::Failed { failures, .. }, false) = (e, echo) {
        for f in failures.iter().filter(|f| !f.tail.is_empty()) {
            text.push_str(&format!("\n  last output of {}:", f.worker));
            for line in &f.tail {
                text.push_str(&format!("\n    {line}"));
            }
        }
    }
    text
}
