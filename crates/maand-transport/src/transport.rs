//! [`Transport`]: runs remote commands and rsyncs for one maand process, remembers which
//! workers it reached (to close their masters) and which were checked for prerequisites.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::classify::{classify_rsync, classify_ssh};
use crate::fan_out::fan_out;
use crate::prereq::{parse_probe, worker_probe_script};
use crate::process::{self, TAIL_LINES};
use crate::quote::try_quote;
use crate::settings::ensure_control_dir;
use crate::ssh::{control_check_argv, control_exit_argv, master_argv, ssh_argv};
use crate::{
    rsync_argv, CollectingObserver, CommandOutput, LocalChild, LocalCommand, ObservedEvent,
    Observer, PrerequisiteReport, RemoteCommand, RsyncSpec, SshSettings, Target, TransportError,
};

/// Time the prerequisite probe may take beyond the connect timeout.
const PROBE_BUDGET: Duration = Duration::from_secs(30);
/// How long after the connect timeout opening a master may still be authenticating.
const MASTER_GRACE: Duration = Duration::from_secs(5);
/// How long a closing master may take to unlink its socket before the control directory
/// is left in place.
const SOCKET_UNLINK_WAIT: Duration = Duration::from_secs(1);

/// The process's handle on its workers. Share it by reference (it is `Sync`) across
/// fan-out threads.
pub struct Transport {
    settings: SshSettings,
    observer: Arc<dyn Observer>,
    contacted: Mutex<BTreeSet<String>>,
    /// `host|tools|sudo` → missing tools, for probes that got an answer.
    probed: Mutex<HashMap<String, Vec<String>>>,
    /// Per worker: is its master up? See [`Transport::ensure_master`].
    gates: Mutex<HashMap<String, Arc<Mutex<Gate>>>>,
}

impl Transport {
    /// Create the control directory (0700) and get ready; no worker is contacted yet.
    pub fn new(settings: SshSettings, observer: Arc<dyn Observer>) -> Result<Self, TransportError> {
        ensure_control_dir(&settings.control_dir)?;
        Ok(Self {
            settings,
            observer,
            contacted: Mutex::default(),
            probed: Mutex::default(),
            gates: Mutex::default(),
        })
    }

    pub fn settings(&self) -> &SshSettings {
        &self.settings
    }

    pub fn observer(&self) -> Arc<dyn Observer> {
        Arc::clone(&self.observer)
    }

    /// The exact ssh argv that [`Transport::run`] executes for `cmd` on `host`.
    pub fn command_argv(
        &self,
        host: &str,
        cmd: &RemoteCommand,
    ) -> Result<Vec<String>, TransportError> {
        ssh_argv(
            &self.settings,
            host,
            &cmd.remote_line(self.settings.use_sudo)?,
        )
    }

    /// Run `cmd` on the target's worker, streaming output to the observer.
    ///
    /// Returns `Ok` whenever the command ran, whatever its exit code (callers such as the
    /// worker check read exit codes as answers); `Err` when the worker could not be reached
    /// (ssh exit 255, changed host key, local deadline). Use [`Transport::run_checked`] to
    /// treat a non-zero exit as an error too.
    pub fn run(
        &self,
        target: &Target,
        cmd: &RemoteCommand,
    ) -> Result<CommandOutput, TransportError> {
        let host = worker_of(target)?;
        let argv = self.command_argv(host, cmd)?;
        let deadline = cmd.effective_deadline(self.settings.connect_timeout);
        let out = self.exec(target, host, &argv, &cmd.script, deadline)?;
        classify_ssh(&self.settings, host, deadline, out)
    }

    /// Like [`Transport::run`], but a non-zero exit is an error: `timed out after <n>s` for
    /// the remote `timeout` (exit 124), otherwise `command failed (exit <n>)` with the last
    /// stderr lines.
    pub fn run_checked(
        &self,
        target: &Target,
        cmd: &RemoteCommand,
    ) -> Result<CommandOutput, TransportError> {
        let out = self.run(target, cmd)?;
        let worker = worker_of(target)?.to_string();
        match (out.exit, cmd.timeout_secs) {
            (0, _) => Ok(out),
            (124, Some(secs)) => Err(TransportError::RemoteTimeout { worker, secs }),
            (exit, _) => Err(TransportError::CommandFailed {
                worker,
                exit,
                stderr_tail: out
                    .stderr_tail(TAIL_LINES)
                    .iter()
                    .map(|l| self.observer.redact(l).into_owned())
                    .collect(),
            }),
        }
    }

