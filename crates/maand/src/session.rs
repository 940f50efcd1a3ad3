//! One maand process's links to the outside: the run's structured log, the live display,
//! and the SSH transport built from `maand.conf`. Commands that contact workers or run
//! hooks open one `Session` and pass it down.

use crate::bucket::Bucket;
use crate::error::{Error, Kind, Result};
use crate::kv::policy::is_secret_namespace;
use crate::kv::KvStore;
use maand_logs::{CommandCtx, LogFormat, LogSink, Progress, Recorder, Stream as LogStream};
use maand_transport::{Observer, SshSettings, Stream, Target, Transport, TransportError};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

/// Forwards transport events to the log files and the live echo.
struct LogObserver(Recorder);

fn ctx(t: &Target) -> CommandCtx {
    CommandCtx::from_parts(t.worker.as_deref(), t.job.as_deref(), &t.phase, &t.action)
}

impl Observer for LogObserver {
    fn begin(&self, t: &Target, cmd: &str) {
        self.0.begin(&ctx(t), cmd);
    }

    fn line(&self, t: &Target, stream: Stream, line: &str) {
        let s = match stream {
            Stream::Stdout => LogStream::Stdout,
            Stream::Stderr => LogStream::Stderr,
        };
        self.0.line(&ctx(t), s, line);
    }

    fn end(&self, t: &Target, exit: i32, duration: Duration) {
        self.0.end(&ctx(t), exit, duration);
    }

    fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.0.sink().redact(text)
    }
}

pub struct Session {
    pub sink: Arc<LogSink>,
    pub progress: Progress,
    pub transport: Transport,
}

/// Maps transport failures to the one error type users see.
pub fn transport_error(e: TransportError) -> Error {
    Error::bare(Kind::Input, e.to_string())
}

/// A transport message about `host` without its leading `worker <host>: `, for callers
/// that put their own `worker <host>: …` in front.
pub fn worker_cause<'a>(host: &str, message: &'a str) -> &'a str {
    message
        .strip_prefix(&format!("worker {host}: "))
        .unwrap_or(message)
}

/// Registers every live secret of the bucket's KV with the run log, so that output which
/// repeats one (a Makefile that `cat`s a rendered template, a `run_command`) is masked in
/// the log files and on the terminal. Secrets written later in the run are registered
/// where they are written (hooks runtime API). Best effort: a bucket whose KV cannot be
/// read (no catalog, no key) cannot render secrets either.
fn register_kv_secrets(bucket: &Bucket, sink: &LogSink) {
    let Ok(cat) = bucket.catalog() else { return };
    let Ok(kv) = KvStore::load_secrets(cat.conn(), bucket.kv_key_path()) else {
        return;
    };
    for ns in kv.namespaces().filter(|ns| is_secret_namespace(ns)) {
        for key in kv.keys(ns) {
            if let Ok(Some(value)) = kv.get(ns, &key) {
                sink.add_secret(&value);
            }
        }
    }
}

/// SSH settings of a bucket from its `maand.conf`.
pub fn ssh_settings(bucket: &Bucket) -> SshSettings {
    let c = &bucket.conf;
    let mut s = SshSettings::for_bucket(
        &bucket.root,
        &c.ssh_user,
        bucket.root.join("secrets").join(&c.ssh_key),
        c.ssh_port,
    );
    s.connect_timeout = Duration::from_secs(c.ssh_connect_timeout);
    s.control_persist_secs = c.ssh_control_persist;
    s.ssh_config = c.ssh_config.as_ref().map(|p| bucket.root.join(p));
    s.use_sudo = c.use_sudo;
    s
}

impl Session {
    /// Opens the run log for `command` and a transport whose output is logged and echoed.
    pub fn open(bucket: &Bucket, command: &str, units: usize) -> Result<Session> {
        let (format, warning) = LogFormat::parse(&bucket.conf.log_format);
        let sink = LogSink::open(bucket.logs(), &maand_logs::new_run_id(), command, format)
            .map_err(|e| Error::bare(Kind::Io, e.to_string()))?;
        register_kv_secrets(bucket, &sink);
        let sink = Arc::new(sink);
        let progress = Progress::new(units).with_redactor(sink.redactor());
        if let Some(w) = warning {
            progress.println(&format!("warning: {w}"));
        }
        let recorder = Recorder::new(Arc::clone(&sink), progress.clone());
        let transport = Transport::new(ssh_settings(bucket), Arc::new(LogObserver(recorder)))
            .map_err(transport_error)?;
        Ok(Session {
            sink,
            progress,
            transport,
        })
    }

    /// Prints a line above the live display and records it as an event.
    pub fn say(&self, line: &str) {
        self.progress.println(line);
    }
}
