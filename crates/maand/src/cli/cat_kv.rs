//! `maand cat kv [list|get]` (spec 04 §10–11). Reads the database directly, never opens a
//! KV session, and needs `secrets/kv.key` only for `get --reveal`.

use super::filters::{csv, validate};
use super::output::{self, Output};
use crate::bucket::Bucket;
use crate::catalog::kv::{latest, KvRow};
use crate::catalog::{allocations, jobs, Catalog};
use crate::error::{Error, Kind, Result};
use crate::kv::crypto::KvKey;
use crate::kv::policy::{is_secret_namespace, Reader};
use clap::Subcommand;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    list: ListArgs,
}

#[derive(clap::Args, Debug, Clone)]
struct ListArgs {
    /// Only namespaces readable by allocations of these jobs.
    #[arg(long)]
    jobs: Option<String>,
    /// Only live entries.
    #[arg(long)]
    active: bool,
    /// Only tombstoned entries.
    #[arg(long)]
    deleted: bool,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// List entries (the default).
    List(ListArgs),
    /// Show one entry.
    Get {
        namespace: String,
        key: String,
        /// Decrypt secret values.
        #[arg(long)]
        reveal: bool,
        #[command(flatten)]
        list: ListArgs,
    },
}

#[derive(Serialize)]
struct JsonRow<'a> {
    namespace: &'a str,
    key: &'a str,
    value: String,
    version: i64,
    ttl: i64,
    created_date: i64,
    deleted: bool,
}

fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Listing display value: secrets masked, certs to their first line, long values cut.
fn display(r: &KvRow) -> String {
    if is_secret_namespace(&r.namespace) {
        return "[encrypted]".into();
    }
    if r.key.starts_with("certs/") {
        return r.value.lines().next().unwrap_or("").to_string();
    }
    if r.value.chars().count() > 50 {
        return format!("{}...", r.value.chars().take(50).collect::<String>());
    }
    r.value.clone()
}

pub fn run(bucket: &Bucket, cat: &Catalog, args: Args) -> Result<i32> {
    match args.action {
        None => list(cat, &args.list),
        Some(Action::List(l)) => list(cat, &l),
        Some(Action::Get {
            namespace,
            key,
            reveal,
            list,
        }) => get(bucket, cat, &namespace, &key, reveal, list.output),
    }
}

fn list(cat: &Catalog, a: &ListArgs) -> Result<i32> {
    if a.active && a.deleted {
        return Err(Error::bare(
            Kind::Input,
            "cannot use --active and --deleted together",
        ));
    }
    let c = cat.conn();
    let mut rows = latest(c)?;
    let requested = csv(a.jobs.as_deref());
    if !requested.is_empty() {
        let allocs = allocations::list(c)?;
        let known: Vec<String> = jobs::list(c)?.into_iter().map(|j| j.name).collect();
        let selected = validate("jobs", &requested, &known)?.unwrap_or_default();
        let cmds = jobs::commands(c)?;
        let mut readable = BTreeSet::new();
        for job in &selected {
            let upstream: Vec<String> = cmds
                .iter()
                .filter(|h| h.job == *job && !h.demand_job.is_empty())
                .map(|h| h.demand_job.clone())
                .collect();
            for a in allocs.iter().filter(|a| a.job == *job && !a.removed) {
                let r = Reader {
                    job: job.clone(),
                    worker: Some(a.worker_ip.clone()),
                    upstream: upstream.clone(),
                };
                readable.extend(r.read_set());
            }
        }
        rows.retain(|r| readable.contains(&r.namespace));
    }
    rows.retain(|r| (!a.active || !r.deleted) && (!a.deleted || r.deleted));
    match a.output {
        Output::Json => {
            let out: Vec<JsonRow> = rows
                .iter()
                .map(|r| JsonRow {
                    namespace: &r.namespace,
                    key: &r.key,
                    value: if is_secret_namespace(&r.namespace) {
                        "[encrypted]".into()
                    } else {
                        r.value.clone()
                    },
                    version: r.version,
                    ttl: 0,
                    created_date: r.created_date,
                    deleted: r.deleted,
                })
                .collect();
            output::json(&out);
        }
        Output::Table if rows.is_empty() => {
            return Err(Error::bare(Kind::NotFound, "no key values found"))
        }
        Output::Table => output::table(
            &[
                "Namespace",
                "Key",
                "Value",
                "Version",
                "TTL",
                "Created",
                "Deleted",
            ],
            rows.iter()
                .map(|r| {
                    vec![
                        r.namespace.clone(),
                        r.key.clone(),
                        display(r),
                        r.version.to_string(),
                        "0".into(),
                        rfc3339(r.created_date),
                        (r.deleted as u8).to_string(),
                    ]
                })
                .collect(),
        ),
    }
    Ok(0)
}

fn get(
    bucket: &Bucket,
    cat: &Catalog,
    ns: &str,
    key: &str,
    reveal: bool,
    out: Output,
) -> Result<i32> {
    let row = latest(cat.conn())?
        .into_iter()
        .find(|r| r.namespace == ns && r.key == key && !r.deleted)
        .ok_or_else(|| {
            Error::bare(
                Kind::NotFound,
                format!("key not found: namespace {ns}, key {key}"),
            )
        })?;
    let value = if is_secret_namespace(ns) {
        if reveal {
            KvKey::load(&bucket.kv_key_path())
                .and_then(|k| k.decrypt(&row.value))
                .map_err(|e| Error::bare(Kind::Kv, format!("decrypt {ns}/{key}: {e}")))?
        } else {
            "[encrypted]".into()
        }
    } else {
        row.value.clone()
    };
    match out {
        Output::Json => output::json(&JsonRow {
            namespace: &row.namespace,
            key: &row.key,
            value,
            version: row.version,
            ttl: 0,
            created_date: row.created_date,
            deleted: row.deleted,
        }),
        Output::Table => {
            super::output::print(&format!("namespace: {ns}\nkey: {key}\nvalue: {value}\nversion: {}\nttl: 0\ncreated_date: {}\n", row.version, rfc3339(row.created_date)));
        }
    }
    Ok(0)
}
