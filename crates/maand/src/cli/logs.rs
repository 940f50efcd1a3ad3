//! `maand logs show`.

use crate::bucket::Bucket;
use crate::error::{Error, Kind, Result};
use clap::Subcommand;
use maand_logs::{show, ShowFormat, ShowOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Print structured log lines (raw) or grouped command blocks (human).
    Show {
        /// raw (default) or human (alias h).
        #[arg(long, default_value = "raw")]
        format: String,
        #[arg(long)]
        worker: Option<String>,
        #[arg(long)]
        run: Option<String>,
        /// Read logs/runs/<run>/ instead of logs/ (requires --run).
        #[arg(long)]
        run_dir: bool,
        #[arg(long)]
        job: Option<String>,
        #[arg(long)]
        phase: Option<String>,
        #[arg(long)]
        event: Option<String>,
        /// Keep the last N lines (raw) or blocks (human); 0 = all.
        #[arg(long, default_value_t = 0)]
        tail: usize,
    },
}

pub fn run(bucket: &Bucket, args: Args) -> Result<i32> {
    let Action::Show {
        format,
        worker,
        run,
        run_dir,
        job,
        phase,
        event,
        tail,
    } = args.action;
    let format: ShowFormat = format
        .parse()
        .map_err(|e: maand_logs::LogsError| Error::bare(Kind::Input, e.to_string()))?;
    let nonempty = |s: Option<String>| s.filter(|v| !v.is_empty());
    let opts = ShowOptions {
        format,
        worker: nonempty(worker),
        run: nonempty(run),
        job: nonempty(job),
        phase: nonempty(phase),
        event: nonempty(event),
        run_dir,
        tail,
    };
    match show(&bucket.logs(), &opts, &mut std::io::stdout().lock()) {
        Ok(()) => Ok(0),
        Err(e) if e.is_broken_pipe() => Ok(0),
        Err(e) => Err(Error::bare(Kind::Input, e.to_string())),
    }
}
