//! Turning a finished ssh or rsync process into a result: which failures are the
//! transport's (unreachable worker, changed host key, local deadline) and what OpenSSH or
//! rsync said about them. Pure functions, so every message is unit-tested exactly.

use std::time::Duration;

use crate::{CommandOutput, SshSettings, TransportError};

/// What OpenSSH prints (at error level) when a known host shows a different key.
const HOST_KEY_CHANGED: &str = "REMOTE HOST IDENTIFICATION HAS CHANGED";
/// What it prints last in that case (with `accept-new`, only on a mismatch).
const HOST_KEY_FAILED: &str = "Host key verification failed";
const FROZEN_HINT: &str = " (the host may be frozen, overloaded or black-holed)";
/// rsync error lines quoted in an error.
const RSYNC_LINES: usize = 8;

/// Deadline and changed host key, common to ssh and rsync.
fn common(
    settings: &SshSettings,
    host: &str,
    deadline: Option<Duration>,
    out: CommandOutput,
) -> Result<CommandOutput, TransportError> {
    if out.timed_out {
        return Err(TransportError::Deadline {
            who: format!("worker {host}"),
            after: deadline.unwrap_or_default(),
            hint: FROZEN_HINT,
        });
    }
    if out.exit != 0
        && out
            .stderr_lines()
            .any(|l| l.contains(HOST_KEY_CHANGED) || l.contains(HOST_KEY_FAILED))
    {
        return Err(TransportError::HostKeyChanged {
            worker: host.to_string(),
            known_hosts: settings.known_hosts.clone(),
            host_pattern: settings.known_hosts_pattern(host),
        });
    }
    Ok(out)
}

fn error_lines(out: &CommandOutput) -> Vec<&str> {
    out.stderr_lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// An ssh run: exit 255 means ssh itself failed, reported in OpenSSH's words; any other
/// exit code belongs to the remote command and is returned as data.
pub(crate) fn classify_ssh(
    settings: &SshSettings,
    host: &str,
    deadline: Option<Duration>,
    out: CommandOutput,
) -> Result<CommandOutput, TransportError> {
    let out = common(settings, host, deadline, out)?;
    if out.exit != 255 {
        return Ok(out);
    }
    let lines = error_lines(&out);
    let message = match lines.iter().rev().find(|l| l.starts_with("ssh:")) {
        Some(l) => l.to_string(),
        None => match lines.last() {
            Some(l) => format!("ssh: {l}"),
            None => "ssh: connection failed or lost (exit 255, no message)".to_string(),
        },
    };
    Err(TransportError::Connect {
        worker: host.to_string(),
        message,
    })
}

/// An rsync run: any non-zero exit is an error; an `ssh:` line means the connection
/// failed, otherwise rsync's own last lines explain it.
pub(crate) fn classify_rsync(
    settings: &SshSettings,
    host: &str,
    deadline: Option<Duration>,
    out: CommandOutput,
) -> Result<CommandOutput, TransportError> {
    let out = common(settings, host, deadline, out)?;
    if out.exit == 0 {
        return Ok(out);
    }
    let lines = error_lines(&out);
    if let Some(ssh_line) = lines.iter().rev().find(|l| l.starts_with("ssh:")) {
        return Err(TransportError::Connect {
            worker: host.to_string(),
            message: ssh_line.to_string(),
        });
    }
    let tail = &lines[lines.len().saturating_sub(RSYNC_LINES)..];
    Err(TransportError::Rsync {
        worker: host.to_string(),
        exit: out.exit,
        message: if tail.is_empty() {
            "no error output".to_string()
        } else {
            tail.join(" / ")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SshSettings {
        SshSettings {
            port: 2222,
            ..crate::ssh::tests::settings()
        }
    }

    fn out(exit: i32, stderr: &[&str]) -> CommandOutput {
        CommandOutput::from_parts(
            exit,
            Duration::from_millis(5),
            vec![],
            stderr.iter().map(|s| s.to_string()).collect(),
            false,
        )
    }

    #[test]
    fn connection_refused() {
        let e = classify_ssh(
            &settings(),
            "10.0.0.2",
            None,
            out(
                255,
                &["ssh: connect to host 10.0.0.2 port 2222: Connection refused"],
            ),
        )
        .unwrap_err();
        assert!(e.is_unreachable());
        assert_eq!(e.worker(), Some("10.0.0.2"));
        assert_eq!(
            e.to_string(),
            "worker 10.0.0.2: ssh: connect to host 10.0.0.2 port 2222: Connection refused"
        );
    }

    #[test]
    fn banner_timeout_and_silent_255() {
        let e = classify_ssh(
            &settings(),
            "10.0.0.2",
            None,
            out(
                255,
                &[
                    "Connection timed out during banner exchange",
                    "Connection to 10.0.0.2 port 2222 timed out",
                ],
            ),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "worker 10.0.0.2: ssh: Connection to 10.0.0.2 port 2222 timed out"
        );
        let e = classify_ssh(&settings(), "h", None, out(255, &[])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "worker h: ssh: connection failed or lost (exit 255, no message)"
        );
    }

    #[test]
    fn other_exit_codes_are_data() {
        let o = classify_ssh(&settings(), "h", None, out(3, &["boom"])).unwrap();
        assert_eq!(o.exit, 3);
    }

    #[test]
    fn changed_host_key_explains_the_fix() {
        let e = classify_ssh(
            &settings(),
            "10.0.0.2",
            None,
            out(
                255,
                &[
                    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
                    "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
                    "Host key verification failed.",
                ],
            ),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "worker 10.0.0.2: host key changed (the host was reinstalled, or someone is \
             intercepting the connection); if the change is expected, remove the stale line \
             with: ssh-keygen -f /b/secrets/known_hosts -R '[10.0.0.2]:2222'"
        );
    }

    #[test]
    fn local_deadline() {
        let mut o = out(137, &[]);
        o.timed_out = true;
        let e = classify_ssh(&settings(), "h", Some(Duration::from_secs(30)), o).unwrap_err();
        assert_eq!(
            e.to_string(),
            "worker h: no result within 30s, killed (the host may be frozen, overloaded or black-holed)"
        );
        assert!(e.is_unreachable());
    }

    #[test]
    fn rsync_errors() {
        let e = classify_rsync(
            &settings(),
            "h",
            None,
            out(
                23,
                &[
                    "rsync: [receiver] mkstemp \"/opt/worker/b1/.f.XyZ\" failed: Read-only file system (30)",
                    "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338) [sender=3.2.7]",
                ],
            ),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "worker h: rsync failed (exit 23): rsync: [receiver] mkstemp \"/opt/worker/b1/.f.XyZ\" failed: Read-only file system (30) / rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338) [sender=3.2.7]"
        );
        let e = classify_rsync(
            &settings(),
            "h",
            None,
            out(
                255,
                &[
                    "ssh: connect to host h port 2222: Connection refused",
                    "rsync: connection unexpectedly closed (0 bytes received so far) [sender]",
                ],
            ),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "worker h: ssh: connect to host h port 2222: Connection refused"
        );
        assert!(classify_rsync(&settings(), "h", None, out(0, &[])).is_ok());
    }
}
