//! What deploy assembles into Prometheus server jobs (spec 11 §6–7), gathered once per
//! run from the catalog: expanded scrape configs, the rule-file list, rule files with
//! runbook links, runbook pages and dashboards.

use std::collections::{BTreeMap, BTreeSet};

use maand_prometheus::content::JobContent;
use maand_prometheus::{alerts, cert_rules, dashboards, runbooks, scrape};
use rusqlite::Connection;

use crate::catalog::jobs as job_sql;
use crate::error::{Error, Kind, Result};
use crate::kv::KvStore;
use crate::snapshot::Snapshot;

/// The server job's port key for its UI and remote-write receiver.
pub const HTTP_PORT: &str = "prometheus_port_http";

/// Every job's monitoring content in the catalog, by job name.
pub fn catalog_content(conn: &Connection) -> Result<BTreeMap<String, JobContent>> {
    let mut out: BTreeMap<String, JobContent> = BTreeMap::new();
    for (job, f) in job_sql::prometheus_files(conn)? {
        let entry = out.entry(job.clone()).or_default();
        let rel = &f.path[job.len() + 1..];
        match rel.strip_prefix("_prometheus/") {
            Some(rel) if !f.is_dir => {
                entry.files.insert(rel.to_string(), f.content);
            }
            Some(_) => {}
            None => entry.server = true,
        }
    }
    Ok(out)
}

/// The `{{ scrapeConfigs }}` input of spec 11 §7: the build's scrape catalog expanded
/// over live allocations and ports, optionally limited to `only` jobs.
pub fn expand_scrape(
    conn: &Connection,
    snap: &Snapshot,
    kv: &KvStore,
    only: Option<&BTreeSet<String>>,
    warnings: &mut Vec<String>,
) -> Result<Vec<serde_json::Value>> {
    let listed = kv
        .get("maand/prometheus", "scrape_jobs")?
        .unwrap_or_default();
    let ports = job_sql::ports(conn)?;
    let mut out = Vec::new();
    for job in listed.split(',').filter(|j| !j.is_empty()) {
        if only.is_some_and(|o| !o.contains(job)) {
            continue;
        }
        let stored = kv
            .get("maand/prometheus", &format!("scrape/{job}"))?
            .unwrap_or_default();
        let configs: Vec<serde_json::Value> = serde_json::from_str(&stored).map_err(|e| {
            Error::bare(
                Kind::Kv,
                format!("maand/prometheus scrape/{job}: not a JSON array ({e}); run maand build"),
            )
        })?;
        let job_ports: BTreeMap<String, Option<u16>> = ports
            .iter()
            .filter(|p| p.job == job)
            .map(|p| (p.name.clone(), Some(p.port)))
            .collect();
        let active: Vec<String> = snap
            .active(job)
            .into_iter()
            .map(|a| a.worker_ip.clone())
            .collect();
        let live = scrape::Live {
            job,
            ports: &job_ports,
            active: &active,
        };
        let expanded = scrape::expand(&configs, &live, warnings)
            .map_err(|e| Error::bare(Kind::Input, format!("prometheus scrape configs: {e}")))?;
        out.extend(expanded.into_iter().flatten());
    }
    Ok(out)
}

/// Monitoring assembly inputs for one deploy (or render) run.
pub struct Monitoring {
    /// `{{ scrapeConfigs }}` and `{{ ruleFiles }}` for every template of the run.
    pub functions: (String, String),
    /// Server jobs with their `prometheus_port_http`, if declared.
    servers: BTreeMap<String, Option<u16>>,
    /// (job, file, content) of every alert file, jobs then files in name order.
    alert_files: Vec<(String, String, String)>,
    /// `consoles/…` files: the same on every server allocation.
    consoles: Vec<(String, Vec<u8>)>,
    window_seconds: u64,
}

