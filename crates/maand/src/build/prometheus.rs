//! Build step for `_prometheus/` (spec 11 §3–5): validate every job's monitoring content
//! when a Prometheus server job exists, and write the scrape catalog `maand/prometheus`.
//!
//! The rules themselves live in the `maand-prometheus` crate; this step gathers the
//! workspace files, renders `scrape.yaml.tpl`, and checks what only the whole bucket can
//! see (unique `job_name`s and alert names).

use std::collections::{BTreeMap, BTreeSet};

use maand_prometheus::content::JobContent;
use maand_prometheus::{alerts, cert_rules, dashboards, runbooks, scrape};

use crate::catalog::allocations::AllocationRow;
use crate::error::{Error, Kind, Result};
use crate::kv::policy::Reader;
use crate::kv::KvStore;
use crate::stage::kv_source::PolicyKv;
use crate::warnings::Warnings;
use crate::workspace::job::{invalid, Job};
use crate::workspace::Workspace;

const NS: &str = "maand/prometheus";

/// Runs after the job KV step; `by_job` holds every allocation row by job.
pub fn step(
    ws: &Workspace,
    by_job: &BTreeMap<&str, Vec<&AllocationRow>>,
    kv: &mut KvStore,
    warnings: &mut Warnings,
) -> Result<()> {
    if !ws.jobs.iter().any(Job::is_prometheus_server) {
        return kv.sync(
            NS,
            &[
                ("scrape_configs".to_string(), "[]".to_string()),
                ("scrape_jobs".to_string(), String::new()),
                ("scrape_jobs_length".to_string(), "0".to_string()),
            ],
        );
    }
    let mut pairs = Vec::new();
    let mut aggregate: Vec<serde_json::Value> = Vec::new();
    let mut included = Vec::new();
    let mut job_names: BTreeMap<String, String> = BTreeMap::new();
    // Alert name → (job, file) of its first definition; the built-in names are reserved.
    let mut alert_names: BTreeMap<String, (String, String)> = cert_rules::ALERT_NAMES
        .iter()
        .map(|a| (a.to_string(), ("maand".to_string(), String::new())))
        .collect();
    let no_rows = Vec::new();
    for job in &ws.jobs {
        let rows = by_job.get(job.name.as_str()).unwrap_or(&no_rows);
        let c = content(job, warnings);
        let slugs = check_runbooks(job, &c)?;
        let ignore = "_prometheus/dashboards/.dashboardignore";
        if let Some(bytes) = c.files.get("dashboards/.dashboardignore") {
            dashboards::IgnoreList::parse(text(job, ignore, bytes)?)
                .map_err(|e| invalid(&job.name, format!("{ignore}: {e}")))?;
        }
        check_alerts(job, &c, &slugs, &mut alert_names)?;
        let Some((file, s)) = scrape_of(job, &c, rows, kv)? else {
            continue;
        };
        for name in &s.job_names {
            // Also within one job: Prometheus rejects a config with two equal job_names.
            if let Some(other) = job_names.insert(name.clone(), job.name.clone()) {
                return Err(invalid(
                    &job.name,
                    format!(
                        "{file}: duplicate prometheus job_name \"{name}\" (jobs {other} and {})",
                        job.name
                    ),
                ));
            }
        }
        let configs = serde_json::Value::Array(s.configs.clone()).to_string();
        pairs.push((format!("scrape/{}", job.name), configs));
        let active = rows.iter().any(|a| !a.removed && !a.disabled);
        if active || !s.uses_ports {
            aggregate.extend(s.configs);
            included.push(job.name.clone());
        }
        let retired = !rows.is_empty() && rows.iter().all(|a| a.removed);
        if !retired {
            kv.put(
                &format!("maand/job/{}", job.name),
                "job_name",
                &s.job_names[0],
            )?;
        }
    }
    pairs.push((
        "scrape_configs".into(),
        serde_json::Value::Array(aggregate).to_string(),
    ));
    pairs.push(("scrape_jobs".into(), included.join(",")));
    pairs.push(("scrape_jobs_length".into(), included.len().to_string()));
    kv.sync(NS, &pairs)
}

/// The job's `_prometheus/` files, selected by the same rules deploy uses; subdirectories
/// of `alerts/` and `runbooks/` are ignored with a warning.
fn content(job: &Job, warnings: &mut Warnings) -> JobContent {
    let mut c = JobContent::default();
    for f in job.files.iter().filter(|f| !f.is_dir) {
        if let Some(rel) = f.path.strip_prefix("_prometheus/") {
            c.files.insert(rel.to_string(), f.content.clone());
        }
    }
    for dir in ["alerts", "runbooks"] {
        for sub in c.nested(dir) {
            warnings.push(format!(
                "job {}: _prometheus/{dir}/{sub}/ ignored (only files directly in _prometheus/{dir}/ count)",
                job.name
            ));
        }
    }
    c
}

