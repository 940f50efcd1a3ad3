//! Hooks (spec 07): scripts of a job run on the CLI host at events, the runtime HTTP API
//! they call, and the embedded helper libraries.
//!
//! * [`Runtime`] — one per command that runs hooks: binds the process's [`api::Api`] to
//!   the command's KV session and runs events ([`Runtime::run_event`]).
//! * [`api`] — the `127.0.0.1` server: token, hook registry, KV, demands, semaphores.
//! * [`post_build`] — the build's hook pass (spec 03 §16).
//! * [`operator`] — `maand hooks <command> [job]` (spec 07 §10).
//! * [`interrupt`] — Ctrl-C/SIGTERM forwarded to running hooks.
//! * `assets/maand.py`, `assets/maand.ts` — written next to every script.
//!
//! Running an event from a command (deploy, `maand job`):
//!
//! ```ignore
//! let kv = Arc::new(Mutex::new(KvStore::load(conn, bucket.kv_key_path())?));
//! let hooks = Runtime::start(bucket, Arc::clone(&kv))?;      // once per command
//! hooks.mark_rendered(ip, job);                              // after deploy staged it
//! let runs = hooks.run_event(&session, &snap,
//!     &EventCall::new(job, "after_allocation_started")
//!         .env("BATCH_ALLOCATIONS", "10.0.0.1,10.0.0.2")
//!         .env("DEPLOY_PHASE", "new"))?;
//! // Persist `kv` at the command's persist point; never hold its lock across run_event.
//! ```

pub mod api;
pub mod interrupt;
pub mod operator;
pub mod post_build;
pub mod runner;
mod semaphore;
mod stage;

pub use runner::{default_concurrency, Cause, EventCall, Failure, HookError, Runtime};

/// The Python helper (standard library only), staged as `_modules/maand.py`.
pub const MAAND_PY: &str = include_str!("assets/maand.py");
/// The Bun helper, staged as `_modules/maand.ts`.
pub const MAAND_TS: &str = include_str!("assets/maand.ts");
