//! The ssh command line, as data. Nothing here does I/O.

use std::path::Path;

use crate::{SshSettings, TransportError};

/// Check a worker host before it goes on a command line: 1–253 characters of
/// `A-Z a-z 0-9 . - : _`, not starting with `-` (so ssh can never read it as an option).
/// The same rule as `workers.json` (spec 02 §5).
pub fn validate_host(host: &str) -> Result<(), TransportError> {
    let bad = |reason| TransportError::InvalidArgument {
        what: "worker host",
        value: host.to_string(),
        reason,
    };
    if host.is_empty() || host.len() > 253 {
        return Err(bad("must be 1 to 253 characters"));
    }
    if host.starts_with('-') {
        return Err(bad("must not start with '-'"));
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'))
    {
        return Err(bad("allowed characters are A-Z a-z 0-9 . - : _"));
    }
    Ok(())
}

fn validate_user(user: &str) -> Result<(), TransportError> {
    let ok = !user.is_empty()
        && !user.starts_with('-')
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(TransportError::InvalidArgument {
            what: "ssh user",
            value: user.to_string(),
            reason: "allowed characters are A-Z a-z 0-9 . - _, not starting with '-'",
        })
    }
}

/// `user@host`, validated. IPv6 literals need no brackets here (ssh splits at the last `@`).
pub fn destination(settings: &SshSettings, host: &str) -> Result<String, TransportError> {
    validate_user(&settings.user)?;
    validate_host(host)?;
    Ok(format!("{}@{host}", settings.user))
}

/// A path as an ssh option value: `%` is doubled (ssh expands `%` tokens in `IdentityFile`,
/// `UserKnownHostsFile`, `ControlPath`) and values with blanks or quotes are double-quoted,
/// the way ssh's own config tokenizer reads them.
fn path_value(path: &Path) -> String {
    let s = path.to_string_lossy().replace('%', "%%");
    if s.chars()
        .any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
    {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s
    }
}

/// Every option maand passes to ssh, between `ssh` and the destination. rsync gets the same
/// list through `-e`, so both share one multiplexed master per worker.
///
/// `LogLevel=ERROR` (beyond the spec list) hides the "Permanently added … to the list of
/// known hosts" chatter of trust-on-first-use while keeping connection errors and the
/// changed-host-key warning, which OpenSSH logs at error level.
pub fn ssh_options(settings: &SshSettings) -> Vec<String> {
    let mut v = Vec::with_capacity(32);
    if let Some(cfg) = &settings.ssh_config {
        v.push("-F".to_string());
        v.push(cfg.to_string_lossy().into_owned());
    }
    v.push("-i".to_string());
    // `-i` is not run through the config tokenizer: only `%` needs escaping.
    v.push(settings.key_path.to_string_lossy().replace('%', "%%"));
    v.push("-p".to_string());
    v.push(settings.port.to_string());
    let control_path = path_value(&settings.control_dir.join("%C")).replace("%%C", "%C");
    for opt in [
        "IdentitiesOnly=yes".to_string(),
        "BatchMode=yes".to_string(),
        format!("ConnectTimeout={}", settings.connect_timeout_secs()),
        "ServerAliveInterval=15".to_string(),
        "ServerAliveCountMax=3".to_string(),
        format!("UserKnownHostsFile={}", path_value(&settings.known_hosts)),
        "StrictHostKeyChecking=accept-new".to_string(),
        "ControlMaster=auto".to_string(),
        format!("ControlPath={control_path}"),
        format!("ControlPersist={}", settings.control_persist_secs),
        "LogLevel=ERROR".to_string(),
    ] {
        v.push("-o".to_string());
        v.push(opt);
    }
    v
}

/// The full argv of `ssh … user@host <remote_line>`.
pub fn ssh_argv(
    settings: &SshSettings,
    host: &str,
    remote_line: &str,
) -> Result<Vec<String>, TransportError> {
    let mut v = vec!["ssh".to_string()];
    v.extend(ssh_options(settings));
    v.push(destination(settings, host)?);
    v.push(remote_line.to_string());
    Ok(v)
}

/// `ssh … -O exit user@host`: asks the master for `host` to close.
pub fn control_exit_argv(
    settings: &SshSettings,
    host: &str,
) -> Result<Vec<String>, TransportError> {
    control_argv(settings, host, "exit")
}

/// `ssh … -O check user@host`: exits 0 when a master for `host` is running. Local only: it
/// talks to the control socket, never to the worker.
pub fn control_check_argv(
    settings: &SshSettings,
    host: &str,
) -> Result<Vec<String>, TransportError> {
    control_argv(settings, host, "check")
}

