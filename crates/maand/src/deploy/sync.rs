//! What one rsync per worker carries: the worker-level files of an `update_seq` bump and
//! the job trees a wave will roll out there.
//!
//! Sending every tree of a wave up front, in the bump's round when there is one, costs
//! one round trip per worker instead of one per job. It changes nothing a job can observe
//! beyond what spec 06 already does within a job (its tree reaches every allocation before
//! the first batch restarts): files land before their job's turn, processes are only
//! touched by the job's own lifecycle. A worker the early sync misses is synced again,
//! with its error reported, by the job's rollout.

use std::collections::BTreeMap;
use std::path::Path;

use maand_transport::RsyncSpec;

use crate::stage::RSYNC_EXCLUDES;

/// Job names by worker IP.
pub type WaveTrees = BTreeMap<String, Vec<String>>;

/// The rsync of `tmp/workers/<ip>/` to the worker root: worker files when `worker_files`,
/// plus the trees of `jobs` with each job's excludes (spec 06). Everything else on the
/// worker (other jobs, `data/`, `logs/`) is excluded, hence never deleted.
pub fn spec(worker_dir: &Path, root: &str, worker_files: bool, jobs: &[String]) -> RsyncSpec {
    let spec = RsyncSpec::new(worker_dir.to_path_buf(), root.to_string()).create_dest();
    if jobs.is_empty() {
        // The bump alone: as before, no deletion, job trees untouched.
        return spec.exclude("/jobs");
    }
    let mut spec = spec.delete();
    for job in jobs {
        for e in RSYNC_EXCLUDES.iter().filter(|e| e.starts_with('/')) {
            spec = spec.exclude(format!("/jobs/{job}{e}"));
        }
    }
    for e in RSYNC_EXCLUDES.iter().filter(|e| !e.starts_with('/')) {
        spec = spec.exclude(*e);
    }
    if worker_files {
        spec = spec
            .include("/worker.json")
            .include("/jobs.json")
            .include("/bin/***");
    }
    spec = spec.include("/jobs/");
    for job in jobs {
        spec = spec.include(format!("/jobs/{job}/***"));
    }
    spec.exclude("*")
}

#[cfg(test)]
mod tests {
    use super::*;
    use maand_transport::Filter::{Exclude, Include};

    #[test]
    fn bump_alone_leaves_job_trees_alone() {
        let s = spec(Path::new("/t/w/10.0.0.1"), "/opt/worker/b", true, &[]);
        assert_eq!(s.filters, [Exclude("/jobs".into())]);
        assert!(!s.delete && s.create_dest);
    }

    #[test]
    fn wave_trees_with_their_excludes_and_nothing_else() {
        let s = spec(
            Path::new("/t/w/10.0.0.1"),
            "/opt/worker/b",
            true,
            &["a".into()],
        );
        let want = [
            Exclude("/jobs/a/data".into()),
            Exclude("/jobs/a/logs".into()),
            Exclude("/jobs/a/bin".into()),
            Exclude("/jobs/a/_modules".into()),
            Exclude("/jobs/a/_prometheus".into()),
            Exclude("*.tpl".into()),
            Include("/worker.json".into()),
            Include("/jobs.json".into()),
            Include("/bin/***".into()),
            Include("/jobs/".into()),
            Include("/jobs/a/***".into()),
            Exclude("*".into()),
        ];
        assert_eq!(s.filters, want);
        assert!(s.delete);
        let later = spec(Path::new("/t"), "/r", false, &["a".into(), "b".into()]);
        assert!(!later.filters.contains(&Include("/worker.json".into())));
        assert!(later.filters.contains(&Include("/jobs/b/***".into())));
        assert!(later.filters.contains(&Exclude("/jobs/b/data".into())));
    }
}
