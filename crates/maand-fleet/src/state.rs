//! The state file of a detached fleet (`maand-fleet start`), and stopping/inspecting it
//! from another process.

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{json, Value};

use crate::error::FleetError;
use crate::procs;

pub(crate) const STATE_FILE: &str = "state.json";

/// One worker of a detached fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerState {
    pub host: String,
    pub pid: Option<i32>,
    pub mnt_ns: Option<String>,
    pub config: PathBuf,
    pub log: PathBuf,
    pub worker_dir: PathBuf,
}

/// A detached fleet, as written to `<root>/state.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetState {
    pub k: u8,
    pub port: u16,
    pub root: PathBuf,
    pub client_key: PathBuf,
    pub workers: Vec<WorkerState>,
}

/// One line of `maand-fleet status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerStatus {
    pub host: String,
    pub pid: Option<i32>,
    /// The recorded pid still runs our sshd.
    pub alive: bool,
    /// The port accepts TCP.
    pub accepting: bool,
}

impl FleetState {
    pub(crate) fn write(&self) -> Result<PathBuf, FleetError> {
        let path = self.root.join(STATE_FILE);
        let value = json!({
            "k": self.k,
            "port": self.port,
            "root": self.root,
            "client_key": self.client_key,
            "workers": self.workers.iter().map(|w| json!({
                "host": w.host,
                "pid": w.pid,
                "mnt_ns": w.mnt_ns,
                "config": w.config,
                "log": w.log,
                "worker_dir": w.worker_dir,
            })).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        fs::write(&path, text + "\n").map_err(|e| FleetError::State {
            path: path.clone(),
            message: e.to_string(),
        })?;
        Ok(path)
    }

    /// Read `<dir>/state.json`.
    pub fn read(dir: &Path) -> Result<FleetState, FleetError> {
        let path = dir.join(STATE_FILE);
        let bad = |message: String| FleetError::State {
            path: path.clone(),
            message,
        };
        let text = fs::read_to_string(&path)
            .map_err(|e| bad(format!("{e} (is a fleet running there?)")))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let s = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(String::from);
        let p = |v: &Value, key: &str| s(v, key).map(PathBuf::from).unwrap_or_default();
        let workers = v
            .get("workers")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("missing workers".into()))?
            .iter()
            .map(|w| WorkerState {
                host: s(w, "host").unwrap_or_default(),
                pid: w.get("pid").and_then(Value::as_i64).map(|p| p as i32),
                mnt_ns: s(w, "mnt_ns"),
                config: p(w, "config"),
                log: p(w, "log"),
                worker_dir: p(w, "worker_dir"),
            })
            .collect();
        Ok(FleetState {
            k: v.get("k").and_then(Value::as_u64).unwrap_or(0) as u8,
            port: v.get("port").and_then(Value::as_u64).unwrap_or(0) as u16,
            root: p(&v, "root"),
            client_key: p(&v, "client_key"),
            workers,
        })
    }

    /// [`crate::Fleet::configure_bucket`] for a detached fleet.
    pub fn configure_bucket(&self, bucket: &Path) -> Result<crate::BucketFragment, FleetError> {
        let hosts: Vec<String> = self.workers.iter().map(|w| w.host.clone()).collect();
        crate::fleet::configure_bucket(bucket, &self.client_key, &hosts, self.port)
    }

    /// Liveness of each worker.
    pub fn status(&self) -> Vec<WorkerStatus> {
        self.workers
            .iter()
            .map(|w| {
                let alive = w
                    .pid
                    .is_some_and(|pid| procs::is_our_process(pid, &w.config));
                let accepting = w
                    .host
                    .parse::<std::net::Ipv4Addr>()
                    .ok()
                    .map(|ip| {
                        TcpStream::connect_timeout(
                            &(ip, self.port).into(),
                            Duration::from_millis(500),
                        )
                        .is_ok()
                    })
                    .unwrap_or(false);
                WorkerStatus {
                    host: w.host.clone(),
                    pid: w.pid,
                    alive,
                    accepting,
                }
            })
            .collect()
    }

    /// Kill every worker by its recorded pid (only if that pid still runs our sshd
    /// config) and every process in its recorded mount namespace, then remove the state
    /// file. Returns how many listeners were still running.
    pub fn stop(&self) -> Result<usize, FleetError> {
        let mut stopped = 0;
        for w in &self.workers {
            let Some(pid) = w.pid.filter(|&pid| procs::is_our_process(pid, &w.config)) else {
                // Listener gone: its namespace may be gone too and its id reused by another
                // fleet, so there is nothing we may safely scan for.
                continue;
            };
            stopped += 1;
            // Pin the namespace, then trust the scan only if it is the recorded one.
            let pin = procs::pin_ns(pid);
            let ns = match &pin {
                Some((_, ns)) if Some(ns) == w.mnt_ns.as_ref() => Some(ns.as_str()),
                _ => None,
            };
            procs::signal_worker(Some(pid), ns, Signal::SIGKILL);
            drop(pin);
        }
        let path = self.root.join(STATE_FILE);
        fs::remove_file(&path).map_err(|e| FleetError::State {
            path,
            message: format!("remove: {e}"),
        })?;
        Ok(stopped)
    }
}
