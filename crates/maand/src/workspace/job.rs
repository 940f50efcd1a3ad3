//! A job directory (spec 02 §7): manifest, files, `vars.toml`, hook scripts.

use super::manifest::{self, Manifest};
use super::scalars::flat_table;
use crate::error::{Error, Kind, Result};
use crate::warnings::Warnings;
use std::path::Path;

/// Path components never captured, hashed or sent (virtualenvs, caches, node modules).
pub const IGNORED: [&str; 4] = [".venv", "venv", "node_modules", "__pycache__"];

/// One entry of the job tree, path relative to the job directory with `/` separators.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFile {
    pub path: String,
    pub is_dir: bool,
    pub content: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub manifest: Manifest,
    /// Every directory and file except ignored ones, sorted by path; `""` is the job root.
    pub files: Vec<JobFile>,
    /// `vars.toml` pairs in file order.
    pub vars: Vec<(String, String)>,
}

impl Job {
    /// Whether the job root contains a file at `path`.
    pub fn has_file(&self, path: &str) -> bool {
        self.files.iter().any(|f| !f.is_dir && f.path == path)
    }

    /// The hook script of a command: `_modules/<command>.{py,ts,js}`.
    pub fn script_for(&self, command: &str) -> Option<&JobFile> {
        ["py", "ts", "js"].iter().find_map(|ext| {
            let p = format!("_modules/{command}.{ext}");
            self.files.iter().find(|f| !f.is_dir && f.path == p)
        })
    }

    /// Whether this is a Prometheus server job (spec 11 §2).
    pub fn is_prometheus_server(&self) -> bool {
        self.has_file("prometheus.yml") || self.has_file("prometheus.yml.tpl")
    }
}

/// The `invalid job` error every per-job check reports: `job <job>: <detail>`.
pub fn invalid(job: &str, detail: impl std::fmt::Display) -> Error {
    Error::new(Kind::InvalidJob, format!("job {job}: {detail}"))
}

/// Reads and validates `<root>/workspace/jobs/<name>/` (`root` is the bucket root).
pub fn load(root: &Path, name: &str, warnings: &mut Warnings) -> Result<Job> {
    if !super::names::is_job_name(name) {
        return Err(Error::new(
            Kind::InvalidJob,
            format!("job name \"{name}\" must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$ (at most 128 characters)"),
        ));
    }
    let rel = format!("workspace/jobs/{name}");
    let dir = root.join(&rel);
    let manifest_file = format!("{rel}/manifest.json");
    let text = super::read_required(root, &manifest_file, Kind::InvalidManifest)?;
    let manifest = manifest::parse(name, &manifest_file, &text, warnings)?;

    let mut files = vec![JobFile {
        path: String::new(),
        is_dir: true,
        content: Vec::new(),
    }];
    walk(&dir, "", name, &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));

    for reserved in ["data", "logs", "bin"] {
        if files.iter().any(|f| f.path == reserved) {
            return Err(invalid(
                name,
                format!("{reserved} directory is reserved (runtime directory on workers)"),
            ));
        }
    }
    let job = Job {
        name: name.to_string(),
        manifest,
        files,
        vars: Vec::new(),
    };
    if !job.has_file("Makefile") && !job.has_file("Makefile.tpl") {
        return Err(invalid(name, "Makefile or Makefile.tpl not found"));
    }
    if job.has_file("prometheus.yml") && job.has_file("prometheus.yml.tpl") {
        return Err(invalid(
            name,
            "cannot define both prometheus.yml and prometheus.yml.tpl",
        ));
    }
    // `_prometheus/scrape.yaml.tpl` is not a deploy template: its exclusivity with
    // `scrape.yaml` is Prometheus validation (spec 11 §1), which needs a server job.
    for f in job
        .files
        .iter()
        .filter(|f| !f.is_dir && !f.path.starts_with("_prometheus/"))
    {
        if let Some(plain) = f.path.strip_suffix(".tpl") {
            if plain.is_empty() || plain.ends_with('/') {
                return Err(invalid(
                    name,
                    format!("{}: a template needs a name before .tpl", f.path),
                ));
            }
            if job.files.iter().any(|g| g.path == plain) {
                return Err(invalid(
                    name,
                    format!("both {plain} and {plain}.tpl exist; keep only one"),
                ));
            }
        }
    }
    for cmd in &job.manifest.commands {
        let found: Vec<_> = ["py", "ts", "js"]
            .iter()
            .filter(|ext| job.has_file(&format!("_modules/{}.{ext}", cmd.name)))
            .collect();
        let mdir = format!("{rel}/_modules");
        match found.len() {
            0 => {
                return Err(Error::new(
                    Kind::JobCommandFileNotFound,
                    format!("expected {0}.py, {0}.ts, or {0}.js under {mdir}", cmd.name),
                ))
            }
            1 => {}
            _ => {
                return Err(Error::new(
                    Kind::InvalidJobCommandConfiguration,
                    format!(
                    "multiple implementations for {} under {mdir} (use only one of .py, .ts, .js)",
                    cmd.name
                ),
                ))
            }
        }
    }
    let vars = match job
        .files
        .iter()
        .find(|f| f.path == "vars.toml" && !f.is_dir)
    {
        Some(f) => {
            let file = format!("{rel}/vars.toml");
            let text = std::str::from_utf8(&f.content).map_err(|_| {
                Error::new(Kind::InvalidJobVars, format!("{file}: not valid UTF-8"))
            })?;
            flat_table(text, &file).map_err(|e| Error::new(Kind::InvalidJobVars, e))?
        }
        None => Vec::new(),
    };
    Ok(Job { vars, ..job })
}

fn walk(dir: &Path, prefix: &str, job: &str, out: &mut Vec<JobFile>) -> Result<()> {
    let mut entries: Vec<_> = fs_err::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if IGNORED.contains(&name.as_str()) {
            continue;
        }
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let ft = entry.file_type()?;
        let full = entry.path();
        if ft.is_symlink() {
            let meta = fs_err::metadata(&full)
                .map_err(|_| invalid(job, format!("{path}: symbolic link points to nothing")))?;
            if meta.is_dir() {
                return Err(invalid(
                    job,
                    format!("{path}: symbolic links to directories are not supported"),
                ));
            }
            out.push(JobFile {
                path,
                is_dir: false,
                content: fs_err::read(&full)?,
            });
        } else if ft.is_dir() {
            out.push(JobFile {
                path: path.clone(),
                is_dir: true,
                content: Vec::new(),
            });
            walk(&full, &path, job, out)?;
        } else {
            out.push(JobFile {
                path,
                is_dir: false,
                content: fs_err::read(&full)?,
            });
        }
    }
    Ok(())
}
