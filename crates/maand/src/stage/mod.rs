//! Staging (spec 06 "Staging"): each allocation's tree under `tmp/workers/<ip>/`, rendered
//! templates, certificates, and the content hashes the planner compares. Never contacts
//! a worker.

pub mod kv_source;
pub mod prometheus;

use crate::catalog::jobs::FileRow;
use crate::error::{Error, Kind, Result};
use crate::ids::md5_hex;
use crate::kv::KvStore;
use crate::plan::FileHashes;
use kv_source::PolicyKv;
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Embedded worker-side helpers (ours, standard-library Python).
pub const RUNNER_PY: &str = include_str!("assets/runner.py");
pub const WORKER_PY: &str = include_str!("assets/worker.py");

/// Directories and files that are staged but never sent, and never hashed.
pub fn never_sent(rel: &str) -> bool {
    rel == "_modules"
        || rel.starts_with("_modules/")
        || rel == "_prometheus"
        || rel.starts_with("_prometheus/")
        || rel.ends_with(".tpl")
}

/// rsync excludes of a job tree (spec 06), relative to `jobs/<job>/`.
pub const RSYNC_EXCLUDES: [&str; 6] = [
    "/data",
    "/logs",
    "/bin",
    "/_modules",
    "/_prometheus",
    "*.tpl",
];

/// The staged tree of one allocation and its hashes.
#[derive(Debug, Clone)]
pub struct Staged {
    pub dir: PathBuf,
    pub files: FileHashes,
    pub hash: String,
}

/// Everything staging needs for one allocation.
pub struct AllocationStage<'a> {
    pub tmp: &'a Path,
    pub job: &'a str,
    pub files: &'a [FileRow],
    pub context: maand_template::Context,
    pub kv: &'a KvStore,
    pub reader: crate::kv::policy::Reader,
    /// `scrapeConfigs`/`ruleFiles` output for this staging run.
    pub prometheus: (String, String),
    /// Files generated into a Prometheus server job's tree (rules, consoles); they
    /// replace same-named files of the job itself.
    pub generated: Vec<(String, Vec<u8>)>,
}

/// `tmp/workers/<ip>` of a worker.
pub fn worker_dir(tmp: &Path, ip: &str) -> PathBuf {
    tmp.join("workers").join(ip)
}

