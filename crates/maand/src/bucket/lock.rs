//! The bucket lock: one mutating maand command per bucket at a time.
//!
//! An advisory `flock` on `data/maand.lock` — the kernel drops it when the holder dies,
//! so a lock left by a killed process is taken over without any stale-pid guessing. The
//! file's content (command, pid, time) only serves the message shown to the next caller.

use crate::error::{Error, Kind, Result};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

/// Held for the life of the command; released on drop or process exit.
#[derive(Debug)]
pub struct BucketLock {
    file: std::fs::File,
}

impl BucketLock {
    /// Takes the lock for `command` or fails at once naming the holder.
    pub fn acquire(path: &Path, command: &str) -> Result<BucketLock> {
        let mut file = fs_err::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?
            .into_parts()
            .0;
        if !try_flock(&file) {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another maand process".to_string()
            } else {
                holder.to_string()
            };
            return Err(Error::bare(
                Kind::Locked,
                format!("bucket is locked by {who}"),
            ));
        }
        let since = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        file.set_len(0)?;
        file.rewind()?;
        write!(
            file,
            "maand {command} (pid {}, since {since})",
            std::process::id()
        )?;
        file.flush()?;
        Ok(BucketLock { file })
    }
}

impl Drop for BucketLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

#[allow(unsafe_code)]
fn try_flock(file: &std::fs::File) -> bool {
    // SAFETY: flock on a valid, open file descriptor owned by `file`.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}
