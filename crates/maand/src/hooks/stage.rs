//! Materialising a job for a hook run (spec 07 §3) under `tmp/workers/<ip>/jobs/<job>/`.

use super::{MAAND_PY, MAAND_TS};
use crate::catalog::jobs::FileRow;
use crate::error::Result;
use crate::kv::KvStore;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// How much of the job to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every job file, raw (templates not rendered, `_prometheus/` skipped), plus
    /// `_modules/` extras.
    Full,
    /// Deploy already staged and rendered this job here: refresh `_modules/` only.
    ModulesOnly,
    /// `health_check`: just the script, the helpers and the certificates.
    HealthFast,
}

/// What one staging writes.
pub struct HookStage<'a> {
    pub tmp: &'a Path,
    pub workspace_modules: PathBuf,
    pub job: &'a str,
    pub worker: &'a str,
    pub files: &'a [FileRow],
    /// `_modules/<command>.<ext>` relative to the job.
    pub script_rel: &'a str,
    pub kv: &'a KvStore,
    pub mode: Mode,
}

fn write_file(path: &Path, content: &[u8], mode: u32) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    // Replace rather than rewrite in place: a concurrent reader never sees half a file.
    let tmp = path.with_extension(format!("maand-tmp-{}", std::process::id()));
    fs_err::write(&tmp, content)?;
    fs_err::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    fs_err::rename(&tmp, path)?;
    Ok(())
}

/// `tmp/` is private to the operator: it holds keys and rendered secrets.
pub fn ensure_tmp(tmp: &Path) -> Result<()> {
    fs_err::create_dir_all(tmp)?;
    fs_err::set_permissions(tmp, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// Stages the job and returns its `_modules/` directory (the hook's working directory).
pub fn stage(s: &HookStage) -> Result<PathBuf> {
    ensure_tmp(s.tmp)?;
    let dir = s
        .tmp
        .join("workers")
        .join(s.worker)
        .join("jobs")
        .join(s.job);
    let modules = dir.join("_modules");
    let prefix = format!("{}/", s.job);
    let script = format!("{}{}", prefix, s.script_rel);
    for f in s.files {
        let Some(rel) = f.path.strip_prefix(&prefix) else {
            continue;
        };
        if rel == "_prometheus" || rel.starts_with("_prometheus/") {
            continue;
        }
        let in_modules = rel == "_modules" || rel.starts_with("_modules/");
        let wanted = match s.mode {
            Mode::Full => true,
            Mode::ModulesOnly => in_modules,
            Mode::HealthFast => f.path == script,
        };
        if !wanted || rel == "_modules/maand.py" || rel == "_modules/maand.ts" {
            continue;
        }
        let path = dir.join(rel);
        if f.is_dir {
            fs_err::create_dir_all(&path)?;
        } else {
            write_file(&path, &f.content, 0o755)?;
        }
    }
    fs_err::create_dir_all(&modules)?;
    write_file(&modules.join("maand.py"), MAAND_PY.as_bytes(), 0o644)?;
    write_file(&modules.join("maand.ts"), MAAND_TS.as_bytes(), 0o644)?;
    write_certs(s, &modules)?;
    let nm = s.workspace_modules.join("node_modules");
    let link = modules.join("node_modules");
    if nm.is_dir() && std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(&nm, &link)?;
    }
    Ok(modules)
}

/// `_modules/certs/…` from the allocation namespace, and the bucket CA.
fn write_certs(s: &HookStage, modules: &Path) -> Result<()> {
    let ns = format!("maand/job/{}/worker/{}", s.job, s.worker);
    let certs = modules.join("certs");
    let mut wrote_ca = false;
    for key in s.kv.keys(&ns) {
        let Some(name) = key.strip_prefix("certs/") else {
            continue;
        };
        let Some(pem) = s.kv.get(&ns, &key)? else {
            continue;
        };
        let mode = if name.ends_with(".key") { 0o600 } else { 0o644 };
        write_file(&certs.join(name), format!("{pem}\n").as_bytes(), mode)?;
        wrote_ca |= name == "ca.crt";
    }
    if !wrote_ca {
        if let Some(ca) = s.kv.get("maand/worker", "certs/ca.crt")? {
            write_file(&certs.join("ca.crt"), format!("{ca}\n").as_bytes(), 0o644)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, content: &str) -> FileRow {
        FileRow {
            path: path.into(),
            is_dir: false,
            content: content.as_bytes().to_vec(),
        }
    }

    fn staged(dir: &Path, mode: Mode, kv: &KvStore) -> PathBuf {
        let files = [
            file("api/Makefile", "raw make"),
            file("api/conf.yml.tpl", "{{ .Job }}"),
            file("api/_prometheus/scrape.yml", "x"),
            file("api/_modules/command_a.py", "print(1)"),
            file("api/_modules/lib.py", "x = 1"),
            file("api/_modules/maand.py", "workspace copy"),
        ];
        stage(&HookStage {
            tmp: &dir.join("tmp"),
            workspace_modules: dir.join("workspace/jobs/api/_modules"),
            job: "api",
            worker: "10.0.0.1",
            files: &files,
            script_rel: "_modules/command_a.py",
            kv,
            mode,
        })
        .unwrap()
    }

    #[test]
    fn modes() {
        let d = tempfile::tempdir().unwrap();
        let key = d.path().join("kv.key");
        fs_err::write(&key, crate::kv::crypto::new_key_bytes()).unwrap();
        let mut kv = KvStore::empty(key);
        kv.put("maand/worker", "certs/ca.crt", "CA").unwrap();
        kv.put("maand/job/api/worker/10.0.0.1", "certs/tls.key", "KEY")
            .unwrap();
        fs_err::create_dir_all(d.path().join("workspace/jobs/api/_modules/node_modules")).unwrap();
        let job = d.path().join("tmp/workers/10.0.0.1/jobs/api");

        let m = staged(d.path(), Mode::HealthFast, &kv);
        assert_eq!(m, job.join("_modules"));
        assert!(!job.join("Makefile").exists());
        assert!(!m.join("lib.py").exists());
        assert_eq!(
            fs_err::read_to_string(m.join("maand.py")).unwrap(),
            MAAND_PY
        );
        assert_eq!(
            fs_err::read_to_string(m.join("certs/ca.crt")).unwrap(),
            "CA\n"
        );
        let mode = fs_err::metadata(m.join("certs/tls.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(m.join("node_modules").is_symlink());
        let tmp_mode = fs_err::metadata(d.path().join("tmp"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(tmp_mode & 0o777, 0o700);

        staged(d.path(), Mode::Full, &kv);
        assert_eq!(
            fs_err::read_to_string(job.join("Makefile")).unwrap(),
            "raw make"
        );
        assert!(job.join("conf.yml.tpl").exists());
        assert!(!job.join("_prometheus").exists());
        assert!(m.join("lib.py").exists());

        // Deploy rendered the job: only _modules/ is refreshed.
        fs_err::write(job.join("Makefile"), "rendered").unwrap();
        fs_err::write(m.join("lib.py"), "stale").unwrap();
        staged(d.path(), Mode::ModulesOnly, &kv);
        assert_eq!(
            fs_err::read_to_string(job.join("Makefile")).unwrap(),
            "rendered"
        );
        assert_eq!(fs_err::read_to_string(m.join("lib.py")).unwrap(), "x = 1");
    }
}
