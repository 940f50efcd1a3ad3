//! The writer: one [`LogSink`] per maand invocation.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::error::LogsError;
use crate::format::LogFormat;
use crate::record::{now_ts, summarize_cmd, Record};
use crate::redact::Redactor;

/// File for bucket-local lines (`worker=-`).
pub const BUCKET_LOG: &str = "maand.log";

/// A fresh run id (UUID v4), one per maand invocation.
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output, shown with `|`.
    Stdout,
    /// Standard error, shown with `!`.
    Stderr,
}

impl Stream {
    /// The `stream` field value: `stdout` or `stderr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    /// The marker used on the terminal and in `logs show --format human`.
    pub fn marker(self) -> char {
        match self {
            Stream::Stdout => '|',
            Stream::Stderr => '!',
        }
    }
}

/// The context shared by every line of one executed command: where it ran and why.
///
/// Built once per command and passed to [`LogSink::command_begin`],
/// [`LogSink::stream`] and [`LogSink::command_end`], so the three kinds of line always
/// carry the same (`worker`, `job`, `phase`, `action`) and `logs show --format human`
/// can group them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandCtx {
    /// Worker IP; `None` for commands run on the CLI host (logged as `worker=-`).
    pub worker: Option<String>,
    /// Job name when known.
    pub job: Option<String>,
    /// `phase` (spec 09 §8.4): `rollout`, `rsync`, `run_command`, …
    pub phase: String,
    /// `action`: `start`, `ssh`, a hook name, …
    pub action: String,
    /// Further fields, e.g. `hook_event`.
    pub extra: BTreeMap<String, String>,
}

impl CommandCtx {
    /// A context for `phase`/`action` with no worker or job yet.
    pub fn new(phase: &str, action: &str) -> CommandCtx {
        CommandCtx {
            phase: phase.to_string(),
            action: action.to_string(),
            ..CommandCtx::default()
        }
    }

    /// A context from optional parts, as an observer callback receives them (e.g. the
    /// transport's `Target`); empty strings count as absent.
    pub fn from_parts(
        worker: Option<&str>,
        job: Option<&str>,
        phase: &str,
        action: &str,
    ) -> CommandCtx {
        let some = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(str::to_string);
        CommandCtx {
            worker: some(worker),
            job: some(job),
            ..CommandCtx::new(phase, action)
        }
    }

    /// Sets the worker.
    pub fn worker(mut self, worker: &str) -> CommandCtx {
        self.worker = Some(worker.to_string());
        self
    }

    /// Sets the job.
    pub fn job(mut self, job: &str) -> CommandCtx {
        self.job = Some(job.to_string());
        self
    }

    /// Adds an extra field such as `hook_event`.
    pub fn with(mut self, key: &str, value: &str) -> CommandCtx {
        self.extra.insert(key.to_string(), value.to_string());
        self
    }

    /// The display target: `job@worker`, `worker` or `job` (spec 09 §8.5).
    pub fn target(&self) -> Option<String> {
        crate::echo::target(self.job.as_deref(), self.worker.as_deref())
    }

    fn record(&self, event: Option<&str>) -> Record {
        let mut r = Record::new();
        if let Some(event) = event {
            r.set("event", event);
        }
        for (k, v) in &self.extra {
            r.set(k, v);
        }
        r.set("worker", self.worker.as_deref().unwrap_or(""));
        r.set("job", self.job.as_deref().unwrap_or(""));
        r.set("phase", &self.phase);
        r.set("action", &self.action);
        r
    }
}

/// Appends structured lines to `logs/<worker>.log` (or `logs/maand.log`) and to the
/// same file under `logs/runs/<run_id>/`.
///
/// One sink serves the whole process: it is `Send + Sync` (share it in an `Arc`), and a
/// single lock around stamping and writing keeps lines whole and in timestamp order in
/// every file, however many workers report at once. Every value passes through the
/// sink's [`Redactor`] first.
#[derive(Debug)]
pub struct LogSink {
    logs_dir: PathBuf,
    run_dir: PathBuf,
    run_id: String,
    maand: String,
    format: LogFormat,
    seq: AtomicU64,
    redactor: Redactor,
    files: Mutex<HashMap<PathBuf, File>>,
}

impl LogSink {
    /// Opens the sink for one run of `maand_command` (`deploy`, `run_command`, …),
    /// creating `logs_dir` if needed. Files and the run directory are created on the
    /// first line written to them.
    pub fn open(
        logs_dir: impl Into<PathBuf>,
        run_id: &str,
        maand_command: &str,
        format: LogFormat,
    ) -> Result<LogSink, LogsError> {
        let logs_dir = logs_dir.into();
        create_dir(&logs_dir)?;
        let run_dir = logs_dir.join("runs").join(file_stem(run_id));
        Ok(LogSink {
            logs_dir,
            run_dir,
            run_id: run_id.to_string(),
            maand: maand_command.to_string(),
            format,
            seq: AtomicU64::new(0),
            redactor: Redactor::new(),
            files: Mutex::new(HashMap::new()),
        })
    }

    /// The run id written as `run` on every line.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The encoding in use.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// `logs/runs/<run_id>/`.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// Sets the bucket `update_seq` written as `seq` on later lines (omitted while 0).
    /// A setter rather than an `open` argument because `build` and `deploy` change it
    /// mid-run.
    pub fn set_seq(&self, seq: u64) {
        self.seq.store(seq, Ordering::Relaxed);
    }

