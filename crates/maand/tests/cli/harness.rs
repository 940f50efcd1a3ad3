//! `TestBucket`: a temporary bucket driven through the real binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The spec example workspace (02 §13), copied into buckets by [`TestBucket::example`].
pub const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/spec");

/// One finished `maand` run.
#[derive(Debug, Clone)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Asserts the run failed cleanly (exit 1, no panic) and returns stderr.
    #[track_caller]
    pub fn failed(&self) -> &str {
        assert_eq!(self.code, 1, "expected exit 1: {self:#?}");
        assert_no_panic(self);
        &self.stderr
    }

    /// Asserts exit 0 and returns stdout.
    #[track_caller]
    pub fn succeeded(&self) -> &str {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        assert_no_panic(self);
        &self.stdout
    }
}

#[track_caller]
fn assert_no_panic(o: &Out) {
    for needle in ["panicked", "RUST_BACKTRACE", "thread 'main'"] {
        assert!(!o.stderr.contains(needle), "panic text in stderr: {o:#?}");
    }
}

/// A bucket in a temporary directory.
pub struct TestBucket {
    dir: tempfile::TempDir,
}

impl TestBucket {
    /// An empty directory; no `maand init`.
    pub fn uninit() -> TestBucket {
        TestBucket {
            dir: tempfile::Builder::new()
                .prefix("maand-cli-")
                .tempdir()
                .expect("tempdir"),
        }
    }

    /// A fresh bucket (`maand init` succeeded).
    pub fn new() -> TestBucket {
        let b = TestBucket::uninit();
        b.ok(&["init"]);
        b
    }

    /// A fresh bucket holding the spec example workspace (not built yet).
    pub fn example() -> TestBucket {
        let b = TestBucket::new();
        copy_tree(Path::new(EXAMPLE), b.root());
        b
    }

    /// The example workspace after a successful first build.
    pub fn example_built() -> TestBucket {
        let b = TestBucket::example();
        b.ok(&["build"]);
        b
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// Writes `rel` (creating parent directories).
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Removes a file or a directory tree.
    pub fn remove(&self, rel: &str) {
        let p = self.path(rel);
        if p.is_dir() {
            std::fs::remove_dir_all(p).unwrap();
        } else {
            std::fs::remove_file(p).unwrap();
        }
    }

    /// `maand <args>` run in the bucket root.
    pub fn maand(&self, args: &[&str]) -> Out {
        run_in(self.root(), args)
    }

    /// `maand <args>` with extra environment variables.
    pub fn maand_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        run_with(self.root(), args, env)
    }

    /// Runs and asserts success; returns stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.maand(args);
        o.succeeded();
        o.stdout
    }

    /// Runs and asserts a clean failure; returns stderr.
    #[track_caller]
    pub fn fail(&self, args: &[&str]) -> String {
        let o = self.maand(args);
        o.failed();
        o.stderr
    }

    /// Parsed `--output json` of a command that must succeed.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--output", "json"]);
        serde_json::from_str(&self.ok(&a)).expect("valid JSON")
    }

    /// Latest KV value of a live entry (`cat kv get`).
    #[track_caller]
    pub fn kv(&self, ns: &str, key: &str) -> String {
        let v = self.json(&["cat", "kv", "get", ns, key]);
        v["value"].as_str().unwrap().to_string()
    }

    /// Every live key of a namespace, from `cat kv --active --output json`.
    pub fn kv_namespace(&self, ns: &str) -> BTreeMap<String, String> {
        self.json(&["cat", "kv", "--active"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["namespace"] == ns)
            .map(|r| {
                (
                    r["key"].as_str().unwrap().to_string(),
                    r["value"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Every row of every catalog table (and `user_version`), in a stable text form.
    pub fn dump(&self) -> String {
        dump_catalog(&self.path("data/maand.db"))
    }

    /// Runs a build that must fail with an error starting with `expected`, checks the
    /// catalog is exactly as before, and returns stderr from the `error: ` line on
    /// (warnings before it dropped).
    #[track_caller]
    pub fn build_fails(&self, expected: &str) -> String {
        let before = self.dump();
        let err = self.fail(&["build"]);
        let at = if err.starts_with("error: ") {
            0
        } else {
            err.find("\nerror: ")
                .unwrap_or_else(|| panic!("no error line in {err:?}"))
                + 1
        };
        let msg = &err[at..];
        assert!(
            msg.starts_with(&format!("error: {expected}")),
            "expected `error: {expected}`, got:\n{err}"
        );
        assert_eq!(before, self.dump(), "catalog changed by a failed build");
        msg.to_string()
    }
}

pub fn run_in(dir: &Path, args: &[&str]) -> Out {
    run_with(dir, args, &[])
}

fn run_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_maand"))
        .args(args)
        .current_dir(dir)
        .env_remove("MAAND_BUCKET")
        .env("NO_COLOR", "1")
        // 2048-bit RSA for the bucket CA and leaf certificates (4096 is slow, spec 10).
        .env("MAAND_TEST", "1")
        .envs(env.iter().copied())
        .output()
        .expect("run maand");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// Dumps every table (sorted rows; blobs by length and content) plus `user_version`.
pub fn dump_catalog(db: &Path) -> String {
    use rusqlite::types::ValueRef;
    let conn = rusqlite::Connection::open(db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let mut out = format!("user_version {version}\n");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for t in tables {
        let mut st = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let mut rows: Vec<String> = st
            .query_map([], |r| {
                let cells: Vec<String> = (0..n)
                    .map(|i| match r.get_ref(i).unwrap() {
                        ValueRef::Null => "NULL".to_string(),
                        ValueRef::Integer(v) => v.to_string(),
                        ValueRef::Real(v) => format!("{v:?}"),
                        ValueRef::Text(v) => format!("{:?}", String::from_utf8_lossy(v)),
                        ValueRef::Blob(v) => format!("blob{:?}", v),
                    })
                    .collect();
                Ok(cells.join("|"))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.push_str(&format!("table {t} ({} rows)\n", rows.len()));
        for r in rows {
            out.push_str(&r);
            out.push('\n');
        }
    }
    out
}

/// StableUUID (spec 03 §6), computed independently of the crate.
pub fn stable_uuid(s: &str) -> String {
    use md5::{Digest, Md5};
    let mut b: [u8; 16] = Md5::digest(s.as_bytes()).into();
    b[6] = (b[6] & 0x0F) | 0x30;
    b[8] = (b[8] & 0x3F) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A minimal valid job: manifest text plus an empty Makefile.
pub fn job(b: &TestBucket, name: &str, manifest: &str) {
    b.write(&format!("workspace/jobs/{name}/manifest.json"), manifest);
    b.write(&format!("workspace/jobs/{name}/Makefile"), "start:\n");
}
