//! `maand collect facts` (spec 09 §6): probe worker capacity (memory, CPU) over SSH and
//! write it into `workspace/workers.json`.
//!
//! Plan, then apply: [`collect`] selects workers, probes them (all or nothing) and returns
//! a [`Plan`] of changes without writing; [`apply`] re-reads `workers.json` and rewrites it
//! atomically. The caller holds the bucket lock around [`apply`].

use crate::bucket::Bucket;
use crate::error::{Error, Kind, Result};
use crate::session::{transport_error, worker_cause, Session};
use crate::warnings::Warnings;
use crate::workspace::units::{self, Unit};
use crate::workspace::workers::{self, Worker};
use maand_transport::{RemoteCommand, Target, TransportError};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The probe run on each worker. Prints `MEMORY_MB=<n>` and `CPU_MHZ=<n>`.
pub const PROBE_SCRIPT: &str = r#"set -eu
mem_kb=$(awk '/^MemTotal:/ {print $2; exit}' /proc/meminfo)
if [ -z "$mem_kb" ]; then echo "MemTotal not found in /proc/meminfo" >&2; exit 1; fi
mem_mb=$(( (mem_kb + 1023) / 1024 ))
cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
int_of() { awk -F: -v key="$1" '$1 ~ "^"key {v=$2; gsub(/[ \t]/, "", v); sub(/\..*/, "", v); print v; exit}'; }
mhz=$(int_of 'cpu MHz' < /proc/cpuinfo 2>/dev/null || true)
case "$mhz" in ''|0|*[!0-9]*) mhz=$(lscpu 2>/dev/null | int_of 'CPU max MHz' || true) ;; esac
case "$mhz" in
  ''|0|*[!0-9]*)
    f=/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq
    mhz=0
    if [ -r "$f" ]; then khz=$(cat "$f"); case "$khz" in ''|*[!0-9]*) ;; *) mhz=$(( khz / 1000 )) ;; esac; fi
    ;;
esac
if [ "$mhz" -le 0 ]; then echo "cannot determine CPU MHz (cpuinfo, lscpu, cpufreq)" >&2; exit 1; fi
echo "MEMORY_MB=$mem_mb"
echo "CPU_MHZ=$(( cpus * mhz ))"
"#;

/// Which workers to probe and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub workers: Vec<String>,
    pub labels: Vec<String>,
    pub concurrency: i64,
}

/// What one probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub memory_mb: u64,
    pub cpu_mhz: u64,
}

impl Facts {
    pub fn memory(&self) -> String {
        format!("{} mb", self.memory_mb)
    }

    pub fn cpu(&self) -> String {
        format!("{} mhz", self.cpu_mhz)
    }
}

/// One worker whose capacity differs from `workers.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub host: String,
    pub old_memory: String,
    pub new_memory: String,
    pub old_cpu: String,
    pub new_cpu: String,
}

impl Change {
    /// `update <host> memory "<old>" -> "<new>" cpu "<old>" -> "<new>"` (`would update` in
    /// a dry run).
    pub fn line(&self, dry_run: bool) -> String {
        format!(
            "{} {} memory \"{}\" -> \"{}\" cpu \"{}\" -> \"{}\"",
            if dry_run { "would update" } else { "update" },
            self.host,
            self.old_memory,
            self.new_memory,
            self.old_cpu,
            self.new_cpu
        )
    }
}

/// The probe results and the changes they imply.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub facts: BTreeMap<String, Facts>,
    pub changes: Vec<Change>,
}

impl Plan {
    pub fn is_noop(&self) -> bool {
        self.changes.is_empty()
    }
}

fn input(msg: impl Into<String>) -> Error {
    Error::bare(Kind::Input, msg)
}

/// `workspace/workers.json` of a bucket.
pub fn workers_path(bucket: &Bucket) -> PathBuf {
    bucket.root.join(workers::FILE)
}

fn read_workers(path: &Path) -> Result<(String, Vec<Worker>)> {
    let text = fs_err::read_to_string(path)?;
    // Unknown keys are kept by the rewrite, so their warnings are noise here.
    let parsed = workers::parse(&text, &mut Warnings::default())?;
    Ok((text, parsed))
}

