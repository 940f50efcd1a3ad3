//! Running a job's hooks for one event (spec 07 §2–§6): commands in name order, each on
//! its targeted allocations with the event's concurrency, staged, with the hook
//! environment, registered with the runtime API while they run.

use super::api::{Api, HookInfo};
use super::stage::{self, HookStage, Mode};
use crate::bucket::Bucket;
use crate::catalog::allocations::AllocationRow;
use crate::catalog::jobs::{self as job_sql, FileRow};
use crate::kv::KvStore;
use crate::session::Session;
use crate::snapshot::Snapshot;
use maand_logs::{CommandCtx, Progress, Recorder, Stream as LogStream};
use maand_transport::{LocalCommand, Observer, Stream, Target};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// The KV session of the last [`Runtime::start`] of this process, by bucket root.
static SHARED_KV: Mutex<Option<(PathBuf, Weak<Mutex<KvStore>>)>> = Mutex::new(None);

/// Output lines kept per run for failure reports (`maand health_check` without `--verbose`).
pub const TAIL_LINES: usize = 20;

/// Why one allocation's run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// Non-zero exit status.
    Exit(i32),
    /// Killed by this signal.
    Signal(i32),
    /// The interpreter (`python3`, a venv python, `bun`) is not executable.
    Prerequisite(String),
    /// Staging or spawning failed.
    Setup(String),
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Exit(n) => write!(f, "command execution failed (exit {n})"),
            Cause::Signal(s) => write!(f, "command execution failed (signal {s})"),
            Cause::Prerequisite(name) => write!(f, "host prerequisites not met: {name}"),
            Cause::Setup(m) => f.write_str(m),
        }
    }
}

/// One failed allocation run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub worker: String,
    pub cause: Cause,
    /// The last [`TAIL_LINES`] output lines (stdout and stderr interleaved).
    pub tail: Vec<String>,
}

/// Errors of a hook event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    /// Allocations failed (*RunError*): `job <job> command <command> failed: <ip>: <cause>; …`.
    #[error("job {job} command {command} failed: {}", failures.iter().map(|f| format!("{}: {}", f.worker, f.cause)).collect::<Vec<_>>().join("; "))]
    Failed {
        job: String,
        /// The event the command ran for (`post_deploy`, …).
        event: String,
        command: String,
        failures: Vec<Failure>,
        /// Hook processes started by this event call, failed ones included.
        runs: usize,
    },
    /// The script is missing or has several implementations (*FileNotFound*).
    #[error("{0}")]
    Script(String),
    /// The runtime API or the catalog could not be used.
    #[error("{0}")]
    Internal(String),
}

/// Output lines a one-line failure report ends with (as lifecycle failures do).
pub const REPORT_LINES: usize = 5;

impl HookError {
    /// The failure as deploy and `maand job` report it, on one line: the event, then the
    /// *RunError* text with each allocation's last output lines,
    /// `<event>: job <job> command <command> failed: <ip>: <cause>: <line> / <line>; …`.
    pub fn report(&self) -> String {
        let HookError::Failed {
            job,
            event,
            command,
            failures,
            ..
        } = self
        else {
            return self.to_string();
        };
        let each: Vec<String> = failures
            .iter()
            .map(|f| {
                let lines: Vec<&str> = f
                    .tail
                    .iter()
                    .map(|l| l.trim_end())
                    .filter(|l| !l.is_empty())
                    .collect();
                let last = &lines[lines.len().saturating_sub(REPORT_LINES)..];
                if last.is_empty() {
                    format!("{}: {}", f.worker, f.cause)
                } else {
                    format!("{}: {}: {}", f.worker, f.cause, last.join(" / "))
                }
            })
            .collect();
        format!(
            "{event}: job {job} command {command} failed: {}",
            each.join("; ")
        )
    }
}

impl From<HookError> for crate::Error {
    fn from(e: HookError) -> crate::Error {
        let kind = match e {
            HookError::Script(_) => crate::Kind::JobCommandFileNotFound,
            _ => crate::Kind::Input,
        };
        crate::Error::bare(kind, e.to_string())
    }
}

/// Default concurrency of an event (spec 07 §4); `None` = all targets at once.
pub fn default_concurrency(event: &str) -> Option<usize> {
    match event {
        "job_control" | "after_allocation_started" => None,
        _ => Some(1),
    }
}

