//! The rsync command line, as data. rsync reaches the worker through `-e "ssh <same
//! options>"`, so it rides on the worker's multiplexed master.

use std::path::PathBuf;
use std::time::Duration;

use crate::quote::try_quote;
use crate::ssh::{destination, ssh_options};
use crate::{SshSettings, TransportError};

/// One rsync filter rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Include(String),
    Exclude(String),
}

/// Mirror a local directory into a remote directory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RsyncSpec {
    /// Local directory; its *contents* are copied (a trailing `/` is added).
    pub source: PathBuf,
    /// Remote directory (absolute path on the worker).
    pub dest: String,
    /// `--exclude`/`--include` rules, in order (rsync applies the first that matches).
    pub filters: Vec<Filter>,
    /// Delete remote files that are not in `source` (`--delete`).
    pub delete: bool,
    /// Create `dest` (with parents) first, via `--rsync-path="mkdir -p <dest> && rsync"`,
    /// which costs no extra round trip.
    pub create_dest: bool,
    /// Local deadline after which maand kills rsync.
    pub deadline: Option<Duration>,
}

impl RsyncSpec {
    pub fn new(source: impl Into<PathBuf>, dest: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            dest: dest.into(),
            ..Self::default()
        }
    }

    pub fn delete(mut self) -> Self {
        self.delete = true;
        self
    }

    pub fn create_dest(mut self) -> Self {
        self.create_dest = true;
        self
    }

    pub fn exclude(mut self, pattern: impl Into<String>) -> Self {
        self.filters.push(Filter::Exclude(pattern.into()));
        self
    }

    pub fn include(mut self, pattern: impl Into<String>) -> Self {
        self.filters.push(Filter::Include(pattern.into()));
        self
    }

    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }
}

/// The argv of one rsync to `host`.
///
/// `-rlpt` (recursive, symlinks, permissions, times) keeps the modes staged on the CLI host
/// (executable scripts stay executable) and times for quick-check, without `-a`'s owner,
/// group and device handling: the remote user owns what it receives. `--checksum` lets
/// content, not size + mtime, decide what is sent: a template re-rendered to a value of the
/// same length within the same second as the last sync must still reach the worker, and
/// staged job trees are small (deploy only syncs allocations whose content hash changed).
/// The receiver runs as `sudo rsync` when `use_sudo`.
pub fn rsync_argv(
    settings: &SshSettings,
    host: &str,
    spec: &RsyncSpec,
) -> Result<Vec<String>, TransportError> {
    let dest = spec.dest.trim_end_matches('/');
    if !spec.dest.starts_with('/') || dest.is_empty() {
        return Err(TransportError::InvalidArgument {
            what: "rsync destination",
            value: spec.dest.clone(),
            reason: "must be an absolute directory path other than /",
        });
    }
    let Some(source) = spec.source.to_str() else {
        return Err(TransportError::InvalidArgument {
            what: "rsync source",
            value: spec.source.to_string_lossy().into_owned(),
            reason: "must be valid UTF-8",
        });
    };
    // "./" keeps rsync from reading `a:b` as a remote source.
    let mut source = if source.starts_with('/') {
        source.to_string()
    } else {
        format!("./{source}")
    };
    if !source.ends_with('/') {
        source.push('/');
    }

    let mut e = String::from("ssh");
    for opt in ssh_options(settings) {
        e.push(' ');
        e.push_str(&try_quote("ssh option", &opt)?);
    }

    let mut v = vec![
        "rsync".to_string(),
        "-rlpt".to_string(),
        "--checksum".to_string(),
    ];
    if spec.delete {
        v.push("--delete".to_string());
    }
    for filter in &spec.filters {
        v.push(match filter {
            Filter::Include(p) => format!("--include={p}"),
            Filter::Exclude(p) => format!("--exclude={p}"),
        });
    }
    v.push("-e".to_string());
    v.push(e);
    let sudo = if settings.use_sudo { "sudo " } else { "" };
    if spec.create_dest {
        v.push(format!(
            "--rsync-path={sudo}mkdir -p {} && {sudo}rsync",
            try_quote("rsync destination", dest)?
        ));
    } else if settings.use_sudo {
        v.push("--rsync-path=sudo rsync".to_string());
    }
    v.push(source);
    v.push(format!("{}:{dest}/", destination(settings, host)?));
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssh::tests::{settings, OPTS};

    fn e_arg() -> String {
        let mut e = String::from("ssh");
        for o in OPTS {
            e.push(' ');
            e.push_str(o);
        }
        e
    }

    #[test]
    fn rsync_argv_is_exact_with_sudo() {
        let spec = RsyncSpec::new("/b/tmp/workers/10.0.0.1", "/opt/worker/b1/")
            .delete()
            .exclude("data/")
            .include("/jobs/***")
            .exclude("logs/");
        let argv = rsync_argv(&settings(), "10.0.0.1", &spec).unwrap();
        assert_eq!(
            argv,
            vec![
                "rsync".to_string(),
                "-rlpt".into(),
                "--checksum".into(),
                "--delete".into(),
                "--exclude=data/".into(),
                "--include=/jobs/***".into(),
                "--exclude=logs/".into(),
                "-e".into(),
                e_arg(),
                "--rsync-path=sudo rsync".into(),
                "/b/tmp/workers/10.0.0.1/".into(),
                "agent@10.0.0.1:/opt/worker/b1/".into(),
            ]
        );
    }

    #[test]
    fn create_dest_without_sudo() {
        let s = SshSettings {
            use_sudo: false,
            ..settings()
        };
        let spec = RsyncSpec::new("stage/api/", "/opt/worker/b 1/jobs/api").create_dest();
        let argv = rsync_argv(&s, "10.0.0.1", &spec).unwrap();
        assert_eq!(
            &argv[argv.len() - 3..],
            [
                "--rsync-path=mkdir -p '/opt/worker/b 1/jobs/api' && rsync",
                "./stage/api/",
                "agent@10.0.0.1:/opt/worker/b 1/jobs/api/"
            ]
        );
        assert_eq!(&argv[..4], ["rsync", "-rlpt", "--checksum", "-e"]);
    }

    #[test]
    fn create_dest_with_sudo() {
        let spec = RsyncSpec::new("/s", "/opt/worker/b1").create_dest();
        let argv = rsync_argv(&settings(), "10.0.0.1", &spec).unwrap();
        assert!(
            argv.contains(&"--rsync-path=sudo mkdir -p /opt/worker/b1 && sudo rsync".to_string())
        );
    }

    #[test]
    fn e_option_quotes_paths_with_blanks() {
        let s = SshSettings {
            key_path: "/my bucket/secrets/worker.key".into(),
            ..settings()
        };
        let argv = rsync_argv(&s, "10.0.0.1", &RsyncSpec::new("/s", "/d")).unwrap();
        let e = &argv[argv.iter().position(|a| a == "-e").unwrap() + 1];
        assert!(
            e.starts_with("ssh -i '/my bucket/secrets/worker.key' -p 22 "),
            "{e}"
        );
    }

    #[test]
    fn bad_destinations_are_rejected() {
        for d in ["relative/dir", "/", ""] {
            let err = rsync_argv(&settings(), "10.0.0.1", &RsyncSpec::new("/s", d)).unwrap_err();
            assert!(err.to_string().contains("rsync destination"), "{err}");
        }
    }
}
