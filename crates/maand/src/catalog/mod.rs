//! The SQLite catalog (`data/maand.db`): the schema and every SQL statement of maand.
//! No business rules live here; callers pass plain rows in and get plain rows out.

pub mod allocations;
pub mod deployments;
pub mod jobs;
pub mod kv;
pub mod meta;
mod schema;
pub mod workers;

use crate::error::{Error, Kind, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

pub use schema::VERSION as SCHEMA_VERSION;

/// An open catalog.
pub struct Catalog {
    conn: Connection,
}

impl Catalog {
    fn configure(conn: &Connection) -> Result<()> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Page cache of up to 64 MiB (default 2 MiB): build reads the whole KV history by
        // index, and a small cache turns that into one pread per row on large buckets.
        conn.pragma_update(None, "cache_size", -65536)?;
        Ok(())
    }

    /// Opens an existing catalog and checks its schema version.
    pub fn open(path: &Path) -> Result<Catalog> {
        if !path.exists() {
            return Err(Error::new(
                Kind::NotInitialized,
                "no data/maand.db; run maand init",
            ));
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        Self::configure(&conn)?;
        let cat = Catalog { conn };
        let v = cat.schema_version()?;
        if v < schema::VERSION {
            return Err(Error::new(
                Kind::SchemaUpgradeRequired,
                format!(
                    "catalog schema {v}, this maand needs {}; run maand init",
                    schema::VERSION
                ),
            ));
        }
        if v > schema::VERSION {
            return Err(Error::new(
                Kind::SchemaTooNew,
                format!(
                    "catalog schema {v}, this maand supports {}; upgrade maand",
                    schema::VERSION
                ),
            ));
        }
        Ok(cat)
    }

    /// Creates or upgrades the catalog (used by `maand init` only).
    pub fn create(path: &Path) -> Result<Catalog> {
        let mut conn = Connection::open(path)?;
        Self::configure(&conn)?;
        let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if current > schema::VERSION {
            return Err(Error::new(
                Kind::SchemaTooNew,
                format!(
                    "catalog schema {current}, this maand supports {}; upgrade maand",
                    schema::VERSION
                ),
            ));
        }
        let tx = conn.transaction()?;
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        tx.commit()?;
        Ok(Catalog { conn })
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Reclaims space after deletions; failures are reported, not fatal (spec 03 §15).
    pub fn vacuum(&self) -> Result<()> {
        self.conn.execute_batch("VACUUM")?;
        Ok(())
    }
}