/// `ssh … -f -N user@host`: open the master for `host` and return once it is
/// authenticated and listening (the master goes to the background, its stdio on
/// /dev/null). Opening it explicitly, once, lets parallel first commands share it.
pub fn master_argv(settings: &SshSettings, host: &str) -> Result<Vec<String>, TransportError> {
    let mut v = vec!["ssh".to_string()];
    v.extend(ssh_options(settings));
    v.extend(["-f".to_string(), "-N".to_string()]);
    v.push(destination(settings, host)?);
    Ok(v)
}

fn control_argv(
    settings: &SshSettings,
    host: &str,
    op: &str,
) -> Result<Vec<String>, TransportError> {
    let mut v = vec!["ssh".to_string()];
    v.extend(ssh_options(settings));
    v.extend(["-O".to_string(), op.to_string()]);
    v.push(destination(settings, host)?);
    Ok(v)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    pub(crate) fn settings() -> SshSettings {
        SshSettings {
            user: "agent".into(),
            key_path: "/b/secrets/worker.key".into(),
            port: 22,
            connect_timeout: Duration::from_secs(10),
            control_persist_secs: 60,
            known_hosts: "/b/secrets/known_hosts".into(),
            ssh_config: None,
            use_sudo: true,
            control_dir: "/tmp/maand-ssh-0/0badcafe".into(),
        }
    }

    pub(crate) const OPTS: &[&str] = &[
        "-i",
        "/b/secrets/worker.key",
        "-p",
        "22",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "ServerAliveCountMax=3",
        "-o",
        "UserKnownHostsFile=/b/secrets/known_hosts",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "ControlMaster=auto",
        "-o",
        "ControlPath=/tmp/maand-ssh-0/0badcafe/%C",
        "-o",
        "ControlPersist=60",
        "-o",
        "LogLevel=ERROR",
    ];

    #[test]
    fn ssh_argv_is_exact() {
        let argv = ssh_argv(&settings(), "10.0.0.1", "bash -c 'uptime'").unwrap();
        let mut want: Vec<&str> = vec!["ssh"];
        want.extend(OPTS);
        want.extend(["agent@10.0.0.1", "bash -c 'uptime'"]);
        assert_eq!(argv, want);
    }

    #[test]
    fn ssh_config_port_and_persist_zero() {
        let s = SshSettings {
            ssh_config: Some("/b/ssh_config".into()),
            port: 2222,
            control_persist_secs: 0,
            ..settings()
        };
        let argv = ssh_argv(&s, "w1.example", "true").unwrap();
        assert_eq!(
            &argv[..5],
            ["ssh", "-F", "/b/ssh_config", "-i", "/b/secrets/worker.key"]
        );
        assert_eq!(&argv[5..7], ["-p", "2222"]);
        assert!(argv.contains(&"ControlPersist=0".to_string()));
        assert_eq!(&argv[argv.len() - 2..], ["agent@w1.example", "true"]);
    }

    #[test]
    fn paths_with_blanks_and_percent_are_escaped_for_ssh() {
        let s = SshSettings {
            key_path: PathBuf::from("/my bucket/secrets/100%.key"),
            known_hosts: PathBuf::from("/my bucket/secrets/known_hosts"),
            ..settings()
        };
        let argv = ssh_options(&s);
        assert_eq!(argv[1], "/my bucket/secrets/100%%.key");
        assert!(argv.contains(&"UserKnownHostsFile=\"/my bucket/secrets/known_hosts\"".to_string()));
    }

    #[test]
    fn control_exit() {
        let argv = control_exit_argv(&settings(), "10.0.0.1").unwrap();
        let mut want: Vec<&str> = vec!["ssh"];
        want.extend(OPTS);
        want.extend(["-O", "exit", "agent@10.0.0.1"]);
        assert_eq!(argv, want);
        let argv = master_argv(&settings(), "10.0.0.1").unwrap();
        let mut want: Vec<&str> = vec!["ssh"];
        want.extend(OPTS);
        want.extend(["-f", "-N", "agent@10.0.0.1"]);
        assert_eq!(argv, want);
        let argv = control_check_argv(&settings(), "10.0.0.1").unwrap();
        assert_eq!(&argv[argv.len() - 3..], ["-O", "check", "agent@10.0.0.1"]);
    }

    #[test]
    fn hostile_hosts_and_users_are_rejected() {
        for h in ["", "-oProxyCommand=x", "a b", "a;b", "$(x)", "a\nb"] {
            let err = ssh_argv(&settings(), h, "true").unwrap_err();
            assert!(
                matches!(
                    err,
                    TransportError::InvalidArgument {
                        what: "worker host",
                        ..
                    }
                ),
                "{h}"
            );
        }
        let s = SshSettings {
            user: "-l".into(),
            ..settings()
        };
        assert!(ssh_argv(&s, "10.0.0.1", "true").is_err());
        assert!(validate_host("fe80::1").is_ok());
    }
}
