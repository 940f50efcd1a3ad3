//! A remote command as data: a bash script plus how to run it. [`RemoteCommand::remote_line`]
//! renders the one shell line that ssh hands to the worker's login shell.

use std::time::Duration;

use crate::quote::try_quote;
use crate::TransportError;

/// Grace period the remote `timeout` gives a command after SIGTERM before SIGKILL.
pub(crate) const KILL_AFTER_SECS: u64 = 10;

/// A bash script to run on one worker.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoteCommand {
    /// The script, run by `bash -c`. Compose user data into it with [`crate::quote`].
    pub script: String,
    /// The command needs root; it runs under `sudo -E` when the settings say `use_sudo`.
    pub sudo: bool,
    /// Wrap in `timeout -k 10 <secs>` on the worker (exit 124 when it fires).
    pub timeout_secs: Option<u64>,
    /// Exported at the top of the script (names must be shell identifiers).
    pub env: Vec<(String, String)>,
    /// `cd` here before the script; the command fails if the directory is missing.
    pub cwd: Option<String>,
    /// Local deadline after which maand kills ssh. Default: the remote timeout plus its
    /// kill grace, the connect timeout and 5 s; none without a remote timeout (ssh's
    /// `ServerAlive*` then notices a dead connection within 45 s).
    pub deadline: Option<Duration>,
}

impl RemoteCommand {
    pub fn new(script: impl Into<String>) -> Self {
        Self {
            script: script.into(),
            ..Self::default()
        }
    }

    /// Mark as needing root.
    pub fn sudo(mut self) -> Self {
        self.sudo = true;
        self
    }

    /// Bound the run time on the worker.
    pub fn timeout(mut self, secs: u64) -> Self {
        self.timeout_secs = Some(secs);
        self
    }

    /// Export `name=value` for the script.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Run in `dir`.
    pub fn cwd(mut self, dir: impl Into<String>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Override the local deadline.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The script bash runs: `export` lines, the `cd`, then the script verbatim.
    pub fn script_text(&self) -> Result<String, TransportError> {
        let mut text = String::new();
        for (name, value) in &self.env {
            let ok = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(TransportError::InvalidArgument {
                    what: "environment variable name",
                    value: name.clone(),
                    reason: "must be a shell identifier ([A-Za-z_][A-Za-z0-9_]*)",
                });
            }
            text.push_str(&format!(
                "export {name}={}\n",
                try_quote("environment value", value)?
            ));
        }
        if let Some(dir) = &self.cwd {
            text.push_str(&format!("cd {} || exit 1\n", try_quote("directory", dir)?));
        }
        text.push_str(&self.script);
        Ok(text)
    }

    /// The line the worker's login shell runs:
    /// `[timeout -k 10 <n> ][sudo -E ]bash -c '<script>'`. `sudo` applies only when the
    /// command needs root *and* `use_sudo` is set.
    pub fn remote_line(&self, use_sudo: bool) -> Result<String, TransportError> {
        let mut line = String::new();
        if let Some(secs) = self.timeout_secs {
            line.push_str(&format!("timeout -k {KILL_AFTER_SECS} {secs} "));
        }
        if self.sudo && use_sudo {
            line.push_str("sudo -E ");
        }
        line.push_str("bash -c ");
        line.push_str(&try_quote("script", &self.script_text()?)?);
        Ok(line)
    }

    /// The local deadline for this command given the connect timeout.
    pub fn effective_deadline(&self, connect_timeout: Duration) -> Option<Duration> {
        self.deadline.or_else(|| {
            self.timeout_secs
                .map(|t| Duration::from_secs(t + KILL_AFTER_SECS + 5) + connect_timeout)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_script() {
        let c = RemoteCommand::new("uptime");
        assert_eq!(c.remote_line(true).unwrap(), "bash -c uptime");
        let c = RemoteCommand::new("echo hello world");
        assert_eq!(c.remote_line(false).unwrap(), "bash -c 'echo hello world'");
    }

    #[test]
    fn sudo_timeout_env_cwd() {
        let c = RemoteCommand::new("make -s start")
            .sudo()
            .timeout(600)
            .env("BUCKET_ID", "b1")
            .env("NEW_VERSION", "1.2 beta")
            .cwd("/opt/worker/b1/jobs/api");
        assert_eq!(
            c.script_text().unwrap(),
            "export BUCKET_ID=b1\nexport NEW_VERSION='1.2 beta'\ncd /opt/worker/b1/jobs/api || exit 1\nmake -s start"
        );
        assert_eq!(
            c.remote_line(true).unwrap(),
            "timeout -k 10 600 sudo -E bash -c 'export BUCKET_ID=b1\nexport NEW_VERSION='\"'\"'1.2 beta'\"'\"'\ncd /opt/worker/b1/jobs/api || exit 1\nmake -s start'"
        );
        // use_sudo = false: the sudo flag is ignored.
        assert!(c
            .remote_line(false)
            .unwrap()
            .starts_with("timeout -k 10 600 bash -c '"));
        assert_eq!(
            c.effective_deadline(Duration::from_secs(10)),
            Some(Duration::from_secs(625))
        );
        assert_eq!(
            RemoteCommand::new("x").effective_deadline(Duration::from_secs(10)),
            None
        );
    }

    #[test]
    fn remote_line_round_trips_through_a_shell_parser() {
        let script = "echo \"it's $HOME\"; printf '%s\\n' `id -u`";
        let line = RemoteCommand::new(script).remote_line(false).unwrap();
        let words = shlex::split(&line).unwrap();
        assert_eq!(words, vec!["bash", "-c", script]);
    }

    #[test]
    fn bad_env_names_and_nul_bytes_are_typed_errors() {
        let e = RemoteCommand::new("x")
            .env("A-B", "1")
            .remote_line(false)
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid environment variable name \"A-B\""),
            "{e}"
        );
        let e = RemoteCommand::new("a\0").remote_line(false).unwrap_err();
        assert!(e.to_string().contains("NUL"), "{e}");
    }
}
