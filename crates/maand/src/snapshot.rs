//! A read-only snapshot of the catalog rows that deploy-time commands (deploy, render,
//! job, hooks) work from, with the derived views they share: allocation contexts and
//! KV readers.

use crate::catalog::allocations::{self, AllocationRow};
use crate::catalog::deployments::{self, DeploymentRow};
use crate::catalog::jobs::{self, CommandRow, JobRow};
use crate::catalog::meta;
use crate::catalog::workers::{self, WorkerRow};
use crate::error::Result;
use crate::kv::policy::Reader;
use rusqlite::Connection;
use std::collections::HashMap;

pub struct Snapshot {
    pub bucket_id: String,
    pub update_seq: i64,
    /// Workers in worker order.
    pub workers: Vec<WorkerRow>,
    /// Jobs by name order.
    pub jobs: Vec<JobRow>,
    /// Every allocation row, ordered by job then worker order.
    pub allocations: Vec<AllocationRow>,
    pub deployments: HashMap<String, DeploymentRow>,
    pub commands: Vec<CommandRow>,
}

impl Snapshot {
    pub fn load(conn: &Connection) -> Result<Snapshot> {
        let workers = workers::list(conn)?;
        let mut allocations = allocations::list(conn)?;
        let pos: HashMap<&str, usize> = workers
            .iter()
            .enumerate()
            .map(|(i, w)| (w.worker_ip.as_str(), i))
            .collect();
        allocations.sort_by(|a, b| {
            let p =
                |x: &AllocationRow| pos.get(x.worker_ip.as_str()).copied().unwrap_or(usize::MAX);
            (a.job.as_str(), p(a), a.worker_ip.as_str()).cmp(&(
                b.job.as_str(),
                p(b),
                b.worker_ip.as_str(),
            ))
        });
        Ok(Snapshot {
            bucket_id: meta::bucket_id(conn)?,
            update_seq: meta::update_seq(conn)?,
            workers,
            jobs: jobs::list(conn)?,
            allocations,
            deployments: deployments::all(conn)?,
            commands: jobs::commands(conn)?,
        })
    }

    pub fn job(&self, name: &str) -> Option<&JobRow> {
        self.jobs.iter().find(|j| j.name == name)
    }

    pub fn worker(&self, ip: &str) -> Option<&WorkerRow> {
        self.workers.iter().find(|w| w.worker_ip == ip)
    }

    /// Allocations of a job that are not removed, worker order.
    pub fn non_removed(&self, job: &str) -> Vec<&AllocationRow> {
        self.allocations
            .iter()
            .filter(|a| a.job == job && !a.removed)
            .collect()
    }

    /// Active allocations of a job, worker order.
    pub fn active(&self, job: &str) -> Vec<&AllocationRow> {
        self.allocations
            .iter()
            .filter(|a| a.job == job && !a.removed && !a.disabled)
            .collect()
    }

    /// Jobs named by `demands.job` of any command of `job`.
    pub fn upstream(&self, job: &str) -> Vec<String> {
        let mut ups: Vec<String> = self
            .commands
            .iter()
            .filter(|c| c.job == job && !c.demand_job.is_empty())
            .map(|c| c.demand_job.clone())
            .collect();
        ups.sort();
        ups.dedup();
        ups
    }

    pub fn reader(&self, job: &str, worker: &str) -> Reader {
        Reader {
            job: job.to_string(),
            worker: Some(worker.to_string()),
            upstream: self.upstream(job),
        }
    }

    /// Last promoted version of an allocation (`0.0.0` before the first promote).
    pub fn current_version(&self, alloc_id: &str) -> String {
        self.deployments
            .get(alloc_id)
            .map(|d| d.current_version.clone())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "0.0.0".into())
    }

    /// The template dot context of an allocation for a deploy with `update_seq`.
    pub fn context(
        &self,
        a: &AllocationRow,
        worker_dir: &str,
        update_seq: i64,
    ) -> maand_template::Context {
        let w = self.worker(&a.worker_ip);
        let bucket_path = format!("{}/{}", worker_dir.trim_end_matches('/'), self.bucket_id);
        maand_template::Context {
            allocation_id: a.alloc_id.clone(),
            job: a.job.clone(),
            current_version: self.current_version(&a.alloc_id),
            new_version: a.new_version.clone(),
            worker_ip: a.worker_ip.clone(),
            worker_id: w.map(|w| w.worker_id.clone()).unwrap_or_default(),
            labels: w
                .map(|w| w.labels.iter().cloned().collect())
                .unwrap_or_default(),
            bucket_id: self.bucket_id.clone(),
            update_seq,
            job_path: format!("{bucket_path}/jobs/{}", a.job),
            bucket_path,
        }
    }
}
