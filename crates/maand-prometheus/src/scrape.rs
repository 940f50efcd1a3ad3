//! A job's scrape file: validation at build (spec 11 §3.1, §4) and placeholder expansion
//! at deploy (§7).
//!
//! Configs are stored in KV with their `maand:` placeholders intact, because allocations
//! and ports may change between build and deploy (a worker disabled since the build must
//! simply drop out of the targets). Validation therefore checks every placeholder against
//! the build's view, and expansion re-resolves it against the deploy's.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

const JOB: &str = "maand:job";
const PORT: &str = "maand:port/";
const IMPLICIT: &str = "_implicit";

/// What build knows about a job when it validates the job's scrape file.
pub struct JobView<'a> {
    pub job: &'a str,
    /// Port keys declared in the manifest's `resources.ports`.
    pub ports: &'a BTreeSet<String>,
    /// Workers holding a non-removed allocation of the job.
    pub workers: &'a BTreeSet<String>,
}

/// A validated scrape file, ready for the `maand/prometheus` namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Scrape {
    /// The configs as JSON, placeholders unexpanded (`scrape/<job>`).
    pub configs: Vec<Value>,
    /// Every `job_name` after `maand:job` resolution, in file order (the first one is the
    /// job's `job_name` KV key; all of them must be unique bucket-wide).
    pub job_names: Vec<String>,
    /// Whether any target is a `maand:port/…` placeholder: such a job joins the aggregate
    /// only while it has an active allocation.
    pub uses_ports: bool,
}

/// Parses and validates a job's scrape file (`file` names it in messages). The error is
/// one message without the job prefix, e.g.
/// `scrape.yaml[0].static_configs[1].targets[2]: port "x" is not declared in manifest resources.ports`.
pub fn validate(file: &str, text: &str, view: &JobView) -> Result<Scrape, String> {
    if text.trim().is_empty() {
        return Err(format!("{file} is empty"));
    }
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| format!("{file}: {e}"))?;
    let items = match yaml_to_json(yaml) {
        Value::Array(items) if !items.is_empty() => items,
        _ => return Err(format!("{file}: must be a YAML sequence of scrape configs")),
    };
    let mut scrape = Scrape {
        configs: Vec::new(),
        job_names: Vec::new(),
        uses_ports: false,
    };
    for (i, item) in items.iter().enumerate() {
        let at = format!("{file}[{i}]");
        let map = item
            .as_object()
            .ok_or_else(|| format!("{at}: must be a mapping"))?;
        let name = match map.get("job_name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s,
            _ => return Err(format!("{at}: missing job_name")),
        };
        scrape
            .job_names
            .push(resolve_job(name, view.job).to_string());
        if let Some(key) = map.keys().find(|k| k.ends_with("_sd_configs")) {
            return Err(format!(
                "{at}.{key} is not supported (use static_configs with maand:port placeholders)"
            ));
        }
        let blocks = match map.get("static_configs") {
            Some(Value::Array(b)) if !b.is_empty() => b,
            _ => return Err(format!("{at}: static_configs must be a non-empty sequence")),
        };
        for (j, block) in blocks.iter().enumerate() {
            let at = format!("{at}.static_configs[{j}]");
            let block = block
                .as_object()
                .ok_or_else(|| format!("{at}: must be a mapping"))?;
            let targets = match block.get("targets") {
                Some(Value::Array(t)) if !t.is_empty() => t,
                _ => return Err(format!("{at}: targets must be a non-empty sequence")),
            };
            for (k, target) in targets.iter().enumerate() {
                let at = format!("{at}.targets[{k}]");
                let target = target
                    .as_str()
                    .ok_or_else(|| format!("{at}: must be a string"))?;
                if let Some(p) = Placeholder::parse(target).map_err(|e| format!("{at}: {e}"))? {
                    scrape.uses_ports = true;
                    p.check(view).map_err(|e| format!("{at}: {e}"))?;
                }
            }
            match block.get("labels") {
                None => {}
                Some(Value::Object(labels)) => {
                    if let Some((name, _)) = labels.iter().find(|(_, v)| !v.is_string()) {
                        return Err(format!("{at}.labels.{name}: must be a string"));
                    }
                }
                Some(_) => return Err(format!("{at}.labels: must be a mapping of strings")),
            }
        }
        scrape.configs.push(item.clone());
    }
    Ok(scrape)
}

