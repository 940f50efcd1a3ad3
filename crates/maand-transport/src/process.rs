//! Spawning a child, streaming its output line by line to an observer while it runs, and
//! waiting for it under an optional deadline.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal as NixSignal};
use nix::unistd::Pid;

use crate::{Observer, Stream, Target, TransportError};

/// Bytes of stdout kept in a [`CommandOutput`] (the oldest lines go first).
const STDOUT_BUDGET: usize = 8 << 20;
/// Bytes of stderr kept.
const STDERR_BUDGET: usize = 1 << 20;
/// Longest line delivered as one piece; longer runs are split.
const MAX_LINE: u64 = 1 << 20;
/// How long to keep reading after the child exited: a background grandchild may hold the
/// pipes open forever, and we must not wait for it.
const DRAIN_GRACE: Duration = Duration::from_secs(2);
/// The same after maand killed the child: an ssh mux client hands its pipes to the master,
/// which keeps them while the (frozen) worker never answers.
const DRAIN_GRACE_KILLED: Duration = Duration::from_millis(200);
/// How many lines the error helpers quote.
pub(crate) const TAIL_LINES: usize = 20;

/// What a finished process left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandOutput {
    /// Exit code; `128 + signal` when killed by a signal.
    pub exit: i32,
    /// Wall time from spawn to exit.
    pub duration: Duration,
    /// maand killed the process because its local deadline passed.
    pub timed_out: bool,
    stdout: VecDeque<String>,
    stderr: VecDeque<String>,
}

impl CommandOutput {
    /// Build an output by hand (tests of code that consumes outputs).
    pub fn from_parts(
        exit: i32,
        duration: Duration,
        stdout: Vec<String>,
        stderr: Vec<String>,
        timed_out: bool,
    ) -> Self {
        Self {
            exit,
            duration,
            timed_out,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    pub fn success(&self) -> bool {
        self.exit == 0 && !self.timed_out
    }

    /// All captured stdout lines (up to 8 MiB; older lines are dropped beyond that).
    pub fn stdout_lines(&self) -> impl Iterator<Item = &str> {
        self.stdout.iter().map(String::as_str)
    }

    /// Captured stdout joined with newlines.
    pub fn stdout(&self) -> String {
        join(&self.stdout)
    }

    /// All captured stderr lines (up to 1 MiB).
    pub fn stderr_lines(&self) -> impl Iterator<Item = &str> {
        self.stderr.iter().map(String::as_str)
    }

    /// Captured stderr joined with newlines.
    pub fn stderr(&self) -> String {
        join(&self.stderr)
    }

    /// The last `n` stdout lines.
    pub fn stdout_tail(&self, n: usize) -> Vec<String> {
        tail(&self.stdout, n)
    }

    /// The last `n` stderr lines.
    pub fn stderr_tail(&self, n: usize) -> Vec<String> {
        tail(&self.stderr, n)
    }
}

fn join(lines: &VecDeque<String>) -> String {
    lines
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

fn tail(lines: &VecDeque<String>, n: usize) -> Vec<String> {
    lines
        .iter()
        .skip(lines.len().saturating_sub(n))
        .cloned()
        .collect()
}

#[derive(Default)]
struct Captured {
    out: CommandOutput,
    stdout_bytes: usize,
    stderr_bytes: usize,
}

impl Captured {
    fn push(&mut self, stream: Stream, line: String) {
        let (lines, bytes, budget) = match stream {
            Stream::Stdout => (&mut self.out.stdout, &mut self.stdout_bytes, STDOUT_BUDGET),
            Stream::Stderr => (&mut self.out.stderr, &mut self.stderr_bytes, STDERR_BUDGET),
        };
        *bytes += line.len() + 1;
        lines.push_back(line);
        while *bytes > budget {
            match lines.pop_front() {
                Some(old) => *bytes -= old.len() + 1,
                None => break,
            }
        }
    }
}

/// A running child whose output is being streamed.
pub(crate) struct Running {
    pid: i32,
    own_group: bool,
    start: Instant,
    exit_rx: Receiver<std::io::Result<ExitStatus>>,
    drained_rx: Receiver<()>,
    captured: Arc<Mutex<Captured>>,
    target: Target,
    observer: Arc<dyn Observer>,
    program: String,
}

/// Spawn `cmd` (stdin from /dev/null, stdout/stderr piped), announce it to the observer
/// with `summary`, and start streaming. `own_group` puts the child in a new process group
/// so signals reach its whole tree (local hooks); ssh stays in ours so a deadline kill never
/// takes down the master it may have forked.
pub(crate) fn spawn(
    mut cmd: Command,
    target: &Target,
    summary: &str,
    observer: Arc<dyn Observer>,
    own_group: bool,
) -> Result<Running, TransportError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if own_group {
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    }
    observer.begin(target, summary);
    let start = Instant::now();
    let mut child: Child = match cmd.spawn() {
        Ok(c) => c,
        Err(source) => {
            observer.end(target, -1, start.elapsed());
            return Err(TransportError::Spawn { program, source });
        }
    };
    let pid = child.id() as i32;
    let captured = Arc::new(Mutex::new(Captured::default()));
    let (drained_tx, drained_rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        pump(
            out,
            Stream::Stdout,
            target,
            &observer,
            &captured,
            drained_tx.clone(),
        );
    }
    if let Some(err) = child.stderr.take() {
        pump(
            err,
            Stream::Stderr,
            target,
            &observer,
            &captured,
            drained_tx.clone(),
        );
    }
    drop(drained_tx);
    let (exit_tx, exit_rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = exit_tx.send(child.wait());
    });
    Ok(Running {
        pid,
        own_group,
        start,
        exit_rx,
        drained_rx,
        captured,
        target: target.clone(),
        observer,
        program,
    })
}

fn pump<R: Read + Send + 'static>(
    reader: R,
    stream: Stream,
    target: &Target,
    observer: &Arc<dyn Observer>,
    captured: &Arc<Mutex<Captured>>,
    done: mpsc::Sender<()>,
) {
    let target = target.clone();
    let observer = Arc::clone(observer);
    let captured = Arc::clone(captured);
    thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.by_ref().take(MAX_LINE).read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(_) => {
                    if buf.last() == Some(&b'\n') {
                        buf.pop();
                    }
                    if buf.last() == Some(&b'\r') {
                        buf.pop();
                    }
                    let line = String::from_utf8_lossy(&buf).into_owned();
                    observer.line(&target, stream, &line);
                    captured
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(stream, line);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let _ = done.send(());
    });
}

