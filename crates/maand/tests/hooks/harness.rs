//! A temporary bucket with hook jobs, driven through the real `maand` binary.
//!
//! Every hook script of the generated workspace runs `<bucket>/hook_body.py`, so a test
//! changes what hooks do by rewriting that file, without a rebuild.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One finished `maand` run.
#[derive(Debug, Clone)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    #[track_caller]
    pub fn ok(&self) -> &Out {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        self
    }

    #[track_caller]
    pub fn failed(&self) -> &Out {
        assert_eq!(self.code, 1, "expected exit 1: {self:#?}");
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        self
    }
}

/// The dispatcher every hook script holds (the catalog copy never changes).
pub const DISPATCH_PY: &str = r#"import runpy
import maand

runpy.run_path(str(maand.find_bucket_root() / "hook_body.py"), run_name="__main__")
"#;

pub struct Bucket {
    dir: tempfile::TempDir,
    /// Prepended to PATH for maand (fake `ssh`).
    pub fake_bin: Option<PathBuf>,
}

impl Bucket {
    /// `maand init` in a fresh directory.
    pub fn new() -> Bucket {
        let b = Bucket {
            dir: tempfile::Builder::new()
                .prefix("maand-hooks-")
                .tempdir()
                .unwrap(),
            fake_bin: None,
        };
        b.maand(&["init"]).ok();
        b
    }

    /// Two workers (127.0.0.1, 127.0.0.2), jobs `alpha` (wave 0) and `beta` (wave 1,
    /// demands alpha command_a, disabled on 127.0.0.2) with the hooks of the tests.
    pub fn standard() -> Bucket {
        let b = Bucket::new();
        b.write(
            "workspace/workers.json",
            r#"[
  { "host": "127.0.0.1", "labels": ["alpha", "beta", "gamma"] },
  { "host": "127.0.0.2", "labels": ["alpha", "beta", "gamma"] }
]"#,
        );
        b.write(
            "workspace/disabled.json",
            r#"{ "jobs": { "beta": { "allocations": ["127.0.0.2"] } } }"#,
        );
        b.job(
            "alpha",
            r#"{ "version": "1.0.0", "selectors": ["alpha"], "commands": {
  "command_b": { "executed_on": ["post_build", "cli"] },
  "command_a": { "executed_on": ["post_build", "cli"] },
  "command_c": { "executed_on": ["cli"] }
} }"#,
            &["command_a", "command_b", "command_c"],
        );
        b.job(
            "beta",
            r#"{ "version": "2.0.0", "selectors": ["beta"], "commands": {
  "command_d": { "executed_on": ["post_build"],
    "demands": { "job": "alpha", "command": "command_a", "config": { "min_version": "1.0.0" } } }
} }"#,
            &["command_d"],
        );
        b
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    /// A job with a manifest, a Makefile and one dispatcher script per command.
    pub fn job(&self, name: &str, manifest: &str, commands: &[&str]) {
        self.write(&format!("workspace/jobs/{name}/manifest.json"), manifest);
        self.write(&format!("workspace/jobs/{name}/Makefile"), "start:\n");
        for c in commands {
            self.write(
                &format!("workspace/jobs/{name}/_modules/{c}.py"),
                DISPATCH_PY,
            );
        }
    }

    /// What every hook runs from now on.
    pub fn body(&self, python: &str) {
        self.write("hook_body.py", python);
    }

    pub fn maand(&self, args: &[&str]) -> Out {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_maand"));
        cmd.args(args)
            .current_dir(self.root())
            .env_remove("MAAND_BUCKET")
            .env_remove("MAAND_API_URL")
            .env_remove("MAAND_API_TOKEN")
            .env("NO_COLOR", "1");
        if let Some(bin) = &self.fake_bin {
            let path = std::env::var("PATH").unwrap_or_default();
            cmd.env("PATH", format!("{}:{path}", bin.display()));
        }
        let out = cmd.output().expect("run maand");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Live value of a KV entry, `None` when absent.
    pub fn kv(&self, ns: &str, key: &str) -> Option<String> {
        let o = self.maand(&["cat", "kv", "get", ns, key, "--output", "json"]);
        if o.code != 0 {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        v["value"].as_str().map(str::to_string)
    }

    /// Lines a hook appended to `<bucket>/<rel>`.
    pub fn lines(&self, rel: &str) -> Vec<String> {
        self.read(rel).lines().map(str::to_string).collect()
    }
}

/// Allocation id of (job, worker) from `cat allocations --output json`.
pub fn alloc_id(b: &Bucket, job: &str, worker: &str) -> String {
    let o = b.maand(&["cat", "allocations", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&o.ok().stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .find(|r| r["job"] == job && r["worker_ip"] == worker)
        .and_then(|r| r["allocation_id"].as_str())
        .unwrap_or_else(|| panic!("no allocation {job}@{worker} in {v}"))
        .to_string()
}
