//! `manifest.json` (spec 02 §8): every field, typed and validated.

use super::names::{is_command_name, is_port_name, is_simple_name};
use super::units::{self, Unit};
use super::version::Version;
use crate::error::{Error, Kind, Result};
use crate::warnings::Warnings;
use serde::Serialize;
use serde_json::{Map, Value};

/// Hook events (spec 07 §5).
pub const EVENTS: [&str; 8] = [
    "post_build",
    "pre_deploy",
    "post_deploy",
    "job_control",
    "health_check",
    "cli",
    "after_allocation_started",
    "after_allocation_stopped",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RestartPolicy {
    Always,
    Reload,
    Never,
}

impl RestartPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::Always => "always",
            RestartPolicy::Reload => "reload",
            RestartPolicy::Never => "never",
        }
    }

    pub fn parse(s: &str) -> Option<RestartPolicy> {
        match s {
            "always" => Some(RestartPolicy::Always),
            "reload" => Some(RestartPolicy::Reload),
            "never" => Some(RestartPolicy::Never),
            _ => None,
        }
    }
}

/// Manifest bounds after the `max := min` rule (MB or MHz; 0 = no bound).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bounds {
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PortSpec {
    /// `{}`: assigned from the bucket pool.
    Pool,
    Fixed(u16),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Demand {
    pub job: String,
    pub command: String,
    pub config: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub name: String,
    /// Distinct events in declaration order.
    pub executed_on: Vec<String>,
    pub demand: Demand,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Wait {
    pub attempts: u32,
    pub interval_seconds: u64,
}

/// Built-in probes, defaults filled in; stored with the job as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthCheck {
    pub checks: Vec<Probe>,
    pub timeout_seconds: u64,
    pub wait: Wait,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CertSpec {
    pub name: String,
    pub pkcs8: bool,
    pub one: bool,
    pub common_name: String,
}

/// A validated manifest. Field meanings: spec 02 §8.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Trimmed `version` as written; `None` when absent or empty.
    pub version: Option<String>,
    pub parsed_version: Option<Version>,
    pub selectors: Vec<String>,
    pub max_concurrent_upgrades: i64,
    pub max_concurrent_starts: i64,
    pub min_allocations_count: i64,
    pub restart_policy: RestartPolicy,
    pub restart_globs: Vec<String>,
    pub memory: Bounds,
    pub cpu: Bounds,
    /// Ports sorted by name.
    pub ports: Vec<(String, PortSpec)>,
    /// Hooks sorted by name.
    pub commands: Vec<Command>,
    pub health_check: Option<HealthCheck>,
    /// Certificates sorted by name.
    pub certs: Vec<CertSpec>,
    /// MD5 of the canonical normalised `certs` block (10-certs §2).
    pub certs_hash: String,
}

impl Manifest {
    /// Build target version: the string as written, `0.0.0` when absent.
    pub fn target_version(&self) -> &str {
        self.version.as_deref().unwrap_or("0.0.0")
    }
}

/// Field-path aware reader that turns every problem into one `invalid manifest.json` message.
struct Ctx<'a> {
    file: &'a str,
    warnings: &'a mut Warnings,
}

impl Ctx<'_> {
    fn err(&self, kind: Kind, detail: impl std::fmt::Display) -> Error {
        Error::new(kind, format!("{}: {detail}", self.file))
    }

    fn bad(&self, detail: impl std::fmt::Display) -> Error {
        self.err(Kind::InvalidManifest, detail)
    }

    fn unknown(&mut self, obj: &Map<String, Value>, path: &str, known: &[&str]) {
        for k in obj.keys().filter(|k| !known.contains(&k.as_str())) {
            let hint = match (path, k.as_str()) {
                ("", "deploy_parallel_count") => " (did you mean \"max_concurrent_starts\"?)",
                ("", "update_parallel_count") => " (did you mean \"max_concurrent_upgrades\"?)",
                _ => "",
            };
            let at = if path.is_empty() {
                String::new()
            } else {
                format!("{path}.")
            };
            self.warnings.push(format!(
                "{}: unknown field \"{at}{k}\" ignored{hint}",
                self.file
            ));
        }
    }
}