/// Writes `path` unless it already holds `content` with `mode`: re-staging an unchanged
/// tree then costs reads, not a create and an unlink per file (most of a no-op deploy).
fn write_file(path: &Path, content: &[u8], mode: u32) -> Result<()> {
    if let Ok(meta) = fs_err::symlink_metadata(path) {
        if meta.is_file()
            && meta.permissions().mode() & 0o7777 == mode
            && meta.len() == content.len() as u64
            && fs_err::read(path).is_ok_and(|c| c == content)
        {
            return Ok(());
        }
        if meta.is_dir() {
            fs_err::remove_dir_all(path)?;
        }
    }
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::write(path, content)?;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Stages one allocation and hashes it: over the previous staging (unchanged files are
/// not rewritten, stale ones removed), or from scratch when that fails. A template error
/// removes the partial tree and names the file, line and key.
pub fn stage_allocation(s: &AllocationStage) -> Result<Staged> {
    let dir = worker_dir(s.tmp, &s.context.worker_ip)
        .join("jobs")
        .join(s.job);
    fs_err::create_dir_all(&dir)?;
    let result = stage_into(s, &dir).or_else(|_| {
        fs_err::remove_dir_all(&dir)?;
        fs_err::create_dir_all(&dir)?;
        stage_into(s, &dir)
    });
    if result.is_err() {
        let _ = fs_err::remove_dir_all(&dir);
    }
    result
}

/// Removes what an earlier staging left under `dir` and this one did not write.
fn prune(dir: &Path, keep: &BTreeSet<PathBuf>) -> Result<()> {
    for entry in fs_err::read_dir(dir)? {
        let path = entry?.path();
        if fs_err::symlink_metadata(&path)?.is_dir() {
            prune(&path, keep)?;
            if !keep.contains(&path) && fs_err::read_dir(&path)?.next().is_none() {
                fs_err::remove_dir(&path)?;
            }
        } else if !keep.contains(&path) {
            fs_err::remove_file(&path)?;
        }
    }
    Ok(())
}

fn stage_into(s: &AllocationStage, dir: &Path) -> Result<Staged> {
    let prefix = format!("{}/", s.job);
    let mut templates = Vec::new();
    let mut keep = BTreeSet::new();
    for f in s.files {
        let Some(rel) = f.path.strip_prefix(&prefix) else {
            continue;
        };
        if rel == "_prometheus" || rel.starts_with("_prometheus/") {
            continue;
        }
        let path = dir.join(rel);
        if f.is_dir {
            if path.is_file() {
                fs_err::remove_file(&path)?;
            }
            fs_err::create_dir_all(&path)?;
            keep.insert(path);
            continue;
        }
        // The original wrote every staged file 0755 and Makefiles rely on running scripts.
        write_file(&path, &f.content, 0o755)?;
        keep.insert(path);
        if rel.ends_with(".tpl") && !rel.starts_with("_modules/") {
            templates.push((rel.to_string(), f));
        }
    }
    let kv = PolicyKv {
        kv: s.kv,
        reader: &s.reader,
        prometheus: &s.prometheus,
    };
    for (rel, f) in templates {
        let fail = |detail: String| {
            Error::bare(
                Kind::Template,
                format!(
                    "template error: job {}, worker {}, {detail}",
                    s.job, s.context.worker_ip
                ),
            )
        };
        let source =
            std::str::from_utf8(&f.content).map_err(|_| fail(format!("{rel}: not valid UTF-8")))?;
        let out = maand_template::render(
            &rel,
            source,
            maand_template::Dialect::Deploy,
            &s.context,
            &kv,
        )
        .map_err(|e| fail(e.to_string()))?;
        let target = rel.trim_end_matches(".tpl");
        write_file(&dir.join(target), out.as_bytes(), 0o755)?;
        keep.insert(dir.join(target));
    }
    for (rel, content) in &s.generated {
        write_file(&dir.join(rel), content, 0o644)?;
        keep.insert(dir.join(rel));
    }
    write_certs(s, dir, &mut keep)?;
    prune(dir, &keep)?;
    let files = hash_tree(dir)?;
    Ok(Staged {
        dir: dir.to_path_buf(),
        hash: aggregate(&files),
        files,
    })
}

/// `certs/<name>.crt|key` from the allocation namespace and the bucket CA (10-certs §6).
///
/// The declared names come from the job's `manifest.json` as the last build stored it
/// (the same snapshot build issued from); a declared cert missing in KV is an error.
fn write_certs(s: &AllocationStage, dir: &Path, keep: &mut BTreeSet<PathBuf>) -> Result<()> {
    let ns = format!("maand/job/{}/worker/{}", s.job, s.context.worker_ip);
    let manifest = format!("{}/manifest.json", s.job);
    let declared: Vec<String> = match s.files.iter().find(|f| !f.is_dir && f.path == manifest) {
        Some(f) => {
            let text = String::from_utf8_lossy(&f.content);
            let mut quiet = crate::warnings::Warnings::default();
            crate::workspace::manifest::parse(s.job, &manifest, &text, &mut quiet)?
                .certs
                .into_iter()
                .map(|c| c.name)
                .collect()
        }
        None => Vec::new(),
    };
    let mut any = false;
    for name in &declared {
        for (ext, mode) in [("crt", 0o644), ("key", 0o600)] {
            let pem = s
                .kv
                .get(&ns, &format!("certs/{name}.{ext}"))?
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    Error::bare(
                        Kind::Kv,
                        format!(
                            "staging job {}, worker {}: certificate \"{name}\" is missing certs/{name}.{ext} in KV {ns}; run maand build",
                            s.job, s.context.worker_ip
                        ),
                    )
                })?;
            let path = dir.join("certs").join(format!("{name}.{ext}"));
            write_file(&path, format!("{pem}\n").as_bytes(), mode)?;
            keep.insert(path);
            any = true;
        }
    }
    if let Some(ca) = s.kv.get("maand/worker", "certs/ca.crt")? {
        write_file(
            &dir.join("certs/ca.crt"),
            format!("{ca}\n").as_bytes(),
            0o644,
        )?;
        keep.insert(dir.join("certs/ca.crt"));
        any = true;
    }
    if any {
        fs_err::set_permissions(dir.join("certs"), std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// MD5 of every file of a staged tree except what is never sent.
pub fn hash_tree(dir: &Path) -> Result<FileHashes> {
    fn walk(base: &Path, dir: &Path, out: &mut FileHashes) -> Result<()> {
        for entry in fs_err::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let rel = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if never_sent(&rel) || ["data", "logs", "bin"].contains(&rel.as_str()) {
                continue;
            }
            if entry.file_type()?.is_dir() {
                walk(base, &path, out)?;
            } else {
                out.insert(rel, md5_hex(&fs_err::read(&path)?));
            }
        }
        Ok(())
    }
    let mut out = FileHashes::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

/// One hash over the sorted per-file manifest.
pub fn aggregate(files: &FileHashes) -> String {
    let mut text = String::new();
    for (p, h) in files {
        text.push_str(p);
        text.push(' ');
        text.push_str(h);
        text.push('\n');
    }
    md5_hex(text.as_bytes())
}

/// Writes the worker-level files (`worker.json`, `jobs.json`, `bin/`) of one worker.
pub fn stage_worker_files(
    tmp: &Path,
    ip: &str,
    worker_json: &serde_json::Value,
    jobs_json: &serde_json::Value,
) -> Result<PathBuf> {
    let dir = worker_dir(tmp, ip);
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    write_file(
        &dir.join("worker.json"),
        pretty(worker_json).as_bytes(),
        0o644,
    )?;
    write_file(&dir.join("jobs.json"), pretty(jobs_json).as_bytes(), 0o644)?;
    write_file(&dir.join("bin/runner.py"), RUNNER_PY.as_bytes(), 0o755)?;
    write_file(&dir.join("bin/worker.py"), WORKER_PY.as_bytes(), 0o755)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excluded_paths() {
        for p in [
            "_modules",
            "_modules/x.py",
            "_prometheus/scrape.yaml",
            "conf/a.yml.tpl",
        ] {
            assert!(never_sent(p), "{p}");
        }
        for p in ["Makefile", "conf/a.yml", "modules/x"] {
            assert!(!never_sent(p), "{p}");
        }
    }

    #[test]
    fn aggregate_is_order_independent_and_content_sensitive() {
        let a: FileHashes = [
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "1".to_string()),
        ]
        .into();
        let b: FileHashes = [
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string()),
        ]
        .into();
        assert_eq!(aggregate(&a), aggregate(&b));
        let c: FileHashes = [
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "3".to_string()),
        ]
        .into();
        assert_ne!(aggregate(&a), aggregate(&c));
    }

    #[test]
    fn hash_tree_skips_unsent() {
        let d = tempfile::tempdir().unwrap();
        for (p, c) in [
            ("Makefile", "m"),
            ("a.tpl", "t"),
            ("_modules/x.py", "x"),
            ("conf/y", "y"),
            ("data/db", "d"),
        ] {
            write_file(&d.path().join(p), c.as_bytes(), 0o644).unwrap();
        }
        let h = hash_tree(d.path()).unwrap();
        assert_eq!(h.keys().collect::<Vec<_>>(), ["Makefile", "conf/y"]);
        assert_eq!(h["Makefile"], md5_hex(b"m"));
    }
}
