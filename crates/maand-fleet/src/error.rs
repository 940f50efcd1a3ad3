//! Fleet errors: what failed, for which worker, and what the tool said.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// This machine cannot host a fleet (not root, no sshd, …). Tests skip on this.
    #[error("cannot start a local sshd fleet here: {0}")]
    Unsupported(String),

    #[error("a fleet has at most 254 workers (127.0.k.1 to 127.0.k.254), not {0}")]
    TooManyWorkers(usize),

    #[error("no free fleet slot: 127.0.k.x:{port} is taken (or locked) for every k in 1..=254")]
    NoFreeSlot { port: u16 },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// A helper program (ssh-keygen, nsenter, mount) failed.
    #[error("{program} failed: {message}")]
    Command { program: String, message: String },

    /// An sshd did not start accepting connections.
    #[error("worker {host}: sshd did not start: {message}")]
    NotReady { host: String, message: String },

    #[error("no worker {index}: the fleet has {count} workers")]
    NoSuchWorker { index: usize, count: usize },

    #[error("worker {host} is not running (killed?); restart it first")]
    NotRunning { host: String },

    /// The state directory of a detached fleet is missing or unreadable.
    #[error("fleet state {}: {message}", path.display())]
    State { path: PathBuf, message: String },
}

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> FleetError {
    let context = context.into();
    move |source| FleetError::Io { context, source }
}
