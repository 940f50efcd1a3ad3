//! Structured bucket logs for maand (spec 09 §8–§9).
//!
//! * Writing: [`LogSink`] appends one [`Record`] per line to `logs/<worker>.log` (or
//!   `logs/maand.log`) and to the same file under `logs/runs/<run_id>/`, in the
//!   [`LogFormat`] chosen by `log_format`, with secrets masked by its [`Redactor`].
//! * Reading: [`show`] implements `maand logs show` over those files.
//! * Glue: [`Recorder`] is what a transport observer forwards to: file lines plus echo.
//! * Terminal: [`Progress`] draws the live progress region (or plain lines) on stderr and
//!   echoes output lines above it ([`echo_line`]).
//!
//! The crate never prints on its own: `show` writes to the writer it is given and
//! `Progress` writes only to stderr, never stdout.

#![warn(missing_docs)]

mod echo;
mod error;
mod format;
mod human;
mod parse;
mod progress;
mod record;
mod recorder;
mod redact;
mod show;
mod sink;

pub use echo::{echo_line, quiet_from_env, target};
pub use error::LogsError;
pub use format::{LogFormat, UnknownLogFormat};
pub use human::format_duration_ms;
pub use progress::{Progress, ProgressMode, Unit};
pub use record::{format_ts, now_ts, summarize_cmd, Record, CANONICAL_KEYS, CMD_SUMMARY_MAX};
pub use recorder::Recorder;
pub use redact::{Redactor, REDACTED};
pub use show::{show, ShowFormat, ShowOptions};
pub use sink::{new_run_id, CommandCtx, LogSink, Stream, BUCKET_LOG};
