//! Stage every non-removed allocation of a job and plan it (spec 06 "Staging", "Decisions").

use crate::catalog::jobs::{self as job_sql, JobRow};
use crate::error::Result;
use crate::kv::KvStore;
use crate::plan::{self, AllocState, FileHashes, Flags, JobPlan, Policy};
use crate::snapshot::Snapshot;
use crate::stage::prometheus::Monitoring;
use crate::stage::{self, AllocationStage, Staged};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;

/// A job's plan with its staged trees (by worker IP).
pub struct StagedJob {
    pub plan: JobPlan,
    pub staged: BTreeMap<String, Staged>,
}

fn policy(s: &str) -> Policy {
    match s {
        "reload" => Policy::Reload,
        "never" => Policy::Never,
        _ => Policy::Always,
    }
}

fn files_json(s: &Option<String>) -> Option<FileHashes> {
    s.as_deref().and_then(|t| serde_json::from_str(t).ok())
}

pub struct StageEnv<'a> {
    pub conn: &'a Connection,
    pub snap: &'a Snapshot,
    pub kv: &'a KvStore,
    pub tmp: &'a Path,
    pub worker_dir: &'a str,
    pub update_seq: i64,
    pub flags: Flags,
    pub monitoring: &'a Monitoring,
}

pub fn stage_job(env: &StageEnv, job: &JobRow) -> Result<StagedJob> {
    let files = job_sql::files_of(env.conn, &job.name)?;
    let globs: Vec<String> = serde_json::from_str(&job.restart_globs).unwrap_or_default();
    let mut staged = BTreeMap::new();
    let mut allocs = Vec::new();
    for a in env.snap.non_removed(&job.name) {
        let st = stage::stage_allocation(&AllocationStage {
            tmp: env.tmp,
            job: &job.name,
            files: &files,
            context: env.snap.context(a, env.worker_dir, env.update_seq),
            kv: env.kv,
            reader: env.snap.reader(&job.name, &a.worker_ip),
            prometheus: env.monitoring.functions.clone(),
            generated: env.monitoring.server_files(&job.name, &a.worker_ip)?,
        })?;
        let d = env.snap.deployments.get(&a.alloc_id);
        let state = AllocState {
            worker_ip: a.worker_ip.clone(),
            disabled: a.disabled,
            previous_hash: d.and_then(|d| d.previous_hash.clone()),
            previous_files: d.and_then(|d| files_json(&d.previous_files)),
            current_hash: st.hash.clone(),
            current_files: st.files.clone(),
            current_version: env.snap.current_version(&a.alloc_id),
            new_version: a.new_version.clone(),
            running: d.is_some_and(|d| d.runtime == "running"),
        };
        allocs.push(plan::decide(
            &state,
            policy(&job.restart_policy),
            &globs,
            env.flags,
        ));
        staged.insert(a.worker_ip.clone(), st);
    }
    Ok(StagedJob {
        plan: JobPlan {
            job: job.name.clone(),
            deployment_seq: job.deployment_seq,
            allocations: allocs,
        },
        staged,
    })
}
