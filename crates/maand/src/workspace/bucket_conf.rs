//! `workspace/bucket.conf` and the selected `bucket.jobs[.<selector>].conf` (spec 02 §3–4).

use super::scalars::{flat_table, not_scalar, scalar_text};
use crate::error::{Error, Kind, Result};
use std::collections::BTreeMap;

pub const FILE: &str = "workspace/bucket.conf";

/// `bucket.conf` content: the port pool and every key (copied to `vars/bucket`).
#[derive(Debug, Clone, PartialEq)]
pub struct BucketConf {
    pub port_min: u16,
    pub port_max: u16,
    pub vars: Vec<(String, String)>,
}

impl Default for BucketConf {
    fn default() -> Self {
        BucketConf {
            port_min: 30000,
            port_max: 39999,
            vars: Vec::new(),
        }
    }
}

pub const DEFAULT_FILE: &str = "port_min = \"30000\"\nport_max = \"39999\"\n";

pub fn parse_bucket_conf(text: &str) -> Result<BucketConf> {
    let vars = flat_table(text, FILE).map_err(|e| Error::new(Kind::InvalidBucketConf, e))?;
    let get = |k: &str, default: i64| -> Result<i64> {
        match vars.iter().find(|(key, _)| key == k).map(|(_, v)| v.trim()) {
            None | Some("") => Ok(default),
            Some(v) => v.parse::<i64>().map_err(|_| {
                Error::new(
                    Kind::InvalidPortRange,
                    format!("{FILE}: {k} \"{v}\" is not a base-10 integer"),
                )
            }),
        }
    };
    let (min, max) = (get("port_min", 30000)?, get("port_max", 39999)?);
    if !(1 <= min && min <= max && max <= 65535) {
        return Err(Error::new(
            Kind::InvalidPortRange,
            format!("{FILE}: need 1 <= port_min <= port_max <= 65535, got port_min {min}, port_max {max}"),
        ));
    }
    Ok(BucketConf {
        port_min: min as u16,
        port_max: max as u16,
        vars,
    })
}

/// Per-job sections of the selected bucket.jobs file, in file order.
pub type JobTables = BTreeMap<String, Vec<(String, String)>>;

/// File name for a selector: `""` → `bucket.jobs.conf`, `"prod"` → `bucket.jobs.prod.conf`.
pub fn jobs_conf_name(selector: &str) -> String {
    if selector.is_empty() {
        "bucket.jobs.conf".into()
    } else {
        format!("bucket.jobs.{selector}.conf")
    }
}

pub fn parse_jobs_conf(text: &str, file: &str) -> Result<JobTables> {
    let bad = |d: String| Error::new(Kind::InvalidBucketConf, d);
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(format!("{file}: {}", e.message().trim())))?;
    let mut out = JobTables::new();
    for (job, section) in &table {
        let toml::Value::Table(section) = section else {
            return Err(bad(format!(
                "{file}: top-level key \"{job}\" must be a [job] table"
            )));
        };
        let mut pairs = Vec::new();
        for (k, v) in section {
            let text = scalar_text(v)
                .ok_or_else(|| bad(format!("{file}: [{job}]: {}", not_scalar(k, file))))?;
            pairs.push((k.clone(), text));
        }
        out.insert(job.clone(), pairs);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool() {
        assert_eq!(parse_bucket_conf(DEFAULT_FILE).unwrap().port_min, 30000);
        let c = parse_bucket_conf("port_min = 100\nport_max = \"\"\nenv = \"prod\"").unwrap();
        assert_eq!((c.port_min, c.port_max), (100, 39999));
        assert_eq!(c.vars.len(), 3);
        for bad in [
            "port_min = \"x\"",
            "port_min = 0",
            "port_max = 70000",
            "port_min = 10\nport_max = 5",
        ] {
            assert_eq!(
                parse_bucket_conf(bad).unwrap_err().kind,
                Kind::InvalidPortRange,
                "{bad}"
            );
        }
        assert_eq!(
            parse_bucket_conf("a = [1]").unwrap_err().kind,
            Kind::InvalidBucketConf
        );
    }

    #[test]
    fn jobs_conf() {
        let t = parse_jobs_conf(
            "[api]\nmemory = \"1 gb\"\ncpu = 1500\n[\"api-staging\"]\nx = true",
            "f",
        )
        .unwrap();
        assert_eq!(
            t["api"],
            vec![
                ("memory".into(), "1 gb".into()),
                ("cpu".into(), "1500".into())
            ]
        );
        assert_eq!(t["api-staging"][0].1, "true");
        for bad in ["x = 1", "[a]\nb = [1]", "[a.b]\nc = 1"] {
            assert_eq!(
                parse_jobs_conf(bad, "f").unwrap_err().kind,
                Kind::InvalidBucketConf,
                "{bad}"
            );
        }
    }
}
