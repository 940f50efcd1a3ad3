//! Who a process runs for: the worker, the job, and the phase/action that structured logs
//! (spec 09 §8) record with every line.

use std::fmt;

/// The context of one command: it travels to every [`crate::Observer`] callback so the
/// observer can prefix live lines (`job@worker | …`) and write structured log fields.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// Worker host (IP); `None` for CLI-host processes.
    pub worker: Option<String>,
    /// Job name when the command is about one job.
    pub job: Option<String>,
    /// Log phase, e.g. `rollout`, `rsync`, `run_command`.
    pub phase: String,
    /// Log action, e.g. `start`, `rsync`, `ssh`.
    pub action: String,
}

impl Target {
    /// A command on `worker`.
    pub fn worker(
        worker: impl Into<String>,
        phase: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        Self {
            worker: Some(worker.into()),
            job: None,
            phase: phase.into(),
            action: action.into(),
        }
    }

    /// A process on the CLI host.
    pub fn local(phase: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            worker: None,
            job: None,
            phase: phase.into(),
            action: action.into(),
        }
    }

    /// The same target, about `job`.
    pub fn with_job(mut self, job: impl Into<String>) -> Self {
        self.job = Some(job.into());
        self
    }

    /// The live-view prefix: `job@worker`, `worker`, `job`, or `-` when neither is known.
    pub fn label(&self) -> String {
        match (&self.job, &self.worker) {
            (Some(j), Some(w)) => format!("{j}@{w}"),
            (None, Some(w)) => w.clone(),
            (Some(j), None) => j.clone(),
            (None, None) => "-".to_string(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// `stdout` / `stderr`, as written in structured logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    /// The live-view separator: `|` for stdout, `!` for stderr.
    pub fn marker(self) -> char {
        match self {
            Stream::Stdout => '|',
            Stream::Stderr => '!',
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        let t = Target::worker("10.0.0.1", "rollout", "start");
        assert_eq!(t.label(), "10.0.0.1");
        assert_eq!(t.clone().with_job("api").label(), "api@10.0.0.1");
        assert_eq!(
            Target::local("job_command", "hook").with_job("api").label(),
            "api"
        );
        assert_eq!(Target::local("x", "y").label(), "-");
    }
}
