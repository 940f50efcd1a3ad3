//! `maand cat …`: read-only views of the catalog (spec 09 §3).

use super::filters::{admits, csv, validate};
use super::output::{self, Output};
use crate::bucket::Bucket;
use crate::catalog::{allocations, jobs, workers};
use crate::error::{Error, Kind, Result};
use crate::workspace::units::format_number;
use clap::Subcommand;
use serde::Serialize;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    what: Option<What>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

/// Filters of the per-allocation views (`allocations`, `deployments`).
#[derive(clap::Args, Debug, Clone)]
pub struct AllocationFilters {
    #[arg(long)]
    pub jobs: Option<String>,
    #[arg(long)]
    pub workers: Option<String>,
    /// Only allocations that are neither removed nor disabled.
    #[arg(long)]
    pub active: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Subcommand, Debug)]
enum What {
    /// Catalog workers.
    Workers(Common),
    /// Catalog jobs.
    Jobs(Common),
    /// Allocations (job × worker).
    Allocations(AllocationFilters),
    /// Per-allocation rollout state (deploy debugging).
    Deployments(AllocationFilters),
    /// Assigned ports.
    #[command(name = "job_ports")]
    JobPorts {
        #[arg(long)]
        jobs: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Registered hooks, one row per (hook, event).
    #[command(alias = "job_commands")]
    Hooks {
        #[arg(long)]
        jobs: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// The bucket CA and every leaf certificate with its expiry status.
    Certs(super::cat_certs::Args),
    /// Jobs' monitoring content, one file of it, or the expanded scrape configs.
    Prometheus(super::cat_prometheus::Args),
    /// The KV store.
    Kv(super::cat_kv::Args),
}

/// Renders rows as a table or JSON; an empty table is an error, empty JSON is `[]`.
fn emit<T: Serialize>(
    out: Output,
    what: &str,
    headers: &[&str],
    rows: &[T],
    cells: impl Fn(&T) -> Vec<String>,
) -> Result<i32> {
    match out {
        Output::Json => output::json(rows),
        Output::Table if rows.is_empty() => {
            return Err(Error::bare(Kind::NotFound, format!("no {what} found")))
        }
        Output::Table => output::table(headers, rows.iter().map(cells).collect()),
    }
    Ok(0)
}

pub fn run(bucket: &Bucket, args: Args) -> Result<i32> {
    let Some(what) = args.what else {
        use clap::CommandFactory;
        let mut cmd = super::Cli::command();
        cmd.build(); // sets the usage name "maand cat"
        if let Some(c) = cmd.find_subcommand_mut("cat") {
            let _ = c.print_help();
        }
        return Ok(0);
    };
    let cat = bucket.catalog()?;
    let c = cat.conn();
    match what {
        What::Workers(common) => {
            #[derive(Serialize)]
            struct Row {
                worker_ip: String,
                zone: Option<String>,
                cpu_mhz: f64,
                memory_mb: f64,
                position: i64,
                labels: Vec<String>,
            }
            let rows: Vec<Row> = workers::list(c)?
                .into_iter()
                .map(|w| Row {
                    zone: w.tags.get("zone").cloned(),
                    worker_ip: w.worker_ip,
                    cpu_mhz: w.cpu_mhz,
                    memory_mb: w.memory_mb,
                    position: w.position,
                    labels: w.labels.into_iter().collect(),
                })
                .collect();
            emit(
                common.output,
                "workers",
                &[
                    "Worker IP",
                    "zone",
                    "CPU (mhz)",
                    "Memory (mb)",
                    "Position",
                    "labels",
                ],
                &rows,
                |r| {
                    vec![
                        r.worker_ip.clone(),
                        r.zone.clone().unwrap_or_default(),
                        format_number(r.cpu_mhz),
                        format_number(r.memory_mb),
                        r.position.to_string(),
                        r.labels.join(","),
                    ]
                },
            )
        }
        What::Jobs(common) => {
            #[derive(Serialize)]
            struct Row {
                job: String,
                version: String,
                disabled: bool,
                deployment_seq: i64,
                cpu_mhz: f64,
                cpu_source: String,
                memory_mb: f64,
                memory_source: String,
                selectors: Vec<String>,
            }
            let allocs = allocations::list(c)?;
            let mut rows: Vec<Row> = jobs::list(c)?
                .into_iter()
                .map(|j| {
                    let enabled = allocs
                        .iter()
                        .any(|a| a.job == j.name && !a.removed && !a.disabled);
                    Row {
                        disabled: !enabled,
                        version: j.version,
                        deployment_seq: j.deployment_seq,
                        cpu_mhz: j.current_cpu_mhz,
                        cpu_source: j.cpu_source,
                        memory_mb: j.current_memory_mb,
                        memory_source: j.memory_source,
                        selectors: serde_json::from_str(&j.selectors).unwrap_or_default(),
                        job: j.name,
                    }
                })
                .collect();
            rows.sort_by(|a, b| (a.deployment_seq, &a.job).cmp(&(b.deployment_seq, &b.job)));
            emit(
                common.output,
                "jobs",
                &[
                    "job",
                    "version",
                    "disabled",
                    "deployment_seq",
                    "cpu",
                    "memory",
                    "selectors",
                ],
                &rows,
                |r| {
                    vec![
                        r.job.clone(),
                        r.version.clone(),
                        (r.disabled as u8).to_string(),
                        r.deployment_seq.to_string(),
                        format!("{} mhz ({})", format_number(r.cpu_mhz), r.cpu_source),
                        format!("{} mb ({})", format_number(r.memory_mb), r.memory_source),
                        r.selectors.join(","),
                    ]
                },
            )
        }
        What::Allocations(AllocationFilters {
            jobs: jf,
            workers: wf,
            active,
            common,
        }) => {
            #[derive(Serialize)]
            struct Row {
                allocation_id: String,
                worker_ip: String,
                zone: Option<String>,
                job: String,
                disabled: bool,
                removed: bool,
            }
            let ws = workers::list(c)?;
            let allocs = allocations::list(c)?;
            let mut allocated: Vec<String> = allocs.iter().map(|a| a.job.clone()).collect();
            allocated.dedup();
            let jf = validate("jobs", &csv(jf.as_deref()), &allocated)?;
            let wf = validate(
                "workers",
                &csv(wf.as_deref()),
                &ws.iter().map(|w| w.worker_ip.clone()).collect::<Vec<_>>(),
            )?;
            let pos = |ip: &str| {
                ws.iter()
                    .position(|w| w.worker_ip == ip)
                    .unwrap_or(usize::MAX)
            };
            let mut sel: Vec<_> = allocs
                .into_iter()
                .filter(|a| {
                    admits(&jf, &a.job)
                        && admits(&wf, &a.worker_ip)
                        && (!active || (!a.removed && !a.disabled))
                })
                .collect();
            sel.sort_by(|a, b| {
                (a.job.as_str(), pos(&a.worker_ip), a.worker_ip.as_str()).cmp(&(
                    b.job.as_str(),
                    pos(&b.worker_ip),
                    b.worker_ip.as_str(),
                ))
            });
            let rows: Vec<Row> = sel
                .into_iter()
                .map(|a| Row {
                    zone: ws
                        .iter()
                        .find(|w| w.worker_ip == a.worker_ip)
                        .and_then(|w| w.tags.get("zone").cloned()),
                    allocation_id: a.alloc_id,
                    worker_ip: a.worker_ip,
                    job: a.job,
                    disabled: a.disabled,
                    removed: a.removed,
                })
                .collect();
            emit(
                common.output,
                "allocations",
                &[
                    "allocation_id",
                    "worker_ip",
                    "zone",
                    "job",
                    "disabled",
                    "removed",
                ],
                &rows,
                |r| {
                    vec![
                        r.allocation_id.clone(),
                        r.worker_ip.clone(),
                        r.zone.clone().unwrap_or_default(),
                        r.job.clone(),
                        (r.disabled as u8).to_string(),
                        (r.removed as u8).to_string(),
                    ]
                },
            )
        }
        What::Deployments(f) => super::cat_deployments::run(bucket, f),
        What::JobPorts { jobs: jf, common } => {
            #[derive(Serialize)]
            struct Row {
                job: String,
                name: String,
                port: u16,
            }
            let known: Vec<String> = jobs::list(c)?.into_iter().map(|j| j.name).collect();
            let jf = validate("jobs", &csv(jf.as_deref()), &known)?;
            let rows: Vec<Row> = jobs::ports(c)?
                .into_iter()
                .filter(|p| admits(&jf, &p.job))
                .map(|p| Row {
                    job: p.job,
                    name: p.name,
                    port: p.port,
                })
                .collect();
            emit(
                common.output,
                "job ports",
                &["job", "name", "port"],
                &rows,
                |r| vec![r.job.clone(), r.name.clone(), r.port.to_string()],
            )
        }
        What::Hooks { jobs: jf, common } => {
            #[derive(Serialize)]
            struct Row {
                job: String,
                command_name: String,
                executed_on: String,
                demand_job: String,
                demand_command: String,
                demand_config: serde_json::Value,
            }
            let known: Vec<String> = jobs::list(c)?.into_iter().map(|j| j.name).collect();
            let jf = validate("jobs", &csv(jf.as_deref()), &known)?;
            let rows: Vec<Row> = jobs::commands(c)?
                .into_iter()
                .filter(|h| admits(&jf, &h.job))
                .map(|h| Row {
                    demand_config: serde_json::from_str(&h.demand_config).unwrap_or_default(),
                    job: h.job,
                    command_name: h.command,
                    executed_on: h.event,
                    demand_job: h.demand_job,
                    demand_command: h.demand_command,
                })
                .collect();
            emit(
                common.output,
                "hooks",
                &[
                    "job",
                    "command_name",
                    "executed_on",
                    "demand_job",
                    "demand_command",
                    "demand_config",
                ],
                &rows,
                |r| {
                    vec![
                        r.job.clone(),
                        r.command_name.clone(),
                        r.executed_on.clone(),
                        r.demand_job.clone(),
                        r.demand_command.clone(),
                        r.demand_config.to_string(),
                    ]
                },
            )
        }
        What::Certs(a) => super::cat_certs::run(bucket, &cat, a),
        What::Prometheus(a) => super::cat_prometheus::run(bucket, &cat, a),
        What::Kv(a) => super::cat_kv::run(bucket, &cat, a),
    }
}
