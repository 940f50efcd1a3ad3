//! Bucket-wide scalars: `bucket_id`, `update_seq`.

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};

pub fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub fn set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub fn bucket_id(conn: &Connection) -> Result<String> {
    Ok(get(conn, "bucket_id")?.unwrap_or_default())
}

pub fn update_seq(conn: &Connection) -> Result<i64> {
    Ok(get(conn, "update_seq")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}
