//! Finding and signalling a worker's processes.
//!
//! Killing only the listening sshd would leave the per-connection sshd processes alive, and
//! an existing multiplexed connection would keep working: not a dead host. Every process
//! of a worker (listener, sessions, daemons its jobs started) shares the worker's private
//! mount namespace, so the namespace identifies them exactly; we never match by name.
//!
//! A namespace id (`mnt:[inode]`) is recycled as soon as the namespace dies, possibly for
//! the next fleet's worker. So a scan is only trusted while we *pin* the namespace with an
//! open handle on its `/proc/<pid>/ns/mnt` ([`pin_ns`]): a pinned namespace cannot die.

use std::fs;
use std::path::Path;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The mount namespace id of `pid` (`mnt:[4026532…]`), if the process exists.
pub(crate) fn mount_ns(pid: i32) -> Option<String> {
    fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Open (pin) the mount namespace of `pid` and return the handle with its id.
pub(crate) fn pin_ns(pid: i32) -> Option<(fs::File, String)> {
    use std::os::unix::fs::MetadataExt;
    let file = fs::File::open(format!("/proc/{pid}/ns/mnt")).ok()?;
    let ino = file.metadata().ok()?.ino();
    Some((file, format!("mnt:[{ino}]")))
}

/// Our own mount namespace: a worker's must differ, or we would signal the whole host.
pub(crate) fn own_mount_ns() -> Option<String> {
    fs::read_link("/proc/self/ns/mnt")
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Every pid in mount namespace `ns` (never ours, never when `ns` is ours).
pub(crate) fn pids_in_ns(ns: &str) -> Vec<i32> {
    if own_mount_ns().as_deref() == Some(ns) {
        return Vec::new();
    }
    let me = std::process::id() as i32;
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me && mount_ns(pid).as_deref() == Some(ns))
        .collect()
}

/// Send `sig` to `pid`, ignoring processes that are already gone.
pub(crate) fn signal(pid: i32, sig: Signal) {
    let _ = kill(Pid::from_raw(pid), sig);
}

/// Signal the listener first (so it forks no new sessions), then everything in its
/// namespace; repeat the scan to catch processes forked meanwhile. The caller must hold a
/// pin of `ns` ([`pin_ns`]).
pub(crate) fn signal_worker(listener: Option<i32>, ns: Option<&str>, sig: Signal) {
    if let Some(pid) = listener {
        signal(pid, sig);
    }
    if let Some(ns) = ns {
        for _ in 0..5 {
            let pids = pids_in_ns(ns);
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                signal(pid, sig);
            }
        }
    }
}

/// True when `pid` is alive and its command line mentions `needle` (our sshd config
/// path): guards against signalling a recycled pid of a detached fleet.
pub(crate) fn is_our_process(pid: i32, needle: &Path) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let needle = needle.as_os_str().as_encoded_bytes();
    cmdline.windows(needle.len()).any(|w| w == needle)
}
