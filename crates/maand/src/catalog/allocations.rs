//! SQL of allocations (job × worker).

use crate::error::Result;
use rusqlite::{params, Connection};

#[derive(Debug, Clone, PartialEq)]
pub struct AllocationRow {
    pub alloc_id: String,
    pub job: String,
    pub worker_ip: String,
    pub removed: bool,
    pub disabled: bool,
    pub deployment_seq: i64,
    pub new_version: String,
}

/// Every allocation row (any state), ordered by job then worker IP.
pub fn list(conn: &Connection) -> Result<Vec<AllocationRow>> {
    let mut st = conn.prepare(
        "SELECT alloc_id, job, worker_ip, removed, disabled, deployment_seq, new_version FROM allocations ORDER BY job, worker_ip",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok(AllocationRow {
                alloc_id: r.get(0)?,
                job: r.get(1)?,
                worker_ip: r.get(2)?,
                removed: r.get::<_, i64>(3)? != 0,
                disabled: r.get::<_, i64>(4)? != 0,
                deployment_seq: r.get(5)?,
                new_version: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Inserts or updates rows (keyed by `alloc_id`).
pub fn upsert(conn: &Connection, rows: &[AllocationRow]) -> Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT INTO allocations (alloc_id, job, worker_ip, removed, disabled, deployment_seq, new_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(alloc_id) DO UPDATE SET removed = excluded.removed, disabled = excluded.disabled,
           deployment_seq = excluded.deployment_seq, new_version = excluded.new_version",
    )?;
    for r in rows {
        st.execute(params![
            r.alloc_id,
            r.job,
            r.worker_ip,
            r.removed,
            r.disabled,
            r.deployment_seq,
            r.new_version
        ])?;
    }
    Ok(())
}
