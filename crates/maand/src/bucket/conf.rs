//! `maand.conf` (spec 02 §2): bucket settings read by every command.

use crate::error::{Kind, Result};
use crate::warnings::Warnings;
use std::path::Path;

/// Settings with defaults applied; every field is what the rest of maand should use.
#[derive(Debug, Clone, PartialEq)]
pub struct MaandConf {
    pub ssh_user: String,
    pub ssh_key: String,
    pub ssh_port: u16,
    pub use_sudo: bool,
    pub certs_ttl: i64,
    pub certs_renewal_buffer: i64,
    pub job_config_selector: String,
    pub log_format: String,
    pub worker_dir: String,
    pub ssh_config: Option<String>,
    pub ssh_connect_timeout: u64,
    pub parallelism: usize,
    pub command_timeout: u64,
    pub ssh_control_persist: u64,
}

impl Default for MaandConf {
    fn default() -> Self {
        MaandConf {
            ssh_user: "agent".into(),
            ssh_key: "worker.key".into(),
            ssh_port: 22,
            use_sudo: true,
            certs_ttl: 60,
            certs_renewal_buffer: 0,
            job_config_selector: String::new(),
            log_format: "kv".into(),
            worker_dir: "/opt/worker".into(),
            ssh_config: None,
            ssh_connect_timeout: 10,
            parallelism: 16,
            command_timeout: 600,
            ssh_control_persist: 60,
        }
    }
}

/// The file `maand init` writes for a new bucket.
pub const DEFAULT_FILE: &str = r#"ssh_user = "agent"
ssh_key = "worker.key"
ssh_port = 22
use_sudo = true
certs_ttl = 60
certs_renewal_buffer = 0
job_config_selector = ""
log_format = "kv"
"#;

const FILE: &str = "maand.conf";

impl MaandConf {
    /// Reads `<root>/maand.conf`; a missing file means all defaults.
    pub fn load(root: &Path, warnings: &mut Warnings) -> Result<MaandConf> {
        match crate::workspace::read_optional(root, FILE, Kind::InvalidMaandConf)? {
            Some(text) => MaandConf::parse(&text, warnings),
            None => Ok(MaandConf::default()),
        }
    }

    pub fn parse(text: &str, warnings: &mut Warnings) -> Result<MaandConf> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| bad(format!("{FILE}: {}", e.message().trim())))?;
        let mut c = MaandConf::default();
        for (key, value) in &table {
            let wrong = |want: &str| {
                bad(format!(
                    "{FILE}: {key}: expected {want}, found {}",
                    value.type_str()
                ))
            };
            match key.as_str() {
                "ssh_user" => {
                    set_str(&mut c.ssh_user, value, "agent").ok_or_else(|| wrong("a string"))?
                }
                "ssh_key" => {
                    set_str(&mut c.ssh_key, value, "worker.key").ok_or_else(|| wrong("a string"))?
                }
                "ssh_port" => {
                    let n = value.as_integer().ok_or_else(|| wrong("an integer"))?;
                    c.ssh_port = if n <= 0 {
                        22
                    } else {
                        u16::try_from(n).map_err(|_| {
                            bad(format!("{FILE}: ssh_port: {n} is not a port number"))
                        })?
                    };
                }
                "use_sudo" => c.use_sudo = value.as_bool().ok_or_else(|| wrong("a boolean"))?,
                "certs_ttl" => {
                    let n = value.as_integer().ok_or_else(|| wrong("an integer"))?;
                    if n < 0 {
                        return Err(bad(format!(
                            "{FILE}: certs_ttl: must not be negative (got {n})"
                        )));
                    }
                    c.certs_ttl = if n == 0 { 60 } else { n };
                }
                "certs_renewal_buffer" => {
                    let n = value.as_integer().ok_or_else(|| wrong("an integer"))?;
                    if n < 0 {
                        return Err(bad(format!(
                            "{FILE}: certs_renewal_buffer: must not be negative (got {n})"
                        )));
                    }
                    c.certs_renewal_buffer = n;
                }
                "job_config_selector" => {
                    let s = value.as_str().ok_or_else(|| wrong("a string"))?.trim();
                    if !s
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "_.-".contains(ch))
                    {
                        return Err(bad(format!("{FILE}: job_config_selector: \"{s}\" must match ^[A-Za-z0-9_.-]*$ (it becomes part of a file name)")));
                    }
                    c.job_config_selector = s.to_string();
                }
                "log_format" => {
                    let s = value
                        .as_str()
                        .ok_or_else(|| wrong("a string"))?
                        .to_ascii_lowercase();
                    if matches!(s.as_str(), "kv" | "json" | "jsonl") {
                        c.log_format = s;
                    } else {
                        warnings.push(format!(
                            "{FILE}: log_format \"{s}\" is not kv, json or jsonl; using kv"
                        ));
                    }
                }
                "worker_dir" => {
                    let s = value.as_str().ok_or_else(|| wrong("a string"))?.trim();
                    if !s.starts_with('/') {
                        return Err(bad(format!(
                            "{FILE}: worker_dir: \"{s}\" must be an absolute path"
                        )));
                    }
                    c.worker_dir = s.trim_end_matches('/').to_string();
                    if c.worker_dir.is_empty() {
                        c.worker_dir = "/".into();
                    }
                }
                "ssh_config" => {
                    let s = value.as_str().ok_or_else(|| wrong("a string"))?.trim();
                    c.ssh_config = (!s.is_empty()).then(|| s.to_string());
                }
                "ssh_connect_timeout" => {
                    c.ssh_connect_timeout =
                        positive(value, 10).ok_or_else(|| wrong("an integer"))?
                }
                "parallelism" => {
                    c.parallelism = positive(value, 16).ok_or_else(|| wrong("an integer"))? as usize
                }
                "command_timeout" => {
                    c.command_timeout = positive(value, 600).ok_or_else(|| wrong("an integer"))?
                }
                "ssh_control_persist" => {
                    let n = value.as_integer().ok_or_else(|| wrong("an integer"))?;
                    c.ssh_control_persist = n.max(0) as u64;
                }
                other => warnings.push(format!("{FILE}: unknown key \"{other}\" ignored")),
            }
        }
        Ok(c)
    }
}

