//! `workspace/disabled.json` (spec 02 §6): drained jobs, allocations and workers.

use crate::error::{Error, Kind, Result};
use crate::warnings::Warnings;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub const FILE: &str = "workspace/disabled.json";

/// What is disabled. A job mapped to an empty set is disabled everywhere.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Disabled {
    pub jobs: BTreeMap<String, BTreeSet<String>>,
    pub workers: BTreeSet<String>,
}

impl Disabled {
    /// Whether the allocation `job@host` is disabled.
    pub fn covers(&self, job: &str, host: &str) -> bool {
        self.workers.contains(host)
            || self
                .jobs
                .get(job)
                .is_some_and(|hosts| hosts.is_empty() || hosts.contains(host))
    }
}

fn bad(detail: impl std::fmt::Display) -> Error {
    Error::new(Kind::InvalidDisabledJson, format!("{FILE}: {detail}"))
}

pub fn parse(text: &str, warnings: &mut Warnings) -> Result<Disabled> {
    let doc: Value = serde_json::from_str(text).map_err(bad)?;
    let Value::Object(obj) = doc else {
        return Err(bad("expected an object with \"jobs\" and/or \"workers\""));
    };
    let mut out = Disabled::default();
    for (key, value) in &obj {
        match key.as_str() {
            "jobs" => {
                match value {
                    Value::Null => {}
                    Value::Object(jobs) => {
                        for (job, spec) in jobs {
                            let hosts = job_spec(job, spec, warnings)?;
                            out.jobs.insert(job.clone(), hosts);
                        }
                    }
                    _ => return Err(bad(
                        "jobs: expected an object mapping job names to {\"allocations\": [...]}",
                    )),
                }
            }
            "workers" => {
                out.workers =
                    hosts(value).ok_or_else(|| bad("workers: expected an array of host strings"))?
            }
            other => warnings.push(format!("{FILE}: unknown field \"{other}\" ignored")),
        }
    }
    Ok(out)
}

fn job_spec(job: &str, spec: &Value, warnings: &mut Warnings) -> Result<BTreeSet<String>> {
    let obj = match spec {
        Value::Null => return Ok(BTreeSet::new()),
        Value::Object(o) => o,
        _ => return Err(bad(format!("jobs.{job}: expected an object"))),
    };
    let mut whole_job = false;
    for key in obj.keys().filter(|k| *k != "allocations") {
        warnings.push(format!(
            "{FILE}: jobs.{job}: unknown field \"{key}\"; the whole job is disabled (only \"allocations\" is supported)"
        ));
        whole_job = true;
    }
    let allocs = match obj.get("allocations") {
        None | Some(Value::Null) => BTreeSet::new(),
        Some(v) => hosts(v).ok_or_else(|| {
            bad(format!(
                "jobs.{job}.allocations: expected an array of host strings"
            ))
        })?,
    };
    Ok(if whole_job { BTreeSet::new() } else { allocs })
}

fn hosts(v: &Value) -> Option<BTreeSet<String>> {
    match v {
        Value::Null => Some(BTreeSet::new()),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(|s| s.trim().to_string()))
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_rules() {
        let mut w = Warnings::default();
        let d = parse(
            r#"{"jobs":{"api":{},"vault":{"allocations":["10.0.0.2"]},"x":null,"y":{"workers":["h"]}},"workers":["10.0.0.3"]}"#,
            &mut w,
        )
        .unwrap();
        assert!(d.covers("api", "any"));
        assert!(d.covers("vault", "10.0.0.2"));
        assert!(!d.covers("vault", "10.0.0.1"));
        assert!(d.covers("x", "h"));
        assert!(d.covers("y", "other"));
        assert!(d.covers("db", "10.0.0.3"));
        assert_eq!(w.iter().count(), 1);
    }

    #[test]
    fn errors() {
        let mut w = Warnings::default();
        for t in [
            "[]",
            "{\"jobs\":[]}",
            "{\"workers\":\"a\"}",
            "{\"jobs\":{\"a\":{\"allocations\":\"x\"}}}",
            "{",
        ] {
            let e = parse(t, &mut w).unwrap_err();
            assert_eq!(e.kind, Kind::InvalidDisabledJson, "{t}");
            assert!(e
                .to_string()
                .starts_with("invalid disabled.json: workspace/disabled.json"));
        }
    }
}
