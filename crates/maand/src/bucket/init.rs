//! `maand init`: create or upgrade a bucket in place; never changes `bucket_id` or keys.

use super::conf::DEFAULT_FILE as DEFAULT_MAAND_CONF;
use crate::catalog::{meta, Catalog};
use crate::error::{Error, Kind, Result};
use crate::kv::crypto::new_key_bytes;
use crate::workspace::bucket_conf::DEFAULT_FILE as DEFAULT_BUCKET_CONF;
use fs_err::os::unix::fs::OpenOptionsExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// What init did, for its output.
#[derive(Debug)]
pub struct InitReport {
    pub bucket_id: String,
    pub created: bool,
}

/// Hook for the bucket CA (certificates issue): called with the secrets dir and bucket id;
/// must create `ca.crt`/`ca.key` when both are absent.
pub type CaInit<'a> = &'a dyn Fn(&Path, &str) -> Result<()>;

pub fn run(root: &Path, ca_init: Option<CaInit>) -> Result<InitReport> {
    let secrets = root.join("secrets");
    let (has_crt, has_key) = (
        secrets.join("ca.crt").exists(),
        secrets.join("ca.key").exists(),
    );
    if has_crt != has_key {
        return Err(Error::bare(
            Kind::Input,
            "bucket CA is incomplete: secrets must contain both ca.crt and ca.key",
        ));
    }
    let new_bucket = !root.join("data/maand.db").exists();
    for d in ["data", "workspace/jobs", "logs"] {
        fs_err::create_dir_all(root.join(d))?;
    }
    for d in ["tmp", "secrets"] {
        fs_err::create_dir_all(root.join(d))?;
        fs_err::set_permissions(root.join(d), std::fs::Permissions::from_mode(0o700))?;
    }
    if new_bucket {
        write_if_absent(
            &root.join("maand.conf"),
            DEFAULT_MAAND_CONF.as_bytes(),
            0o644,
        )?;
    }
    write_if_absent(&root.join("workspace/workers.json"), b"[]\n", 0o644)?;
    write_if_absent(
        &root.join("workspace/bucket.conf"),
        DEFAULT_BUCKET_CONF.as_bytes(),
        0o644,
    )?;
    write_if_absent(&secrets.join("kv.key"), &new_key_bytes(), 0o600)?;

    let cat = Catalog::create(&root.join("data/maand.db"))?;
    let conn = cat.conn();
    let bucket_id = match meta::get(conn, "bucket_id")? {
        Some(id) => id,
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            meta::set(conn, "bucket_id", &id)?;
            meta::set(conn, "update_seq", "0")?;
            id
        }
    };
    if let Some(ca) = ca_init {
        if !has_crt {
            ca(&secrets, &bucket_id)?;
        }
    }
    Ok(InitReport {
        bucket_id,
        created: new_bucket,
    })
}

fn write_if_absent(path: &Path, content: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    match fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
    {
        Ok(mut f) => Ok(f.write_all(content)?),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e.into()),
    }
}