fn non_null<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// Parses `manifest.json` of job `job` (file path relative to the bucket root).
pub fn parse(job: &str, file: &str, text: &str, warnings: &mut Warnings) -> Result<Manifest> {
    let mut cx = Ctx { file, warnings };
    let doc: Value = serde_json::from_str(text).map_err(|e| cx.bad(e))?;
    let Value::Object(obj) = doc else {
        return Err(cx.bad("expected a JSON object"));
    };
    cx.unknown(
        &obj,
        "",
        &[
            "version",
            "selectors",
            "max_concurrent_upgrades",
            "max_concurrent_starts",
            "min_allocations_count",
            "restart_policy",
            "restart_globs",
            "resources",
            "commands",
            "health_check",
            "certs",
        ],
    );

    let version = match non_null(&obj, "version") {
        None => None,
        Some(Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Some(_) => return Err(cx.bad("version: expected a string")),
    };
    let parsed_version = match &version {
        Some(v) => Some(Version::parse(v).map_err(|e| {
            cx.err(
                Kind::InvalidJobVersion,
                format!("job \"{job}\": version: {e}"),
            )
        })?),
        None => None,
    };

    let mut selectors: Vec<String> = Vec::new();
    match non_null(&obj, "selectors") {
        None => {}
        Some(Value::Array(items)) => {
            for s in items {
                let s = s
                    .as_str()
                    .ok_or_else(|| cx.bad("selectors: expected an array of strings"))?;
                let s = s.trim().to_lowercase();
                if !s.is_empty() && !selectors.contains(&s) {
                    selectors.push(s);
                }
            }
        }
        Some(_) => return Err(cx.bad("selectors: expected an array of strings")),
    }
    if selectors.is_empty() {
        selectors.push(job.to_lowercase());
    }

    let int = |cx: &Ctx, key: &str, default: i64| -> Result<i64> {
        match non_null(&obj, key) {
            None => Ok(default),
            Some(v) => v
                .as_i64()
                .ok_or_else(|| cx.bad(format!("{key}: expected an integer"))),
        }
    };
    let max_concurrent_upgrades = int(&cx, "max_concurrent_upgrades", 1)?.max(1);
    let max_concurrent_starts = int(&cx, "max_concurrent_starts", 0)?.max(0);
    let min_allocations_count = int(&cx, "min_allocations_count", 0)?;
    if min_allocations_count < 0 {
        return Err(cx.bad(format!(
            "min_allocations_count: must be >= 0 (got {min_allocations_count})"
        )));
    }

    let restart_policy = match non_null(&obj, "restart_policy") {
        None => RestartPolicy::Always,
        Some(Value::String(s)) => RestartPolicy::parse(s).ok_or_else(|| {
            cx.bad(format!(
                "restart_policy: \"{s}\" is not one of always, reload, never"
            ))
        })?,
        Some(_) => return Err(cx.bad("restart_policy: expected a string")),
    };
    let mut restart_globs = Vec::new();
    match non_null(&obj, "restart_globs") {
        None => {}
        Some(Value::Array(items)) => {
            for g in items {
                let g = g
                    .as_str()
                    .ok_or_else(|| cx.bad("restart_globs: expected an array of strings"))?;
                if g.trim().is_empty() {
                    return Err(cx.bad("restart_globs: empty glob"));
                }
                crate::glob::compile(g)
                    .map_err(|e| cx.bad(format!("restart_globs: \"{g}\": {e}")))?;
                restart_globs.push(g.to_string());
            }
        }
        Some(_) => return Err(cx.bad("restart_globs: expected an array of strings")),
    }
    if !restart_globs.is_empty() && restart_policy != RestartPolicy::Reload {
        return Err(cx.bad("restart_globs requires restart_policy reload"));
    }

    let (memory, cpu, ports) = resources(&mut cx, job, non_null(&obj, "resources"))?;
    let commands = commands(&mut cx, job, non_null(&obj, "commands"))?;
    let health_check = health_check(&mut cx, job, non_null(&obj, "health_check"), &ports)?;
    let (certs, certs_hash) = certs(&mut cx, job, non_null(&obj, "certs"))?;

    Ok(Manifest {
        version,
        parsed_version,
        selectors,
        max_concurrent_upgrades,
        max_concurrent_starts,
        min_allocations_count,
        restart_policy,
        restart_globs,
        memory,
        cpu,
        ports,
        commands,
        health_check,
        certs,
        certs_hash,
    })
}

type Resources = (Bounds, Bounds, Vec<(String, PortSpec)>);

fn resources(cx: &mut Ctx, job: &str, v: Option<&Value>) -> Result<Resources> {
    let Some(v) = v else {
        return Ok((Bounds::default(), Bounds::default(), Vec::new()));
    };
    let obj = v
        .as_object()
        .ok_or_else(|| cx.bad("resources: expected an object"))?;
    cx.unknown(obj, "resources", &["memory", "cpu", "ports"]);
    let memory = bounds(cx, obj, "memory", Unit::Memory)?;
    let cpu = bounds(cx, obj, "cpu", Unit::Cpu)?;
    let mut ports = Vec::new();
    match non_null(obj, "ports") {
        None => {}
        Some(Value::Object(p)) => {
            for (name, spec) in p {
                if !is_port_name(name) {
                    return Err(cx.err(
                        Kind::PortKeyFormat,
                        format!("job {job}: port \"{name}\" must match ^[a-z][a-z0-9_]*$"),
                    ));
                }
                let bad_port = || {
                    cx.err(
                        Kind::InvalidManifestPort,
                        format!("job {job}: port \"{name}\": {spec} is neither {{}} nor an integer 1-65535"),
                    )
                };
                let parsed = match spec {
                    Value::Object(o) if o.is_empty() => PortSpec::Pool,
                    Value::Number(n) => match n.as_u64() {
                        Some(x) if (1..=65535).contains(&x) => PortSpec::Fixed(x as u16),
                        _ => return Err(bad_port()),
                    },
                    _ => return Err(bad_port()),
                };
                ports.push((name.clone(), parsed));
            }
        }
        Some(_) => return Err(cx.bad("resources.ports: expected an object")),
    }
    ports.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((memory, cpu, ports))
}

fn bounds(cx: &mut Ctx, obj: &Map<String, Value>, key: &str, unit: Unit) -> Result<Bounds> {
    let Some(v) = non_null(obj, key) else {
        return Ok(Bounds::default());
    };
    let o = v
        .as_object()
        .ok_or_else(|| cx.bad(format!("resources.{key}: expected an object with min/max")))?;
    cx.unknown(o, &format!("resources.{key}"), &["min", "max"]);
    let side = |side: &str| -> Result<f64> {
        match non_null(o, side) {
            None => Ok(0.0),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if f >= 0.0 => Ok(f),
                _ => Err(cx.bad(format!("resources.{key}.{side}: {n} must not be negative"))),
            },
            Some(Value::String(s)) => units::parse(s, unit).ok_or_else(|| {
                let what = if unit == Unit::Memory {
                    "memory size"
                } else {
                    "cpu value"
                };
                cx.bad(format!(
                    "resources.{key}.{side}: invalid {what} \"{s}\" ({})",
                    unit.hint()
                ))
            }),
            Some(_) => Err(cx.bad(format!(
                "resources.{key}.{side}: expected a string such as \"1 gb\""
            ))),
        }
    };
    let min = side("min")?;
    let mut max = side("max")?;
    if min > 0.0 && max == 0.0 {
        max = min;
    }
    if min > max {
        return Err(cx.bad(format!(
            "resources.{key}: min {} > max {}",
            units::format_number(min),
            units::format_number(max)
        )));
    }
    Ok(Bounds { min, max })
}

