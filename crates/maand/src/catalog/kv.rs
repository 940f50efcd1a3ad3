//! SQL of the `key_value` table.

use crate::error::Result;
use rusqlite::{params, Connection};

#[derive(Debug, Clone, PartialEq)]
pub struct KvRow {
    pub namespace: String,
    pub key: String,
    pub value: String,
    pub version: i64,
    pub created_date: i64,
    pub deleted: bool,
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<KvRow> {
    Ok(KvRow {
        namespace: r.get(0)?,
        key: r.get(1)?,
        value: r.get(2)?,
        version: r.get(3)?,
        created_date: r.get(4)?,
        deleted: r.get::<_, i64>(5)? != 0,
    })
}

/// The highest-version row of every entry, ordered by namespace and key.
pub fn latest(conn: &Connection) -> Result<Vec<KvRow>> {
    // SQLite takes the bare columns from the row holding MAX(version).
    let mut st = conn.prepare(
        "SELECT namespace, key, value, MAX(version), created_date, deleted FROM key_value
         GROUP BY namespace, key ORDER BY namespace, key",
    )?;
    let rows = st.query_map([], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// [`latest`] for the namespaces starting with `prefix` only: a range of the primary key,
/// so a caller that needs one family of namespaces (the secrets) reads none of the others'
/// values.
pub fn latest_with_prefix(conn: &Connection, prefix: &str) -> Result<Vec<KvRow>> {
    let mut end = prefix.to_string();
    // The first string after every `prefix…`: its last character, incremented.
    if let Some(last) = end.pop() {
        end.push(char::from_u32(last as u32 + 1).unwrap_or(char::MAX));
    }
    let mut st = conn.prepare(
        "SELECT namespace, key, value, MAX(version), created_date, deleted FROM key_value
         WHERE namespace >= ?1 AND namespace < ?2
         GROUP BY namespace, key ORDER BY namespace, key",
    )?;
    let rows = st
        .query_map(params![prefix, end], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Every row (tests and history inspection).
pub fn all(conn: &Connection) -> Result<Vec<KvRow>> {
    let mut st = conn.prepare(
        "SELECT namespace, key, value, version, created_date, deleted FROM key_value ORDER BY namespace, key, version",
    )?;
    let rows = st.query_map([], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Inserts one version row.
pub fn insert_one(
    conn: &Connection,
    ns: &str,
    key: &str,
    value: &str,
    version: i64,
    created_date: i64,
    deleted: bool,
) -> Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT INTO key_value (namespace, key, value, version, ttl, created_date, deleted) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)",
    )?;
    st.execute(params![
        ns,
        key,
        value,
        version,
        created_date,
        deleted as i64
    ])?;
    Ok(())
}

pub fn insert(conn: &Connection, rows: &[KvRow]) -> Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT INTO key_value (namespace, key, value, version, ttl, created_date, deleted) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)",
    )?;
    for r in rows {
        st.execute(params![
            r.namespace,
            r.key,
            r.value,
            r.version,
            r.created_date,
            r.deleted as i64
        ])?;
    }
    Ok(())
}

/// Deletes every row of one entry (history trim of a tombstoned entry).
pub fn delete_entry(conn: &Connection, ns: &str, key: &str) -> Result<usize> {
    let mut st = conn.prepare_cached("DELETE FROM key_value WHERE namespace = ?1 AND key = ?2")?;
    Ok(st.execute(params![ns, key])?)
}

/// Deletes the rows of one entry whose version is at most `version`.
pub fn delete_versions_through(
    conn: &Connection,
    ns: &str,
    key: &str,
    version: i64,
) -> Result<usize> {
    let mut st = conn.prepare_cached(
        "DELETE FROM key_value WHERE namespace = ?1 AND key = ?2 AND version <= ?3",
    )?;
    Ok(st.execute(params![ns, key, version])?)
}

/// History trim (spec 04 §9): for entries whose newest row is older than `cutoff`, drop
/// every row when that row is a tombstone, else all but the newest `keep` versions.
/// Returns the number of rows deleted.
pub fn trim_history(conn: &Connection, cutoff: i64, keep: i64) -> Result<usize> {
    let tomb = conn.execute(
        "DELETE FROM key_value WHERE (namespace, key) IN (
           SELECT namespace, key FROM (
             SELECT namespace, key, MAX(version), created_date, deleted FROM key_value GROUP BY namespace, key)
           WHERE deleted = 1 AND created_date < ?1)",
        [cutoff],
    )?;
    let old = conn.execute(
        "DELETE FROM key_value WHERE rowid IN (
           SELECT k.rowid FROM key_value k JOIN (
             SELECT namespace, key, MAX(version) AS top, created_date FROM key_value GROUP BY namespace, key) l
           ON k.namespace = l.namespace AND k.key = l.key
           WHERE l.created_date < ?1 AND k.version <= l.top - ?2)",
        params![cutoff, keep],
    )?;
    Ok(tomb + old)
}
