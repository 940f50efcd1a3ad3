//! SQL of per-allocation deployment state (hashes, promoted version, runtime).

use crate::error::Result;
use rusqlite::{params, Connection};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeploymentRow {
    pub alloc_id: String,
    pub current_hash: Option<String>,
    pub previous_hash: Option<String>,
    /// JSON object path → md5.
    pub current_files: Option<String>,
    pub previous_files: Option<String>,
    pub current_version: String,
    /// `running` or `stopped`.
    pub runtime: String,
    pub health_failed: bool,
}

/// Every row keyed by allocation id.
pub fn all(conn: &Connection) -> Result<HashMap<String, DeploymentRow>> {
    let mut st = conn.prepare(
        "SELECT alloc_id, current_hash, previous_hash, current_files, previous_files, current_version, runtime, health_failed FROM deployments",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok(DeploymentRow {
                alloc_id: r.get(0)?,
                current_hash: r.get(1)?,
                previous_hash: r.get(2)?,
                current_files: r.get(3)?,
                previous_files: r.get(4)?,
                current_version: r.get(5)?,
                runtime: r.get(6)?,
                health_failed: r.get::<_, i64>(7)? != 0,
            })
        })?
        .map(|r| r.map(|d| (d.alloc_id.clone(), d)))
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn upsert(conn: &Connection, d: &DeploymentRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO deployments (alloc_id, current_hash, previous_hash, current_files, previous_files, current_version, runtime, health_failed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(alloc_id) DO UPDATE SET current_hash = excluded.current_hash, previous_hash = excluded.previous_hash,
           current_files = excluded.current_files, previous_files = excluded.previous_files,
           current_version = excluded.current_version, runtime = excluded.runtime, health_failed = excluded.health_failed",
    )?
    .execute(params![
        d.alloc_id,
        d.current_hash,
        d.previous_hash,
        d.current_files,
        d.previous_files,
        d.current_version,
        d.runtime,
        d.health_failed
    ])?;
    Ok(())
}

pub fn delete(conn: &Connection, alloc_id: &str) -> Result<()> {
    conn.execute("DELETE FROM deployments WHERE alloc_id = ?1", [alloc_id])?;
    Ok(())
}

/// Deletes an allocation row (gc).
pub fn delete_allocation(conn: &Connection, alloc_id: &str) -> Result<()> {
    conn.execute("DELETE FROM allocations WHERE alloc_id = ?1", [alloc_id])?;
    conn.execute("DELETE FROM deployments WHERE alloc_id = ?1", [alloc_id])?;
    Ok(())
}