/// Picks workers (worker order) by host list or any-of labels (case-insensitive).
pub fn select(all: &[Worker], opts: &Options) -> Result<Vec<String>> {
    if !opts.workers.is_empty() && !opts.labels.is_empty() {
        return Err(input("use either --workers or --labels, not both"));
    }
    if opts.concurrency < 1 {
        return Err(input("concurrency must be at least 1"));
    }
    let unknown: Vec<&str> = opts
        .workers
        .iter()
        .filter(|h| !all.iter().any(|w| w.host == **h))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(input(format!("unknown workers: {}", unknown.join(", "))));
    }
    let labels: Vec<String> = opts.labels.iter().map(|l| l.to_lowercase()).collect();
    let chosen: Vec<String> = all
        .iter()
        .filter(|w| opts.workers.is_empty() || opts.workers.contains(&w.host))
        .filter(|w| labels.is_empty() || labels.iter().any(|l| w.labels.contains(l)))
        .map(|w| w.host.clone())
        .collect();
    if chosen.is_empty() {
        return Err(input("no workers matched the requested filters"));
    }
    Ok(chosen)
}

/// Parses the probe's `KEY=VALUE` lines (keys case-insensitive).
pub fn parse_probe(stdout: &str) -> std::result::Result<Facts, String> {
    let mut memory = None;
    let mut cpu = None;
    for line in stdout.lines() {
        let Some((k, v)) = line.trim().split_once('=') else {
            continue;
        };
        match k.trim().to_ascii_uppercase().as_str() {
            "MEMORY_MB" => memory = Some(v.trim().to_string()),
            "CPU_MHZ" => cpu = Some(v.trim().to_string()),
            _ => {}
        }
    }
    let value = |name: &str, v: Option<String>| -> std::result::Result<u64, String> {
        let v = v.ok_or_else(|| format!("parse probe output: {name} missing"))?;
        match v.parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "parse probe output: {name}={v:?} is not a positive number"
            )),
        }
    };
    Ok(Facts {
        memory_mb: value("MEMORY_MB", memory)?,
        cpu_mhz: value("CPU_MHZ", cpu)?,
    })
}

/// Probes `hosts` with at most `concurrency` at once. Every probe must succeed; otherwise
/// the error is `worker facts probe failed:` plus one `worker <host>: <error>` per failure.
pub fn probe(
    bucket: &Bucket,
    session: &Session,
    hosts: &[String],
    concurrency: usize,
) -> Result<BTreeMap<String, Facts>> {
    maand_transport::check_host_tools(&["bash", "ssh"]).map_err(transport_error)?;
    let mut tools = vec!["bash", "timeout"];
    if bucket.conf.use_sudo {
        tools.push("sudo");
    }
    let mut failures: Vec<String> = Vec::new();
    match session
        .transport
        .check_workers(hosts, &tools, bucket.conf.parallelism)
    {
        Ok(()) => {}
        Err(TransportError::Prerequisites(report)) => {
            for (place, missing) in &report.missing {
                failures.push(format!(
                    "{place}: missing prerequisites: {}",
                    missing.join(", ")
                ));
            }
            for (host, why) in &report.unreachable {
                failures.push(format!("worker {host}: {}", worker_cause(host, why)));
            }
        }
        Err(e) => return Err(transport_error(e)),
    }
    if !failures.is_empty() {
        return Err(probe_failed(&failures));
    }
    let targets = hosts
        .iter()
        .map(|h| Target::worker(h.clone(), "collect_facts", "probe"))
        .collect();
    let results = session.transport.run_all(targets, concurrency, |_| {
        RemoteCommand::new(PROBE_SCRIPT).timeout(bucket.conf.command_timeout)
    });
    let mut facts = BTreeMap::new();
    for (t, r) in results {
        let host = t.worker.unwrap_or_default();
        let found = match r {
            Err(e) => Err(worker_cause(&host, &e.to_string()).to_string()),
            Ok(out) if out.exit != 0 => {
                let tail = session
                    .sink
                    .redact(&out.stderr_tail(3).join(" / "))
                    .into_owned();
                Err(if tail.is_empty() {
                    format!("probe failed (exit {})", out.exit)
                } else {
                    format!("probe failed (exit {}): {tail}", out.exit)
                })
            }
            Ok(out) => parse_probe(&out.stdout()),
        };
        match found {
            Ok(f) => {
                facts.insert(host, f);
            }
            Err(e) => failures.push(format!("worker {host}: {e}")),
        }
    }
    if !failures.is_empty() {
        return Err(probe_failed(&failures));
    }
    Ok(facts)
}

fn probe_failed(failures: &[String]) -> Error {
    input(format!(
        "worker facts probe failed:\n{}",
        failures.join("\n")
    ))
}

/// How an old `memory`/`cpu` value reads in messages: the trimmed string, a number's JSON
/// text, or empty when unset.
fn old_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(other) => other.to_string(),
    }
}

