//! Command-line surface: clap definitions and dispatch, one file per command group.
//! Nothing here holds logic beyond wiring arguments to the modules that do the work.

mod build;
mod cat;
mod cat_certs;
mod cat_deployments;
mod cat_kv;
mod cat_prometheus;
mod collect;
mod deploy;
mod filters;
mod gc;
mod health_check;
mod hooks;
mod info;
mod init;
mod job;
mod logs;
pub mod output;
mod render;
mod run_command;

use crate::bucket::{self, Bucket};
use crate::error::Result;
use crate::warnings::Warnings;
use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "maand",
    version,
    about = "Agentless workload orchestrator for fixed fleets of Linux hosts"
)]
pub struct Cli {
    /// Bucket directory (default: the current directory or the nearest parent holding maand.conf).
    #[arg(long, global = true, env = "MAAND_BUCKET", value_name = "DIR")]
    bucket: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create or upgrade a bucket in the current directory.
    Init,
    /// Reconcile the workspace into the catalog and KV store.
    Build(build::Args),
    /// Push jobs to workers and roll them out.
    Deploy(deploy::Args),
    /// Finish removing deleted allocations and trim KV history.
    Gc(gc::Args),
    /// Summary of the bucket.
    Info(info::Args),
    /// Inspect the catalog and KV store (read-only).
    Cat(cat::Args),
    /// Job lifecycle and scaffolding.
    Job(job::Args),
    /// Print a job's rendered templates for one allocation (preview of deploy staging).
    Render(render::Args),
    /// Run a shell script on workers over SSH.
    #[command(name = "run_command")]
    Shell(run_command::Args),
    /// Structured logs.
    Logs(logs::Args),
    /// Discover worker facts (memory, CPU) over SSH.
    Collect(collect::Args),
    /// Alias of `collect facts`.
    #[command(name = "worker_facts")]
    WorkerFacts(collect::FactsArgs),
    /// Worker gate and job health checks.
    #[command(name = "health_check")]
    HealthCheck(health_check::Args),
    /// Run a hook command (event `cli`) on a job's active allocations.
    #[command(name = "hooks", visible_aliases = ["jobcommand", "job_command"])]
    Hooks(hooks::Args),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Runs the CLI and returns the process exit status.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Opens the bucket for a command other than `init`, printing `maand.conf` warnings.
fn open(explicit: Option<&std::path::Path>) -> Result<Bucket> {
    let mut warnings = Warnings::default();
    let root = bucket::find_root(explicit)?;
    let b = Bucket::open(root, &mut warnings)?;
    warnings.emit();
    b.catalog()?; // schema check
    Ok(b)
}

fn run(cli: Cli) -> Result<i32> {
    let explicit = cli.bucket.as_deref();
    match cli.command {
        Command::Init => init::run(explicit),
        Command::Build(a) => build::run(&open(explicit)?, a),
        Command::Deploy(a) => deploy::run(&open(explicit)?, a),
        Command::Gc(a) => gc::run(&open(explicit)?, a),
        Command::Info(a) => info::run(&open(explicit)?, a),
        Command::Cat(a) => cat::run(&open(explicit)?, a),
        Command::Job(a) => job::run(explicit, a),
        Command::Render(a) => render::run(&open(explicit)?, a),
        Command::Shell(a) => run_command::run(&open(explicit)?, a),
        Command::Logs(a) => logs::run(&open(explicit)?, a),
        Command::Collect(a) => collect::run(&open(explicit)?, a),
        Command::WorkerFacts(a) => collect::facts(&open(explicit)?, a),
        Command::HealthCheck(a) => health_check::run(&open(explicit)?, a),
        Command::Hooks(a) => hooks::run(&open(explicit)?, a),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "maand", &mut std::io::stdout());
            Ok(0)
        }
    }
}
