//! SQL of jobs and their child rows (commands, files, certs, ports).

use crate::error::Result;
use rusqlite::{params, Connection};

#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub name: String,
    pub job_id: String,
    pub version: String,
    pub min_memory_mb: f64,
    pub max_memory_mb: f64,
    pub current_memory_mb: f64,
    pub memory_source: String,
    pub min_cpu_mhz: f64,
    pub max_cpu_mhz: f64,
    pub current_cpu_mhz: f64,
    pub cpu_source: String,
    pub max_concurrent_upgrades: i64,
    pub max_concurrent_starts: i64,
    pub min_allocations_count: i64,
    pub restart_policy: String,
    /// JSON array.
    pub restart_globs: String,
    /// JSON object, when the job has probes.
    pub health_check: Option<String>,
    /// JSON array.
    pub selectors: String,
    pub deployment_seq: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandRow {
    pub job: String,
    pub command: String,
    pub event: String,
    pub demand_job: String,
    pub demand_command: String,
    /// JSON object text.
    pub demand_config: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileRow {
    pub path: String,
    pub is_dir: bool,
    pub content: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CertRow {
    pub name: String,
    pub pkcs8: bool,
    pub one: bool,
    /// JSON object `{"common_name": …}`.
    pub subject: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PortRow {
    pub job: String,
    pub name: String,
    pub port: u16,
}

const JOB_COLS: &str = "name, job_id, version, min_memory_mb, max_memory_mb, current_memory_mb, memory_source,
  min_cpu_mhz, max_cpu_mhz, current_cpu_mhz, cpu_source, max_concurrent_upgrades, max_concurrent_starts,
  min_allocations_count, restart_policy, restart_globs, health_check, selectors, deployment_seq";

fn job_row(r: &rusqlite::Row) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        name: r.get(0)?,
        job_id: r.get(1)?,
        version: r.get(2)?,
        min_memory_mb: r.get(3)?,
        max_memory_mb: r.get(4)?,
        current_memory_mb: r.get(5)?,
        memory_source: r.get(6)?,
        min_cpu_mhz: r.get(7)?,
        max_cpu_mhz: r.get(8)?,
        current_cpu_mhz: r.get(9)?,
        cpu_source: r.get(10)?,
        max_concurrent_upgrades: r.get(11)?,
        max_concurrent_starts: r.get(12)?,
        min_allocations_count: r.get(13)?,
        restart_policy: r.get(14)?,
        restart_globs: r.get(15)?,
        health_check: r.get(16)?,
        selectors: r.get(17)?,
        deployment_seq: r.get(18)?,
    })
}

/// Jobs ordered by name.
pub fn list(conn: &Connection) -> Result<Vec<JobRow>> {
    let mut st = conn.prepare(&format!("SELECT {JOB_COLS} FROM jobs ORDER BY name"))?;
    let rows = st
        .query_map([], job_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn upsert(conn: &Connection, j: &JobRow) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO jobs ({JOB_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)"
    ))?
    .execute(params![
        j.name,
        j.job_id,
        j.version,
        j.min_memory_mb,
        j.max_memory_mb,
        j.current_memory_mb,
        j.memory_source,
        j.min_cpu_mhz,
        j.max_cpu_mhz,
        j.current_cpu_mhz,
        j.cpu_source,
        j.max_concurrent_upgrades,
        j.max_concurrent_starts,
        j.min_allocations_count,
        j.restart_policy,
        j.restart_globs,
        j.health_check,
        j.selectors,
        j.deployment_seq
    ])?;
    Ok(())
}

/// Deletes a job and every child row (ports included).
pub fn delete(conn: &Connection, job: &str) -> Result<()> {
    for table in [
        "jobs WHERE name",
        "job_commands WHERE job",
        "job_files WHERE job",
        "job_certs WHERE job",
        "job_ports WHERE job",
    ] {
        conn.execute(&format!("DELETE FROM {table} = ?1"), [job])?;
    }
    conn.execute(
        "DELETE FROM build_hashes WHERE namespace = 'build_certs' AND key = ?1",
        [job],
    )?;
    Ok(())
}