/// What deploy knows about a job when it expands its configs.
pub struct Live<'a> {
    pub job: &'a str,
    /// Declared port keys with the number build assigned (`None`: declared, unassigned).
    pub ports: &'a BTreeMap<String, Option<u16>>,
    /// Workers with an active allocation, in worker-position order.
    pub active: &'a [String],
}

/// Expands one job's stored configs. `Ok(None)`: some `static_configs` block has no target
/// left, so the job is skipped (typically all its allocations are disabled). Warnings are
/// pushed for pinned workers that are no longer active.
pub fn expand(
    configs: &[Value],
    live: &Live,
    warnings: &mut Vec<String>,
) -> Result<Option<Vec<Value>>, String> {
    let mut out = Vec::with_capacity(configs.len());
    for config in configs {
        let mut config = config.clone();
        let Some(map) = config.as_object_mut() else {
            return Err(format!(
                "job {}: stored scrape config is not a mapping (run maand build)",
                live.job
            ));
        };
        if let Some(Value::String(name)) = map.get_mut("job_name") {
            *name = resolve_job(name, live.job).to_string();
        }
        let Some(Value::Array(blocks)) = map.get_mut("static_configs") else {
            return Ok(None);
        };
        for block in blocks.iter_mut() {
            let Some(block) = block.as_object_mut() else {
                return Ok(None);
            };
            if let Some(Value::Object(labels)) = block.get_mut("labels") {
                for value in labels.values_mut() {
                    if let Value::String(s) = value {
                        *s = resolve_job(s, live.job).to_string();
                    }
                }
            }
            let targets = match block.get("targets") {
                Some(Value::Array(t)) => t.clone(),
                _ => Vec::new(),
            };
            let mut expanded = Vec::new();
            for target in targets {
                let Some(text) = target.as_str() else {
                    continue;
                };
                match Placeholder::parse(text) {
                    Ok(Some(p)) => expanded.extend(p.expand(live, warnings)?),
                    Ok(None) => expanded.push(text.to_string()),
                    Err(e) => return Err(format!("job {}: target {text:?}: {e}", live.job)),
                }
            }
            if expanded.is_empty() {
                return Ok(None);
            }
            block.insert(
                "targets".into(),
                Value::Array(expanded.into_iter().map(Value::String).collect()),
            );
        }
        out.push(config);
    }
    Ok(Some(out))
}

/// The `{{ scrapeConfigs }}` fragment: empty for no configs, else a newline and the
/// block-style YAML of the list with sorted keys, each line indented two spaces, no
/// trailing newline, so it continues an indented `scrape_configs:` list.
pub fn fragment(configs: &[Value]) -> String {
    if configs.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for line in to_yaml(configs).lines() {
        out.push_str("\n  ");
        out.push_str(line);
    }
    out
}

/// The block-style YAML of `configs` with mapping keys sorted (deterministic output).
pub fn to_yaml(configs: &[Value]) -> String {
    let sorted = Value::Array(configs.iter().map(sort_keys).collect());
    // Serialising a JSON value cannot fail: every key is a string.
    serde_yaml_ng::to_string(&sorted).unwrap_or_default()
}

fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, Value> =
                m.iter().map(|(k, v)| (k, sort_keys(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

fn resolve_job<'a>(value: &'a str, job: &'a str) -> &'a str {
    if value == JOB {
        job
    } else {
        value
    }
}

/// A `maand:port/<key>[/<ip>]` target.
struct Placeholder<'a> {
    key: &'a str,
    ip: Option<&'a str>,
}

impl<'a> Placeholder<'a> {
    /// `Ok(None)`: a literal target.
    fn parse(target: &'a str) -> Result<Option<Placeholder<'a>>, String> {
        let Some(rest) = target.strip_prefix(PORT) else {
            if target.starts_with("maand:") {
                return Err(format!(
                    "unknown placeholder {target:?} (targets take maand:port/<key>[/<ip>])"
                ));
            }
            return Ok(None);
        };
        let mut parts = rest.split('/');
        let key = parts.next().unwrap_or_default();
        let ip = parts.next();
        if parts.next().is_some() {
            return Err(format!("{target:?} has more than one /<ip> segment"));
        }
        if key.is_empty() {
            return Err(format!("{target:?} has an empty port key"));
        }
        if ip == Some("") {
            return Err(format!("{target:?} has an empty worker address"));
        }
        Ok(Some(Placeholder { key, ip }))
    }

    fn check(&self, view: &JobView) -> Result<(), String> {
        let key = resolve_key(self.key, view.job, view.ports.iter().map(String::as_str))?;
        if !view.ports.contains(key) {
            return Err(format!(
                "port {key:?} is not declared in manifest resources.ports"
            ));
        }
        if let Some(ip) = self.ip {
            if !view.workers.contains(ip) {
                return Err(format!("worker {ip} has no allocation of job {}", view.job));
            }
        }
        Ok(())
    }

    fn expand(&self, live: &Live, warnings: &mut Vec<String>) -> Result<Vec<String>, String> {
        let key = resolve_key(self.key, live.job, live.ports.keys().map(String::as_str))
            .map_err(|e| format!("job {}: {e}", live.job))?;
        let port = match live.ports.get(key) {
            Some(Some(port)) => *port,
            _ => {
                return Err(format!(
                    "job {}: port {key:?} has no assigned number (run maand build)",
                    live.job
                ))
            }
        };
        let target = |ip: &str| {
            if ip.contains(':') {
                format!("[{ip}]:{port}")
            } else {
                format!("{ip}:{port}")
            }
        };
        Ok(match self.ip {
            None => live.active.iter().map(|ip| target(ip)).collect(),
            Some(ip) if live.active.iter().any(|a| a == ip) => vec![target(ip)],
            Some(ip) => {
                warnings.push(format!(
                    "prometheus: job {} target maand:port/{}/{ip} dropped: the allocation on {ip} is not active",
                    live.job, self.key
                ));
                Vec::new()
            }
        })
    }
}

/// Resolves `_implicit` (spec 11 §4): `<job>_metrics_port`, then `metrics_port`, then the
/// only declared key ending in `_metrics_port`.
fn resolve_key<'a>(
    key: &'a str,
    job: &str,
    declared: impl Iterator<Item = &'a str> + Clone,
) -> Result<&'a str, String> {
    if key != IMPLICIT {
        return Ok(key);
    }
    let own = format!("{job}_metrics_port");
    if let Some(k) = declared.clone().find(|k| *k == own) {
        return Ok(k);
    }
    if let Some(k) = declared.clone().find(|k| *k == "metrics_port") {
        return Ok(k);
    }
    let candidates: Vec<&str> = declared.filter(|k| k.ends_with("_metrics_port")).collect();
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err("uses maand:port/_implicit but no metrics port is declared in manifest".into()),
        many => Err(format!(
            "ambiguous metrics ports [{}]; set an explicit port in scrape.yaml",
            many.join(", ")
        )),
    }
}

/// YAML → JSON for storage in KV. Non-string keys (`1: x`) become their YAML text, tags
/// are dropped: Prometheus would read them the same way.
fn yaml_to_json(v: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    other => serde_yaml_ng::to_string(&other)
                        .unwrap_or_default()
                        .trim_end()
                        .to_string(),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

#[cfg(test)]
mod tests;
