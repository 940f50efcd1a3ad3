//! Go `text/template` rendering with maand's functions (spec 05).
//!
//! Job files ending in `.tpl` are rendered at deploy once per allocation, and
//! `_prometheus/scrape.yaml.tpl` once per job at build. Both must render as
//! Go's own `text/template` would, so existing workspaces keep their bytes.
//!
//! The tree comes from the `gotmpl` crate's parser; structure checks, text
//! trimming, static checks, the executor and the function table are ours
//! (see README.md for why each gap of gotmpl is closed where it is).
//!
//! ```
//! use maand_template::{render, Context, Dialect, KvSource};
//!
//! struct NoKv;
//! impl KvSource for NoKv {
//!     fn get(&self, _: &str, _: &str) -> Result<Option<String>, String> { Ok(None) }
//!     fn keys(&self, _: &str) -> Result<Vec<String>, String> { Ok(vec![]) }
//! }
//! let ctx = Context { job: "api".into(), worker_ip: "10.0.0.1".into(), ..Context::default() };
//! let out = render("conf/a.tpl", "listen {{ .WorkerIP }}:{{ add 8000 1 }}", Dialect::Deploy, &ctx, &NoKv);
//! assert_eq!(out.unwrap(), "listen 10.0.0.1:8001");
//! ```

mod exec;
mod funcs;
mod number;
mod offload;
mod printf;
mod scan;
mod tree;
mod value;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// Values of the dot context at deploy (spec 05 §2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// `.AllocationID`: the allocation UUID.
    pub allocation_id: String,
    /// `.Job`: the job name; also selects `secrets/job/<job>` for `getSecret`.
    pub job: String,
    /// `.CurrentVersion`: last promoted version on the allocation (`0.0.0` if none).
    pub current_version: String,
    /// `.NewVersion`: the target version.
    pub new_version: String,
    /// `.WorkerIP`.
    pub worker_ip: String,
    /// `.WorkerID`: the worker UUID.
    pub worker_id: String,
    /// `.Labels`: worker labels, ascending (always includes `worker`).
    pub labels: Vec<String>,
    /// `.BucketID`.
    pub bucket_id: String,
    /// `.UpdateSeq`: the bucket update sequence of this deploy run.
    pub update_seq: i64,
    /// `.BucketPath`: `/opt/worker/<bucket_id>`.
    pub bucket_path: String,
    /// `.JobPath`: `/opt/worker/<bucket_id>/jobs/<job>`.
    pub job_path: String,
}

/// Which dialect: deploy (full function table, allocation dot context) or
/// build-time `scrape.yaml.tpl` (spec 05 §7: only `.Job`, `.CurrentVersion`,
/// `.NewVersion`; no `getOptional`, `scrapeConfigs`, `ruleFiles`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Deploy,
    Scrape,
}

/// KV access supplied by the caller; it enforces the read policy and
/// returns operator-readable error text.
pub trait KvSource {
    /// `Ok(None)` = key missing or tombstoned. `Err(text)` e.g. "namespace
    /// vars/job/other is not readable by job api on 10.0.0.1 (other jobs'
    /// namespaces need a command demand on that job)" or "failed to decrypt
    /// kv value". The text must never contain a value.
    fn get(&self, namespace: &str, key: &str) -> Result<Option<String>, String>;
    /// Live key names sorted by bytes; `Err(text)` when not readable.
    fn keys(&self, namespace: &str) -> Result<Vec<String>, String>;
    /// `scrapeConfigs` output (deploy only); the caller computes it.
    fn scrape_configs(&self) -> Result<String, String> {
        Ok(String::new())
    }
    /// `ruleFiles` output (deploy only); the caller computes it.
    fn rule_files(&self) -> Result<String, String> {
        Ok(String::new())
    }
}

/// The two error classes of spec 05 §6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Found before any output: syntax, unknown function, undefined variable.
    Parse,
    /// Found while executing: KV errors, argument kinds, fields, arithmetic.
    Render,
}

/// A parse or render error with position. `Display` is
/// `<path>:<line>:<col>: <detail>` (spec 05 §6); the caller prefixes
/// `template error: job <job>, worker <ip>, `.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// The path given to [`check`] or [`render`].
    pub path: String,
    /// 1-based line of the failing action's `{{`.
    pub line: usize,
    /// 1-based column, in characters, of the failing action's `{{`.
    pub col: usize,
    /// What went wrong, e.g. `function "foo" not defined`.
    pub detail: String,
    pub kind: ErrorKind,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.col, self.detail
        )
    }
}

impl std::error::Error for TemplateError {}

/// Parse only (build-time check): syntax errors, unknown functions,
/// undefined variables, misplaced `break`/`continue`, duplicate `define`s.
pub fn check(path: &str, source: &str, dialect: Dialect) -> Result<(), TemplateError> {
    parse(path, source, dialect).map(|_| ())
}