/// One event of one job to run.
#[derive(Debug, Clone)]
pub struct EventCall {
    pub job: String,
    pub event: String,
    /// Explicit targets (e.g. the stopped allocation of `after_allocation_stopped`);
    /// `None` = the job's active allocations in worker order.
    pub targets: Option<Vec<AllocationRow>>,
    /// Event extras (`TARGET`, `NEW_ALLOCATIONS`, `BATCH_*`, `DEPLOY_PHASE`, `ROLLOUT_*`).
    pub extra_env: Vec<(String, String)>,
    /// Allocations run at once; `None` = the event's default.
    pub concurrency: Option<usize>,
    /// Print hook output live (it is always logged).
    pub echo: bool,
    /// Print per-allocation begin/end lines (`maand hooks --verbose`).
    pub verbose: bool,
}

impl EventCall {
    pub fn new(job: impl Into<String>, event: impl Into<String>) -> EventCall {
        EventCall {
            job: job.into(),
            event: event.into(),
            targets: None,
            extra_env: Vec::new(),
            concurrency: None,
            echo: true,
            verbose: false,
        }
    }

    pub fn targets(mut self, targets: Vec<AllocationRow>) -> EventCall {
        self.targets = Some(targets);
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> EventCall {
        self.extra_env.push((name.into(), value.into()));
        self
    }

    pub fn concurrency(mut self, n: usize) -> EventCall {
        self.concurrency = Some(n.max(1));
        self
    }

    pub fn echo(mut self, echo: bool) -> EventCall {
        self.echo = echo;
        self
    }

    pub fn verbose(mut self, verbose: bool) -> EventCall {
        self.verbose = verbose;
        self
    }
}

/// The hook runtime of one maand command: the process's API server, the command's KV
/// session, and what has been staged.
pub struct Runtime<'a> {
    bucket: &'a Bucket,
    api: &'static Api,
    kv: Arc<Mutex<KvStore>>,
    files: Mutex<HashMap<String, Arc<Vec<FileRow>>>>,
    rendered: Mutex<HashSet<(String, String)>>,
}

