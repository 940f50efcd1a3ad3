//! `maand job …`.

use crate::bucket;
use crate::error::{Error, Kind, Result};
use crate::workspace::names::is_job_name;
use clap::Subcommand;
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Scaffold workspace/jobs/<job>/ (manifest.json and Makefile); touches no catalog.
    Create {
        job: String,
        /// Selectors written into the manifest, comma-separated.
        #[arg(short, long)]
        selectors: Option<String>,
    },
}

const MAKEFILE: &str = "start:\n\nstop:\n\nrestart:\n\nreload:\n\nstatus:\n";

pub fn run(explicit: Option<&Path>, args: Args) -> Result<i32> {
    match args.action {
        Action::Create { job, selectors } => {
            let mut warnings = crate::warnings::Warnings::default();
            let root = bucket::find_root(explicit)?;
            bucket::Bucket::open(root.clone(), &mut warnings)?;
            warnings.emit();
            if !is_job_name(&job) {
                return Err(Error::new(
                    Kind::InvalidJob,
                    format!("job name \"{job}\" must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$ (at most 128 characters)"),
                ));
            }
            let dir = root.join("workspace/jobs").join(&job);
            if dir.exists() {
                return Err(Error::bare(
                    Kind::Input,
                    format!("job directory already exists: {job}"),
                ));
            }
            let selectors = super::filters::csv(selectors.as_deref());
            let manifest = serde_json::json!({ "version": "1.0", "selectors": selectors });
            let mut text = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut text, fmt);
            serde::Serialize::serialize(&manifest, &mut ser)
                .map_err(|e| Error::bare(Kind::Io, e.to_string()))?;
            text.push(b'\n');
            fs_err::create_dir_all(&dir)?;
            fs_err::write(dir.join("manifest.json"), text)?;
            fs_err::write(dir.join("Makefile"), MAKEFILE)?;
            println!("created workspace/jobs/{job}");
            Ok(0)
        }
    }
}
