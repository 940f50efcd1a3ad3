//! The workspace: every operator-written file, parsed into typed values (spec 02).
//!
//! Pure with respect to the catalog: nothing here opens the database, so the whole
//! workspace is validated before build touches anything.

pub mod bucket_conf;
pub mod demands;
pub mod disabled;
pub mod job;
pub mod manifest;
pub mod names;
mod scalars;
pub mod units;
pub mod version;
pub mod workers;

use crate::bucket::conf::MaandConf;
use crate::error::{Error, Kind, Result};
use crate::warnings::Warnings;
use bucket_conf::{BucketConf, JobTables};
use disabled::Disabled;
use job::Job;
use std::path::Path;
use workers::Worker;

/// Everything build needs from `workspace/`, validated.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub bucket_conf: BucketConf,
    /// Workers in worker order.
    pub workers: Vec<Worker>,
    pub disabled: Disabled,
    /// Name of the selected bucket.jobs file (`bucket.jobs.prod.conf`), used as the
    /// reservation source in the catalog.
    pub jobs_conf_name: String,
    pub job_tables: JobTables,
    /// Jobs in byte order of their names.
    pub jobs: Vec<Job>,
}

impl Workspace {
    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name == name)
    }
}

/// Reads `<root>/<rel>` as UTF-8 text if the file exists. Failures are errors of `kind`
/// naming `rel` (the path relative to the bucket root), like every parse error of that
/// file: `invalid bucket.conf: workspace/bucket.conf: not valid UTF-8`.
pub fn read_optional(root: &Path, rel: &str, kind: Kind) -> Result<Option<String>> {
    match std::fs::read(root.join(rel)) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Error::new(kind, format!("{rel}: not valid UTF-8"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::new(kind, format!("{rel}: {e}"))),
    }
}

/// [`read_optional`] for a file that must exist.
pub fn read_required(root: &Path, rel: &str, kind: Kind) -> Result<String> {
    read_optional(root, rel, kind)?
        .ok_or_else(|| Error::new(kind, format!("{rel}: file not found")))
}

/// Loads and validates the workspace under `root` in the order of spec 03 §4.
pub fn load(root: &Path, conf: &MaandConf, warnings: &mut Warnings) -> Result<Workspace> {
    let ws = root.join("workspace");
    let bucket_conf = match read_optional(root, bucket_conf::FILE, Kind::InvalidBucketConf)? {
        Some(t) => bucket_conf::parse_bucket_conf(&t)?,
        None => BucketConf::default(),
    };
    let workers = match read_optional(root, workers::FILE, Kind::InvalidWorkerJson)? {
        Some(t) => workers::parse(&t, warnings)?,
        None => Vec::new(),
    };
    let disabled = match read_optional(root, disabled::FILE, Kind::InvalidDisabledJson)? {
        Some(t) => disabled::parse(&t, warnings)?,
        None => Disabled::default(),
    };
    let jobs_conf_name = bucket_conf::jobs_conf_name(&conf.job_config_selector);
    let jobs_conf_file = format!("workspace/{jobs_conf_name}");
    let job_tables = match read_optional(root, &jobs_conf_file, Kind::InvalidBucketConf)? {
        Some(t) => bucket_conf::parse_jobs_conf(&t, &jobs_conf_file)?,
        None => {
            if !conf.job_config_selector.is_empty() {
                warnings.push(format!(
                    "workspace/{jobs_conf_name} not found; no reservation overrides apply"
                ));
            }
            JobTables::new()
        }
    };
    let mut names = Vec::new();
    let jobs_dir = ws.join("jobs");
    if jobs_dir.is_dir() {
        for entry in fs_err::read_dir(&jobs_dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            if entry.file_type()?.is_symlink() && path.is_dir() {
                return Err(Error::new(
                    Kind::InvalidJob,
                    format!(
                        "workspace/jobs/{name}: symbolic links to directories are not supported"
                    ),
                ));
            }
            if path.is_dir() && path.join("manifest.json").exists() {
                names.push(name);
            }
        }
    }
    names.sort();
    let mut jobs = Vec::with_capacity(names.len());
    for name in &names {
        jobs.push(job::load(root, name, warnings)?);
    }
    for section in job_tables.keys() {
        if !names.contains(section) {
            warnings.push(format!(
                "workspace/{jobs_conf_name}: section [{section}] names no job in the workspace"
            ));
        }
    }
    for job in disabled.jobs.keys() {
        if !names.contains(job) {
            warnings.push(format!(
                "{}: job \"{job}\" is not in the workspace",
                disabled::FILE
            ));
        }
    }
    let hosts: Vec<&str> = workers.iter().map(|w| w.host.as_str()).collect();
    for host in disabled
        .workers
        .iter()
        .chain(disabled.jobs.values().flatten())
    {
        if !hosts.contains(&host.as_str()) {
            warnings.push(format!(
                "{}: worker \"{host}\" is not in workers.json",
                disabled::FILE
            ));
        }
    }
    demands::validate(&jobs)?;
    Ok(Workspace {
        bucket_conf,
        workers,
        disabled,
        jobs_conf_name,
        job_tables,
        jobs,
    })
}
