//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while writing or reading the bucket logs.
///
/// Messages are meant to be shown to the operator as they are: they name the path
/// or the flag involved and, where it helps, what to do.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// A log directory (`logs/` or `logs/runs/<run>/`) could not be created.
    #[error("cannot create log directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A log file could not be opened or appended to.
    #[error("cannot write log file {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A directory of log files could not be listed.
    #[error("cannot read log directory {path}: {source}")]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// `--run-dir` was given without `--run`.
    #[error("--run-dir requires --run")]
    RunDirRequiresRun,
    /// A `--run` prefix used with `--run-dir` selects several run directories.
    #[error("run id prefix \"{prefix}\" is ambiguous: it matches {} (give more characters)", .matches.join(", "))]
    AmbiguousRun {
        /// The prefix the operator gave.
        prefix: String,
        /// The run directories it matched, sorted.
        matches: Vec<String>,
    },
    /// `--format` named neither `raw` nor `human`.
    #[error("invalid log format \"{0}\": expected raw or human (h)")]
    InvalidShowFormat(String),
    /// No log file could be read for the selection.
    #[error("no log files matched")]
    NoLogFiles,
    /// Writing the output of `logs show` failed (for example a closed pipe).
    #[error("cannot write output: {0}")]
    Output(#[source] io::Error),
}

impl LogsError {
    /// True when the error is a closed output pipe (`maand logs show | head`), which the
    /// CLI should treat as a clean exit rather than an error.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, LogsError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}