/// Whether an old value differs from the new one: numerically after unit parsing
/// (rounded), else as trimmed strings.
fn differs(old: &str, new_value: u64, new_text: &str, unit: Unit) -> bool {
    match units::parse(old, unit) {
        Some(n) => n.round() != new_value as f64,
        None => old.trim() != new_text,
    }
}

fn host_of(obj: &Map<String, Value>) -> Option<&str> {
    obj.get("host").and_then(Value::as_str).map(str::trim)
}

/// The changes `facts` imply for the `workers.json` document `doc` (file order).
pub fn changes(doc: &Value, facts: &BTreeMap<String, Facts>) -> Vec<Change> {
    let mut out = Vec::new();
    for obj in doc
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
    {
        let Some(host) = host_of(obj) else { continue };
        let Some(f) = facts.get(host) else { continue };
        let old_memory = old_text(obj.get("memory"));
        let old_cpu = old_text(obj.get("cpu"));
        if differs(&old_memory, f.memory_mb, &f.memory(), Unit::Memory)
            || differs(&old_cpu, f.cpu_mhz, &f.cpu(), Unit::Cpu)
        {
            out.push(Change {
                host: host.to_string(),
                old_memory,
                new_memory: f.memory(),
                old_cpu,
                new_cpu: f.cpu(),
            });
        }
    }
    out
}

/// Known keys in the order they are written; unknown keys follow in their original order.
const KEY_ORDER: [&str; 7] = [
    "host", "hostname", "labels", "memory", "cpu", "tags", "position",
];

fn reorder(obj: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for k in KEY_ORDER {
        if let Some(v) = obj.get(k).filter(|v| !v.is_null()) {
            out.insert(k.to_string(), v.clone());
        }
    }
    for (k, v) in obj {
        if !KEY_ORDER.contains(&k.as_str()) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// The new `workers.json` text for `text` with `facts` applied to the changed entries, and
/// how many entries changed. Pure.
pub fn rewrite(text: &str, facts: &BTreeMap<String, Facts>) -> Result<(String, usize)> {
    workers::parse(text, &mut Warnings::default())?;
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| Error::new(Kind::InvalidWorkerJson, format!("{}: {e}", workers::FILE)))?;
    let changed: Vec<String> = changes(&doc, facts).into_iter().map(|c| c.host).collect();
    let items: Vec<Value> = doc
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            let Some(obj) = item.as_object() else {
                return item.clone();
            };
            let mut obj = obj.clone();
            if let Some(f) = host_of(&obj)
                .filter(|h| changed.iter().any(|c| c == h))
                .and_then(|h| facts.get(h))
            {
                obj.insert("memory".into(), Value::String(f.memory()));
                obj.insert("cpu".into(), Value::String(f.cpu()));
            }
            Value::Object(reorder(&obj))
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&Value::Array(items))
        .map_err(|e| Error::bare(Kind::Io, e.to_string()))?;
    out.push('\n');
    Ok((out, changed.len()))
}

/// Re-reads `workers.json`, applies `facts` and writes it atomically (temp file + rename).
/// Returns how many workers changed; writes nothing when none did. The caller holds the
/// bucket lock.
pub fn apply(bucket: &Bucket, facts: &BTreeMap<String, Facts>) -> Result<usize> {
    let path = workers_path(bucket);
    let text = fs_err::read_to_string(&path)?;
    let (new_text, n) = rewrite(&text, facts)?;
    if n == 0 {
        return Ok(0);
    }
    let tmp = path.with_file_name(format!(".workers.json.tmp-{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut f = fs_err::File::create(&tmp)?;
        f.write_all(new_text.as_bytes())?;
        f.sync_all()?;
        if let Ok(meta) = fs_err::metadata(&path) {
            fs_err::set_permissions(&tmp, meta.permissions())?;
        }
        fs_err::rename(&tmp, &path)
    })();
    if let Err(e) = written {
        let _ = fs_err::remove_file(&tmp);
        return Err(e.into());
    }
    Ok(n)
}

