//! `maand render <job> [--worker IP] [FILE]` (beyond the original): preview a job's
//! rendered templates for one allocation exactly as deploy would stage them.

use crate::bucket::Bucket;
use crate::error::{Error, Kind, Result};
use crate::kv::KvStore;
use crate::snapshot::Snapshot;
use crate::stage::kv_source::PolicyKv;
use crate::stage::prometheus::Monitoring;

#[derive(clap::Args, Debug)]
pub struct Args {
    job: String,
    /// Allocation to render for (default: the job's first non-removed allocation).
    #[arg(long)]
    worker: Option<String>,
    /// Only this template (job-relative path, with or without `.tpl`).
    file: Option<String>,
}

pub fn run(bucket: &Bucket, args: Args) -> Result<i32> {
    let cat = bucket.catalog()?;
    let snap = Snapshot::load(cat.conn())?;
    let kv = KvStore::load(cat.conn(), bucket.kv_key_path())?;
    if snap.job(&args.job).is_none() {
        return Err(Error::bare(
            Kind::Input,
            format!(
                "job \"{}\" not found in the catalog (run maand build)",
                args.job
            ),
        ));
    }
    let allocs = snap.non_removed(&args.job);
    let alloc = match &args.worker {
        Some(w) => allocs
            .iter()
            .find(|a| a.worker_ip == *w)
            .copied()
            .ok_or_else(|| {
                Error::bare(
                    Kind::Input,
                    format!("job {} has no allocation on worker {w}", args.job),
                )
            })?,
        None => *allocs.first().ok_or_else(|| {
            Error::bare(Kind::Input, format!("job {} has no allocations", args.job))
        })?,
    };
    let files = crate::catalog::jobs::files_of(cat.conn(), &args.job)?;
    let prefix = format!("{}/", args.job);
    let mut templates: Vec<(&str, &[u8])> = files
        .iter()
        .filter(|f| !f.is_dir)
        .filter_map(|f| {
            f.path
                .strip_prefix(&prefix)
                .map(|rel| (rel, f.content.as_slice()))
        })
        .filter(|(rel, _)| {
            rel.ends_with(".tpl")
                && !rel.starts_with("_modules/")
                && !rel.starts_with("_prometheus/")
        })
        .collect();
    if let Some(want) = &args.file {
        let want_tpl = if want.ends_with(".tpl") {
            want.clone()
        } else {
            format!("{want}.tpl")
        };
        templates.retain(|(rel, _)| *rel == want_tpl);
        if templates.is_empty() {
            return Err(Error::bare(
                Kind::Input,
                format!("job {} has no template {want_tpl}", args.job),
            ));
        }
    }
    if templates.is_empty() {
        return Err(Error::bare(
            Kind::NotFound,
            format!("job {} has no templates", args.job),
        ));
    }
    // Deploy stages with the sequence number the deploy run will have (docs/decisions.md,
    // ".UpdateSeq in templates"), so the preview uses it too.
    let ctx = snap.context(alloc, &bucket.conf.worker_dir, snap.update_seq + 1);
    let reader = snap.reader(&args.job, &alloc.worker_ip);
    let mut notes = Vec::new();
    let monitoring = Monitoring::load(
        cat.conn(),
        &snap,
        &kv,
        bucket.conf.certs_renewal_buffer,
        &mut notes,
    )?;
    for note in notes {
        eprintln!("warning: {note}");
    }
    let source = PolicyKv {
        kv: &kv,
        reader: &reader,
        prometheus: &monitoring.functions,
    };
    let many = templates.len() > 1;
    for (rel, content) in templates {
        let fail = |d: String| {
            Error::bare(
                Kind::Template,
                format!(
                    "template error: job {}, worker {}, {d}",
                    args.job, alloc.worker_ip
                ),
            )
        };
        let text =
            std::str::from_utf8(content).map_err(|_| fail(format!("{rel}: not valid UTF-8")))?;
        let out = maand_template::render(rel, text, maand_template::Dialect::Deploy, &ctx, &source)
            .map_err(|e| fail(e.to_string()))?;
        if many {
            super::output::print(&format!("==> {} <==\n", rel.trim_end_matches(".tpl")));
        }
        super::output::print(&out);
        if many && !out.ends_with('\n') {
            super::output::print("\n");
        }
    }
    Ok(0)
}