/// Replaces the job's commands, certs and files wholesale.
pub fn replace_children(
    conn: &Connection,
    job: &str,
    commands: &[CommandRow],
    certs: &[CertRow],
    files: &[FileRow],
) -> Result<()> {
    conn.execute("DELETE FROM job_commands WHERE job = ?1", [job])?;
    conn.execute("DELETE FROM job_certs WHERE job = ?1", [job])?;
    let mut c = conn.prepare_cached(
        "INSERT INTO job_commands (job, command, event, demand_job, demand_command, demand_config) VALUES (?1,?2,?3,?4,?5,?6)",
    )?;
    for r in commands {
        c.execute(params![
            r.job,
            r.command,
            r.event,
            r.demand_job,
            r.demand_command,
            r.demand_config
        ])?;
    }
    let mut c = conn.prepare_cached(
        "INSERT INTO job_certs (job, name, pkcs8, one, subject) VALUES (?1,?2,?3,?4,?5)",
    )?;
    for r in certs {
        c.execute(params![job, r.name, r.pkcs8, r.one, r.subject])?;
    }
    // Files are only rewritten when they changed, so an unchanged rebuild stays cheap.
    if files_of(conn, job)? != files {
        conn.execute("DELETE FROM job_files WHERE job = ?1", [job])?;
        let mut f = conn.prepare_cached(
            "INSERT INTO job_files (job, path, is_dir, content) VALUES (?1,?2,?3,?4)",
        )?;
        for r in files {
            f.execute(params![job, r.path, r.is_dir, r.content])?;
        }
    }
    Ok(())
}

/// The job's stored files, sorted by path.
pub fn files_of(conn: &Connection, job: &str) -> Result<Vec<FileRow>> {
    let mut st = conn.prepare_cached(
        "SELECT path, is_dir, content FROM job_files WHERE job = ?1 ORDER BY path",
    )?;
    let rows = st
        .query_map([job], |r| {
            Ok(FileRow {
                path: r.get(0)?,
                is_dir: r.get::<_, i64>(1)? != 0,
                content: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Monitoring content of every job: files under `<job>/_prometheus/` and the server
/// markers `<job>/prometheus.yml[.tpl]`, as (job, file) ordered by job, then path.
pub fn prometheus_files(conn: &Connection) -> Result<Vec<(String, FileRow)>> {
    let mut st = conn.prepare(
        "SELECT job, path, is_dir, content FROM job_files
         WHERE substr(path, 1, length(job) + 13) = job || '/_prometheus/'
            OR path IN (job || '/prometheus.yml', job || '/prometheus.yml.tpl')
         ORDER BY job, path",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                FileRow {
                    path: r.get(1)?,
                    is_dir: r.get::<_, i64>(2)? != 0,
                    content: r.get(3)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// All hook rows ordered by job, command, event.
pub fn commands(conn: &Connection) -> Result<Vec<CommandRow>> {
    let mut st = conn.prepare(
        "SELECT job, command, event, demand_job, demand_command, demand_config FROM job_commands ORDER BY job, command, event",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok(CommandRow {
                job: r.get(0)?,
                command: r.get(1)?,
                event: r.get(2)?,
                demand_job: r.get(3)?,
                demand_command: r.get(4)?,
                demand_config: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn certs_of(conn: &Connection, job: &str) -> Result<Vec<CertRow>> {
    let mut st = conn.prepare_cached(
        "SELECT name, pkcs8, one, subject FROM job_certs WHERE job = ?1 ORDER BY name",
    )?;
    let rows = st
        .query_map([job], |r| {
            Ok(CertRow {
                name: r.get(0)?,
                pkcs8: r.get(1)?,
                one: r.get(2)?,
                subject: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// All port assignments ordered by job, then name.
pub fn ports(conn: &Connection) -> Result<Vec<PortRow>> {
    let mut st = conn.prepare("SELECT job, name, port FROM job_ports ORDER BY job, name")?;
    let rows = st
        .query_map([], |r| {
            Ok(PortRow {
                job: r.get(0)?,
                name: r.get(1)?,
                port: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn replace_ports(conn: &Connection, rows: &[PortRow]) -> Result<()> {
    conn.execute("DELETE FROM job_ports", [])?;
    let mut st =
        conn.prepare_cached("INSERT INTO job_ports (job, name, port) VALUES (?1, ?2, ?3)")?;
    for r in rows {
        st.execute(params![r.job, r.name, r.port])?;
    }
    Ok(())
}

/// Build hash bookkeeping (`build_certs`/<job>, `build`/`ca`): (current, previous).
pub fn build_hash(conn: &Connection, namespace: &str, key: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row(
            "SELECT current FROM build_hashes WHERE namespace = ?1 AND key = ?2",
            [namespace, key],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn set_build_hash(conn: &Connection, namespace: &str, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO build_hashes (namespace, key, current, previous) VALUES (?1, ?2, ?3, NULL)
         ON CONFLICT(namespace, key) DO UPDATE SET previous = current, current = excluded.current",
        params![namespace, key, value],
    )?;
    Ok(())
}