    /// Run one command per target with at most `parallelism` at once; every target gets its
    /// own result, in input order.
    pub fn run_all<F>(
        &self,
        targets: Vec<Target>,
        parallelism: usize,
        make: F,
    ) -> Vec<(Target, Result<CommandOutput, TransportError>)>
    where
        F: Fn(&Target) -> RemoteCommand + Sync,
    {
        fan_out(targets, parallelism, |t| self.run(t, &make(t)))
    }

    /// rsync `spec` to the target's worker through its multiplexed connection. Any non-zero
    /// exit is an error carrying rsync's own messages.
    pub fn rsync(
        &self,
        target: &Target,
        spec: &RsyncSpec,
    ) -> Result<CommandOutput, TransportError> {
        let host = worker_of(target)?;
        let argv = rsync_argv(&self.settings, host, spec)?;
        let summary = rsync_summary(&argv);
        let out = self.exec(target, host, &argv, &summary, spec.deadline)?;
        classify_rsync(&self.settings, host, spec.deadline, out)
    }

    /// Check that every worker has `tools` (usually [`crate::WORKER_TOOLS`]) and, with
    /// `use_sudo`, working `sudo -n` and `sudo rsync`. Probes run in parallel over the
    /// multiplexed connections; an answer is cached per worker for the process. All
    /// findings, and all unreachable workers, end up in one error.
    pub fn check_workers(
        &self,
        hosts: &[String],
        tools: &[&str],
        parallelism: usize,
    ) -> Result<(), TransportError> {
        let key = |h: &str| format!("{h}|{}|{}", tools.join(","), self.settings.use_sudo);
        let mut report = PrerequisiteReport::default();
        let mut todo: Vec<String> = Vec::new();
        {
            let probed = self.probed.lock().unwrap_or_else(|e| e.into_inner());
            for h in hosts.iter().collect::<BTreeSet<_>>() {
                match probed.get(&key(h)) {
                    Some(missing) if !missing.is_empty() => {
                        report
                            .missing
                            .insert(format!("worker {h}"), missing.clone());
                    }
                    Some(_) => {}
                    None => todo.push(h.clone()),
                }
            }
        }
        let script = worker_probe_script(tools, self.settings.use_sudo);
        let deadline = Some(self.settings.connect_timeout + PROBE_BUDGET);
        let results = fan_out(todo, parallelism, |host| {
            let target = Target::worker(host.clone(), "validate", "prerequisites");
            let line = format!("sh -c {}", try_quote("script", &script)?);
            let argv = ssh_argv(&self.settings, host, &line)?;
            let out = self.exec(&target, host, &argv, &script, deadline)?;
            classify_ssh(&self.settings, host, deadline, out)
        });
        let mut probed = self.probed.lock().unwrap_or_else(|e| e.into_inner());
        for (host, result) in results {
            match result {
                Ok(out) => {
                    let missing = parse_probe(&out.stdout());
                    if !missing.is_empty() {
                        report
                            .missing
                            .insert(format!("worker {host}"), missing.clone());
                    }
                    probed.insert(key(&host), missing);
                }
                Err(e) => {
                    report.unreachable.insert(host, e.to_string());
                }
            }
        }
        if report.is_empty() {
            Ok(())
        } else {
            Err(report.into())
        }
    }

    /// Start a local program with this transport's observer.
    pub fn spawn_local(
        &self,
        target: &Target,
        cmd: &LocalCommand,
    ) -> Result<LocalChild, TransportError> {
        crate::spawn_local(cmd, target, self.observer())
    }

    /// Run a local program to the end with this transport's observer (non-zero exit is an
    /// error).
    pub fn run_local(
        &self,
        target: &Target,
        cmd: &LocalCommand,
    ) -> Result<CommandOutput, TransportError> {
        crate::run_local(cmd, target, self.observer())
    }

