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

    /// Sets `key = value` (TOML text) in `maand.conf`, replacing an earlier line of it.
    pub fn set_conf(&self, key: &str, value: &str) {
        let mut text: String = self
            .read("maand.conf")
            .lines()
            .filter(|l| l.split('=').next().map(str::trim) != Some(key))
            .map(|l| format!("{l}\n"))
            .collect();
        text.push_str(&format!("{key} = {value}\n"));
        self.write("maand.conf", text);
    }

    /// The SSH settings `maand` derives from this bucket's `maand.conf` (as the fleet
    /// configures it): the same control directory and socket names.
    pub fn ssh_settings(&self) -> maand_transport::SshSettings {
        let mut s = maand_transport::SshSettings::for_bucket(
            self.root(),
            "root",
            self.path("secrets/worker.key"),
            self.fleet.port(),
        );
        s.use_sudo = false;
        s.connect_timeout = std::time::Duration::from_secs(3);
        s
    }

    /// Every file under `logs/` (recursively, sorted), with its text.
    pub fn log_files(&self) -> Vec<(PathBuf, String)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    let text = std::fs::read_to_string(&p).unwrap();
                    out.push((p, text));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.path("logs"), &mut out);
        out.sort();
        out
    }
}

/// Closes, when dropped (also on a failed assertion), the masters a test left persisting
/// (`ssh -O exit`), so no ssh process outlives the test.
pub struct CloseMasters {
    pub settings: maand_transport::SshSettings,
    pub hosts: Vec<String>,
}

impl CloseMasters {
    /// Is a master for `host` running (`ssh -O check`)?
    pub fn alive(&self, host: &str) -> bool {
        maand_transport::master_running(&self.settings, host)
    }

    /// `ssh -O exit` for every host; true when some master answered.
    pub fn close(&self) -> bool {
        let mut closed = false;
        for h in &self.hosts {
            closed |= maand_transport::exit_master(&self.settings, h);
        }
        closed
    }
}

impl Drop for CloseMasters {
    fn drop(&mut self) {
        self.close();
    }
}
