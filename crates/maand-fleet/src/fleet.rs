//! [`Fleet`]: N real sshd workers on loopback, each in its own mount namespace.

use std::fs::{self, File, OpenOptions};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::Signal;

use crate::error::{io_err, FleetError};
use crate::procs;

/// sshd binary every worker runs.
pub const SSHD: &str = "/usr/sbin/sshd";
/// The worker directory each sshd sees privately (spec 06 worker layout).
pub const WORKER_MOUNT: &str = "/opt/worker";
/// Default port of every worker.
pub const DEFAULT_PORT: u16 = 2222;
/// How long an sshd gets to start accepting TCP.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// Shell run inside the new mount namespace: `$1` = private dir, `$2` = sshd config.
const WORKER_SHELL: &str = "mount --bind \"$1\" /opt/worker && exec /usr/sbin/sshd -D -e -f \"$2\"";

static FLEET_SEQ: AtomicU32 = AtomicU32::new(0);

/// How to start a fleet.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    pub workers: usize,
    pub port: u16,
    /// Directory for keys, configs, logs and worker dirs. Default: a fresh directory under
    /// `/tmp`, removed on drop. A given directory is kept.
    pub root: Option<PathBuf>,
}

impl FleetOptions {
    pub fn new(workers: usize) -> Self {
        Self {
            workers,
            port: DEFAULT_PORT,
            root: None,
        }
    }
}

/// What a bucket needs to reach the fleet; see [`Fleet::configure_bucket`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketFragment {
    /// `workspace/workers.json` content: `[{"host": "127.0.k.1"}, …]`, pretty, newline
    /// terminated.
    pub workers_json: String,
    /// `maand.conf` lines: `ssh_user`, `ssh_port`, `use_sudo`, `ssh_key`.
    pub maand_conf: String,
}

struct Worker {
    child: Option<Child>,
    pid: Option<i32>,
    mnt_ns: Option<String>,
    /// Keeps the namespace (and so its id) alive while we may scan for it.
    ns_pin: Option<File>,
}

/// A running local fleet. Dropping it kills every process of every worker (by recorded
/// pid and mount namespace) and removes its temporary directory, also when a test panics.
pub struct Fleet {
    k: u8,
    port: u16,
    root: PathBuf,
    remove_root: bool,
    workers: Vec<Worker>,
    _slot: Option<Flock<File>>,
    detached: bool,
}

impl Fleet {
    /// Why a fleet cannot run on this machine, or `None` when it can (root, sshd, unshare,
    /// nsenter, ssh-keygen present). Tests skip, loudly, when this is `Some`.
    pub fn unsupported_reason() -> Option<String> {
        if !nix::unistd::geteuid().is_root() {
            return Some("not running as root (bind mounts and namespaces need root)".into());
        }
        if !Path::new(SSHD).exists() {
            return Some(format!(
                "{SSHD} is missing (apt-get install openssh-server)"
            ));
        }
        for tool in ["unshare", "nsenter", "ssh-keygen", "mount"] {
            if !on_path(tool) {
                return Some(format!("{tool} is not on PATH"));
            }
        }
        None
    }

    /// Start `n` workers on port 2222 in a fresh temporary directory.
    pub fn start(n: usize) -> Result<Fleet, FleetError> {
        Self::start_with(FleetOptions::new(n))
    }

    /// Start a fleet; returns once every sshd accepts TCP connections.
    pub fn start_with(opts: FleetOptions) -> Result<Fleet, FleetError> {
        if opts.workers > 254 {
            return Err(FleetError::TooManyWorkers(opts.workers));
        }
        if let Some(reason) = Self::unsupported_reason() {
            return Err(FleetError::Unsupported(reason));
        }
        let (k, slot) = claim_slot(opts.workers, opts.port)?;
        let (root, remove_root) = match &opts.root {
            Some(r) => (r.clone(), false),
            None => (
                std::env::temp_dir().join(format!(
                    "maand-fleet-k{k}-{}-{}",
                    std::process::id(),
                    FLEET_SEQ.fetch_add(1, Ordering::Relaxed)
                )),
                true,
            ),
        };
        let mut fleet = Fleet {
            k,
            port: opts.port,
            root,
            remove_root,
            workers: Vec::new(),
            _slot: Some(slot),
            detached: false,
        };
        // From here on, an error drops `fleet`, which stops whatever already started.
        fleet.prepare_dirs_and_keys(opts.workers)?;
        for i in 0..opts.workers {
            fleet.write_config(i, &fleet.root.join("keys/host_ed25519"))?;
            fleet.workers.push(Worker {
                child: None,
                pid: None,
                mnt_ns: None,
                ns_pin: None,
            });
        }
        for i in 0..opts.workers {
            fleet.spawn(i)?;
        }
        for i in 0..opts.workers {
            fleet.wait_ready(i)?;
        }
        Ok(fleet)
    }

