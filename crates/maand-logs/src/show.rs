//! `maand logs show` (spec 09 §8.6): selecting files, filtering, raw output.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::LogsError;
use crate::parse::{parse_line, Parsed};
use crate::record::Record;

/// `--format` of `logs show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShowFormat {
    /// Lines as stored, merged by timestamp.
    #[default]
    Raw,
    /// Grouped command blocks and events.
    Human,
}

impl FromStr for ShowFormat {
    type Err = LogsError;

    /// `raw`, `human` or `h`, case-insensitive.
    fn from_str(s: &str) -> Result<ShowFormat, LogsError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "raw" => Ok(ShowFormat::Raw),
            "human" | "h" => Ok(ShowFormat::Human),
            _ => Err(LogsError::InvalidShowFormat(s.to_string())),
        }
    }
}

/// The arguments of `maand logs show`, one field per flag. Empty strings count as
/// "flag not given", so the CLI can pass clap's values straight through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowOptions {
    /// `--format raw|human|h`.
    pub format: ShowFormat,
    /// `--worker ip`: read only matching `<ip>.log` files and keep matching lines.
    pub worker: Option<String>,
    /// `--run id`: keep lines of matching runs.
    pub run: Option<String>,
    /// `--run-dir`: read `logs/runs/<run>/` instead of `logs/`.
    pub run_dir: bool,
    /// `--job name`.
    pub job: Option<String>,
    /// `--phase p` (exact).
    pub phase: Option<String>,
    /// `--event e` (exact).
    pub event: Option<String>,
    /// `--tail N`; `0` shows everything.
    pub tail: usize,
}

/// One stored line with what it parsed to.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) raw: String,
    pub(crate) parsed: Parsed,
}

impl Entry {
    pub(crate) fn record(&self) -> Option<&Record> {
        match &self.parsed {
            Parsed::Structured(r) => Some(r),
            _ => None,
        }
    }

    fn ts(&self) -> Option<&str> {
        self.record().and_then(|r| r.get("ts"))
    }
}

/// The line filters of `logs show`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    worker: Option<String>,
    run: Option<String>,
    job: Option<String>,
    phase: Option<String>,
    event: Option<String>,
}