impl<'a> Runtime<'a> {
    /// Starts (or reuses) the process's runtime API and binds hooks run through this
    /// runtime to `kv`, the command's KV session. `kv` also becomes the session later
    /// [`Runtime::for_reading`] calls of this process read from (health gates in deploy).
    pub fn start(bucket: &'a Bucket, kv: Arc<Mutex<KvStore>>) -> Result<Runtime<'a>, HookError> {
        *lock(&SHARED_KV) = Some((bucket.root.clone(), Arc::downgrade(&kv)));
        Self::with_kv(bucket, kv)
    }

    /// A runtime for read-only hooks (`health_check`): the KV session of the live
    /// [`Runtime::start`] of this process for the same bucket, else a fresh load from the
    /// catalog (never persisted).
    pub fn for_reading(bucket: &'a Bucket) -> Result<Runtime<'a>, HookError> {
        let shared = lock(&SHARED_KV)
            .as_ref()
            .filter(|(root, _)| *root == bucket.root)
            .and_then(|(_, w)| w.upgrade());
        let kv = match shared {
            Some(kv) => kv,
            None => {
                let cat = bucket
                    .catalog()
                    .map_err(|e| HookError::Internal(e.to_string()))?;
                let kv = KvStore::load(cat.conn(), bucket.kv_key_path())
                    .map_err(|e| HookError::Internal(e.to_string()))?;
                Arc::new(Mutex::new(kv))
            }
        };
        Self::with_kv(bucket, kv)
    }

    fn with_kv(bucket: &'a Bucket, kv: Arc<Mutex<KvStore>>) -> Result<Runtime<'a>, HookError> {
        let api = Api::process().map_err(HookError::Internal)?;
        super::interrupt::install();
        Ok(Runtime {
            bucket,
            api,
            kv,
            files: Mutex::new(HashMap::new()),
            rendered: Mutex::new(HashSet::new()),
        })
    }

    pub fn api(&self) -> &'static Api {
        self.api
    }

    /// The KV session hooks read and write.
    pub fn kv(&self) -> &Arc<Mutex<KvStore>> {
        &self.kv
    }

    fn kv_lock(&self) -> MutexGuard<'_, KvStore> {
        self.kv.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Deploy staged and rendered `job` for `worker` in this process: later hooks there
    /// only refresh `_modules/` (no clobbering, spec 07 §3).
    pub fn mark_rendered(&self, worker: &str, job: &str) {
        lock(&self.rendered).insert((worker.to_string(), job.to_string()));
    }

    /// Commands of `job` registered for `event`, in name order.
    pub fn commands(snap: &Snapshot, job: &str, event: &str) -> Vec<String> {
        let mut names: Vec<String> = snap
            .commands
            .iter()
            .filter(|c| c.job == job && c.event == event)
            .map(|c| c.command.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn job_files(&self, job: &str) -> Result<Arc<Vec<FileRow>>, HookError> {
        if let Some(f) = lock(&self.files).get(job) {
            return Ok(Arc::clone(f));
        }
        let cat = self
            .bucket
            .catalog()
            .map_err(|e| HookError::Internal(e.to_string()))?;
        let files = Arc::new(
            job_sql::files_of(cat.conn(), job).map_err(|e| HookError::Internal(e.to_string()))?,
        );
        lock(&self.files).insert(job.to_string(), Arc::clone(&files));
        Ok(files)
    }

    /// Runs every command of `call.job` registered for `call.event` (name order; the first
    /// failing command stops the rest). Returns the number of hook processes run.
    pub fn run_event(
        &self,
        session: &Session,
        snap: &Snapshot,
        call: &EventCall,
    ) -> Result<usize, HookError> {
        let commands = Self::commands(snap, &call.job, &call.event);
        let mut runs = 0;
        for command in &commands {
            runs += self
                .run_command(session, snap, call, command)
                .map_err(|e| match e {
                    HookError::Failed {
                        job,
                        event,
                        command,
                        failures,
                        runs: r,
                    } => HookError::Failed {
                        job,
                        event,
                        command,
                        failures,
                        runs: runs + r,
                    },
                    other => other,
                })?;
        }
        Ok(runs)
    }

    /// Runs one command of `call.job` on the call's targets.
    pub fn run_command(
        &self,
        session: &Session,
        snap: &Snapshot,
        call: &EventCall,
        command: &str,
    ) -> Result<usize, HookError> {
        let job = call.job.as_str();
        let targets: Vec<AllocationRow> = match &call.targets {
            Some(t) => t.clone(),
            None => snap.active(job).into_iter().cloned().collect(),
        };
        if targets.is_empty() {
            return Ok(0);
        }
        let files = self.job_files(job)?;
        let script_rel = find_script(&files, job, command)?;
        let n = call
            .concurrency
            .or_else(|| default_concurrency(&call.event))
            .unwrap_or(targets.len())
            .max(1);
        let results = maand_transport::fan_out(targets, n, |a| {
            self.run_one(session, snap, call, command, &files, &script_rel, a)
        });
        let runs = results.len();
        let failures: Vec<Failure> = results.into_iter().filter_map(|(_, r)| r.err()).collect();
        if failures.is_empty() {
            Ok(runs)
        } else {
            Err(HookError::Failed {
                job: job.to_string(),
                event: call.event.clone(),
                command: command.to_string(),
                failures,
                runs,
            })
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run_one(
        &self,
        session: &Session,
        snap: &Snapshot,
        call: &EventCall,
        command: &str,
        files: &[FileRow],
        script_rel: &str,
        a: &AllocationRow,
    ) -> Result<(), Failure> {
        let job = call.job.as_str();
        let ip = a.worker_ip.as_str();
        let fail = |cause: Cause| Failure {
            worker: ip.to_string(),
            cause,
            tail: Vec::new(),
        };
        let workspace_modules = self
            .bucket
            .workspace()
            .join("jobs")
            .join(job)
            .join("_modules");
        let script_name = script_rel.trim_start_matches("_modules/").to_string();
        let (program, args, python) = interpreter(&workspace_modules, &script_name)
            .map_err(|name| fail(Cause::Prerequisite(name)))?;
        let mode = if call.event == "health_check" {
            Mode::HealthFast
        } else if lock(&self.rendered).contains(&(ip.to_string(), job.to_string())) {
            Mode::ModulesOnly
        } else {
            Mode::Full
        };
        let (cwd, index) = {
            let kv = self.kv_lock();
            let cwd = stage::stage(&HookStage {
                tmp: &self.bucket.tmp(),
                workspace_modules: workspace_modules.clone(),
                job,
                worker: ip,
                files,
                script_rel,
                kv: &kv,
                mode,
            })
            .map_err(|e| fail(Cause::Setup(format!("staging failed: {e}"))))?;
            let index = allocation_index(&kv, snap, a);
            (cwd, index)
        };
        let api = self.api;
        session.sink.add_secret(api.token());
        let mut env: Vec<(String, String)> = vec![
            ("ALLOCATION_ID".into(), a.alloc_id.clone()),
            ("ALLOCATION_IP".into(), ip.to_string()),
            ("ALLOCATION_INDEX".into(), index),
            ("JOB".into(), job.to_string()),
            ("EVENT".into(), call.event.clone()),
            ("COMMAND".into(), command.to_string()),
            (
                "DISABLED".into(),
                if a.disabled { "1" } else { "0" }.to_string(),
            ),
            ("CURRENT_VERSION".into(), snap.current_version(&a.alloc_id)),
            ("NEW_VERSION".into(), a.new_version.clone()),
            ("JOB_COMMAND_API_HOST".into(), "127.0.0.1".into()),
            ("JOB_COMMAND_API_PORT".into(), api.port().to_string()),
            ("MAAND_API_URL".into(), api.url()),
            ("MAAND_API_TOKEN".into(), api.token().to_string()),
            (
                "MAAND_SSH_KNOWN_HOSTS".into(),
                session
                    .transport
                    .settings()
                    .known_hosts
                    .to_string_lossy()
                    .into_owned(),
            ),
        ];
        if python {
            env.push(("PYTHONUNBUFFERED".into(), "1".into()));
        }
        // Event extras first, so the per-allocation variables win a clash (JOB).
        let mut all: Vec<(String, String)> = call.extra_env.clone();
        all.extend(env);
        let cmd = LocalCommand {
            program,
            args,
            env: all,
            cwd: Some(cwd.clone()),
            deadline: None,
        };
        let mut target = Target::local("job_command", command).with_job(job);
        target.worker = Some(ip.to_string());
        let observer = Arc::new(HookObserver::new(session, &call.event, call.echo));
        let reg = api.register(HookInfo {
            alloc_id: a.alloc_id.clone(),
            job: job.to_string(),
            worker: ip.to_string(),
            event: call.event.clone(),
            command: command.to_string(),
            reader: snap.reader(job, ip),
            demands: demands(snap, job, command),
            kv: Arc::clone(&self.kv),
            sink: Some(Arc::clone(&session.sink)),
        });
        let started = Instant::now();
        if call.verbose {
            session.say(&format!(
                "{job}@{ip} begin: {} {} (cwd {})",
                cmd.program,
                cmd.args.join(" "),
                cwd.display()
            ));
        }
        let out = if super::interrupt::requested() {
            Err(Cause::Setup("interrupted".into()))
        } else {
            maand_transport::spawn_local(&cmd, &target, observer.clone())
                .and_then(|child| {
                    let pid = child.pid();
                    super::interrupt::track(pid);
                    let out = child.wait();
                    super::interrupt::untrack(pid);
                    out
                })
                .map_err(|e| Cause::Setup(e.to_string()))
        };
        for name in api.unregister(reg) {
            let line = format!(
                "warning: job {job} command {command} on {ip} exited holding semaphore \"{name}\" ({}); released",
                call.event
            );
            let _ = session.sink.warning(&line);
            session.say(&line);
        }
        let out = out.map_err(fail)?;
        if call.verbose {
            session.say(&format!(
                "{job}@{ip} end: exit {} in {} ms",
                out.exit,
                started.elapsed().as_millis()
            ));
        }
        if out.exit == 0 {
            return Ok(());
        }
        let cause = if out.exit > 128 && out.exit <= 128 + 64 {
            Cause::Signal(out.exit - 128)
        } else {
            Cause::Exit(out.exit)
        };
        Err(Failure {
            worker: ip.to_string(),
            cause,
            tail: observer.tail(),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `_modules/<command>.<ext>` of the catalog copy, checked again before every run.
pub fn find_script(files: &[FileRow], job: &str, command: &str) -> Result<String, HookError> {
    let found: Vec<String> = ["py", "ts", "js"]
        .iter()
        .map(|ext| format!("_modules/{command}.{ext}"))
        .filter(|rel| {
            files
                .iter()
                .any(|f| !f.is_dir && f.path == format!("{job}/{rel}"))
        })
        .collect();
    let dir = format!("workspace/jobs/{job}/_modules");
    match found.len() {
        1 => Ok(found[0].clone()),
        0 => Err(HookError::Script(format!(
            "job command file not found: expected {command}.py, {command}.ts, or {command}.js under {dir}"
        ))),
        _ => Err(HookError::Script(format!(
            "invalid job command configuration: multiple implementations for {command} under {dir} (use only one of .py, .ts, .js)"
        ))),
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The job's venv interpreter: the first existing of `.venv/bin/python3`,
/// `.venv/bin/python`, `venv/bin/python3`, `venv/bin/python` under its workspace
/// `_modules/` (spec 07 §2).
fn venv_python(workspace_modules: &Path) -> Option<PathBuf> {
    [
        ".venv/bin/python3",
        ".venv/bin/python",
        "venv/bin/python3",
        "venv/bin/python",
    ]
    .iter()
    .map(|rel| workspace_modules.join(rel))
    .find(|p| p.exists())
}

/// Host tools the hooks of these (job, event) pairs need (spec 07 §2): `python3` for a
/// Python hook of a job without a venv, `bun` for a `.ts` or `.js` hook. A script that
/// cannot be found is left to the run, which reports it.
pub fn host_tools(
    bucket: &Bucket,
    conn: &rusqlite::Connection,
    snap: &Snapshot,
    calls: &[(&str, &str)],
) -> crate::error::Result<Vec<&'static str>> {
    let mut need = Vec::new();
    let mut jobs: Vec<&str> = calls.iter().map(|(job, _)| *job).collect();
    jobs.sort();
    jobs.dedup();
    for job in jobs {
        let commands: BTreeSet<String> = calls
            .iter()
            .filter(|(j, _)| *j == job)
            .flat_map(|(_, event)| Runtime::commands(snap, job, event))
            .collect();
        if commands.is_empty() {
            continue;
        }
        let files = job_sql::files_of(conn, job)?;
        let modules = bucket.workspace().join("jobs").join(job).join("_modules");
        for command in commands {
            let tool = match find_script(&files, job, &command) {
                Ok(rel) if rel.ends_with(".py") => {
                    if venv_python(&modules).is_some() {
                        continue;
                    }
                    "python3"
                }
                Ok(_) => "bun",
                Err(_) => continue,
            };
            if !need.contains(&tool) {
                need.push(tool);
            }
        }
    }
    Ok(need)
}

/// `(program, args, is_python)` for a script, or the name of the missing prerequisite.
fn interpreter(
    workspace_modules: &Path,
    script: &str,
) -> Result<(String, Vec<String>, bool), String> {
    if script.ends_with(".py") {
        if let Some(p) = venv_python(workspace_modules) {
            let abs = std::path::absolute(&p).unwrap_or(p);
            if !is_executable(&abs) {
                return Err(abs.to_string_lossy().into_owned());
            }
            return Ok((
                abs.to_string_lossy().into_owned(),
                vec![script.to_string()],
                true,
            ));
        }
        return match maand_transport::find_on_path("python3") {
            Some(p) => Ok((
                p.to_string_lossy().into_owned(),
                vec![script.to_string()],
                true,
            )),
            None => Err("python3".to_string()),
        };
    }
    match maand_transport::find_on_path("bun") {
        Some(p) => Ok((
            p.to_string_lossy().into_owned(),
            vec!["run".to_string(), script.to_string()],
            false,
        )),
        None => Err("bun".to_string()),
    }
}

/// `ALLOCATION_INDEX`: KV `<job>_allocation_index`, else the worker's position among the
/// job's non-removed allocations; empty for a removed allocation.
fn allocation_index(kv: &KvStore, snap: &Snapshot, a: &AllocationRow) -> String {
    if a.removed {
        return String::new();
    }
    let ns = format!("maand/job/{}/worker/{}", a.job, a.worker_ip);
    if let Ok(Some(v)) = kv.get(&ns, &format!("{}_allocation_index", a.job)) {
        return v;
    }
    snap.non_removed(&a.job)
        .iter()
        .position(|x| x.alloc_id == a.alloc_id)
        .map(|i| i.to_string())
        .unwrap_or_default()
}

/// `GET /demands` of (job, command): one entry per demanding (job, command).
pub fn demands(snap: &Snapshot, job: &str, command: &str) -> Value {
    let mut by: BTreeMap<(String, String), Value> = BTreeMap::new();
    for c in snap
        .commands
        .iter()
        .filter(|c| c.demand_job == job && c.demand_command == command)
    {
        let config = serde_json::from_str::<Value>(&c.demand_config)
            .ok()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        by.entry((c.job.clone(), c.command.clone()))
            .or_insert(config);
    }
    Value::Array(
        by.into_iter()
            .map(|((j, c), cfg)| json!({ "job": j, "command": c, "demand_config": cfg }))
            .collect(),
    )
}

/// Logs hook output with `hook_event`, echoes it unless silent, and keeps a tail.
struct HookObserver {
    recorder: Recorder,
    event: String,
    tail: Mutex<VecDeque<String>>,
}

impl HookObserver {
    fn new(session: &Session, event: &str, echo: bool) -> HookObserver {
        let progress: Progress = session.progress.clone();
        let r = Recorder::new(Arc::clone(&session.sink), progress);
        HookObserver {
            recorder: if echo { r } else { r.silent() },
            event: event.to_string(),
            tail: Mutex::new(VecDeque::new()),
        }
    }

    fn ctx(&self, t: &Target) -> CommandCtx {
        CommandCtx::from_parts(t.worker.as_deref(), t.job.as_deref(), &t.phase, &t.action)
            .with("hook_event", &self.event)
    }

    fn tail(&self) -> Vec<String> {
        lock(&self.tail).iter().cloned().collect()
    }
}

impl Observer for HookObserver {
    fn begin(&self, t: &Target, cmd: &str) {
        self.recorder.begin(&self.ctx(t), cmd);
    }

    fn line(&self, t: &Target, stream: Stream, line: &str) {
        let s = match stream {
            Stream::Stdout => LogStream::Stdout,
            Stream::Stderr => LogStream::Stderr,
        };
        self.recorder.line(&self.ctx(t), s, line);
        let mut tail = lock(&self.tail);
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(self.recorder.sink().redact(line).into_owned());
    }

    fn end(&self, t: &Target, exit: i32, duration: Duration) {
        self.recorder.end(&self.ctx(t), exit, duration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> FileRow {
        FileRow {
            path: path.into(),
            is_dir: false,
            content: Vec::new(),
        }
    }

    #[test]
    fn script_discovery() {
        let files = [
            file("api/_modules/command_a.py"),
            file("api/_modules/command_b.ts"),
            file("api/_modules/command_b.js"),
        ];
        assert_eq!(
            find_script(&files, "api", "command_a").unwrap(),
            "_modules/command_a.py"
        );
        assert_eq!(
            find_script(&files, "api", "command_x").unwrap_err().to_string(),
            "job command file not found: expected command_x.py, command_x.ts, or command_x.js under workspace/jobs/api/_modules"
        );
        assert_eq!(
            find_script(&files, "api", "command_b").unwrap_err().to_string(),
            "invalid job command configuration: multiple implementations for command_b under workspace/jobs/api/_modules (use only one of .py, .ts, .js)"
        );
    }

    #[test]
    fn failure_messages() {
        let e = HookError::Failed {
            job: "api".into(),
            event: "post_deploy".into(),
            command: "command_m".into(),
            failures: vec![
                Failure {
                    worker: "10.0.0.1".into(),
                    cause: Cause::Exit(3),
                    tail: Vec::new(),
                },
                Failure {
                    worker: "10.0.0.2".into(),
                    cause: Cause::Signal(9),
                    tail: (1..=7)
                        .map(|i| format!("line {i}"))
                        .chain(["  ".into()])
                        .collect(),
                },
                Failure {
                    worker: "10.0.0.3".into(),
                    cause: Cause::Prerequisite("bun".into()),
                    tail: Vec::new(),
                },
            ],
            runs: 3,
        };
        assert_eq!(
            e.to_string(),
            "job api command command_m failed: 10.0.0.1: command execution failed (exit 3); 10.0.0.2: command execution failed (signal 9); 10.0.0.3: host prerequisites not met: bun"
        );
        assert_eq!(
            super::super::post_build::failure_lines(&e)[..2],
            [
                "post_build: job api hook command_m failed: 10.0.0.1: exit status 3".to_string(),
                "post_build: job api hook command_m failed: 10.0.0.2: signal: 9".to_string(),
            ]
        );
        assert_eq!(
            e.report(),
            "post_deploy: job api command command_m failed: 10.0.0.1: command execution failed (exit 3); 10.0.0.2: command execution failed (signal 9): line 3 / line 4 / line 5 / line 6 / line 7; 10.0.0.3: host prerequisites not met: bun"
        );
        assert_eq!(default_concurrency("job_control"), None);
        assert_eq!(default_concurrency("after_allocation_started"), None);
        assert_eq!(default_concurrency("after_allocation_stopped"), Some(1));
        assert_eq!(default_concurrency("cli"), Some(1));
    }
}
