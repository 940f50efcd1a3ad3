//! Tools that must exist before maand touches a worker (spec 06 "Prerequisites").

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use crate::TransportError;

/// Needed on the CLI host.
pub const HOST_TOOLS: &[&str] = &["ssh", "rsync", "bash", "python3"];
/// Needed on every worker (plus working `sudo` when `use_sudo`).
pub const WORKER_TOOLS: &[&str] = &["python3", "make", "rsync", "bash", "timeout"];

/// What is missing where, and which workers could not even be asked. One message for all
/// of it, so the operator fixes everything in one go.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct PrerequisiteReport {
    /// Place (`CLI host` or `worker <ip>`) → missing tools.
    pub missing: BTreeMap<String, Vec<String>>,
    /// Workers that could not be checked, with the reason.
    pub unreachable: BTreeMap<String, String>,
}

impl PrerequisiteReport {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.unreachable.is_empty()
    }
}

impl fmt::Display for PrerequisiteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            let places: Vec<String> = self
                .missing
                .iter()
                .map(|(place, tools)| format!("{place}: {}", tools.join(", ")))
                .collect();
            parts.push(format!("missing prerequisites: {}", places.join("; ")));
        }
        if !self.unreachable.is_empty() {
            let why: Vec<&str> = self.unreachable.values().map(String::as_str).collect();
            parts.push(format!("cannot check prerequisites: {}", why.join("; ")));
        }
        f.write_str(&parts.join("; "))
    }
}

/// The first executable `tool` on `PATH`.
pub fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

fn host_cache() -> &'static Mutex<HashMap<String, bool>> {
    static CACHE: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Check that every tool is on the CLI host's `PATH`; each answer is cached for the life of
/// the process. Pass [`HOST_TOOLS`], plus `bun` when a selected hook needs it.
pub fn check_host_tools(tools: &[&str]) -> Result<(), TransportError> {
    let mut cache = host_cache().lock().unwrap_or_else(|e| e.into_inner());
    let missing: Vec<String> = tools
        .iter()
        .filter(|t| {
            !*cache
                .entry(t.to_string())
                .or_insert_with(|| find_on_path(t).is_some())
        })
        .map(|t| t.to_string())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut report = PrerequisiteReport::default();
    report.missing.insert("CLI host".to_string(), missing);
    Err(report.into())
}

/// The `sh` script that prints one `maand-missing <tool>` line per missing tool.
pub(crate) fn worker_probe_script(tools: &[&str], use_sudo: bool) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "for t in {}; do command -v \"$t\" >/dev/null 2>&1 || echo \"maand-missing $t\"; done\n",
        tools
            .iter()
            .map(|t| crate::quote(t).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    if use_sudo {
        s.push_str(
            "sudo -n true >/dev/null 2>&1 || echo 'maand-missing sudo (sudo -n true fails)'\n",
        );
        s.push_str("sudo -n rsync --version >/dev/null 2>&1 || echo 'maand-missing sudo rsync (sudo -n rsync --version fails)'\n");
    }
    s.push_str("exit 0");
    s
}

/// Missing tools from the probe's output.
pub(crate) fn parse_probe(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("maand-missing "))
        .map(|t| t.trim().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_tools() {
        assert!(check_host_tools(&["bash", "sh"]).is_ok());
        let err = check_host_tools(&["bash", "maand-no-such-tool", "maand-nor-this"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing prerequisites: CLI host: maand-no-such-tool, maand-nor-this"
        );
    }

    #[test]
    fn probe_script_and_parse() {
        assert_eq!(
            worker_probe_script(&["make", "bash"], false),
            "for t in make bash; do command -v \"$t\" >/dev/null 2>&1 || echo \"maand-missing $t\"; done\nexit 0"
        );
        assert!(worker_probe_script(&["make"], true).contains("sudo -n rsync --version"));
        assert_eq!(
            parse_probe("maand-missing make\nnoise\nmaand-missing sudo (sudo -n true fails)\n"),
            vec!["make", "sudo (sudo -n true fails)"]
        );
    }

    #[test]
    fn report_lists_everything() {
        let mut r = PrerequisiteReport::default();
        r.missing.insert(
            "worker 10.0.0.1".into(),
            vec!["make".into(), "timeout".into()],
        );
        r.missing
            .insert("worker 10.0.0.2".into(), vec!["make".into()]);
        r.unreachable.insert(
            "10.0.0.3".into(),
            "worker 10.0.0.3: ssh: connect to host 10.0.0.3 port 22: Connection refused".into(),
        );
        assert_eq!(
            r.to_string(),
            "missing prerequisites: worker 10.0.0.1: make, timeout; worker 10.0.0.2: make; cannot check prerequisites: worker 10.0.0.3: ssh: connect to host 10.0.0.3 port 22: Connection refused"
        );
    }
}