fn commands(cx: &mut Ctx, job: &str, v: Option<&Value>) -> Result<Vec<Command>> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let obj = v
        .as_object()
        .ok_or_else(|| cx.bad("commands: expected an object"))?;
    let mut out = Vec::new();
    for (name, spec) in obj {
        let cfg = |d: String| {
            cx.err(
                Kind::InvalidJobCommandConfiguration,
                format!("job {job} hook {name}: {d}"),
            )
        };
        if !is_command_name(name) {
            return Err(cfg(
                "name must match ^command_[A-Za-z0-9_][A-Za-z0-9_-]*$".into()
            ));
        }
        let spec = spec
            .as_object()
            .ok_or_else(|| cfg("expected an object".into()))?;
        let mut executed_on: Vec<String> = Vec::new();
        match non_null(spec, "executed_on") {
            None => return Err(cfg("missing executed_on".into())),
            Some(Value::Array(events)) => {
                for e in events {
                    let e = e
                        .as_str()
                        .ok_or_else(|| cfg("invalid executed_on: expected strings".into()))?;
                    if !EVENTS.contains(&e) {
                        return Err(cfg(format!(
                            "invalid executed_on \"{e}\" (valid: {})",
                            EVENTS.join(", ")
                        )));
                    }
                    if !executed_on.iter().any(|x| x == e) {
                        executed_on.push(e.to_string());
                    }
                }
            }
            Some(_) => {
                return Err(cfg(
                    "invalid executed_on: expected an array of events".into()
                ))
            }
        }
        if executed_on.is_empty() {
            return Err(cfg("missing executed_on".into()));
        }
        let demand = match non_null(spec, "demands") {
            None => Demand {
                job: String::new(),
                command: String::new(),
                config: Map::new(),
            },
            Some(Value::Object(d)) => {
                let s = |k: &str| -> Result<String> {
                    match non_null(d, k) {
                        None => Ok(String::new()),
                        Some(Value::String(s)) => Ok(s.trim().to_string()),
                        Some(_) => Err(cfg(format!("demands.{k}: expected a string"))),
                    }
                };
                let config = match non_null(d, "config") {
                    None => Map::new(),
                    Some(Value::Object(c)) => c.clone(),
                    Some(_) => return Err(cfg("demands.config: expected an object".into())),
                };
                let demand = Demand {
                    job: s("job")?,
                    command: s("command")?,
                    config,
                };
                cx.unknown(
                    d,
                    &format!("commands.{name}.demands"),
                    &["job", "command", "config"],
                );
                demand
            }
            Some(_) => return Err(cfg("demands: expected an object".into())),
        };
        cx.unknown(
            spec,
            &format!("commands.{name}"),
            &["executed_on", "demands"],
        );
        out.push(Command {
            name: name.clone(),
            executed_on,
            demand,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn health_check(
    cx: &mut Ctx,
    job: &str,
    v: Option<&Value>,
    ports: &[(String, PortSpec)],
) -> Result<Option<HealthCheck>> {
    let Some(v) = v else { return Ok(None) };
    let obj = v
        .as_object()
        .ok_or_else(|| cx.bad(format!("job {job} health_check: expected an object")))?;
    cx.unknown(obj, "health_check", &["checks", "timeout_seconds", "wait"]);
    let positive =
        |cx: &Ctx, o: &Map<String, Value>, k: &str, path: &str, default: i64| -> Result<i64> {
            match non_null(o, k) {
                None => Ok(default),
                Some(v) => {
                    let n = v.as_i64().ok_or_else(|| {
                        cx.bad(format!("job {job} {path}{k}: expected an integer"))
                    })?;
                    Ok(if n <= 0 { default } else { n })
                }
            }
        };
    let timeout_seconds = positive(cx, obj, "timeout_seconds", "health_check.", 5)? as u64;
    let wait = match non_null(obj, "wait") {
        None => Wait {
            attempts: 30,
            interval_seconds: 1,
        },
        Some(Value::Object(w)) => {
            cx.unknown(w, "health_check.wait", &["attempts", "interval_seconds"]);
            Wait {
                attempts: positive(cx, w, "attempts", "health_check.wait.", 30)?
                    .min(u32::MAX as i64) as u32,
                interval_seconds: positive(cx, w, "interval_seconds", "health_check.wait.", 1)?
                    as u64,
            }
        }
        Some(_) => return Err(cx.bad(format!("job {job} health_check.wait: expected an object"))),
    };
    let mut checks = Vec::new();
    match non_null(obj, "checks") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("job {job} health_check.checks[{i}]");
                let p = item
                    .as_object()
                    .ok_or_else(|| cx.bad(format!("{at}: expected an object")))?;
                cx.unknown(
                    p,
                    &format!("health_check.checks[{i}]"),
                    &["type", "port", "path", "expect_status", "scheme", "command"],
                );
                let str_field = |k: &str| -> Result<Option<String>> {
                    match non_null(p, k) {
                        None => Ok(None),
                        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
                        Some(_) => Err(cx.bad(format!("{at}: {k}: expected a string"))),
                    }
                };
                let kind = str_field("type")?.unwrap_or_default().to_lowercase();
                let mut probe = Probe {
                    kind: kind.clone(),
                    port: None,
                    path: None,
                    expect_status: None,
                    scheme: None,
                    command: None,
                };
                match kind.as_str() {
                    "tcp" | "http" => {
                        let port = str_field("port")?
                            .filter(|s| !s.is_empty())
                            .ok_or_else(|| cx.bad(format!("{at}: missing port")))?;
                        if !ports.iter().any(|(n, _)| *n == port) {
                            return Err(
                                cx.bad(format!("{at}: port \"{port}\" not in resources.ports"))
                            );
                        }
                        probe.port = Some(port);
                        if kind == "http" {
                            let path = str_field("path")?
                                .filter(|s| !s.is_empty())
                                .unwrap_or_else(|| "/".into());
                            if !path.starts_with('/') {
                                return Err(cx.bad(format!("{at}: path must start with /")));
                            }
                            let status = match non_null(p, "expect_status") {
                                None => 200,
                                Some(v) => v.as_i64().ok_or_else(|| {
                                    cx.bad(format!("{at}: expect_status: expected an integer"))
                                })?,
                            };
                            let status = if status == 0 { 200 } else { status };
                            if !(100..=599).contains(&status) {
                                return Err(cx.bad(format!(
                                    "{at}: expect_status {status} is not an HTTP status (100-599)"
                                )));
                            }
                            let scheme = str_field("scheme")?
                                .filter(|s| !s.is_empty())
                                .unwrap_or_else(|| "http".into())
                                .to_lowercase();
                            if scheme != "http" && scheme != "https" {
                                return Err(cx.bad(format!(
                                    "{at}: scheme \"{scheme}\" (want http or https)"
                                )));
                            }
                            probe.path = Some(path);
                            probe.expect_status = Some(status as u16);
                            probe.scheme = Some(scheme);
                        }
                    }
                    "ssh" => {
                        let command = str_field("command")?
                            .filter(|s| !s.is_empty())
                            .ok_or_else(|| cx.bad(format!("{at}: ssh probe requires command")))?;
                        probe.command = Some(command);
                    }
                    other => {
                        return Err(
                            cx.bad(format!("{at}: type \"{other}\" (want tcp, http, or ssh)"))
                        )
                    }
                }
                checks.push(probe);
            }
        }
        Some(_) => return Err(cx.bad(format!("job {job} health_check.checks: expected an array"))),
    }
    Ok((!checks.is_empty()).then_some(HealthCheck {
        checks,
        timeout_seconds,
        wait,
    }))
}