    /// The `k` of this fleet's addresses `127.0.k.x`.
    pub fn k(&self) -> u8 {
        self.k
    }

    pub fn len(&self) -> usize {
        self.workers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// Worker `i`'s address, `127.0.k.(i+1)`.
    pub fn host(&self, i: usize) -> String {
        format!("127.0.{}.{}", self.k, i + 1)
    }

    /// All worker addresses, in order.
    pub fn hosts(&self) -> Vec<String> {
        (0..self.workers.len()).map(|i| self.host(i)).collect()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding keys, configs, logs and worker dirs.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The client private key every worker authorizes.
    pub fn client_key(&self) -> PathBuf {
        self.root.join("keys/client_ed25519")
    }

    /// Host-side path of worker `i`'s private `/opt/worker`.
    pub fn worker_dir(&self, i: usize) -> PathBuf {
        self.worker_root(i).join("opt-worker")
    }

    /// Worker `i`'s sshd log (`LogLevel VERBOSE`).
    pub fn sshd_log(&self, i: usize) -> PathBuf {
        self.worker_root(i).join("sshd.log")
    }

    /// How many public-key logins worker `i` accepted so far ("Accepted publickey" lines):
    /// with multiplexing, one per maand process.
    pub fn accepted_logins(&self, i: usize) -> usize {
        fs::read_to_string(self.sshd_log(i))
            .map(|s| s.matches("Accepted publickey").count())
            .unwrap_or(0)
    }

    /// The pid of worker `i`'s listening sshd, while it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.workers.get(i)?.pid.map(|p| p as u32)
    }

    /// Dead host: SIGKILL worker `i`'s sshd and every process in its namespace (open
    /// connections die too).
    pub fn kill(&mut self, i: usize) -> Result<(), FleetError> {
        self.check(i)?;
        let w = &mut self.workers[i];
        procs::signal_worker(w.pid, w.mnt_ns.as_deref(), Signal::SIGKILL);
        if let Some(mut child) = w.child.take() {
            let _ = child.wait();
        }
        w.pid = None;
        w.mnt_ns = None;
        w.ns_pin = None;
        Ok(())
    }

    /// Black-holed host: SIGSTOP every process of worker `i`. TCP connects still complete
    /// (the kernel accepts), but nothing answers.
    pub fn freeze(&self, i: usize) -> Result<(), FleetError> {
        let w = self.running(i)?;
        procs::signal_worker(w.pid, w.mnt_ns.as_deref(), Signal::SIGSTOP);
        Ok(())
    }

    /// Undo [`Fleet::freeze`].
    pub fn thaw(&self, i: usize) -> Result<(), FleetError> {
        let w = self.running(i)?;
        procs::signal_worker(w.pid, w.mnt_ns.as_deref(), Signal::SIGCONT);
        Ok(())
    }

    /// Host back: kill worker `i` (if running) and start it again with the same key and
    /// the same worker directory.
    pub fn restart(&mut self, i: usize) -> Result<(), FleetError> {
        self.kill(i)?;
        self.spawn(i)?;
        self.wait_ready(i)
    }

    /// Reinstalled host: give worker `i` a fresh host key and restart it, so clients that
    /// knew the old key see "REMOTE HOST IDENTIFICATION HAS CHANGED".
    pub fn rotate_host_key(&mut self, i: usize) -> Result<(), FleetError> {
        self.check(i)?;
        let key = self.worker_root(i).join("host_ed25519");
        keygen(&key, "maand-fleet-host-rotated")?;
        self.write_config(i, &key)?;
        self.restart(i)
    }

    /// Disk fault: make worker `i`'s `/opt/worker` read-only (or writable again) by
    /// remounting its bind mount inside the worker's namespace. Root ignores mode bits, a
    /// read-only mount it does not: writes fail with EROFS.
    pub fn set_read_only(&self, i: usize, read_only: bool) -> Result<(), FleetError> {
        let w = self.running(i)?;
        let pid = w.pid.unwrap_or_default().to_string();
        let opts = if read_only {
            "remount,bind,ro"
        } else {
            "remount,bind,rw"
        };
        run_tool(
            Command::new("nsenter").args([
                "--target",
                &pid,
                "--mount",
                "--",
                "mount",
                "-o",
                opts,
                WORKER_MOUNT,
            ]),
            "nsenter mount",
        )
    }

    /// Prepare `bucket` to reach this fleet: copy the client key to
    /// `<bucket>/secrets/worker.key` (0600) and return the `workers.json` text and the
    /// `maand.conf` lines; writing them is up to the caller.
    pub fn configure_bucket(&self, bucket: &Path) -> Result<BucketFragment, FleetError> {
        configure_bucket(bucket, &self.client_key(), &self.hosts(), self.port)
    }

    /// Leave the workers running after this value is dropped (the `maand-fleet start`
    /// binary); writes `state.json` into the root so `maand-fleet stop` can find them.
    pub fn detach(mut self) -> Result<PathBuf, FleetError> {
        let state = crate::state::FleetState {
            k: self.k,
            port: self.port,
            root: self.root.clone(),
            client_key: self.client_key(),
            workers: (0..self.workers.len())
                .map(|i| crate::state::WorkerState {
                    host: self.host(i),
                    pid: self.workers[i].pid,
                    mnt_ns: self.workers[i].mnt_ns.clone(),
                    config: self.config_path(i),
                    log: self.sshd_log(i),
                    worker_dir: self.worker_dir(i),
                })
                .collect(),
        };
        let path = state.write()?;
        self.detached = true;
        Ok(path)
    }

    /// Stop every worker now (also done on drop).
    pub fn stop(&mut self) {
        for i in 0..self.workers.len() {
            let _ = self.kill(i);
        }
    }

    fn worker_root(&self, i: usize) -> PathBuf {
        self.root.join(format!("w{i}"))
    }

    fn config_path(&self, i: usize) -> PathBuf {
        self.worker_root(i).join("sshd_config")
    }

    fn check(&self, i: usize) -> Result<(), FleetError> {
        if i < self.workers.len() {
            Ok(())
        } else {
            Err(FleetError::NoSuchWorker {
                index: i,
                count: self.workers.len(),
            })
        }
    }

    fn running(&self, i: usize) -> Result<&Worker, FleetError> {
        self.check(i)?;
        let w = &self.workers[i];
        if w.pid.is_none() {
            return Err(FleetError::NotRunning { host: self.host(i) });
        }
        Ok(w)
    }

    fn prepare_dirs_and_keys(&self, n: usize) -> Result<(), FleetError> {
        for dir in [WORKER_MOUNT, "/run/sshd"] {
            fs::create_dir_all(dir).map_err(io_err(format!("create {dir}")))?;
        }
        let keys = self.root.join("keys");
        if keys.exists() {
            fs::remove_dir_all(&keys).map_err(io_err(format!("clear {}", keys.display())))?;
        }
        fs::create_dir_all(&keys).map_err(io_err(format!("create {}", keys.display())))?;
        // Others may pass through to keys/authorized_keys, which sshd reads as the user
        // logging in (the non-root sudo test of spec 12), but not list the directory; the
        // private keys stay 0600.
        fs::set_permissions(&self.root, fs::Permissions::from_mode(0o711))
            .map_err(io_err(format!("chmod {}", self.root.display())))?;
        keygen(&keys.join("host_ed25519"), "maand-fleet-host")?;
        keygen(&keys.join("client_ed25519"), "maand-fleet-client")?;
        fs::copy(
            keys.join("client_ed25519.pub"),
            keys.join("authorized_keys"),
        )
        .map_err(io_err("write authorized_keys"))?;
        for i in 0..n {
            let dir = self.worker_dir(i);
            fs::create_dir_all(&dir).map_err(io_err(format!("create {}", dir.display())))?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
                .map_err(io_err(format!("chmod {}", dir.display())))?;
            let _ = fs::remove_file(self.sshd_log(i));
            let _ = fs::remove_file(self.worker_root(i).join("host_ed25519"));
            let _ = fs::remove_file(self.worker_root(i).join("host_ed25519.pub"));
        }
        Ok(())
    }

    fn write_config(&self, i: usize, host_key: &Path) -> Result<(), FleetError> {
        let text = sshd_config(
            i,
            &self.host(i),
            self.port,
            host_key,
            &self.root.join("keys/authorized_keys"),
        );
        let path = self.config_path(i);
        let dir = self.worker_root(i);
        fs::create_dir_all(&dir).map_err(io_err(format!("create {}", dir.display())))?;
        fs::write(&path, text).map_err(io_err(format!("write {}", path.display())))
    }

    fn spawn(&mut self, i: usize) -> Result<(), FleetError> {
        let log_path = self.sshd_log(i);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io_err(format!("open {}", log_path.display())))?;
        let log2 = log.try_clone().map_err(io_err("dup log handle"))?;
        let worker_dir = self.worker_dir(i);
        let config = self.config_path(i);
        // `setsid` makes the worker its own session (no terminal signals, survives the
        // `maand-fleet start` process). As a fresh non-leader child it execs in place,
        // and so do `unshare` and `sh … exec sshd`: the pid we get is sshd's.
        let child = Command::new("setsid")
            .args([
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--",
                "/bin/sh",
                "-c",
                WORKER_SHELL,
                "maand-fleet-worker",
            ])
            .arg(&worker_dir)
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(io_err("spawn setsid unshare sshd"))?;
        let w = &mut self.workers[i];
        w.pid = Some(child.id() as i32);
        w.child = Some(child);
        w.mnt_ns = None;
        w.ns_pin = None;
        Ok(())
    }

