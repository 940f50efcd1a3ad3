//! `TestBucket`: a temporary bucket wired to its own local fleet, driven through the real
//! binary. Job Makefiles record every target they run, with timestamps, into
//! `data/events.log` on the worker; tests read that file back through the fleet's host-side
//! view of each worker (`fleet.worker_dir(i)`).

use maand_fleet::Fleet;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../support/out.rs"]
mod out;
pub use out::Out;

/// One line of a job's `data/events.log`: `<ts> <begin|end> <target> cur=<v> new=<v>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub ts: f64,
    pub phase: String,
    pub target: String,
    pub cur: String,
    pub new: String,
}

/// Waits for a [`TestBucket::spawn_piped`] child.
/// A path under the repository's `examples/`.
pub fn example(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(rel)
}

/// Copies a directory tree (examples into test buckets).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Waits for a `maand` started with [`TestBucket::spawn_piped`]; `took` is not measured.
pub fn finish(child: Child) -> Out {
    Out::new(
        child.wait_with_output().expect("wait maand"),
        Duration::ZERO,
    )
}

/// A time span of one target run on one worker (begin..end).
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub begin: f64,
    pub end: f64,
}

impl Span {
    pub fn overlaps(&self, o: &Span) -> bool {
        self.begin < o.end && o.begin < self.end
    }
}

/// The recording Makefile. Each target appends `begin`/`end` events; `data/fail_<target>`
/// on the worker makes the target fail, `data/hang_<target>` makes it sleep 30 s once.
pub fn makefile(sleep: &str) -> String {
    format!(
        "# maand deploy test job\n\
         rec = mkdir -p data; echo \"$$(date +%s.%N) $(1) $@ cur=$$CURRENT_VERSION new=$$NEW_VERSION\" >> data/events.log\n\
         start stop restart reload status custom:\n\
         \t@$(call rec,begin)\n\
         \t@if [ -f data/fail_$@ ]; then echo \"target $@ failing on purpose\" >&2; exit 3; fi\n\
         \t@if [ -f data/hang_$@ ]; then rm -f data/hang_$@; sleep 30; fi\n\
         \t@sleep {sleep}\n\
         \t@echo \"$@ done\"\n\
         \t@$(call rec,end)\n"
    )
}

/// The binary under test: `MAAND_TEST_BIN` when set (a copy that a concurrent build in a
/// shared target dir cannot replace mid-run), else the one cargo built for this test.
fn bin() -> String {
    std::env::var("MAAND_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_maand").into())
}

/// A bucket in a temp dir plus the fleet it talks to.
pub struct TestBucket {
    pub fleet: Fleet,
    dir: tempfile::TempDir,
    id: std::sync::OnceLock<String>,
}

impl TestBucket {
    /// `maand init`, `maand.conf`, key and `workers.json` (every worker, no labels) for a
    /// fresh fleet of `n`; `None` after a loud notice when the machine cannot host a fleet.
    pub fn new(test: &str, n: usize) -> Option<TestBucket> {
        let fleet = maand_fleet::fleet_or_skip(test, n).expect("start fleet")?;
        let dir = tempfile::Builder::new()
            .prefix("maand-deploy-test-")
            .tempdir()
            .expect("tempdir");
        let b = TestBucket {
            fleet,
            dir,
            id: std::sync::OnceLock::new(),
        };
        b.maand(&["init"]).ok();
        let key = b.path("secrets/worker.key");
        std::fs::copy(b.fleet.client_key(), &key).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        b.write(
            "maand.conf",
            format!(
                "ssh_user = \"root\"\nssh_key = \"worker.key\"\nssh_port = {}\nuse_sudo = false\n\
                 ssh_connect_timeout = 3\nssh_control_persist = 0\n",
                b.fleet.port()
            ),
        );
        let all: Vec<(usize, Vec<&str>)> = (0..n).map(|i| (i, vec![])).collect();
        b.workers(&all);
        Some(b)
    }

