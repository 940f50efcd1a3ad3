//! SQL of workers, their labels and tags.

use crate::error::Result;
use rusqlite::{params, Connection};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq)]
pub struct WorkerRow {
    pub worker_ip: String,
    pub worker_id: String,
    pub hostname: String,
    pub memory_mb: f64,
    pub cpu_mhz: f64,
    pub position: i64,
    pub labels: BTreeSet<String>,
    pub tags: BTreeMap<String, String>,
}

/// All workers in worker order (`position`, then host).
pub fn list(conn: &Connection) -> Result<Vec<WorkerRow>> {
    let mut st = conn.prepare(
        "SELECT worker_ip, worker_id, hostname, memory_mb, cpu_mhz, position FROM workers ORDER BY position, worker_ip",
    )?;
    let mut rows: Vec<WorkerRow> = st
        .query_map([], |r| {
            Ok(WorkerRow {
                worker_ip: r.get(0)?,
                worker_id: r.get(1)?,
                hostname: r.get(2)?,
                memory_mb: r.get(3)?,
                cpu_mhz: r.get(4)?,
                position: r.get(5)?,
                labels: BTreeSet::new(),
                tags: BTreeMap::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let idx: BTreeMap<String, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, w)| (w.worker_ip.clone(), i))
        .collect();
    let mut st = conn.prepare("SELECT worker_ip, label FROM worker_labels")?;
    for r in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (ip, label) = r?;
        if let Some(&i) = idx.get(&ip) {
            rows[i].labels.insert(label);
        }
    }
    let mut st = conn.prepare("SELECT worker_ip, key, value FROM worker_tags")?;
    for r in st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })? {
        let (ip, k, v) = r?;
        if let Some(&i) = idx.get(&ip) {
            rows[i].tags.insert(k, v);
        }
    }
    Ok(rows)
}

/// Replaces the worker set with `rows`.
pub fn replace_all(conn: &Connection, rows: &[WorkerRow]) -> Result<()> {
    conn.execute_batch("DELETE FROM workers; DELETE FROM worker_labels; DELETE FROM worker_tags;")?;
    let mut w = conn.prepare_cached(
        "INSERT INTO workers (worker_ip, worker_id, hostname, memory_mb, cpu_mhz, position) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut l =
        conn.prepare_cached("INSERT INTO worker_labels (worker_ip, label) VALUES (?1, ?2)")?;
    let mut t =
        conn.prepare_cached("INSERT INTO worker_tags (worker_ip, key, value) VALUES (?1, ?2, ?3)")?;
    for r in rows {
        w.execute(params![
            r.worker_ip,
            r.worker_id,
            r.hostname,
            r.memory_mb,
            r.cpu_mhz,
            r.position
        ])?;
        for label in &r.labels {
            l.execute(params![r.worker_ip, label])?;
        }
        for (k, v) in &r.tags {
            t.execute(params![r.worker_ip, k, v])?;
        }
    }
    Ok(())
}