    /// Workers this process has run ssh against.
    pub fn contacted(&self) -> Vec<String> {
        self.contacted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Close the master of every contacted worker (`ssh -O exit`), in parallel, and return
    /// how many answered (were running). Needed with `control_persist_secs = 0`, where
    /// OpenSSH would keep masters forever; also run on drop in that case. Errors are
    /// ignored: a master that is already gone is fine.
    pub fn close_masters(&self) -> usize {
        let hosts: Vec<String> =
            std::mem::take(&mut *self.contacted.lock().unwrap_or_else(|e| e.into_inner()))
                .into_iter()
                .collect();
        // The next command on these workers opens a master again.
        self.gates.lock().unwrap_or_else(|e| e.into_inner()).clear();
        fan_out(hosts, 16, |host| exit_master(&self.settings, host))
            .into_iter()
            .filter(|(_, closed)| *closed)
            .count()
    }

    fn exec(
        &self,
        target: &Target,
        host: &str,
        argv: &[String],
        summary: &str,
        deadline: Option<Duration>,
    ) -> Result<CommandOutput, TransportError> {
        self.contacted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_string());
        self.ensure_master(target, host, summary)?;
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        // Its own process group: a terminal Ctrl-C reaches maand only, which stops
        // starting batches while running remote commands finish (spec 06). The master was
        // opened separately (`ssh -f` detaches it), so a group kill at the deadline ends
        // this client alone.
        process::spawn(cmd, target, summary, self.observer(), true)?.wait(deadline)
    }

    /// Make sure `host` has a master before a command runs, so that parallel first
    /// commands share one connection instead of racing to become master (each loser would
    /// log in on its own). The first caller opens it (`ssh -f -N`) while the others wait
    /// on the worker's gate. When that fails, the caller gets the connection error (its
    /// command never ran; the observer sees its begin, ssh's lines and exit 255), and
    /// callers that waited meanwhile run their commands directly, in parallel, instead of
    /// queueing behind one connect timeout each.
    fn ensure_master(
        &self,
        target: &Target,
        host: &str,
        summary: &str,
    ) -> Result<(), TransportError> {
        let gate = Arc::clone(
            self.gates
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(host.to_string())
                .or_default(),
        );
        let mut state = gate.lock().unwrap_or_else(|e| e.into_inner());
        match *state {
            Gate::Up => return Ok(()),
            Gate::DownSince(t) if t.elapsed() < self.settings.connect_timeout => return Ok(()),
            _ => {}
        }
        if master_running(&self.settings, host) {
            *state = Gate::Up;
            return Ok(());
        }
        // Another maand process on this bucket may have removed the (then empty)
        // directory since `new`.
        ensure_control_dir(&self.settings.control_dir)?;
        let argv = master_argv(&self.settings, host)?;
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        let quiet = Arc::new(CollectingObserver::new());
        let deadline = Some(self.settings.connect_timeout + MASTER_GRACE);
        let out = process::spawn(cmd, target, summary, quiet.clone(), false)?.wait(deadline)?;
        let duration = out.duration;
        match classify_ssh(&self.settings, host, deadline, out) {
            Ok(out) if out.exit == 0 => {
                *state = Gate::Up;
                Ok(())
            }
            result => {
                *state = Gate::DownSince(Instant::now());
                // Replay what the user would have seen from the command itself.
                let observer = self.observer();
                observer.begin(target, summary);
                for event in quiet.events() {
                    if let ObservedEvent::Line { stream, line, .. } = event {
                        observer.line(target, stream, &line);
                    }
                }
                observer.end(target, 255, duration);
                Err(result.err().unwrap_or_else(|| TransportError::Connect {
                    worker: host.to_string(),
                    message: "ssh: could not open the shared connection".to_string(),
                }))
            }
        }
    }
}

/// `ssh -O check`: is a master for `host` running? Local only: it asks the control socket.
pub fn master_running(settings: &SshSettings, host: &str) -> bool {
    control_check_argv(settings, host).is_ok_and(|argv| control_succeeds(&argv))
}

/// `ssh -O exit`: closes the master for `host`; true when one was running.
pub fn exit_master(settings: &SshSettings, host: &str) -> bool {
    control_exit_argv(settings, host).is_ok_and(|argv| control_succeeds(&argv))
}

