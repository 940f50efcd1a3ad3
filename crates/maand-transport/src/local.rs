//! Processes on the CLI host (hooks run `python3`/`bun` here), with the same live-line
//! observer as remote commands. Each runs in its own process group so maand can signal the
//! whole tree a hook started (Ctrl-C, deadline) without signalling itself.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal as NixSignal;

use crate::process::{self, Running, TAIL_LINES};
use crate::{CommandOutput, Observer, Target, TransportError};

/// A local program to run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalCommand {
    pub program: String,
    pub args: Vec<String>,
    /// Added to (not replacing) maand's own environment.
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
    /// Kill the process group when this much time has passed.
    pub deadline: Option<Duration>,
}

impl LocalCommand {
    pub fn new(program: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            ..Self::default()
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// `program args…` quoted for display and logs.
    pub fn summary(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| crate::quote(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.cwd {
            c.current_dir(dir);
        }
        c
    }
}

/// Signals maand sends to local process groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
    Kill,
    Stop,
    Continue,
}

impl From<Signal> for NixSignal {
    fn from(s: Signal) -> Self {
        match s {
            Signal::Interrupt => NixSignal::SIGINT,
            Signal::Terminate => NixSignal::SIGTERM,
            Signal::Kill => NixSignal::SIGKILL,
            Signal::Stop => NixSignal::SIGSTOP,
            Signal::Continue => NixSignal::SIGCONT,
        }
    }
}

/// A running local process (leader of its own process group).
pub struct LocalChild {
    running: Running,
    program: String,
    deadline: Option<Duration>,
}

impl LocalChild {
    /// The pid, which is also the process group id.
    pub fn pid(&self) -> u32 {
        self.running.pid() as u32
    }

    /// Signal the whole process group.
    pub fn signal(&self, sig: Signal) -> Result<(), TransportError> {
        self.running.signal(sig.into())
    }

    /// SIGKILL the whole process group.
    pub fn kill(&self) -> Result<(), TransportError> {
        self.signal(Signal::Kill)
    }

    /// Wait for the end (honouring the command's deadline). A non-zero exit is returned as
    /// data; see [`run_local`] for the checked variant.
    pub fn wait(self) -> Result<CommandOutput, TransportError> {
        self.running.wait(self.deadline)
    }

    /// Wait, and turn a non-zero exit or deadline into an error carrying stderr's tail.
    pub fn wait_checked(self) -> Result<CommandOutput, TransportError> {
        let program = self.program.clone();
        let deadline = self.deadline;
        let out = self.wait()?;
        if out.timed_out {
            return Err(TransportError::Deadline {
                who: program,
                after: deadline.unwrap_or_default(),
                hint: "",
            });
        }
        if out.exit != 0 {
            return Err(TransportError::LocalFailed {
                program,
                exit: out.exit,
                stderr_tail: out.stderr_tail(TAIL_LINES),
            });
        }
        Ok(out)
    }
}

/// Start `cmd` in its own process group, streaming its lines to `observer`.
pub fn spawn_local(
    cmd: &LocalCommand,
    target: &Target,
    observer: Arc<dyn Observer>,
) -> Result<LocalChild, TransportError> {
    let running = process::spawn(cmd.command(), target, &cmd.summary(), observer, true)?;
    Ok(LocalChild {
        running,
        program: cmd.program.clone(),
        deadline: cmd.deadline,
    })
}

/// Run `cmd` to the end; non-zero exit and deadline are errors naming the program and
/// quoting its stderr.
pub fn run_local(
    cmd: &LocalCommand,
    target: &Target,
    observer: Arc<dyn Observer>,
) -> Result<CommandOutput, TransportError> {
    spawn_local(cmd, target, observer)?.wait_checked()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CollectingObserver, Stream};
    use std::time::Instant;

    #[test]
    fn runs_with_env_cwd_and_streams() {
        let obs = Arc::new(CollectingObserver::new());
        let cmd = LocalCommand::new("bash")
            .args(["-c", "echo \"$GREETING from $(pwd)\"; echo warn >&2"])
            .env("GREETING", "hello")
            .cwd("/tmp");
        let t = Target::local("job_command", "hook").with_job("api");
        let out = run_local(&cmd, &t, obs.clone()).unwrap();
        assert_eq!(out.stdout(), "hello from /tmp");
        let lines: Vec<_> = obs
            .events()
            .into_iter()
            .filter_map(|e| match e {
                crate::ObservedEvent::Line {
                    stream: Stream::Stderr,
                    line,
                    ..
                } => Some(line),
                _ => None,
            })
            .collect();
        assert_eq!(lines, vec!["warn"]);
        assert_eq!(
            cmd.summary(),
            "bash -c 'echo \"$GREETING from $(pwd)\"; echo warn >&2'"
        );
    }

    #[test]
    fn failure_carries_stderr_and_missing_program_is_typed() {
        let obs: Arc<dyn Observer> = Arc::new(crate::NullObserver);
        let t = Target::local("x", "y");
        let err = run_local(
            &LocalCommand::new("bash").args(["-c", "echo boom >&2; exit 4"]),
            &t,
            obs.clone(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "bash: failed (exit 4): boom");
        let err = run_local(&LocalCommand::new("/nonexistent/prog"), &t, obs).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot run /nonexistent/prog: "),
            "{err}"
        );
    }

    #[test]
    fn kill_reaches_the_whole_group() {
        let obs: Arc<dyn Observer> = Arc::new(crate::NullObserver);
        let t = Target::local("x", "y");
        let started = Instant::now();
        // The grandchild `sleep` holds stdout; killing only bash would leave us draining.
        let child = spawn_local(
            &LocalCommand::new("bash").args(["-c", "sleep 30 & sleep 30; wait"]),
            &t,
            obs.clone(),
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        child.signal(Signal::Terminate).unwrap();
        let out = child.wait().unwrap();
        assert_eq!(out.exit, 128 + 15);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );

        let err = run_local(
            &LocalCommand::new("sleep")
                .arg("30")
                .deadline(Duration::from_millis(200)),
            &t,
            obs,
        )
        .unwrap_err();
        assert!(matches!(err, TransportError::Deadline { .. }), "{err}");
    }
}