impl Filter {
    fn from_options(opts: &ShowOptions) -> Filter {
        Filter {
            worker: given(&opts.worker),
            run: given(&opts.run),
            job: given(&opts.job),
            phase: given(&opts.phase),
            event: given(&opts.event),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.worker.is_none()
            && self.run.is_none()
            && self.job.is_none()
            && self.phase.is_none()
            && self.event.is_none()
    }

    /// `run`, `worker`, `job`: prefix or comma-part match; `phase`, `event`: exact.
    pub(crate) fn matches(&self, r: &Record) -> bool {
        fuzzy(r.get("worker"), self.worker.as_deref())
            && fuzzy(r.get("run"), self.run.as_deref())
            && fuzzy(r.get("job"), self.job.as_deref())
            && exact(r.get("phase"), self.phase.as_deref())
            && exact(r.get("event"), self.event.as_deref())
    }

    /// Legacy and unparsable lines carry no fields, so they match only an empty filter.
    pub(crate) fn matches_entry(&self, e: &Entry) -> bool {
        match e.record() {
            Some(r) => self.matches(r),
            None => self.is_empty(),
        }
    }
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// True when `field` equals `want`, starts with it, or one of its comma-separated parts
/// does; always true without a filter.
fn fuzzy(field: Option<&str>, want: Option<&str>) -> bool {
    let Some(want) = want else { return true };
    let Some(field) = field else { return false };
    let hit = |f: &str| f == want || f.starts_with(want);
    hit(field) || field.split(',').map(str::trim).any(hit)
}

fn exact(field: Option<&str>, want: Option<&str>) -> bool {
    match want {
        None => true,
        Some(want) => field == Some(want),
    }
}

/// Runs `maand logs show` over the bucket's `logs_dir`, writing to `out`.
///
/// Pure apart from reading the files: the CLI passes a locked stdout, tests a `Vec<u8>`.
pub fn show(logs_dir: &Path, opts: &ShowOptions, out: &mut dyn Write) -> Result<(), LogsError> {
    let filter = Filter::from_options(opts);
    let run = given(&opts.run);
    let dir = match (opts.run_dir, run) {
        (false, _) => logs_dir.to_path_buf(),
        (true, None) => return Err(LogsError::RunDirRequiresRun),
        (true, Some(run)) => resolve_run_dir(logs_dir, &run)?,
    };
    let files = select_files(&dir, given(&opts.worker).as_deref())?;
    let entries = merge_by_ts(read_files(&files)?);
    let mut out = io::BufWriter::new(out);
    let result = match opts.format {
        ShowFormat::Raw => write_raw(&entries, &filter, opts.tail, &mut out),
        ShowFormat::Human => crate::human::render(&entries, &filter, opts.tail, &mut out),
    };
    result.and_then(|()| out.flush()).map_err(LogsError::Output)
}

fn write_raw(
    entries: &[Entry],
    filter: &Filter,
    tail: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let kept: Vec<&Entry> = entries.iter().filter(|e| filter.matches_entry(e)).collect();
    let start = if tail > 0 {
        kept.len().saturating_sub(tail)
    } else {
        0
    };
    for e in &kept[start..] {
        writeln!(out, "{}", e.raw)?;
    }
    Ok(())
}

/// `logs/runs/<run>` for an exact run id, or the single directory the prefix selects.
fn resolve_run_dir(logs_dir: &Path, run: &str) -> Result<PathBuf, LogsError> {
    let runs = logs_dir.join("runs");
    // A run id is one plain directory name; `..` or a path must not escape `runs/`.
    let plain = !run.contains(['/', '\\']) && run != "." && run != "..";
    if !plain {
        return Err(LogsError::NoLogFiles);
    }
    let exact = runs.join(run);
    if exact.is_dir() {
        return Ok(exact);
    }
    let listing = match fs::read_dir(&runs) {
        Ok(listing) => listing,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(LogsError::NoLogFiles),
        Err(source) => return Err(LogsError::ReadDir { path: runs, source }),
    };
    let mut matches: Vec<String> = listing
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.starts_with(run))
        .collect();
    matches.sort();
    match matches.len() {
        0 => Err(LogsError::NoLogFiles),
        1 => Ok(runs.join(&matches[0])),
        _ => Err(LogsError::AmbiguousRun {
            prefix: run.to_string(),
            matches,
        }),
    }
}

/// Every `*.log` file in `dir` (sorted by name), or with `--worker` only the files whose
/// name matches it like a `worker` field does (`--worker -` selects `maand.log`).
fn select_files(dir: &Path, worker: Option<&str>) -> Result<Vec<PathBuf>, LogsError> {
    let listing = match fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(LogsError::NoLogFiles),
        Err(source) => {
            return Err(LogsError::ReadDir {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut files: Vec<PathBuf> = listing
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let Some(stem) = p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".log"))
            else {
                return false;
            };
            match worker {
                // `-` is how bucket-local lines name their worker.
                Some("-") => stem == "maand",
                _ => fuzzy(Some(stem), worker),
            }
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(LogsError::NoLogFiles);
    }
    Ok(files)
}

/// Parsed lines per file; unreadable files are skipped, and none readable is an error.
fn read_files(files: &[PathBuf]) -> Result<Vec<Vec<Entry>>, LogsError> {
    let mut all = Vec::new();
    for path in files {
        let Ok(bytes) = fs::read(path) else { continue };
        let text = String::from_utf8_lossy(&bytes);
        let entries = text
            .lines()
            .filter_map(|raw| {
                let raw = raw.trim_end_matches('\r');
                parse_line(raw).map(|parsed| Entry {
                    raw: raw.to_string(),
                    parsed,
                })
            })
            .collect();
        all.push(entries);
    }
    if all.is_empty() {
        return Err(LogsError::NoLogFiles);
    }
    Ok(all)
}

/// Stable k-way merge by `ts`: the earliest head wins, ties go to the earlier file, and
/// a line without `ts` is taken as soon as it heads its file, so it keeps its place
/// after the line it followed.
fn merge_by_ts(files: Vec<Vec<Entry>>) -> Vec<Entry> {
    let total = files.iter().map(Vec::len).sum();
    let mut pos = vec![0usize; files.len()];
    let mut order: Vec<(usize, usize)> = Vec::with_capacity(total);
    loop {
        let mut pick: Option<(usize, &str)> = None;
        let mut untimed: Option<usize> = None;
        for (f, entries) in files.iter().enumerate() {
            let Some(head) = entries.get(pos[f]) else {
                continue;
            };
            match head.ts() {
                None => {
                    untimed = Some(f);
                    break;
                }
                Some(ts) => {
                    if pick.is_none_or(|(_, best)| ts < best) {
                        pick = Some((f, ts));
                    }
                }
            }
        }
        let Some(f) = untimed.or(pick.map(|(f, _)| f)) else {
            break;
        };
        order.push((f, pos[f]));
        pos[f] += 1;
    }
    let mut files: Vec<Vec<Option<Entry>>> = files
        .into_iter()
        .map(|f| f.into_iter().map(Some).collect())
        .collect();
    order
        .into_iter()
        .filter_map(|(f, i)| files[f][i].take())
        .collect()
}