    fn wait_ready(&mut self, i: usize) -> Result<(), FleetError> {
        let host = self.host(i);
        let addr = SocketAddr::from((host_ip(&host), self.port));
        let started = Instant::now();
        let log = self.sshd_log(i);
        let fail = |message: String| FleetError::NotReady {
            host: host.clone(),
            message: format!("{message}; log {}: {}", log.display(), log_tail(&log)),
        };
        loop {
            let w = &mut self.workers[i];
            if let Some(child) = w.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    w.child = None;
                    w.pid = None;
                    return Err(fail(format!("exited with {status}")));
                }
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(fail(format!(
                    "no TCP accept on {addr} within {}s",
                    READY_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let w = &mut self.workers[i];
        let pid = w.pid.unwrap_or_default();
        let exe = fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
        if exe != Path::new(SSHD) {
            return Err(fail(format!("pid {pid} is {}, not {SSHD}", exe.display())));
        }
        // `pid` is our unreaped child, so it names this sshd and no other process.
        let Some((pin, ns)) = procs::pin_ns(pid) else {
            return Err(fail(format!("cannot open /proc/{pid}/ns/mnt")));
        };
        if Some(&ns) == procs::own_mount_ns().as_ref() {
            return Err(fail("sshd is not in a private mount namespace".into()));
        }
        w.mnt_ns = Some(ns);
        w.ns_pin = Some(pin);
        Ok(())
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        self.stop();
        if self.remove_root && std::env::var_os("MAAND_FLEET_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// Shared by [`Fleet::configure_bucket`] and [`crate::FleetState::configure_bucket`].
pub(crate) fn configure_bucket(
    bucket: &Path,
    client_key: &Path,
    hosts: &[String],
    port: u16,
) -> Result<BucketFragment, FleetError> {
    let secrets = bucket.join("secrets");
    fs::create_dir_all(&secrets).map_err(io_err(format!("create {}", secrets.display())))?;
    let key = secrets.join("worker.key");
    fs::copy(client_key, &key).map_err(io_err(format!("copy client key to {}", key.display())))?;
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600))
        .map_err(io_err(format!("chmod 0600 {}", key.display())))?;
    let entries: Vec<serde_json::Value> = hosts
        .iter()
        .map(|h| serde_json::json!({ "host": h }))
        .collect();
    let mut workers_json = serde_json::to_string_pretty(&entries).unwrap_or_else(|_| "[]".into());
    workers_json.push('\n');
    let maand_conf = format!(
        "ssh_user = \"root\"\nssh_port = {port}\nuse_sudo = false\nssh_key = \"worker.key\"\n"
    );
    Ok(BucketFragment {
        workers_json,
        maand_conf,
    })
}

/// The sshd config of worker `i`: key-only root login, keys from the fleet directory
/// (`StrictModes no`: the temp dir's modes are ours to choose), `LogLevel VERBOSE` so tests
/// can count "Accepted publickey" lines, no PAM and no pid file (we keep the pid).
/// `SetEnv SHLVL=1` keeps Debian's bash from sourcing the CLI host's `/root/.bashrc` for
/// every session (bash does that only at shell level < 2 when started by sshd): workers
/// must not depend on, or pay for, the host's interactive shell setup (on this project's
/// machines it runs `pyenv init`, ~150 ms per session).
pub(crate) fn sshd_config(
    i: usize,
    host: &str,
    port: u16,
    host_key: &Path,
    authorized_keys: &Path,
) -> String {
    format!(
        "# maand-fleet worker {i}; generated, do not edit\n\
         ListenAddress {host}:{port}\n\
         HostKey {host_key}\n\
         AuthorizedKeysFile {auth}\n\
         StrictModes no\n\
         PermitRootLogin prohibit-password\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         PidFile none\n\
         LogLevel VERBOSE\n\
         MaxSessions 64\n\
         MaxStartups 64:30:128\n\
         PrintMotd no\n\
         UseDNS no\n\
         SetEnv SHLVL=1\n\
         Subsystem sftp internal-sftp\n",
        host_key = host_key.display(),
        auth = authorized_keys.display(),
    )
}

fn host_ip(host: &str) -> Ipv4Addr {
    host.parse().unwrap_or(Ipv4Addr::LOCALHOST)
}

/// Pick the first `k` whose lock file we can flock and whose addresses are free. The lock
/// serialises fleets of parallel test threads and test binaries; the bind probe also steps
/// around detached fleets (which hold no lock once `maand-fleet start` has exited).
fn claim_slot(n: usize, port: u16) -> Result<(u8, Flock<File>), FleetError> {
    for k in 1..=254u8 {
        let path = std::env::temp_dir().join(format!("maand-fleet-k{k}.lock"));
        let Ok(file) = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
        else {
            continue;
        };
        let Ok(lock) = Flock::lock(file, FlockArg::LockExclusiveNonblock) else {
            continue;
        };
        let free = (0..n.max(1)).all(|i| {
            let ip = Ipv4Addr::new(127, 0, k, (i + 1).min(254) as u8);
            TcpListener::bind((ip, port)).is_ok()
        });
        if free {
            return Ok((k, lock));
        }
    }
    Err(FleetError::NoFreeSlot { port })
}

fn keygen(path: &Path, comment: &str) -> Result<(), FleetError> {
    let _ = fs::remove_file(path);
    let _ = fs::remove_file(path.with_extension("pub"));
    run_tool(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
            .arg(path),
        "ssh-keygen",
    )
}

fn run_tool(cmd: &mut Command, program: &str) -> Result<(), FleetError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(format!("run {program}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(FleetError::Command {
            program: program.to_string(),
            message: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        })
    }
}

fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" / ")
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sshd_config_text() {
        let text = sshd_config(
            1,
            "127.0.3.2",
            2222,
            Path::new("/f/keys/host_ed25519"),
            Path::new("/f/keys/authorized_keys"),
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# maand-fleet worker 1; generated, do not edit");
        assert_eq!(lines[1], "ListenAddress 127.0.3.2:2222");
        assert_eq!(lines[2], "HostKey /f/keys/host_ed25519");
        assert_eq!(lines[3], "AuthorizedKeysFile /f/keys/authorized_keys");
        for want in [
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "LogLevel VERBOSE",
            "PidFile none",
            "PasswordAuthentication no",
        ] {
            assert!(lines.contains(&want), "{want}");
        }
    }

    #[test]
    fn paths_and_hosts_are_formulaic_and_never_panic() {
        let fleet = Fleet {
            k: 7,
            port: 2222,
            root: PathBuf::from("/tmp/f"),
            remove_root: false,
            workers: Vec::new(),
            _slot: None,
            detached: true,
        };
        assert_eq!(fleet.host(0), "127.0.7.1");
        assert_eq!(fleet.worker_dir(3), PathBuf::from("/tmp/f/w3/opt-worker"));
        assert_eq!(fleet.sshd_log(0), PathBuf::from("/tmp/f/w0/sshd.log"));
        assert_eq!(
            fleet.client_key(),
            PathBuf::from("/tmp/f/keys/client_ed25519")
        );
        assert_eq!(fleet.accepted_logins(9), 0);
        assert!(matches!(
            Fleet::start(255),
            Err(FleetError::TooManyWorkers(255))
        ));
        assert!(matches!(
            fleet.freeze(0),
            Err(FleetError::NoSuchWorker { index: 0, count: 0 })
        ));
    }
}