    /// Writes `workers.json`: `(fleet index, labels)` in the given (catalog) order.
    pub fn workers(&self, list: &[(usize, Vec<&str>)]) {
        let v: Vec<Value> = list
            .iter()
            .map(|(i, labels)| serde_json::json!({"host": self.host(*i), "labels": labels}))
            .collect();
        self.write(
            "workspace/workers.json",
            serde_json::to_string_pretty(&v).unwrap(),
        );
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

    /// Writes `rel` under the bucket (creating parent directories).
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// Adds (or rewrites) job `name`: `manifest.json` = `{"version": "1.0.0", "selectors":
    /// ["worker"]}` merged with `extra`, the recording Makefile (sleeping `sleep` seconds
    /// per target) and `content.txt`.
    pub fn job(&self, name: &str, extra: Value, sleep: &str) {
        let mut m = serde_json::json!({"version": "1.0.0", "selectors": ["worker"]});
        if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                m.insert(k.clone(), v.clone());
            }
        }
        let dir = format!("workspace/jobs/{name}");
        self.write(
            &format!("{dir}/manifest.json"),
            serde_json::to_string_pretty(&m).unwrap(),
        );
        self.write(&format!("{dir}/Makefile"), makefile(sleep));
        self.write(&format!("{dir}/content.txt"), "one\n");
    }

    /// Adds job `name` (as [`TestBucket::job`]) with one hook, declared for `events` and
    /// named after its script `file` in `_modules/` (`command_x.py` → `command_x`).
    pub fn hook_job(
        &self,
        name: &str,
        sleep: &str,
        file: &str,
        events: &[&str],
        source: impl AsRef<[u8]>,
    ) {
        let command = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
        self.job(
            name,
            serde_json::json!({"commands": {command: {"executed_on": events}}}),
            sleep,
        );
        self.write(&format!("workspace/jobs/{name}/_modules/{file}"), source);
    }

    /// Two waves: job `up` (deployment_seq 0) and job `down` (1), whose cli hook demands
    /// `up`'s `command_ready`; both sleep `sleep` seconds per target.
    pub fn up_and_down(&self, sleep: &str) {
        self.hook_job(
            "up",
            sleep,
            "command_ready.py",
            &["cli"],
            "print('ready')\n",
        );
        self.job(
            "down",
            serde_json::json!({"commands": {"command_warm": {
                "executed_on": ["cli"],
                "demands": {"job": "up", "command": "command_ready"}
            }}}),
            sleep,
        );
        self.write(
            "workspace/jobs/down/_modules/command_warm.py",
            "print('warm')\n",
        );
    }

    /// `maand <args>` in the bucket root.
    pub fn maand(&self, args: &[&str]) -> Out {
        let start = Instant::now();
        let out = self.command(args).output().expect("run maand");
        Out::new(out, start.elapsed())
    }

    /// `maand <args>` started in the background (output discarded).
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn maand")
    }

    /// `maand <args>` started in the background with captured output; see [`finish`].
    pub fn spawn_piped(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn maand")
    }

    /// Like [`TestBucket::spawn_piped`], as the leader of its own process group, the way a
    /// shell runs a foreground command (a terminal Ctrl-C signals the whole group).
    pub fn spawn_group_leader(&self, args: &[&str]) -> Child {
        use std::os::unix::process::CommandExt;
        self.command(args)
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn maand")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args)
            .current_dir(self.root())
            .env_remove("MAAND_BUCKET")
            .env("NO_COLOR", "1");
        c
    }

    /// `maand build` then `maand deploy`, both expected to succeed.
    pub fn build_deploy(&self) -> Out {
        self.maand(&["build"]).ok();
        self.maand(&["deploy"]).ok()
    }

    pub fn bucket_id(&self) -> &str {
        self.id.get_or_init(|| {
            self.maand(&["info", "--output", "json"]).ok().json()["bucket_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
    }

    pub fn update_seq(&self) -> i64 {
        self.maand(&["info", "--output", "json"]).ok().json()["update_seq"]
            .as_i64()
            .unwrap()
    }

    /// `maand cat deployments --output json` rows.
    pub fn deployments(&self) -> Vec<Value> {
        let v = self
            .maand(&["cat", "deployments", "--output", "json"])
            .ok()
            .json();
        v.as_array().unwrap().clone()
    }

    /// The `cat deployments` row of `job` on worker `i`, if any.
    pub fn deployment(&self, job: &str, i: usize) -> Option<Value> {
        let h = self.host(i);
        self.deployments()
            .into_iter()
            .find(|r| r["job"] == job && r["worker_ip"] == h.as_str())
    }

    /// `rollout` of `job` on worker `i` ("" when there is no row).
    pub fn rollout(&self, job: &str, i: usize) -> String {
        self.deployment(job, i)
            .map(|r| r["rollout"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    }

    /// Host path of `<root>/<rel>` on worker `i` (`<worker_dir>/<bucket_id>/<rel>`).
    pub fn on_worker(&self, i: usize, rel: &str) -> PathBuf {
        self.fleet.worker_dir(i).join(self.bucket_id()).join(rel)
    }

    /// Reads `<root>/<rel>` on worker `i` ("" when absent).
    pub fn worker_file(&self, i: usize, rel: &str) -> String {
        std::fs::read_to_string(self.on_worker(i, rel)).unwrap_or_default()
    }

    /// Creates a marker file `jobs/<job>/data/<name>` on worker `i`.
    pub fn mark(&self, i: usize, job: &str, name: &str) {
        let p = self.on_worker(i, &format!("jobs/{job}/data/{name}"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "").unwrap();
    }

    pub fn unmark(&self, i: usize, job: &str, name: &str) {
        let _ = std::fs::remove_file(self.on_worker(i, &format!("jobs/{job}/data/{name}")));
    }

    /// Events of `job` on worker `i`.
    pub fn events(&self, i: usize, job: &str) -> Vec<Event> {
        self.worker_file(i, &format!("jobs/{job}/data/events.log"))
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                Event {
                    ts: f[0].parse().unwrap(),
                    phase: f[1].to_string(),
                    target: f[2].to_string(),
                    cur: f[3].trim_start_matches("cur=").to_string(),
                    new: f[4].trim_start_matches("new=").to_string(),
                }
            })
            .collect()
    }

    /// Targets begun for `job` on worker `i`, in order.
    pub fn targets(&self, i: usize, job: &str) -> Vec<String> {
        self.events(i, job)
            .into_iter()
            .filter(|e| e.phase == "begin")
            .map(|e| e.target)
            .collect()
    }

    /// Completed spans of `target` for `job` on worker `i`.
    pub fn spans(&self, i: usize, job: &str, target: &str) -> Vec<Span> {
        let ev: Vec<Event> = self
            .events(i, job)
            .into_iter()
            .filter(|e| e.target == target)
            .collect();
        let mut out = Vec::new();
        let mut begin = None;
        for e in ev {
            match e.phase.as_str() {
                "begin" => begin = Some(e.ts),
                _ => {
                    if let Some(b) = begin.take() {
                        out.push(Span {
                            begin: b,
                            end: e.ts,
                        });
                    }
                }
            }
        }
        out
    }

    /// Accepted SSH logins over the whole fleet so far.
    pub fn logins(&self) -> usize {
        (0..self.fleet.len())
            .map(|i| self.fleet.accepted_logins(i))
            .sum()
    }

    /// Polls `cond` every 50 ms for up to `secs`; panics with `what` on timeout.
    #[track_caller]
    pub fn wait_for(&self, secs: u64, what: &str, cond: impl Fn() -> bool) {
        let start = Instant::now();
        while !cond() {
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
