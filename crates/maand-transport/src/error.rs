//! Transport errors. Every message names the worker (or program) and says what happened in
//! words an operator can act on; the child's own stderr is kept where it explains more.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::prereq::PrerequisiteReport;

/// Everything that can go wrong while running a process for maand.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// `ssh` exited 255: it could not reach or authenticate to the worker, or lost the
    /// connection. `message` is OpenSSH's own line, e.g.
    /// `ssh: connect to host 127.0.1.2 port 2222: Connection refused`.
    #[error("worker {worker}: {message}")]
    Connect { worker: String, message: String },

    /// The worker presented a host key different from the one in `known_hosts`.
    #[error(
        "worker {worker}: host key changed (the host was reinstalled, or someone is intercepting \
         the connection); if the change is expected, remove the stale line with: \
         ssh-keygen -f {known_hosts} -R {pattern}",
        known_hosts = crate::quote(&known_hosts.to_string_lossy()),
        pattern = crate::quote(host_pattern)
    )]
    HostKeyChanged {
        worker: String,
        known_hosts: PathBuf,
        /// The `known_hosts` key for this worker: `host`, or `[host]:port` when the port is
        /// not 22.
        host_pattern: String,
    },

    /// The local deadline passed and maand killed the process (frozen or black-holed host,
    /// or a command that ignores its remote `timeout`).
    #[error("{who}: no result within {}s, killed{hint}", after.as_secs_f32().ceil())]
    Deadline {
        who: String,
        after: Duration,
        /// Extra advice, e.g. that the host may be frozen.
        hint: &'static str,
    },

    /// The remote `timeout` wrapper fired (exit 124).
    #[error("worker {worker}: timed out after {secs}s")]
    RemoteTimeout { worker: String, secs: u64 },

    /// The remote command ran and exited non-zero.
    #[error(
        "worker {worker}: command failed (exit {exit}){}",
        tail_suffix(stderr_tail)
    )]
    CommandFailed {
        worker: String,
        exit: i32,
        /// The last lines the command wrote to stderr.
        stderr_tail: Vec<String>,
    },

    /// rsync exited non-zero; `message` holds rsync's own error lines.
    #[error("worker {worker}: rsync failed (exit {exit}): {message}")]
    Rsync {
        worker: String,
        exit: i32,
        message: String,
    },

    /// A local program ran and exited non-zero.
    #[error("{program}: failed (exit {exit}){}", tail_suffix(stderr_tail))]
    LocalFailed {
        program: String,
        exit: i32,
        stderr_tail: Vec<String>,
    },

    /// The program could not be started at all.
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },

    /// A value that would end up on a command line is not acceptable.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidArgument {
        what: &'static str,
        value: String,
        reason: &'static str,
    },

    /// Required tools are missing on the CLI host or on workers, or workers could not be
    /// checked.
    #[error(transparent)]
    Prerequisites(#[from] PrerequisiteReport),

    /// The ssh control directory is unusable.
    #[error("ssh control directory {}: {message}", path.display())]
    ControlDir { path: PathBuf, message: String },

    /// A TCP dial failed.
    #[error("{host}:{port}: {message}")]
    Dial {
        host: String,
        port: u16,
        message: String,
    },

    /// Any other I/O failure, with what was being done.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl TransportError {
    /// The worker this error is about, when it is about one.
    pub fn worker(&self) -> Option<&str> {
        match self {
            Self::Connect { worker, .. }
            | Self::HostKeyChanged { worker, .. }
            | Self::RemoteTimeout { worker, .. }
            | Self::CommandFailed { worker, .. }
            | Self::Rsync { worker, .. } => Some(worker),
            _ => None,
        }
    }

    /// True when the worker could not be reached at all (connection refused, timeout,
    /// changed host key, frozen host). Deploy and gc treat such workers differently from
    /// workers where a command failed.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Self::Connect { .. } | Self::HostKeyChanged { .. } | Self::Deadline { .. }
        )
    }
}

fn tail_suffix(lines: &[String]) -> String {
    let lines: Vec<&str> = lines
        .iter()
        .map(|l| l.trim_end())
        .filter(|l| !l.is_empty())
        .collect();
    let lines = &lines[lines.len().saturating_sub(5)..];
    if lines.is_empty() {
        String::new()
    } else {
        format!(": {}", lines.join(" / "))
    }
}
