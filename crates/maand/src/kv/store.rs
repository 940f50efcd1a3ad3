//! The in-memory KV session (spec 04 §1.3): load the latest row of every entry, mutate in
//! memory, persist one new version per changed entry at a persist point.

use super::crypto::KvKey;
use super::policy::{is_secret_namespace, SECRET_PREFIX};
use crate::catalog::kv as sql;
use crate::error::{Error, Kind, Result};
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq)]
struct State {
    value: String,
    deleted: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    /// Last persisted row: (version, state).
    persisted: Option<(i64, State)>,
    /// `created_date` of that row (0 when never persisted).
    created: i64,
    current: State,
}

/// Outcome of a persist point, for summaries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PersistStats {
    pub written: usize,
}

/// A KV session. Namespaces are kept in a sorted map so listings are ordered by bytes.
pub struct KvStore {
    entries: BTreeMap<String, HashMap<String, Entry>>,
    key_path: PathBuf,
    key: OnceLock<std::result::Result<KvKey, String>>,
}

impl KvStore {
    /// Loads the current row of every entry (live or tombstoned).
    pub fn load(conn: &Connection, key_path: PathBuf) -> Result<KvStore> {
        Ok(Self::from_rows(sql::latest(conn)?, key_path))
    }

    /// Loads the secret namespaces only (`secrets/job/…`): what a command needs to mask
    /// secrets in its output without reading the whole store.
    pub fn load_secrets(conn: &Connection, key_path: PathBuf) -> Result<KvStore> {
        Ok(Self::from_rows(
            sql::latest_with_prefix(conn, SECRET_PREFIX)?,
            key_path,
        ))
    }

    fn from_rows(rows: Vec<sql::KvRow>, key_path: PathBuf) -> KvStore {
        let mut store = KvStore {
            entries: BTreeMap::new(),
            key_path,
            key: OnceLock::new(),
        };
        for row in rows {
            let state = State {
                value: row.value,
                deleted: row.deleted,
            };
            store.entries.entry(row.namespace).or_default().insert(
                row.key,
                Entry {
                    persisted: Some((row.version, state.clone())),
                    created: row.created_date,
                    current: state,
                },
            );
        }
        store
    }

    /// An empty session (tests, fresh buckets).
    pub fn empty(key_path: PathBuf) -> KvStore {
        KvStore {
            entries: BTreeMap::new(),
            key_path,
            key: OnceLock::new(),
        }
    }

    fn kv_key(&self) -> Result<&KvKey> {
        self.key
            .get_or_init(|| KvKey::load(&self.key_path))
            .as_ref()
            .map_err(|e| Error::bare(Kind::Kv, e.clone()))
    }

    /// Raw stored value of a live entry (encrypted for secrets).
    fn live(&self, ns: &str, key: &str) -> Option<&str> {
        self.entries
            .get(ns)?
            .get(key)
            .filter(|e| !e.current.deleted)
            .map(|e| e.current.value.as_str())
    }

    /// Live value, decrypted in secret namespaces; `None` when missing or tombstoned.
    pub fn get(&self, ns: &str, key: &str) -> Result<Option<String>> {
        match self.live(ns, key) {
            None => Ok(None),
            Some(v) if is_secret_namespace(ns) => self
                .kv_key()?
                .decrypt(v)
                .map(Some)
                .map_err(|e| Error::bare(Kind::Kv, e)),
            Some(v) => Ok(Some(v.to_string())),
        }
    }