fn control_succeeds(argv: &[String]) -> bool {
    Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What this process knows about a worker's master.
#[derive(Debug, Default, Clone, Copy)]
enum Gate {
    #[default]
    Unknown,
    Up,
    /// Opening it failed at that time; until a connect timeout has passed, commands run
    /// directly rather than queue for another attempt.
    DownSince(Instant),
}

impl Drop for Transport {
    /// With `control_persist_secs = 0`, close this process's masters. Then remove the
    /// control directory when nothing is left in it (every bucket has its own, and empty
    /// ones would pile up in `/tmp`); persisting masters keep it.
    fn drop(&mut self) {
        let dir = &self.settings.control_dir;
        if self.settings.control_persist_secs == 0 {
            let before = count_entries(dir);
            let closed = self.close_masters();
            // `ssh -O exit` returns once the master agreed to go; it unlinks its socket
            // a moment later.
            let until = Instant::now() + SOCKET_UNLINK_WAIT;
            while closed > 0
                && count_entries(dir) > before.saturating_sub(closed)
                && Instant::now() < until
            {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        remove_control_dir_if_empty(dir);
    }
}

/// Entries in `dir` (0 when unreadable).
fn count_entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// `rmdir` only: a directory that still holds a socket (a persisting master, maybe of
/// another maand process on the same bucket) stays. A process that starts meanwhile
/// re-creates the directory before it opens a master ([`Transport::ensure_master`]).
fn remove_control_dir_if_empty(dir: &Path) {
    let _ = std::fs::remove_dir(dir);
}

fn worker_of(target: &Target) -> Result<&str, TransportError> {
    target
        .worker
        .as_deref()
        .ok_or_else(|| TransportError::InvalidArgument {
            what: "target",
            value: target.label(),
            reason: "a remote command needs a worker",
        })
}

/// rsync's argv without the long `-e` value, for logs.
fn rsync_summary(argv: &[String]) -> String {
    let mut parts = Vec::new();
    let mut skip = false;
    for a in argv {
        if skip {
            skip = false;
            continue;
        }
        if a == "-e" {
            skip = true;
            continue;
        }
        parts.push(crate::quote(a).into_owned());
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsync_summary_drops_the_ssh_command() {
        let argv: Vec<String> = [
            "rsync",
            "-rlpt",
            "-e",
            "ssh -i k",
            "--rsync-path=sudo rsync",
            "/s/",
            "a@h:/d/",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            rsync_summary(&argv),
            "rsync -rlpt '--rsync-path=sudo rsync' /s/ a@h:/d/"
        );
    }

    #[test]
    fn transport_is_shareable_across_fan_out_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Transport>();
    }

    #[test]
    fn target_without_worker_is_a_typed_error() {
        let dir = std::env::temp_dir().join(format!("mt-tr-{}", std::process::id()));
        let settings = SshSettings {
            control_dir: dir.join("cd"),
            ..crate::ssh::tests::settings()
        };
        let t = Transport::new(settings, Arc::new(crate::NullObserver)).unwrap();
        let err = t
            .run(&Target::local("p", "a"), &RemoteCommand::new("true"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid target \"-\": a remote command needs a worker"
        );
        drop(t);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn drop_removes_the_control_dir_unless_something_is_left_in_it() {
        let dir = std::env::temp_dir().join(format!("mt-cd-drop-{}", std::process::id()));
        for persist in [0, 60] {
            let settings = SshSettings {
                control_dir: dir.join("cd"),
                control_persist_secs: persist,
                ..crate::ssh::tests::settings()
            };
            let t = Transport::new(settings.clone(), Arc::new(crate::NullObserver)).unwrap();
            assert!(settings.control_dir.is_dir());
            drop(t);
            assert!(
                !settings.control_dir.exists(),
                "persist {persist}: empty dir left"
            );
            assert!(dir.is_dir(), "the parent stays");

            // A socket of a master that still runs (here: any entry) keeps the directory.
            let t = Transport::new(settings.clone(), Arc::new(crate::NullObserver)).unwrap();
            std::fs::write(settings.control_dir.join("0123abcd"), "").unwrap();
            drop(t);
            assert!(settings.control_dir.join("0123abcd").exists());
            std::fs::remove_dir_all(&settings.control_dir).unwrap();
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
