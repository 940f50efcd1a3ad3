//! `workspace/workers.json` (spec 02 §5).

use super::names::{is_host, is_label};
use super::units::{self, Unit};
use crate::error::{Error, Kind, Result};
use crate::warnings::Warnings;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};

pub const FILE: &str = "workspace/workers.json";

/// One worker as declared, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct Worker {
    pub host: String,
    pub hostname: Option<String>,
    /// Lower-cased labels, ascending, always containing `worker`.
    pub labels: BTreeSet<String>,
    pub memory_mb: f64,
    pub cpu_mhz: f64,
    pub tags: BTreeMap<String, String>,
    pub position: i64,
}

fn bad(detail: String) -> Error {
    Error::new(Kind::InvalidWorkerJson, format!("{FILE}: {detail}"))
}

/// Parses the file text; returns workers in worker order (`position`, then `host`).
pub fn parse(text: &str, warnings: &mut Warnings) -> Result<Vec<Worker>> {
    let doc: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let Value::Array(items) = doc else {
        return Err(bad("expected a JSON array of worker objects".into()));
    };
    let mut seen = HashSet::new();
    let mut workers = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(bad(format!("[{i}]: expected an object")));
        };
        let field = |name: &str| obj.get(name).filter(|v| !v.is_null());
        let host = match field("host") {
            Some(Value::String(s)) => s.trim().to_string(),
            Some(_) => return Err(bad(format!("[{i}].host: expected a string"))),
            None => return Err(bad(format!("[{i}].host: missing"))),
        };
        if !is_host(&host) {
            return Err(bad(format!(
                "[{i}].host: \"{host}\" is not a valid host (1-253 characters of A-Z a-z 0-9 . - : _, not starting with -)"
            )));
        }
        if !seen.insert(host.clone()) {
            return Err(bad(format!("[{i}].host: duplicate host \"{host}\"")));
        }
        let at = |f: &str| format!("worker {host}: {f}");
        let hostname = match field("hostname") {
            Some(Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Some(_) => return Err(bad(at("hostname: expected a string"))),
            None => None,
        };
        let mut labels = BTreeSet::new();
        match field("labels") {
            Some(Value::Array(ls)) => {
                for l in ls {
                    let Value::String(l) = l else {
                        return Err(bad(at("labels: expected an array of strings")));
                    };
                    let l = l.trim().to_lowercase();
                    if l.is_empty() {
                        continue;
                    }
                    if !is_label(&l) {
                        return Err(bad(at(&format!(
                            "labels: \"{l}\" must match ^[a-z0-9][a-z0-9_.:-]*$"
                        ))));
                    }
                    if !labels.insert(l.clone()) && l != "worker" {
                        return Err(bad(at(&format!("duplicate labels: \"{l}\""))));
                    }
                }
            }
            Some(_) => return Err(bad(at("labels: expected an array of strings"))),
            None => {}
        }
        labels.insert("worker".to_string());
        let memory_mb = capacity(field("memory"), Unit::Memory)
            .map_err(|e| bad(at(&format!("memory: {e}"))))?;
        let cpu_mhz =
            capacity(field("cpu"), Unit::Cpu).map_err(|e| bad(at(&format!("cpu: {e}"))))?;
        let mut tags = BTreeMap::new();
        match field("tags") {
            Some(Value::Object(t)) => {
                for (k, v) in t {
                    let k = k.trim().to_lowercase();
                    if k.is_empty() {
                        return Err(bad(at("tags: empty tag key")));
                    }
                    let Value::String(v) = v else {
                        return Err(bad(at(&format!("tags.{k}: expected a string value"))));
                    };
                    tags.insert(k, v.trim().to_lowercase());
                }
            }
            Some(_) => return Err(bad(at("tags: expected an object of strings"))),
            None => {}
        }
        let position = match field("position") {
            Some(Value::Number(n)) => match n.as_i64() {
                Some(p) if p >= 0 => p,
                _ => return Err(bad(at(&format!("position: {n} must be an integer >= 0")))),
            },
            Some(_) => return Err(bad(at("position: expected an integer"))),
            None => i as i64,
        };
        for key in obj.keys() {
            if ![
                "host", "hostname", "labels", "memory", "cpu", "tags", "position",
            ]
            .contains(&key.as_str())
            {
                warnings.push(format!(
                    "{FILE}: worker {host}: unknown field \"{key}\" ignored"
                ));
            }
        }
        workers.push(Worker {
            host,
            hostname,
            labels,
            memory_mb,
            cpu_mhz,
            tags,
            position,
        });
    }
    workers.sort_by(|a, b| (a.position, &a.host).cmp(&(b.position, &b.host)));
    Ok(workers)
}

