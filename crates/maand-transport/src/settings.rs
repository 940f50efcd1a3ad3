//! Connection settings and the private ssh control directory.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::TransportError;

/// Longest control directory we accept. ssh binds `<dir>/<%C: 40 hex>` and, while creating
/// a master, a temporary `<that>.<16 random chars>`; a unix socket path must fit in 108
/// bytes including the NUL.
pub(crate) const MAX_CONTROL_DIR_LEN: usize = 108 - 1 - 1 - 40 - 17;

/// How maand reaches workers (spec 12 "Connection settings"); built from `maand.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSettings {
    /// Remote user (`ssh_user`).
    pub user: String,
    /// Private key file (`secrets/<ssh_key>`).
    pub key_path: PathBuf,
    /// Port of every worker (`ssh_port`).
    pub port: u16,
    /// `ConnectTimeout` (`ssh_connect_timeout`); also bounds the handshake.
    pub connect_timeout: Duration,
    /// `ControlPersist` seconds (`ssh_control_persist`). `0` keeps masters only while this
    /// process runs: [`crate::Transport::close_masters`] (also run on drop) closes them.
    pub control_persist_secs: u64,
    /// Bucket-local `known_hosts` (`secrets/known_hosts`), trust on first use.
    pub known_hosts: PathBuf,
    /// Extra OpenSSH config passed with `-F` (bastions, ProxyJump).
    pub ssh_config: Option<PathBuf>,
    /// Whether commands that need root (rsync receiver, runner, cleanup) go through `sudo`.
    pub use_sudo: bool,
    /// Where the multiplexing sockets live; see [`control_dir_for_bucket`].
    pub control_dir: PathBuf,
}

impl SshSettings {
    /// Settings for `bucket` with the spec defaults for everything not given: connect
    /// timeout 10 s, control persist 60 s, `secrets/known_hosts`, no `-F`, sudo on, and the
    /// bucket's derived control directory.
    pub fn for_bucket(bucket: &Path, user: &str, key_path: PathBuf, port: u16) -> Self {
        Self {
            user: user.to_string(),
            key_path,
            port,
            connect_timeout: Duration::from_secs(10),
            control_persist_secs: 60,
            known_hosts: bucket.join("secrets").join("known_hosts"),
            ssh_config: None,
            use_sudo: true,
            control_dir: control_dir_for_bucket(bucket),
        }
    }

    /// `ConnectTimeout` in whole seconds (at least 1: `0` would mean "system default").
    pub fn connect_timeout_secs(&self) -> u64 {
        let d = self.connect_timeout;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }

    /// The `known_hosts` key of `host`: `host` on port 22, `[host]:port` otherwise.
    pub fn known_hosts_pattern(&self, host: &str) -> String {
        if self.port == 22 {
            host.to_string()
        } else {
            format!("[{host}]:{}", self.port)
        }
    }
}

/// The control directory for `bucket`: `/tmp/maand-ssh-<uid>/<8 hex>`, where the hex is a
/// hash of the bucket's canonical path. Short enough for unix sockets, private to the user,
/// and stable, so a later maand process on the same bucket finds the masters that an
/// earlier one left persisting (`deploy` then `job status` costs no new handshake).
pub fn control_dir_for_bucket(bucket: &Path) -> PathBuf {
    let canonical = fs::canonicalize(bucket).unwrap_or_else(|_| bucket.to_path_buf());
    let uid = nix::unistd::getuid().as_raw();
    let hash = fnv1a64(canonical.as_os_str().as_encoded_bytes());
    PathBuf::from(format!(
        "/tmp/maand-ssh-{uid}/{:08x}",
        hash as u32 ^ (hash >> 32) as u32
    ))
}