impl Monitoring {
    pub fn load(
        conn: &Connection,
        snap: &Snapshot,
        kv: &KvStore,
        renewal_buffer_days: i64,
        warnings: &mut Vec<String>,
    ) -> Result<Monitoring> {
        let content = catalog_content(conn)?;
        let ports = job_sql::ports(conn)?;
        let servers: BTreeMap<String, Option<u16>> = content
            .iter()
            .filter(|(_, c)| c.server)
            .map(|(job, _)| {
                let port = ports
                    .iter()
                    .find(|p| &p.job == job && p.name == HTTP_PORT)
                    .map(|p| p.port);
                (job.clone(), port)
            })
            .collect();
        let mut alert_files = Vec::new();
        let mut books = Vec::new();
        let mut boards = Vec::new();
        let mut ignores = BTreeMap::new();
        for (job, c) in &content {
            for (name, text) in c.alert_files() {
                alert_files.push((
                    job.clone(),
                    name.to_string(),
                    String::from_utf8_lossy(text).into_owned(),
                ));
            }
            // Consoles go only into server jobs; without one, `_prometheus/` content was
            // never validated and must not fail a deploy.
            if servers.is_empty() {
                continue;
            }
            for (name, text) in c.runbooks() {
                books.push(runbooks::Runbook {
                    job: job.clone(),
                    slug: name.trim_end_matches(".md").to_string(),
                    markdown: String::from_utf8_lossy(text).into_owned(),
                });
            }
            for (rel, bytes) in c.dashboards() {
                boards.push(dashboards::DashboardFile {
                    job: job.clone(),
                    rel: rel.to_string(),
                    content: bytes.clone(),
                });
            }
            if let Some(text) = c.files.get("dashboards/.dashboardignore") {
                let list =
                    dashboards::IgnoreList::parse(&String::from_utf8_lossy(text)).map_err(|e| {
                        Error::bare(
                            Kind::Input,
                            format!("job {job}: _prometheus/dashboards/.dashboardignore: {e}"),
                        )
                    })?;
                ignores.insert(job.clone(), list);
            }
        }
        let scrape = if servers.is_empty() {
            Vec::new()
        } else {
            expand_scrape(conn, snap, kv, None, warnings)?
        };
        let listed: Vec<(String, String)> = alert_files
            .iter()
            .map(|(j, f, _)| (j.clone(), f.clone()))
            .collect();
        let mut consoles: Vec<(String, Vec<u8>)> = runbooks::render(&books)
            .into_iter()
            .map(|(p, c)| (format!("consoles/runbooks/{p}"), c))
            .collect();
        consoles.extend(
            dashboards::assemble(&boards, &ignores)
                .into_iter()
                .map(|(p, c)| (format!("consoles/dashboards/{p}"), c)),
        );
        Ok(Monitoring {
            functions: (
                scrape::fragment(&scrape),
                maand_prometheus::rule_files(!servers.is_empty(), &listed),
            ),
            servers,
            alert_files,
            consoles,
            window_seconds: renewal_buffer_days.max(7) as u64 * 86400,
        })
    }

    /// Files generated into the tree of `job` on `ip` (relative to the job root); empty
    /// unless `job` is a server job.
    pub fn server_files(&self, job: &str, ip: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let Some(port) = self.servers.get(job) else {
            return Ok(Vec::new());
        };
        let base = match port {
            Some(p) if ip.contains(':') => format!("http://[{ip}]:{p}"),
            Some(p) => format!("http://{ip}:{p}"),
            None => String::new(),
        };
        let mut out = vec![(
            "rules/maand/certs.yaml".to_string(),
            cert_rules::rules_yaml(self.window_seconds).into_bytes(),
        )];
        for (owner, file, text) in &self.alert_files {
            let rewritten = alerts::rewrite_runbook_links(text, owner, &base).map_err(|e| {
                Error::bare(
                    Kind::Input,
                    format!("job {owner}: _prometheus/alerts/{file}: {e} (run maand build)"),
                )
            })?;
            out.push((format!("rules/{owner}/{file}"), rewritten.into_bytes()));
        }
        out.extend(self.consoles.iter().cloned());
        Ok(out)
    }
}
