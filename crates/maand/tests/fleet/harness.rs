//! `FleetBucket`: a temporary bucket wired to a fresh local fleet, driven through the real
//! binary.

use maand_fleet::Fleet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "../support/out.rs"]
mod out;
pub use out::Out;

/// A bucket in a temp dir plus the fleet it talks to.
pub struct FleetBucket {
    pub fleet: Fleet,
    dir: tempfile::TempDir,
}

impl FleetBucket {
    /// `maand init` + `maand.conf` and `workers.json` for a fleet of `n`; `None` (after a
    /// loud notice) when the machine cannot host a fleet.
    pub fn new(test: &str, n: usize) -> Option<FleetBucket> {
        let fleet = maand_fleet::fleet_or_skip(test, n).expect("start fleet")?;
        let dir = tempfile::Builder::new()
            .prefix("maand-fleet-test-")
            .tempdir()
            .expect("tempdir");
        let b = FleetBucket { fleet, dir };
        b.maand(&["init"]).ok();
        let frag = b
            .fleet
            .configure_bucket(b.root())
            .expect("configure bucket");
        b.write(
            "maand.conf",
            format!(
                "{}ssh_connect_timeout = 3\nssh_control_persist = 0\n",
                frag.maand_conf
            ),
        );
        b.write("workspace/workers.json", frag.workers_json);
        Some(b)
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    pub fn host(&self, i: usize) -> String {
        self.fleet.host(i)
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

    /// `maand <args>` in the bucket root.
    pub fn maand(&self, args: &[&str]) -> Out {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_maand"))
            .args(args)
            .current_dir(self.root())
            .env_remove("MAAND_BUCKET")
            .env("NO_COLOR", "1")
            .output()
            .expect("run maand");
        Out::new(out, start.elapsed())
    }

    /// The bucket id (`maand info --output json`).
    pub fn bucket_id(&self) -> String {
        let out = self.maand(&["info", "--output", "json"]).ok();
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v["bucket_id"].as_str().unwrap().to_string()
    }

    /// Adds a job with `manifest` (JSON text) and an empty Makefile.
    pub fn job(&self, name: &str, manifest: &str) {
        self.write(&format!("workspace/jobs/{name}/manifest.json"), manifest);
        self.write(
            &format!("workspace/jobs/{name}/Makefile"),
            "start:\nstop:\nrestart:\nreload:\nstatus:\n",
        );
    }

    /// Logins worker `i`'s sshd accepted so far.
    pub fn logins(&self, i: usize) -> usize {
        self.fleet.accepted_logins(i)
    }
}