    /// Live keys of a namespace, sorted by bytes.
    pub fn keys(&self, ns: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .entries
            .get(ns)
            .map(|m| {
                m.iter()
                    .filter(|(_, e)| !e.current.deleted)
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        keys.sort();
        keys
    }

    /// Every namespace that has at least one entry (live or not).
    pub fn namespaces(&self) -> impl Iterator<Item = &String> {
        self.entries.keys()
    }

    fn set(&mut self, ns: &str, key: &str, value: String) {
        let state = State {
            value,
            deleted: false,
        };
        let ns_map = self.entries.entry(ns.to_string()).or_default();
        match ns_map.get_mut(key) {
            Some(e) => e.current = state,
            None => {
                ns_map.insert(
                    key.to_string(),
                    Entry {
                        persisted: None,
                        created: 0,
                        current: state,
                    },
                );
            }
        }
    }

    /// Puts a value. Plain values are trimmed; secret namespaces encrypt, and re-putting
    /// the current plaintext changes nothing (a fresh nonce would make a new version).
    pub fn put(&mut self, ns: &str, key: &str, value: &str) -> Result<()> {
        if is_secret_namespace(ns) {
            if let Some(current) = self.live(ns, key) {
                if self.kv_key()?.decrypt(current).ok().as_deref() == Some(value) {
                    return Ok(());
                }
            }
            let enc = self.kv_key()?.encrypt(value);
            self.set(ns, key, enc);
        } else {
            let v = value.trim();
            if self.live(ns, key) == Some(v) {
                return Ok(());
            }
            self.set(ns, key, v.to_string());
        }
        Ok(())
    }

    /// Tombstones a live entry; `false` when it was missing or already deleted.
    pub fn delete(&mut self, ns: &str, key: &str) -> bool {
        match self.entries.get_mut(ns).and_then(|m| m.get_mut(key)) {
            Some(e) if !e.current.deleted => {
                e.current.deleted = true;
                true
            }
            _ => false,
        }
    }

    /// Deletes every live key of a namespace; returns how many.
    pub fn purge(&mut self, ns: &str) -> usize {
        let Some(m) = self.entries.get_mut(ns) else {
            return 0;
        };
        let mut n = 0;
        for e in m.values_mut().filter(|e| !e.current.deleted) {
            e.current.deleted = true;
            n += 1;
        }
        n
    }

    /// Makes a namespace hold exactly `pairs` (build's "sync" policy).
    pub fn sync(&mut self, ns: &str, pairs: &[(String, String)]) -> Result<()> {
        self.sync_where(ns, pairs, |_| true)
    }

    /// Sync restricted to the keys `owned` says belong to this writer; other keys are left
    /// alone (allocation namespaces have two writers).
    pub fn sync_where(
        &mut self,
        ns: &str,
        pairs: &[(String, String)],
        owned: impl Fn(&str) -> bool,
    ) -> Result<()> {
        for (k, v) in pairs {
            self.put(ns, k, v)?;
        }
        let wanted: HashSet<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        let stale: Vec<String> = self
            .keys(ns)
            .into_iter()
            .filter(|k| owned(k) && !wanted.contains(k.as_str()))
            .collect();
        for k in stale {
            self.delete(ns, &k);
        }
        Ok(())
    }

    /// History trim (spec 04 §9) decided from the rows this session loaded: for every
    /// entry whose last persisted row is older than `cutoff`, a tombstone loses all its
    /// rows and a live entry all but its newest `keep` versions. Same result as
    /// [`sql::trim_history`] without scanning the table (whose `created_date` column sits
    /// behind every value); valid only when nothing else wrote KV since [`KvStore::load`]
    /// in this transaction. Returns the number of rows deleted.
    pub fn trim_history(&self, conn: &Connection, cutoff: i64, keep: i64) -> Result<usize> {
        let mut deleted = 0;
        for (ns, m) in &self.entries {
            for (key, e) in m {
                let Some((version, state)) = &e.persisted else {
                    continue;
                };
                if e.created >= cutoff {
                    continue;
                }
                if state.deleted {
                    deleted += sql::delete_entry(conn, ns, key)?;
                } else if *version > keep {
                    deleted += sql::delete_versions_through(conn, ns, key, version - keep)?;
                }
            }
        }
        Ok(deleted)
    }

    /// Writes one new version row per entry whose state differs from its last persisted
    /// state; all rows of one persist share `now`.
    pub fn persist(&mut self, conn: &Connection, now: i64) -> Result<PersistStats> {
        let mut written = 0;
        for (ns, m) in &mut self.entries {
            for (key, e) in m.iter_mut() {
                let changed = match &e.persisted {
                    None => !e.current.deleted,
                    Some((_, p)) => *p != e.current,
                };
                if !changed {
                    continue;
                }
                let version = e.persisted.as_ref().map_or(1, |(v, _)| v + 1);
                // Row by row: no second copy of every changed value in memory.
                sql::insert_one(
                    conn,
                    ns,
                    key,
                    &e.current.value,
                    version,
                    now,
                    e.current.deleted,
                )?;
                e.persisted = Some((version, e.current.clone()));
                e.created = now;
                written += 1;
            }
        }
        Ok(PersistStats { written })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn setup() -> (tempfile::TempDir, Catalog, KvStore) {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("kv.key");
        std::fs::write(&key, [5u8; 32]).unwrap();
        let cat = Catalog::create(&dir.path().join("maand.db")).unwrap();
        let kv = KvStore::load(cat.conn(), key).unwrap();
        (dir, cat, kv)
    }

    fn rows(cat: &Catalog) -> Vec<(String, String, String, i64, bool)> {
        sql::all(cat.conn())
            .unwrap()
            .into_iter()
            .map(|r| (r.namespace, r.key, r.value, r.version, r.deleted))
            .collect()
    }

    #[test]
    fn versioning_checklist() {
        let (_d, cat, mut kv) = setup();
        kv.put("ns", "a", " x ").unwrap();
        kv.persist(cat.conn(), 1).unwrap();
        assert_eq!(
            rows(&cat),
            [("ns".into(), "a".into(), "x".into(), 1, false)]
        );
        kv.put("ns", "a", "x").unwrap();
        assert_eq!(kv.persist(cat.conn(), 2).unwrap().written, 0);
        kv.put("ns", "a", "y").unwrap();
        kv.put("ns", "a", "z").unwrap();
        kv.persist(cat.conn(), 3).unwrap();
        assert_eq!(rows(&cat).last().unwrap().3, 2);
        // put then delete of a never-persisted key writes nothing
        kv.put("ns", "new", "v").unwrap();
        assert!(kv.delete("ns", "new"));
        // put X then back to the old value writes nothing
        kv.put("ns", "a", "q").unwrap();
        kv.put("ns", "a", "z").unwrap();
        assert_eq!(kv.persist(cat.conn(), 4).unwrap().written, 0);
        // delete keeps the value in the tombstone; revive gets the next version
        assert!(kv.delete("ns", "a"));
        assert!(!kv.delete("ns", "a"));
        assert!(!kv.delete("ns", "missing"));
        kv.persist(cat.conn(), 5).unwrap();
        assert_eq!(
            rows(&cat).last().unwrap(),
            &("ns".into(), "a".into(), "z".into(), 3, true)
        );
        assert_eq!(kv.get("ns", "a").unwrap(), None);
        kv.put("ns", "a", "back").unwrap();
        kv.persist(cat.conn(), 6).unwrap();
        assert_eq!(rows(&cat).last().unwrap().3, 4);
        // reload sees the same state
        let kv2 = KvStore::load(cat.conn(), PathBuf::from("/nonexistent")).unwrap();
        assert_eq!(kv2.get("ns", "a").unwrap().as_deref(), Some("back"));
    }

    #[test]
    fn secrets() {
        let (_d, cat, mut kv) = setup();
        kv.put("secrets/job/api", "pw", "  pw  ").unwrap();
        kv.persist(cat.conn(), 1).unwrap();
        let stored = rows(&cat)[0].2.clone();
        assert!(stored.starts_with("enc:v1:"));
        assert_eq!(
            kv.get("secrets/job/api", "pw").unwrap().as_deref(),
            Some("  pw  ")
        );
        kv.put("secrets/job/api", "pw", "  pw  ").unwrap();
        assert_eq!(kv.persist(cat.conn(), 2).unwrap().written, 0);
        let mut wrong = KvStore::load(cat.conn(), PathBuf::from("/nonexistent")).unwrap();
        assert_eq!(
            wrong.get("secrets/job/api", "pw").unwrap_err().to_string(),
            super::super::crypto::KEY_INVALID
        );
        wrong.key = OnceLock::new();
        let other = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(other.path(), [6u8; 32]).unwrap();
        wrong.key_path = other.path().to_path_buf();
        assert_eq!(
            wrong.get("secrets/job/api", "pw").unwrap_err().to_string(),
            "failed to decrypt kv value"
        );
    }

    #[test]
    fn load_secrets_reads_only_the_secret_namespaces() {
        let (_d, cat, mut kv) = setup();
        kv.put("secrets/job/api", "pw", "hunter2").unwrap();
        kv.put("secrets/job/db", "gone", "x1").unwrap();
        kv.put("secrets/jobs", "k", "not a secret namespace")
            .unwrap();
        kv.put("vars/job/api", "k", "v").unwrap();
        kv.persist(cat.conn(), 1).unwrap();
        assert!(kv.delete("secrets/job/db", "gone"));
        kv.persist(cat.conn(), 2).unwrap();
        let secrets = KvStore::load_secrets(cat.conn(), kv.key_path.clone()).unwrap();
        assert_eq!(
            secrets.namespaces().collect::<Vec<_>>(),
            ["secrets/job/api", "secrets/job/db"]
        );
        assert_eq!(
            secrets.get("secrets/job/api", "pw").unwrap().as_deref(),
            Some("hunter2")
        );
        assert_eq!(secrets.get("secrets/job/db", "gone").unwrap(), None);
    }

    /// Spec 04 §13 item 17, and the same result as the table-scanning SQL trim.
    #[test]
    fn trim_history_matches_the_sql_trim() {
        let fill = |cat: &Catalog| {
            let mut rows = Vec::new();
            let row = |k: &str, v: i64, at: i64, deleted: bool| sql::KvRow {
                namespace: "ns".into(),
                key: k.into(),
                value: format!("{k}{v}"),
                version: v,
                created_date: at,
                deleted,
            };
            for v in 1..=10 {
                rows.push(row("old_live", v, 100 + v, false));
                rows.push(row("new_live", v, 100 + v, false));
                rows.push(row("old_tomb", v, 100 + v, v == 10));
                rows.push(row("new_tomb", v, 100 + v, v == 10));
            }
            // Newest rows of the "new" entries lie inside the window.
            for r in rows
                .iter_mut()
                .filter(|r| r.key.starts_with("new") && r.version == 10)
            {
                r.created_date = 1000;
            }
            rows.push(row("single", 1, 5, false));
            sql::insert(cat.conn(), &rows).unwrap();
        };
        let key = std::path::PathBuf::from("/nonexistent");
        let (_d1, a, _) = setup();
        let (_d2, b, _) = setup();
        fill(&a);
        fill(&b);
        let n_sql = sql::trim_history(a.conn(), 500, 7).unwrap();
        let kv = KvStore::load(b.conn(), key).unwrap();
        let n_kv = kv.trim_history(b.conn(), 500, 7).unwrap();
        assert_eq!(n_sql, n_kv);
        assert_eq!(sql::all(a.conn()).unwrap(), sql::all(b.conn()).unwrap());
        let left: Vec<(String, i64)> = sql::all(b.conn())
            .unwrap()
            .into_iter()
            .map(|r| (r.key, r.version))
            .collect();
        let versions = |k: &str| -> Vec<i64> {
            left.iter()
                .filter(|(x, _)| x == k)
                .map(|(_, v)| *v)
                .collect()
        };
        assert_eq!(versions("old_live"), (4..=10).collect::<Vec<_>>());
        assert!(versions("old_tomb").is_empty());
        assert_eq!(versions("new_live"), (1..=10).collect::<Vec<_>>());
        assert_eq!(versions("new_tomb"), (1..=10).collect::<Vec<_>>());
        assert_eq!(versions("single"), [1]);
        // A row persisted by this session is never older than the window.
        let (_d3, c, mut kv) = setup();
        kv.put("ns", "k", "v").unwrap();
        kv.persist(c.conn(), 1000).unwrap();
        assert_eq!(kv.trim_history(c.conn(), 500, 0).unwrap(), 0);
    }

    #[test]
    fn sync_and_purge() {
        let (_d, cat, mut kv) = setup();
        kv.sync("n", &[("a".into(), "1".into()), ("b".into(), "2".into())])
            .unwrap();
        kv.sync("n", &[("a".into(), "1".into())]).unwrap();
        assert_eq!(kv.keys("n"), ["a"]);
        kv.put("alloc", "certs/x.crt", "pem").unwrap();
        kv.sync_where("alloc", &[("version".into(), "1".into())], |k| {
            !k.starts_with("certs/")
        })
        .unwrap();
        assert_eq!(kv.keys("alloc"), ["certs/x.crt", "version"]);
        assert_eq!(kv.purge("alloc"), 2);
        assert_eq!(kv.purge("unknown"), 0);
        kv.persist(cat.conn(), 1).unwrap();
        assert!(rows(&cat).iter().all(|r| r.0 == "n"));
    }
}
