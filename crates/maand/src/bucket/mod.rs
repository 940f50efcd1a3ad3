//! The bucket: finding its root, its paths, `maand.conf`, the lock, `maand init`.
//! Knows nothing about jobs.

pub mod conf;
pub mod init;
pub mod lock;

use crate::catalog::Catalog;
use crate::error::{Error, Kind, Result};
use crate::warnings::Warnings;
use conf::MaandConf;
use std::path::{Path, PathBuf};

/// An initialised bucket with its settings loaded.
#[derive(Debug)]
pub struct Bucket {
    pub root: PathBuf,
    pub conf: MaandConf,
}

/// Where a command should look for its bucket: `--bucket`/`MAAND_BUCKET`, else the
/// current directory and its parents (spec 02 §1).
pub fn find_root(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let cwd = std::env::current_dir()?;
    for dir in cwd.ancestors() {
        if dir.join("maand.conf").is_file() || dir.join("data/maand.db").is_file() {
            return Ok(dir.to_path_buf());
        }
    }
    Ok(cwd)
}

impl Bucket {
    /// Opens the bucket at `root`; fails with `maand is not initialized` when there is no catalog.
    pub fn open(root: PathBuf, warnings: &mut Warnings) -> Result<Bucket> {
        if !root.join("data/maand.db").is_file() {
            return Err(Error::new(
                Kind::NotInitialized,
                format!("no data/maand.db in {}; run maand init", root.display()),
            ));
        }
        let conf = MaandConf::load(&root, warnings)?;
        Ok(Bucket { root, conf })
    }

    pub fn catalog(&self) -> Result<Catalog> {
        Catalog::open(&self.db_path())
    }

    pub fn db_path(&self) -> PathBuf {
        self.root.join("data/maand.db")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.root.join("data/maand.lock")
    }

    pub fn kv_key_path(&self) -> PathBuf {
        self.root.join("secrets/kv.key")
    }

    pub fn ca_cert_path(&self) -> PathBuf {
        self.root.join("secrets/ca.crt")
    }

    pub fn workspace(&self) -> PathBuf {
        self.root.join("workspace")
    }

    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// Takes the bucket lock for a mutating command.
    pub fn lock(&self, command: &str) -> Result<lock::BucketLock> {
        lock::BucketLock::acquire(&self.lock_path(), command)
    }
}