fn bad(detail: String) -> crate::error::Error {
    crate::error::Error::new(Kind::InvalidMaandConf, detail)
}

/// Empty strings fall back to the default, as the spec says for `ssh_user`/`ssh_key`.
fn set_str(slot: &mut String, v: &toml::Value, default: &str) -> Option<()> {
    let s = v.as_str()?.trim();
    *slot = if s.is_empty() {
        default.to_string()
    } else {
        s.to_string()
    };
    Some(())
}

fn positive(v: &toml::Value, default: u64) -> Option<u64> {
    let n = v.as_integer()?;
    Some(if n <= 0 { default } else { n as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_file() {
        let mut w = Warnings::default();
        assert_eq!(
            MaandConf::parse(DEFAULT_FILE, &mut w).unwrap(),
            MaandConf::default()
        );
        assert_eq!(w.iter().count(), 0);
    }

    #[test]
    fn spec_12_transport_defaults() {
        let c = MaandConf::default();
        // Masters outlive the process for 60 s (spec 12), so `deploy` then `job status`
        // reuses the connections.
        assert_eq!(c.ssh_control_persist, 60);
        assert_eq!(c.ssh_connect_timeout, 10);
        assert_eq!(c.command_timeout, 600);
        assert_eq!(c.parallelism, 16);
        let mut w = Warnings::default();
        assert_eq!(
            MaandConf::parse("", &mut w).unwrap().ssh_control_persist,
            60
        );
        let c = MaandConf::parse("ssh_control_persist = -5", &mut w).unwrap();
        assert_eq!(c.ssh_control_persist, 0);
    }

    #[test]
    fn values_and_fallbacks() {
        let mut w = Warnings::default();
        let c = MaandConf::parse(
            "ssh_user = \"\"\nssh_port = 0\ncerts_ttl = 0\nlog_format = \"XML\"\nfoo = 1\njob_config_selector = \" prod \"\nssh_control_persist = 0",
            &mut w,
        )
        .unwrap();
        assert_eq!(c.ssh_user, "agent");
        assert_eq!(c.ssh_port, 22);
        assert_eq!(c.certs_ttl, 60);
        assert_eq!(c.log_format, "kv");
        assert_eq!(c.job_config_selector, "prod");
        assert_eq!(c.ssh_control_persist, 0);
        assert_eq!(w.iter().count(), 2);
    }

    #[test]
    fn errors() {
        let mut w = Warnings::default();
        for (text, needle) in [
            ("ssh_port = \"22\"", "ssh_port: expected an integer"),
            ("certs_ttl = -1", "certs_ttl: must not be negative"),
            ("certs_renewal_buffer = -2", "certs_renewal_buffer"),
            ("job_config_selector = \"a/b\"", "job_config_selector"),
            ("ssh_user = ", "maand.conf"),
        ] {
            let e = MaandConf::parse(text, &mut w).unwrap_err();
            assert_eq!(e.kind, Kind::InvalidMaandConf);
            assert!(e.to_string().starts_with("invalid maand.conf: "), "{e}");
            assert!(e.to_string().contains(needle), "{e}");
        }
    }
}