/// Capacity as a unit string or a JSON number (MB / MHz).
fn capacity(v: Option<&Value>, unit: Unit) -> std::result::Result<f64, String> {
    match v {
        None => Ok(0.0),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f >= 0.0 => Ok(f),
            _ => Err(format!("{n} must not be negative")),
        },
        Some(Value::String(s)) => {
            units::parse(s, unit).ok_or_else(|| format!("invalid size \"{s}\" ({})", unit.hint()))
        }
        Some(_) => Err("expected a string such as \"8 gb\"".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Vec<Worker>> {
        parse(s, &mut Warnings::default())
    }

    #[test]
    fn spec_example() {
        let w = p(r#"[
          { "host": "10.0.0.1", "hostname": "node-a", "labels": ["db"], "memory": "16 gb", "cpu": "8 ghz", "tags": { "zone": "A" } },
          { "host": "10.0.0.2", "labels": ["API", "worker"], "memory": "8192 mb", "cpu": 4000 },
          { "host": " 10.0.0.3 " }
        ]"#)
        .unwrap();
        assert_eq!(w[0].labels.iter().collect::<Vec<_>>(), ["db", "worker"]);
        assert_eq!(w[0].memory_mb, 16384.0);
        assert_eq!(w[0].cpu_mhz, 8000.0);
        assert_eq!(w[0].tags["zone"], "a");
        assert_eq!(w[1].labels.iter().collect::<Vec<_>>(), ["api", "worker"]);
        assert_eq!(w[1].cpu_mhz, 4000.0);
        assert_eq!(w[2].host, "10.0.0.3");
        assert_eq!(w[2].position, 2);
    }

    #[test]
    fn position_orders() {
        let w =
            p(r#"[{"host":"b","position":1},{"host":"a","position":1},{"host":"c","position":0}]"#)
                .unwrap();
        let hosts: Vec<_> = w.iter().map(|w| w.host.as_str()).collect();
        assert_eq!(hosts, ["c", "a", "b"]);
    }

    #[test]
    fn errors_name_field() {
        for (text, needle) in [
            ("{}", "expected a JSON array"),
            ("[{\"host\":\"\"}]", "[0].host"),
            (
                "[{\"host\":\"a\"},{\"host\":\"a\"}]",
                "duplicate host \"a\"",
            ),
            (
                "[{\"host\":\"a\",\"labels\":[\"x\",\"X\"]}]",
                "duplicate labels",
            ),
            (
                "[{\"host\":\"a\",\"memory\":\"-1\"}]",
                "memory: invalid size \"-1\"",
            ),
            (
                "[{\"host\":\"a\",\"cpu\":-5}]",
                "cpu: -5 must not be negative",
            ),
            ("[{\"host\":\"a\",\"tags\":{\"x\":1}}]", "tags.x"),
            ("[{\"host\":\"a\",\"position\":-1}]", "position"),
            ("[{\"host\":\"a\",]", "workers.json"),
        ] {
            let e = p(text).unwrap_err();
            assert_eq!(e.kind, Kind::InvalidWorkerJson, "{text}");
            assert!(e.to_string().contains(needle), "{e} / {needle}");
        }
    }

    #[test]
    fn unknown_field_warns() {
        let mut w = Warnings::default();
        parse(r#"[{"host":"a","rack":"1"}]"#, &mut w).unwrap();
        assert_eq!(
            w.iter().next().unwrap(),
            "workspace/workers.json: worker a: unknown field \"rack\" ignored"
        );
    }
}
