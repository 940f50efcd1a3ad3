//! A job's built-in probes as stored in the catalog (`jobs.health_check`, JSON written by
//! build from the manifest, spec 08 §2), with the defaults applied again on read.

use crate::catalog::jobs::JobRow;
use crate::error::{Error, Kind, Result};
use serde::Deserialize;

/// Default `timeout_seconds`, `wait.attempts` and `wait.interval_seconds`.
pub const DEFAULT_TIMEOUT_SECS: u64 = 5;
pub const DEFAULT_ATTEMPTS: u32 = 30;
pub const DEFAULT_INTERVAL_SECS: u64 = 1;

/// One probe (`checks[i]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Probe {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub port: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub expect_status: Option<u16>,
    #[serde(default)]
    pub scheme: Option<String>,
    #[serde(default)]
    pub command: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawWait {
    #[serde(default)]
    attempts: i64,
    #[serde(default)]
    interval_seconds: i64,
}

#[derive(Debug, Default, Deserialize)]
struct RawConfig {
    #[serde(default)]
    checks: Vec<Probe>,
    #[serde(default)]
    timeout_seconds: i64,
    #[serde(default)]
    wait: Option<RawWait>,
}

/// Probes plus timing, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    pub checks: Vec<Probe>,
    pub timeout_secs: u64,
    pub attempts: u32,
    pub interval_secs: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            checks: Vec::new(),
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            attempts: DEFAULT_ATTEMPTS,
            interval_secs: DEFAULT_INTERVAL_SECS,
        }
    }
}

fn positive(n: i64, default: u64) -> u64 {
    if n <= 0 {
        default
    } else {
        n as u64
    }
}

impl HealthConfig {
    /// Parses the stored JSON; `None`/empty text means "no probes" (defaults for timing).
    pub fn parse(job: &str, text: Option<&str>) -> Result<HealthConfig> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(HealthConfig::default());
        };
        let raw: RawConfig = serde_json::from_str(text).map_err(|e| {
            Error::new(
                Kind::InvalidManifest,
                format!("job {job} health_check (catalog): {e}; run maand build"),
            )
        })?;
        let wait = raw.wait.unwrap_or_default();
        Ok(HealthConfig {
            checks: raw.checks,
            timeout_secs: positive(raw.timeout_seconds, DEFAULT_TIMEOUT_SECS),
            attempts: positive(wait.attempts, DEFAULT_ATTEMPTS as u64).min(u32::MAX as u64) as u32,
            interval_secs: positive(wait.interval_seconds, DEFAULT_INTERVAL_SECS),
        })
    }

    /// The configuration of a catalog job.
    pub fn of(job: &JobRow) -> Result<HealthConfig> {
        HealthConfig::parse(&job.name, job.health_check.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_defaults() {
        let c = HealthConfig::parse("a", None).unwrap();
        assert_eq!(c, HealthConfig::default());
        let c = HealthConfig::parse(
            "a",
            Some(r#"{"checks":[{"type":"tcp","port":"p"},{"type":"ssh","command":"true"}],"timeout_seconds":0,"wait":{"attempts":3,"interval_seconds":-1}}"#),
        )
        .unwrap();
        assert_eq!(c.checks.len(), 2);
        assert_eq!(c.checks[0].port.as_deref(), Some("p"));
        assert_eq!(c.checks[1].command.as_deref(), Some("true"));
        assert_eq!((c.timeout_secs, c.attempts, c.interval_secs), (5, 3, 1));
        assert!(HealthConfig::parse("a", Some("{"))
            .unwrap_err()
            .to_string()
            .contains("job a health_check"));
    }
}