/// Selects and probes workers and computes the changes; writes nothing.
pub fn collect(bucket: &Bucket, session: &Session, opts: &Options) -> Result<Plan> {
    let path = workers_path(bucket);
    let (text, all) = read_workers(&path)?;
    let hosts = select(&all, opts)?;
    session.progress.set_total(hosts.len());
    let facts = probe(bucket, session, &hosts, opts.concurrency as usize)?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| Error::new(Kind::InvalidWorkerJson, format!("{}: {e}", workers::FILE)))?;
    let changes = changes(&doc, &facts);
    Ok(Plan { facts, changes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(pairs: &[(&str, u64, u64)]) -> BTreeMap<String, Facts> {
        pairs
            .iter()
            .map(|(h, m, c)| {
                (
                    h.to_string(),
                    Facts {
                        memory_mb: *m,
                        cpu_mhz: *c,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn parses_probe_output() {
        assert_eq!(
            parse_probe("noise\nmemory_mb=2048\nCPU_MHZ = 8000\n").unwrap(),
            Facts {
                memory_mb: 2048,
                cpu_mhz: 8000
            }
        );
        assert_eq!(
            parse_probe("CPU_MHZ=1").unwrap_err(),
            "parse probe output: MEMORY_MB missing"
        );
        assert!(parse_probe("MEMORY_MB=0\nCPU_MHZ=1")
            .unwrap_err()
            .contains("MEMORY_MB=\"0\" is not a positive number"));
        assert!(parse_probe("MEMORY_MB=1\nCPU_MHZ=x").is_err());
    }

    #[test]
    fn compares_numerically_then_as_strings() {
        let doc: Value = serde_json::from_str(
            r#"[{"host":"a","memory":"2 gb","cpu":"8 ghz"},
                {"host":"b","memory":2048,"cpu":"8000 MHz"},
                {"host":"c"},
                {"host":"d","memory":"lots","cpu":"8000 mhz"},
                {"host":"e","memory":"1 gb"}]"#,
        )
        .unwrap();
        let f = facts(&[
            ("a", 2048, 8000),
            ("b", 2048, 8000),
            ("c", 2048, 8000),
            ("d", 2048, 8000),
        ]);
        let c = changes(&doc, &f);
        let hosts: Vec<&str> = c.iter().map(|c| c.host.as_str()).collect();
        assert_eq!(hosts, ["c", "d"], "e was not probed");
        assert_eq!(
            c[0].line(false),
            r#"update c memory "" -> "2048 mb" cpu "" -> "8000 mhz""#
        );
        assert_eq!(
            c[1].line(true),
            r#"would update d memory "lots" -> "2048 mb" cpu "8000 mhz" -> "8000 mhz""#
        );
    }

    #[test]
    fn rewrite_orders_keys_and_keeps_unknown_ones() {
        let text = r#"[
 {"rack": "r1", "position": 1, "memory": "1 gb", "host": "a", "labels": ["db"], "zz": {"x": 1}, "tags": {"zone": "A"}, "hostname": null},
 {"host": "b", "cpu": "1 mhz"}
]"#;
        let (out, n) = rewrite(text, &facts(&[("a", 2048, 4000)])).unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            out,
            r#"[
  {
    "host": "a",
    "labels": [
      "db"
    ],
    "memory": "2048 mb",
    "cpu": "4000 mhz",
    "tags": {
      "zone": "A"
    },
    "position": 1,
    "rack": "r1",
    "zz": {
      "x": 1
    }
  },
  {
    "host": "b",
    "cpu": "1 mhz"
  }
]
"#
        );
        let (_, n) = rewrite(&out, &facts(&[("a", 2048, 4000)])).unwrap();
        assert_eq!(n, 0, "second run is a no-op");
    }

    #[test]
    fn selection_rules() {
        let all = workers::parse(
            r#"[{"host":"a","labels":["DB"]},{"host":"b"}]"#,
            &mut Warnings::default(),
        )
        .unwrap();
        let o = |w: &[&str], l: &[&str], c: i64| Options {
            workers: w.iter().map(|s| s.to_string()).collect(),
            labels: l.iter().map(|s| s.to_string()).collect(),
            concurrency: c,
        };
        assert_eq!(select(&all, &o(&[], &[], 1)).unwrap(), ["a", "b"]);
        assert_eq!(select(&all, &o(&[], &["db"], 1)).unwrap(), ["a"]);
        assert_eq!(select(&all, &o(&[], &["WORKER"], 1)).unwrap(), ["a", "b"]);
        assert_eq!(select(&all, &o(&["b"], &[], 1)).unwrap(), ["b"]);
        let err =
            |w: &[&str], l: &[&str], c: i64| select(&all, &o(w, l, c)).unwrap_err().to_string();
        assert_eq!(
            err(&["a"], &["db"], 1),
            "use either --workers or --labels, not both"
        );
        assert_eq!(err(&[], &[], 0), "concurrency must be at least 1");
        assert_eq!(err(&["x", "a", "y"], &[], 1), "unknown workers: x, y");
        assert_eq!(
            err(&[], &["web"], 1),
            "no workers matched the requested filters"
        );
    }
}
