//! The catalog schema (ours; spec 00 principle 1). Each migration moves the schema one
//! version up; `maand init` applies missing ones, every other command refuses a mismatch.

/// Schema version this binary writes and expects.
pub const VERSION: i64 = 1;

/// Migrations indexed by the version they produce (index 0 → version 1).
pub const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE workers (
  worker_ip TEXT PRIMARY KEY,
  worker_id TEXT NOT NULL,
  hostname TEXT NOT NULL DEFAULT '',
  memory_mb REAL NOT NULL DEFAULT 0,
  cpu_mhz REAL NOT NULL DEFAULT 0,
  position INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE worker_labels (worker_ip TEXT NOT NULL, label TEXT NOT NULL, PRIMARY KEY (worker_ip, label));
CREATE TABLE worker_tags (worker_ip TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (worker_ip, key));
CREATE TABLE jobs (
  name TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  version TEXT NOT NULL,
  min_memory_mb REAL NOT NULL, max_memory_mb REAL NOT NULL, current_memory_mb REAL NOT NULL, memory_source TEXT NOT NULL,
  min_cpu_mhz REAL NOT NULL, max_cpu_mhz REAL NOT NULL, current_cpu_mhz REAL NOT NULL, cpu_source TEXT NOT NULL,
  max_concurrent_upgrades INTEGER NOT NULL,
  max_concurrent_starts INTEGER NOT NULL,
  min_allocations_count INTEGER NOT NULL,
  restart_policy TEXT NOT NULL,
  restart_globs TEXT NOT NULL,
  health_check TEXT,
  selectors TEXT NOT NULL,
  deployment_seq INTEGER NOT NULL
);
CREATE TABLE job_commands (
  job TEXT NOT NULL, command TEXT NOT NULL, event TEXT NOT NULL,
  demand_job TEXT NOT NULL, demand_command TEXT NOT NULL, demand_config TEXT NOT NULL,
  PRIMARY KEY (job, command, event)
);
CREATE TABLE job_files (job TEXT NOT NULL, path TEXT NOT NULL, is_dir INTEGER NOT NULL, content BLOB NOT NULL, PRIMARY KEY (job, path));
CREATE TABLE job_certs (job TEXT NOT NULL, name TEXT NOT NULL, pkcs8 INTEGER NOT NULL, one INTEGER NOT NULL, subject TEXT NOT NULL, PRIMARY KEY (job, name));
CREATE TABLE job_ports (job TEXT NOT NULL, name TEXT NOT NULL, port INTEGER NOT NULL, PRIMARY KEY (job, name));
CREATE TABLE allocations (
  alloc_id TEXT PRIMARY KEY,
  job TEXT NOT NULL,
  worker_ip TEXT NOT NULL,
  removed INTEGER NOT NULL DEFAULT 0,
  disabled INTEGER NOT NULL DEFAULT 0,
  deployment_seq INTEGER NOT NULL DEFAULT 0,
  new_version TEXT NOT NULL,
  UNIQUE (job, worker_ip)
);
CREATE TABLE deployments (
  alloc_id TEXT PRIMARY KEY,
  current_hash TEXT, previous_hash TEXT,
  current_files TEXT, previous_files TEXT,
  current_version TEXT NOT NULL DEFAULT '0.0.0',
  runtime TEXT NOT NULL DEFAULT 'stopped',
  health_failed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE build_hashes (namespace TEXT NOT NULL, key TEXT NOT NULL, current TEXT NOT NULL, previous TEXT, PRIMARY KEY (namespace, key));
CREATE TABLE key_value (
  namespace    TEXT    NOT NULL,
  key          TEXT    NOT NULL,
  value        TEXT    NOT NULL,
  version      INTEGER NOT NULL,
  ttl          INTEGER NOT NULL DEFAULT 0,
  created_date INTEGER NOT NULL,
  deleted      INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (namespace, key, version)
);
"#];
