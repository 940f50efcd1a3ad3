//! What a transport observer forwards to: the log files plus the live echo.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::error::LogsError;
use crate::progress::Progress;
use crate::sink::{CommandCtx, LogSink, Stream};

/// Sends every command line to the [`LogSink`] and, unless echo is off, to the
/// [`Progress`] display as `job@worker | line`.
///
/// Observer callbacks cannot return errors, so a failed log write does not stop the
/// command: the first failure is printed once as a warning through the display and kept
/// for [`Recorder::take_error`], letting the command decide its exit status.
#[derive(Debug, Clone)]
pub struct Recorder {
    sink: Arc<LogSink>,
    progress: Progress,
    echo: bool,
    error: Arc<Mutex<Option<LogsError>>>,
    warned: Arc<AtomicBool>,
}

impl Recorder {
    /// Logs and echoes (the echo still honours `MAAND_QUIET` through `progress`).
    pub fn new(sink: Arc<LogSink>, progress: Progress) -> Recorder {
        Recorder {
            sink,
            progress,
            echo: true,
            error: Arc::new(Mutex::new(None)),
            warned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The same recorder without echo: lines only reach the files (for example
    /// `health_check` without `--verbose`).
    pub fn silent(mut self) -> Recorder {
        self.echo = false;
        self
    }

    /// The sink this recorder writes to.
    pub fn sink(&self) -> &Arc<LogSink> {
        &self.sink
    }

    /// The display this recorder echoes to.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// A command is about to run.
    pub fn begin(&self, ctx: &CommandCtx, cmd: &str) {
        self.keep(self.sink.command_begin(ctx, cmd));
    }

    /// One output line of a running command.
    pub fn line(&self, ctx: &CommandCtx, stream: Stream, line: &str) {
        self.keep(self.sink.stream(ctx, stream, line));
        if self.echo {
            self.progress
                .echo(ctx.job.as_deref(), ctx.worker.as_deref(), stream, line);
        }
    }

    /// A command ended.
    pub fn end(&self, ctx: &CommandCtx, exit: i32, duration: Duration) {
        self.keep(self.sink.command_end(ctx, exit, duration));
    }

    /// The first log write failure, if any (then cleared).
    pub fn take_error(&self) -> Option<LogsError> {
        self.error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn keep(&self, result: Result<(), LogsError>) {
        let Err(e) = result else { return };
        if !self.warned.swap(true, Ordering::Relaxed) {
            self.progress.println(&format!("warning: {e}"));
        }
        let mut slot = self.error.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(e);
        }
    }
}