/// Renders `source` for one allocation (deploy) or one job (scrape). For
/// [`Dialect::Scrape`] only `job`, `current_version` and `new_version` of
/// `ctx` are visible. `getSecret key` reads `secrets/job/<ctx.job>`.
///
/// A render whose named templates nest deeper than 32 restarts on a helper
/// thread with a large stack, so that calls can nest 1000 deep whatever the
/// caller's stack size.
pub fn render(
    path: &str,
    source: &str,
    dialect: Dialect,
    ctx: &Context,
    kv: &dyn KvSource,
) -> Result<String, TemplateError> {
    let prog = parsed(path, source, dialect)?;
    let prog = &*prog;
    let run = |kv: &dyn KvSource, depth| {
        let env = funcs::Env {
            kv,
            job: &ctx.job,
            secrets: Vec::new(),
        };
        exec::Exec::new(prog, source, env, dialect, ctx, depth).run()
    };
    // Rendering only reads, so a run that nests named templates deeper than
    // the caller's stack allows can simply start over on a big stack.
    let result = match run(kv, INLINE_CALL_DEPTH) {
        Err(exec::Stop::TooDeep) => offload::on_big_stack(kv, |kv| run(kv, exec::MAX_DEPTH)),
        other => Some(other),
    };
    let result = match result {
        Some(Ok(out)) => Ok(out),
        Some(Err(exec::Stop::Error(e))) => Err(e),
        Some(Err(exec::Stop::TooDeep)) | None => Err(exec::ExecError {
            at: 0,
            detail: "the render thread failed".into(),
            call: None,
        }),
    };
    result.map_err(|e| {
        let mut err = error_at(
            path,
            source,
            &prog.actions,
            e.at,
            e.detail,
            ErrorKind::Render,
        );
        if let Some((name, call_at)) = e.call {
            let (line, _) = line_col(source, action_start(&prog.actions, call_at));
            err.detail
                .push_str(&format!(" (in template {name:?} called at line {line})"));
        }
        err
    })
}

/// Named templates nested up to this depth run on the caller's thread
/// (a few KiB of stack each); deeper renders restart on a helper thread.
const INLINE_CALL_DEPTH: usize = 32;

/// Parsed files kept per thread: deploy renders each file once per
/// allocation, and parsing costs several times more than executing.
const PARSED_MAX: usize = 64;

thread_local! {
    /// Recently parsed files. A short list compared by length first is
    /// cheaper than hashing whole sources on every render.
    static PARSED: RefCell<Vec<(Dialect, String, Rc<tree::Program>)>> = const { RefCell::new(Vec::new()) };
}

fn parsed(path: &str, source: &str, dialect: Dialect) -> Result<Rc<tree::Program>, TemplateError> {
    let hit = PARSED.with(|c| {
        c.borrow()
            .iter()
            .find(|(d, s, _)| *d == dialect && s.len() == source.len() && s == source)
            .map(|(_, _, p)| Rc::clone(p))
    });
    if let Some(p) = hit {
        return Ok(p);
    }
    let prog = Rc::new(parse(path, source, dialect)?);
    PARSED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= PARSED_MAX {
            c.remove(0);
        }
        c.push((dialect, source.to_string(), Rc::clone(&prog)));
    });
    Ok(prog)
}

fn parse(path: &str, source: &str, dialect: Dialect) -> Result<tree::Program, TemplateError> {
    tree::parse(source, dialect).map_err(|e| {
        // Structural errors carry no tree, so their offsets are already action starts.
        let actions = scan::scan(source).map(|s| s.actions).unwrap_or_default();
        match e {
            tree::ParseError::At(at, detail) => {
                error_at(path, source, &actions, at, detail, ErrorKind::Parse)
            }
            tree::ParseError::LineCol(line, col, detail) => {
                let at = offset_of(source, line, col);
                error_at(path, source, &actions, at, detail, ErrorKind::Parse)
            }
        }
    })
}

fn error_at(
    path: &str,
    source: &str,
    actions: &[usize],
    at: usize,
    detail: String,
    kind: ErrorKind,
) -> TemplateError {
    let (line, col) = line_col(source, action_start(actions, at));
    TemplateError {
        path: path.to_string(),
        line,
        col,
        detail,
        kind,
    }
}

/// The `{{` of the action containing `offset` (or `offset` itself).
fn action_start(actions: &[usize], offset: usize) -> usize {
    let i = actions.partition_point(|a| *a <= offset);
    i.checked_sub(1).map_or(offset, |i| actions[i])
}

/// 1-based line and character column of a byte offset.
fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(source.len());
    while !source.is_char_boundary(end) {
        end -= 1;
    }
    let before = &source[..end];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// Byte offset of a 1-based line and character column.
fn offset_of(source: &str, line: usize, col: usize) -> usize {
    let line_start: usize = source
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = source.get(line_start..).unwrap_or("");
    line_start
        + rest
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
}