impl Running {
    pub(crate) fn pid(&self) -> i32 {
        self.pid
    }

    /// Send `sig` to the child (its whole group when it has its own). The child is not
    /// reaped before [`Running::wait`] returns, so its pid cannot have been reused.
    pub(crate) fn signal(&self, sig: NixSignal) -> Result<(), TransportError> {
        let res = if self.own_group {
            signal::killpg(Pid::from_raw(self.pid), sig)
        } else {
            signal::kill(Pid::from_raw(self.pid), sig)
        };
        match res {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(e) => Err(TransportError::Io {
                context: format!("signal {sig} to {} (pid {})", self.program, self.pid),
                source: std::io::Error::from(e),
            }),
        }
    }

    /// Wait for the exit (killing the child once `deadline` has passed since spawn), drain
    /// its output and report the end to the observer.
    pub(crate) fn wait(self, deadline: Option<Duration>) -> Result<CommandOutput, TransportError> {
        let mut timed_out = false;
        let status = match deadline {
            None => self.exit_rx.recv().ok(),
            Some(limit) => {
                let left = limit.saturating_sub(self.start.elapsed());
                match self.exit_rx.recv_timeout(left) {
                    Ok(s) => Some(s),
                    Err(RecvTimeoutError::Timeout) => {
                        timed_out = true;
                        let _ = self.signal(NixSignal::SIGKILL);
                        self.exit_rx.recv().ok()
                    }
                    Err(RecvTimeoutError::Disconnected) => None,
                }
            }
        };
        let duration = self.start.elapsed();
        let exit = match status {
            Some(Ok(s)) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)),
            Some(Err(source)) => {
                self.observer.end(&self.target, -1, duration);
                return Err(TransportError::Io {
                    context: format!("wait for {} (pid {})", self.program, self.pid),
                    source,
                });
            }
            None => -1,
        };
        // Both pumps send once at EOF; stop waiting after a grace period.
        let grace = if timed_out {
            DRAIN_GRACE_KILLED
        } else {
            DRAIN_GRACE
        };
        let drain_until = Instant::now() + grace;
        for _ in 0..2 {
            let left = drain_until.saturating_duration_since(Instant::now());
            if self.drained_rx.recv_timeout(left).is_err() {
                break;
            }
        }
        self.observer.end(&self.target, exit, duration);
        let mut captured = self.captured.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = std::mem::take(&mut captured.out);
        out.exit = exit;
        out.duration = duration;
        out.timed_out = timed_out;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CollectingObserver, ObservedEvent};

    fn sh(script: &str) -> Command {
        let mut c = Command::new("bash");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn streams_lines_and_keeps_exit_code() {
        let obs = Arc::new(CollectingObserver::new());
        let t = Target::local("test", "sh");
        let r = spawn(
            sh("echo one; echo two >&2; printf 'three'; exit 3"),
            &t,
            "s",
            obs.clone(),
            true,
        )
        .unwrap();
        let out = r.wait(None).unwrap();
        assert_eq!(out.exit, 3);
        assert_eq!(out.stdout(), "one\nthree");
        assert_eq!(out.stderr_tail(5), vec!["two".to_string()]);
        let ev = obs.events();
        assert_eq!(
            ev.first(),
            Some(&ObservedEvent::Begin {
                target: t.clone(),
                cmd: "s".into()
            })
        );
        assert_eq!(ev.last(), Some(&ObservedEvent::End { target: t, exit: 3 }));
        assert_eq!(ev.len(), 5);
    }

    #[test]
    fn deadline_kills_and_background_children_do_not_block() {
        let obs: Arc<dyn Observer> = Arc::new(crate::NullObserver);
        let t = Target::local("test", "sh");
        let started = Instant::now();
        let r = spawn(sh("sleep 30"), &t, "s", obs.clone(), true).unwrap();
        let out = r.wait(Some(Duration::from_millis(300))).unwrap();
        assert!(out.timed_out);
        assert_eq!(out.exit, 128 + 9);
        assert!(started.elapsed() < Duration::from_secs(5));

        // The child exits at once but leaves a grandchild holding stdout.
        let started = Instant::now();
        let r = spawn(sh("echo hi; (sleep 30 &)"), &t, "s", obs, false).unwrap();
        let out = r.wait(None).unwrap();
        assert_eq!(out.exit, 0);
        assert_eq!(out.stdout(), "hi");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn stdout_budget_drops_oldest_lines() {
        let mut c = Captured::default();
        for i in 0..10 {
            c.push(
                Stream::Stderr,
                format!("{i}{}", "x".repeat(STDERR_BUDGET / 4)),
            );
        }
        assert!(c.out.stderr.len() <= 4);
        assert!(c.out.stderr.back().unwrap().starts_with('9'));
    }
}