fn text<'a>(job: &Job, path: &str, content: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(content).map_err(|_| invalid(&job.name, format!("{path}: not valid UTF-8")))
}

fn check_runbooks(job: &Job, c: &JobContent) -> Result<BTreeSet<String>> {
    let mut slugs = BTreeSet::new();
    for (name, bytes) in c.runbooks() {
        let path = format!("_prometheus/runbooks/{name}");
        let slug = name.trim_end_matches(".md");
        if !runbooks::valid_slug(slug) {
            return Err(invalid(
                &job.name,
                format!(
                    "{path}: runbook name \"{slug}\" must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$ (it becomes a file name and URL)"
                ),
            ));
        }
        text(job, &path, bytes)?;
        slugs.insert(slug.to_string());
    }
    Ok(slugs)
}

fn check_alerts(
    job: &Job,
    c: &JobContent,
    slugs: &BTreeSet<String>,
    seen: &mut BTreeMap<String, (String, String)>,
) -> Result<()> {
    for (name, bytes) in c.alert_files() {
        let path = format!("_prometheus/alerts/{name}");
        if job.name == "maand" {
            return Err(invalid(
                &job.name,
                format!(
                    "{path}: a job named maand may not ship alerts (rules/maand/ is reserved for maand's certificate alerts)"
                ),
            ));
        }
        let names = alerts::validate(name, text(job, &path, bytes)?, slugs)
            .map_err(|e| invalid(&job.name, e))?;
        for alert in names {
            match seen.get(&alert) {
                Some((_, first)) if first.is_empty() => {
                    return Err(invalid(
                        &job.name,
                        format!(
                            "{path}: alert name \"{alert}\" is reserved for maand's certificate alerts"
                        ),
                    ))
                }
                Some((owner, first)) => {
                    return Err(invalid(
                        &job.name,
                        format!(
                            "{path}: duplicate alert name \"{alert}\" (jobs {owner} and {}; first in {owner}/{first})",
                            job.name
                        ),
                    ))
                }
                None => {
                    seen.insert(alert, (job.name.clone(), path.clone()));
                }
            }
        }
    }
    Ok(())
}

/// The job's validated scrape file (with its name), rendering `scrape.yaml.tpl` first.
fn scrape_of(
    job: &Job,
    c: &JobContent,
    rows: &[&AllocationRow],
    kv: &KvStore,
) -> Result<Option<(&'static str, scrape::Scrape)>> {
    let path = |f: &str| format!("_prometheus/{f}");
    let (file, source) = match (c.files.get("scrape.yaml"), c.files.get("scrape.yaml.tpl")) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(invalid(
                &job.name,
                "cannot define both scrape.yaml and scrape.yaml.tpl",
            ))
        }
        (Some(b), None) => (
            "scrape.yaml",
            text(job, &path("scrape.yaml"), b)?.to_string(),
        ),
        (None, Some(b)) => (
            "scrape.yaml.tpl",
            render(job, text(job, &path("scrape.yaml.tpl"), b)?, kv)?,
        ),
    };
    let ports: BTreeSet<String> = job.manifest.ports.iter().map(|(k, _)| k.clone()).collect();
    let workers: BTreeSet<String> = rows
        .iter()
        .filter(|a| !a.removed)
        .map(|a| a.worker_ip.clone())
        .collect();
    let view = scrape::JobView {
        job: &job.name,
        ports: &ports,
        workers: &workers,
    };
    scrape::validate(file, &source, &view)
        .map(|s| Some((file, s)))
        .map_err(|e| invalid(&job.name, e))
}

fn render(job: &Job, source: &str, kv: &KvStore) -> Result<String> {
    let version = job.manifest.target_version().to_string();
    let ctx = maand_template::Context {
        job: job.name.clone(),
        current_version: version.clone(),
        new_version: version,
        ..Default::default()
    };
    let mut upstream: Vec<String> = job
        .manifest
        .commands
        .iter()
        .map(|c| c.demand.job.clone())
        .filter(|j| !j.is_empty())
        .collect();
    upstream.sort();
    upstream.dedup();
    let reader = Reader {
        job: job.name.clone(),
        worker: None,
        upstream,
    };
    let none = (String::new(), String::new());
    let source_kv = PolicyKv {
        kv,
        reader: &reader,
        prometheus: &none,
    };
    maand_template::render(
        "_prometheus/scrape.yaml.tpl",
        source,
        maand_template::Dialect::Scrape,
        &ctx,
        &source_kv,
    )
    .map_err(|e| {
        Error::bare(
            Kind::Template,
            format!("template error: job {}, {e}", job.name),
        )
    })
}