    /// Registers a secret that must never appear in a log line (see [`Redactor`]).
    pub fn add_secret(&self, secret: &str) {
        self.redactor.add_secret(secret);
    }

    /// A handle on this sink's secret list, to share with the terminal echo
    /// ([`Progress::with_redactor`](crate::Progress::with_redactor)).
    pub fn redactor(&self) -> Redactor {
        self.redactor.clone()
    }

    /// `text` with every registered secret masked.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.redactor.redact(text)
    }

    /// Writes one record. The sink fills in `ts` (unless set), `level` (default `INFO`),
    /// `run`, `maand`, `seq` (when > 0, unless set) and `worker` (`-` when absent).
    pub fn write(&self, mut record: Record) -> Result<(), LogsError> {
        let redactor = &self.redactor;
        record.map_values(|v| redactor.redact(v).into_owned());
        record.set("run", &self.run_id);
        record.set("maand", &self.maand);
        if record.get("level").is_none() {
            let failed_end = record.get("event") == Some("command_end")
                && record.get("exit").is_some_and(|e| e != "0");
            record.set("level", if failed_end { "ERROR" } else { "INFO" });
        }
        let seq = self.seq.load(Ordering::Relaxed);
        if seq > 0 && record.get("seq").is_none() {
            record.set("seq", seq.to_string());
        }
        if record.get("seq") == Some("0") {
            record.remove("seq");
        }
        if record.get("worker").is_none() {
            record.set("worker", "-");
        }
        let name = match record.get("worker") {
            Some("-") | None => BUCKET_LOG.to_string(),
            Some(worker) => format!("{}.log", file_stem(worker)),
        };

        let mut files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
        // Stamped under the lock so every file is in timestamp order.
        if record.get("ts").is_none() {
            record.set("ts", now_ts());
        }
        let mut line = self
            .redactor
            .redact(&record.encode(self.format))
            .into_owned();
        line.push('\n');

        let main = append(&mut files, &self.logs_dir, &name, &line);
        let run = append(&mut files, &self.run_dir, &name, &line);
        main.and(run)
    }

    /// Logs `command_begin` for a command about to run; `cmd` is redacted, then
    /// summarised to one line of at most 200 characters.
    pub fn command_begin(&self, ctx: &CommandCtx, cmd: &str) -> Result<(), LogsError> {
        let mut r = ctx.record(Some("command_begin"));
        r.set("cmd", summarize_cmd(&self.redactor.redact(cmd)));
        self.write(r)
    }

    /// Logs one output line (without its newline) of a running command.
    pub fn stream(&self, ctx: &CommandCtx, stream: Stream, line: &str) -> Result<(), LogsError> {
        let mut r = ctx.record(None);
        r.set("stream", stream.as_str());
        r.set("msg", line.trim_end_matches(['\n', '\r']));
        self.write(r)
    }

    /// Logs `command_end`; level `ERROR` when `exit` is non-zero.
    pub fn command_end(
        &self,
        ctx: &CommandCtx,
        exit: i32,
        duration: Duration,
    ) -> Result<(), LogsError> {
        let mut r = ctx.record(Some("command_end"));
        r.set("level", if exit == 0 { "INFO" } else { "ERROR" });
        r.set("exit", exit.to_string());
        r.set("duration_ms", duration.as_millis().to_string());
        self.write(r)
    }

    /// Logs an event such as `deploy_skip` with its fields (`worker`, `job`, `reason`,
    /// `msg`, or any extra key); bucket-local unless a `worker` field is given.
    pub fn event(&self, name: &str, fields: &[(&str, &str)]) -> Result<(), LogsError> {
        let mut r = Record::event(name);
        for (k, v) in fields {
            r.set(k, v);
        }
        self.write(r)
    }

    /// Logs a warning (spec 02 §12: every warning is also written to the bucket log) as
    /// `level=WARN event=warning msg=…` in `maand.log`.
    pub fn warning(&self, msg: &str) -> Result<(), LogsError> {
        self.write(
            Record::event("warning")
                .with("level", "WARN")
                .with("msg", msg),
        )
    }
}

/// A worker name or run id made safe as a file name: no path separators, no leading dot.
fn file_stem(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c == '\0' {
                '_'
            } else {
                c
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        s.insert(0, '_');
    }
    s
}

fn append(
    files: &mut HashMap<PathBuf, File>,
    dir: &Path,
    name: &str,
    line: &str,
) -> Result<(), LogsError> {
    let path = dir.join(name);
    let err = |source| LogsError::Write {
        path: path.clone(),
        source,
    };
    if !files.contains_key(&path) {
        // Only when a file is first opened: the directories exist from then on.
        create_dir(dir)?;
        let file = open_append(&path).map_err(err)?;
        files.insert(path.clone(), file);
    }
    match files.get_mut(&path) {
        Some(file) => file.write_all(line.as_bytes()).map_err(err),
        None => Ok(()),
    }
}

#[cfg(unix)]
fn open_append(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let existed = path.exists();
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o644)
        .open(path)?;
    if !existed {
        // The mode above is filtered by the umask; the spec wants 0644 regardless.
        file.set_permissions(fs::Permissions::from_mode(0o644))?;
    }
    Ok(file)
}

#[cfg(not(unix))]
fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn create_dir(dir: &Path) -> Result<(), LogsError> {
    if dir.is_dir() {
        return Ok(());
    }
    let err = |source| LogsError::CreateDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    fs::create_dir_all(dir).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for d in missing {
            fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).map_err(err)?;
        }
    }
    Ok(())
}