/// Create `dir` (and its parent) mode 0700, or check an existing one: it must be a real
/// directory owned by us, since anyone who can write there could hijack our connections.
pub fn ensure_control_dir(dir: &Path) -> Result<(), TransportError> {
    let bad = |message: String| TransportError::ControlDir {
        path: dir.to_path_buf(),
        message,
    };
    if dir.as_os_str().len() > MAX_CONTROL_DIR_LEN {
        return Err(bad(format!(
            "path is {} bytes; at most {MAX_CONTROL_DIR_LEN} fit in a unix socket path",
            dir.as_os_str().len()
        )));
    }
    let uid = nix::unistd::getuid().as_raw();
    let mut chain: Vec<&Path> = Vec::new();
    if let Some(parent) = dir.parent().filter(|p| p.as_os_str().len() > 1) {
        chain.push(parent);
    }
    chain.push(dir);
    for d in chain {
        match fs::symlink_metadata(d) {
            Ok(meta) => {
                if !meta.file_type().is_dir() {
                    return Err(bad(format!("{} is not a directory", d.display())));
                }
                if meta.uid() != uid {
                    return Err(bad(format!(
                        "{} is owned by uid {}, not by us (uid {uid}); remove it",
                        d.display(),
                        meta.uid()
                    )));
                }
                if meta.mode() & 0o077 != 0 {
                    fs::set_permissions(d, fs::Permissions::from_mode(0o700))
                        .map_err(|e| bad(format!("chmod 0700 {}: {e}", d.display())))?;
                }
            }
            Err(_) => {
                fs::DirBuilder::new()
                    .mode(0o700)
                    .create(d)
                    .or_else(|e| {
                        // Another thread or process created it first: fine, re-checked below.
                        if e.kind() == std::io::ErrorKind::AlreadyExists {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    })
                    .map_err(|e| bad(format!("create {}: {e}", d.display())))?;
            }
        }
    }
    Ok(())
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_dir_is_short_stable_and_per_bucket() {
        let a = control_dir_for_bucket(Path::new("/nonexistent/bucket-a"));
        let b = control_dir_for_bucket(Path::new("/nonexistent/bucket-b"));
        assert_ne!(a, b);
        assert_eq!(
            a,
            control_dir_for_bucket(Path::new("/nonexistent/bucket-a"))
        );
        let s = a.to_string_lossy().into_owned();
        let uid = nix::unistd::getuid().as_raw();
        assert!(s.starts_with(&format!("/tmp/maand-ssh-{uid}/")), "{s}");
        assert_eq!(a.file_name().unwrap().len(), 8);
        assert!(s.len() <= MAX_CONTROL_DIR_LEN);
    }

    #[test]
    fn ensure_creates_private_dir_and_rejects_long_paths() {
        let base = std::env::temp_dir().join(format!("mt-cd-{}", std::process::id()));
        let dir = base.join("abcd1234");
        ensure_control_dir(&dir).unwrap();
        let mode = fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_control_dir(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        fs::remove_dir_all(&base).unwrap();

        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(60)));
        let err = ensure_control_dir(&long).unwrap_err().to_string();
        assert!(err.contains("fit in a unix socket path"), "{err}");
    }

    #[test]
    fn defaults_and_patterns() {
        let s =
            SshSettings::for_bucket(Path::new("/b"), "agent", "/b/secrets/worker.key".into(), 22);
        assert_eq!(s.known_hosts, PathBuf::from("/b/secrets/known_hosts"));
        assert_eq!(s.connect_timeout_secs(), 10);
        // Spec 12: masters outlive the process for 60 s by default.
        assert_eq!(s.control_persist_secs, 60);
        assert!(crate::ssh_options(&s).contains(&"ControlPersist=60".to_string()));
        assert!(s.use_sudo);
        assert_eq!(s.ssh_config, None);
        assert_eq!(s.known_hosts_pattern("10.0.0.1"), "10.0.0.1");
        let s = SshSettings {
            port: 2222,
            connect_timeout: Duration::from_millis(1500),
            ..s
        };
        assert_eq!(s.known_hosts_pattern("10.0.0.1"), "[10.0.0.1]:2222");
        assert_eq!(s.connect_timeout_secs(), 2);
    }
}
