//! `maand cat prometheus [--jobs]`, `cat prometheus get <job> <path>`, `cat prometheus
//! scrape [--jobs]` (spec 11 §8). Read-only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::filters::{admits, csv, validate};
use super::output::{self, Output};
use crate::bucket::Bucket;
use crate::catalog::Catalog;
use crate::error::{Error, Kind, Result};
use crate::kv::KvStore;
use crate::snapshot::Snapshot;
use crate::stage::prometheus::{catalog_content, expand_scrape};
use maand_prometheus::content::JobContent;

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    sub: Option<Sub>,
    /// Only these jobs (comma-separated).
    #[arg(long)]
    jobs: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(clap::Subcommand, Debug)]
enum Sub {
    /// Print one file under <job>/_prometheus/ (catalog first, then workspace).
    Get {
        /// Job whose `_prometheus/` holds the file.
        job: String,
        /// Relative to _prometheus/; empty or `scrape` = the scrape file.
        #[arg(default_value = "")]
        path: String,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// The expanded scrape configs Prometheus will receive.
    Scrape {
        #[arg(long)]
        jobs: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
}

pub fn run(bucket: &Bucket, cat: &Catalog, args: Args) -> Result<i32> {
    match args.sub {
        None => overview(bucket, cat, args.jobs.as_deref(), args.output),
        Some(Sub::Get { job, path, output }) => get(bucket, cat, &job, &path, output),
        Some(Sub::Scrape { jobs, output }) => scrape(bucket, cat, jobs.as_deref(), output),
    }
}

#[derive(Serialize)]
struct Row {
    job: String,
    scrape: bool,
    alerts: usize,
    runbooks: usize,
    dashboards: usize,
}

fn overview(bucket: &Bucket, cat: &Catalog, jobs: Option<&str>, out: Output) -> Result<i32> {
    let catalog = catalog_content(cat.conn())?;
    let workspace = workspace_content(&bucket.root.join("workspace/jobs"))?;
    let mut known: BTreeSet<String> = catalog.keys().chain(workspace.keys()).cloned().collect();
    known.extend(Snapshot::load(cat.conn())?.jobs.into_iter().map(|j| j.name));
    known.extend(job_folders(&bucket.root.join("workspace/jobs")));
    let filter = validate("jobs", &csv(jobs), &known.into_iter().collect::<Vec<_>>())?;
    let empty = JobContent::default();
    let names: BTreeSet<&String> = catalog.keys().chain(workspace.keys()).collect();
    let rows: Vec<Row> = names
        .into_iter()
        .filter(|j| admits(&filter, j))
        .map(|job| {
            let (c, w) = (
                catalog.get(job).unwrap_or(&empty),
                workspace.get(job).unwrap_or(&empty),
            );
            Row {
                job: job.clone(),
                scrape: c.has_scrape() || w.has_scrape(),
                alerts: c.alert_files().count().max(w.alert_files().count()),
                runbooks: c.runbooks().count().max(w.runbooks().count()),
                dashboards: c.dashboards().count().max(w.dashboards().count()),
            }
        })
        .filter(|r| r.scrape || r.alerts + r.runbooks + r.dashboards > 0)
        .collect();
    match out {
        Output::Json => output::json(&rows),
        Output::Table if rows.is_empty() => {
            return Err(Error::bare(Kind::NotFound, "no prometheus found"))
        }
        Output::Table => output::table(
            &["job", "scrape", "alerts", "runbooks", "dashboards"],
            rows.iter()
                .map(|r| {
                    vec![
                        r.job.clone(),
                        if r.scrape { "yes" } else { "-" }.to_string(),
                        r.alerts.to_string(),
                        r.runbooks.to_string(),
                        r.dashboards.to_string(),
                    ]
                })
                .collect(),
        ),
    }
    Ok(0)
}

/// `path` relative to `_prometheus/`, normalised; `None` when it leaves the folder.
fn normalise(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

fn get(bucket: &Bucket, cat: &Catalog, job: &str, path: &str, out: Output) -> Result<i32> {
    let catalog = catalog_content(cat.conn())?;
    let workspace = workspace_content(&bucket.root.join("workspace/jobs"))?;
    let sources = [
        ("catalog", catalog.get(job)),
        ("workspace", workspace.get(job)),
    ];
    let rel = normalise(path)
        .ok_or_else(|| Error::bare(Kind::Input, format!("invalid prometheus path \"{path}\"")))?;
    let candidates: Vec<String> = match rel.as_str() {
        "" | "scrape" => vec!["scrape.yaml".into(), "scrape.yaml.tpl".into()],
        "scrape.tpl" => vec!["scrape.yaml.tpl".into()],
        _ => vec![rel.clone()],
    };
    for (source, content) in sources {
        let Some(content) = content else { continue };
        for c in &candidates {
            if let Some(bytes) = content.files.get(c) {
                let mut text = String::from_utf8_lossy(bytes).into_owned();
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                match out {
                    Output::Json => output::json(&serde_json::json!({
                        "job": job, "path": c, "source": source, "content": text,
                    })),
                    Output::Table => output::print(&text),
                }
                return Ok(0);
            }
        }
    }
    let shown = match rel.as_str() {
        "" | "scrape" => "scrape.yaml",
        "scrape.tpl" => "scrape.yaml.tpl",
        other => other,
    };
    Err(Error::bare(
        Kind::NotFound,
        format!("{job}/_prometheus/{shown} not found"),
    ))
}

fn scrape(bucket: &Bucket, cat: &Catalog, jobs: Option<&str>, out: Output) -> Result<i32> {
    let snap = Snapshot::load(cat.conn())?;
    let known: Vec<String> = snap.jobs.iter().map(|j| j.name.clone()).collect();
    let only: Option<BTreeSet<String>> =
        validate("jobs", &csv(jobs), &known)?.map(|v| v.into_iter().collect());
    let kv = KvStore::load(cat.conn(), bucket.kv_key_path())?;
    let mut warnings = Vec::new();
    let configs = expand_scrape(cat.conn(), &snap, &kv, only.as_ref(), &mut warnings)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    match out {
        Output::Json => output::json(&configs),
        Output::Table if configs.is_empty() => {
            return Err(Error::bare(
                Kind::NotFound,
                "no expanded scrape configs (run maand build first)",
            ))
        }
        Output::Table => {
            let fragment = maand_prometheus::scrape::fragment(&configs);
            output::print(&format!("{}\n", fragment.trim_start_matches('\n')));
        }
    }
    Ok(0)
}

fn job_folders(jobs_dir: &Path) -> Vec<String> {
    std::fs::read_dir(jobs_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// `workspace/jobs/*/_prometheus/` as the build would store it (unbuilt edits included).
fn workspace_content(jobs_dir: &Path) -> Result<BTreeMap<String, JobContent>> {
    fn walk(base: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) -> Result<()> {
        for entry in fs_err::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(base, &path, files)?;
            } else if kind.is_file() {
                let rel = path.strip_prefix(base).unwrap_or(&path);
                files.insert(rel.to_string_lossy().into_owned(), fs_err::read(&path)?);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    for job in job_folders(jobs_dir) {
        let dir = jobs_dir.join(&job).join("_prometheus");
        if !dir.is_dir() {
            continue;
        }
        let mut content = JobContent::default();
        walk(&dir, &dir, &mut content.files)?;
        out.insert(job, content);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn paths_stay_inside_prometheus() {
        assert_eq!(
            normalise("/alerts/a.yaml").as_deref(),
            Some("alerts/a.yaml")
        );
        assert_eq!(
            normalise("alerts/../scrape.yaml").as_deref(),
            Some("scrape.yaml")
        );
        assert_eq!(normalise("").as_deref(), Some(""));
        assert_eq!(normalise("../manifest.json"), None);
        assert_eq!(normalise("alerts/../../x"), None);
    }
}