fn certs(cx: &mut Ctx, job: &str, v: Option<&Value>) -> Result<(Vec<CertSpec>, String)> {
    let mut out = Vec::new();
    if let Some(v) = v {
        let obj = v
            .as_object()
            .ok_or_else(|| cx.bad(format!("job {job} certs: expected an object")))?;
        for (name, spec) in obj {
            let at = format!("job {job} cert \"{name}\"");
            if !is_simple_name(name) || name == "ca" {
                return Err(cx.bad(format!(
                    "{at}: name must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$ and must not be \"ca\""
                )));
            }
            let s = spec
                .as_object()
                .ok_or_else(|| cx.bad(format!("{at}: expected an object")))?;
            cx.unknown(s, &format!("certs.{name}"), &["pkcs8", "one", "subject"]);
            let flag = |k: &str| -> Result<bool> {
                match non_null(s, k) {
                    None => Ok(false),
                    Some(Value::Bool(b)) => Ok(*b),
                    Some(_) => Err(cx.bad(format!("{at}: {k}: expected a boolean"))),
                }
            };
            let (pkcs8, one) = (flag("pkcs8")?, flag("one")?);
            let common_name = match non_null(s, "subject") {
                None => String::new(),
                Some(Value::Object(subj)) => {
                    cx.unknown(subj, &format!("certs.{name}.subject"), &["common_name"]);
                    match non_null(subj, "common_name") {
                        None => String::new(),
                        Some(Value::String(cn)) => cn.trim().to_string(),
                        Some(_) => {
                            return Err(
                                cx.bad(format!("{at}: subject.common_name: expected a string"))
                            )
                        }
                    }
                }
                Some(_) => return Err(cx.bad(format!("{at}: subject: expected an object"))),
            };
            let common_name = if common_name.is_empty() {
                job.to_string()
            } else {
                common_name
            };
            out.push(CertSpec {
                name: name.clone(),
                pkcs8,
                one,
                common_name,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    // Canonical JSON: sorted keys (serde_json maps keep insertion order, so build it sorted).
    let mut canon = String::from("{");
    for (i, c) in out.iter().enumerate() {
        if i > 0 {
            canon.push(',');
        }
        canon.push_str(&format!(
            "{}:{{\"one\":{},\"pkcs8\":{},\"subject\":{{\"common_name\":{}}}}}",
            Value::String(c.name.clone()),
            c.one,
            c.pkcs8,
            Value::String(c.common_name.clone())
        ));
    }
    canon.push('}');
    Ok((out, crate::ids::md5_hex(canon.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Manifest> {
        parse(
            "api",
            "workspace/jobs/api/manifest.json",
            text,
            &mut Warnings::default(),
        )
    }

    #[test]
    fn empty_manifest_defaults() {
        let m = p("{}").unwrap();
        assert_eq!(m.target_version(), "0.0.0");
        assert_eq!(m.selectors, ["api"]);
        assert_eq!(m.max_concurrent_upgrades, 1);
        assert_eq!(m.max_concurrent_starts, 0);
        assert_eq!(m.restart_policy, RestartPolicy::Always);
        assert!(m.health_check.is_none());
        assert_eq!(m.certs_hash, crate::ids::md5_hex(b"{}"));
    }

    #[test]
    fn spec_api_manifest() {
        let mut w = Warnings::default();
        let m = parse(
            "api",
            "workspace/jobs/api/manifest.json",
            r#"{
  "version": "v1.4", "selectors": ["API", "api", " "], "max_concurrent_upgrades": 0, "max_concurrent_starts": -3,
  "restart_policy": "reload", "restart_globs": ["docker-compose.yml", "Makefile", "bin/**"],
  "resources": { "memory": { "min": "256 mb", "max": "2 gb" }, "cpu": { "min": "200 mhz" },
    "ports": { "api_http_port": {}, "api_metrics_port": { }, "fixed": 8080 } },
  "commands": { "command_migrate": { "executed_on": ["pre_deploy", "cli", "cli"],
      "demands": { "job": "database", "command": "command_schema", "config": { "min_version": "2.0.0", "max_version": 3 } } } },
  "health_check": { "checks": [ { "type": "HTTP", "port": "api_http_port", "path": "/healthz" } ], "wait": { "attempts": 20, "interval_seconds": 2 } },
  "certs": { "tls": { "pkcs8": true, "subject": { "common_name": "api.internal" } }, "b": {} },
  "deploy_parallel_count": 1
}"#,
            &mut w,
        )
        .unwrap();
        assert_eq!(m.version.as_deref(), Some("v1.4"));
        assert_eq!(m.parsed_version.as_ref().unwrap().to_string(), "1.4.0");
        assert_eq!(m.selectors, ["api"]);
        assert_eq!((m.max_concurrent_upgrades, m.max_concurrent_starts), (1, 0));
        assert_eq!(
            m.memory,
            Bounds {
                min: 256.0,
                max: 2048.0
            }
        );
        assert_eq!(
            m.cpu,
            Bounds {
                min: 200.0,
                max: 200.0
            }
        );
        assert_eq!(m.ports[0], ("api_http_port".to_string(), PortSpec::Pool));
        assert_eq!(m.ports[2], ("fixed".to_string(), PortSpec::Fixed(8080)));
        assert_eq!(m.commands[0].executed_on, ["pre_deploy", "cli"]);
        assert_eq!(m.commands[0].demand.job, "database");
        let hc = m.health_check.unwrap();
        assert_eq!(hc.checks[0].kind, "http");
        assert_eq!(hc.checks[0].expect_status, Some(200));
        assert_eq!((hc.timeout_seconds, hc.wait.attempts), (5, 20));
        assert_eq!(m.certs[0].name, "b");
        assert_eq!(m.certs[0].common_name, "api");
        assert!(m.certs[1].pkcs8);
        let warns: Vec<_> = w.iter().collect();
        assert_eq!(
            warns,
            ["workspace/jobs/api/manifest.json: unknown field \"deploy_parallel_count\" ignored (did you mean \"max_concurrent_starts\"?)"]
        );
    }

    #[test]
    fn errors() {
        let cases: &[(&str, Kind, &str)] = &[
            ("[]", Kind::InvalidManifest, "expected a JSON object"),
            ("{", Kind::InvalidManifest, "manifest.json"),
            (
                r#"{"version":"1.x"}"#,
                Kind::InvalidJobVersion,
                "invalid segment \"x\" in \"1.x\"",
            ),
            (
                r#"{"resources":{"memory":{"min":"12 GiB"}}}"#,
                Kind::InvalidManifest,
                "resources.memory.min: invalid memory size \"12 GiB\" (units: mb, gb, tb)",
            ),
            (
                r#"{"resources":{"memory":{"min":"2 gb","max":"1 gb"}}}"#,
                Kind::InvalidManifest,
                "min 2048 > max 1024",
            ),
            (
                r#"{"resources":{"ports":{"Bad-Port":{}}}}"#,
                Kind::PortKeyFormat,
                "Bad-Port",
            ),
            (
                r#"{"resources":{"ports":{"p":"8080"}}}"#,
                Kind::InvalidManifestPort,
                "port \"p\"",
            ),
            (
                r#"{"resources":{"ports":{"p":{"a":1}}}}"#,
                Kind::InvalidManifestPort,
                "port \"p\"",
            ),
            (
                r#"{"resources":{"ports":{"p":70000}}}"#,
                Kind::InvalidManifestPort,
                "port \"p\"",
            ),
            (
                r#"{"restart_policy":"sometimes"}"#,
                Kind::InvalidManifest,
                "restart_policy",
            ),
            (
                r#"{"restart_globs":["a"]}"#,
                Kind::InvalidManifest,
                "restart_globs requires restart_policy reload",
            ),
            (
                r#"{"restart_policy":"reload","restart_globs":["a["]}"#,
                Kind::InvalidManifest,
                "restart_globs",
            ),
            (
                r#"{"min_allocations_count":-1}"#,
                Kind::InvalidManifest,
                "min_allocations_count",
            ),
            (
                r#"{"commands":{"migrate":{"executed_on":["cli"]}}}"#,
                Kind::InvalidJobCommandConfiguration,
                "command_",
            ),
            (
                r#"{"commands":{"command_x":{}}}"#,
                Kind::InvalidJobCommandConfiguration,
                "missing executed_on",
            ),
            (
                r#"{"commands":{"command_x":{"executed_on":["boot"]}}}"#,
                Kind::InvalidJobCommandConfiguration,
                "invalid executed_on \"boot\"",
            ),
            (
                r#"{"health_check":{"checks":[{"type":"udp"}]}}"#,
                Kind::InvalidManifest,
                "type \"udp\" (want tcp, http, or ssh)",
            ),
            (
                r#"{"health_check":{"checks":[{"type":"ssh"}]}}"#,
                Kind::InvalidManifest,
                "ssh probe requires command",
            ),
            (
                r#"{"health_check":{"checks":[{"type":"tcp","port":"x"}]}}"#,
                Kind::InvalidManifest,
                "port \"x\" not in resources.ports",
            ),
            (
                r#"{"resources":{"ports":{"p":{}}},"health_check":{"checks":[{"type":"http","port":"p","path":"x"}]}}"#,
                Kind::InvalidManifest,
                "path must start with /",
            ),
            (
                r#"{"certs":{"ca":{}}}"#,
                Kind::InvalidManifest,
                "cert \"ca\"",
            ),
            (
                r#"{"certs":{"a b":{}}}"#,
                Kind::InvalidManifest,
                "cert \"a b\"",
            ),
        ];
        for (text, kind, needle) in cases {
            let e = p(text).unwrap_err();
            assert_eq!(e.kind, *kind, "{text}: {e}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
            assert!(
                e.to_string().contains("workspace/jobs/api/manifest.json"),
                "{e}"
            );
        }
    }

    #[test]
    fn certs_hash_is_canonical() {
        let a = p(r#"{"certs":{"x":{"one":false,"subject":{"common_name":"api"}}}}"#).unwrap();
        let b = p(r#"{"certs":{"x":{}}}"#).unwrap();
        assert_eq!(a.certs_hash, b.certs_hash);
        let c = p(r#"{"certs":{"x":{"one":true}}}"#).unwrap();
        assert_ne!(a.certs_hash, c.certs_hash);
    }
}
