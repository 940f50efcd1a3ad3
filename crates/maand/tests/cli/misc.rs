//! `--version`, `--help` everywhere, `completions`.

use crate::harness::TestBucket;

#[test]
fn version() {
    let b = TestBucket::uninit();
    assert_eq!(
        b.ok(&["--version"]),
        format!("maand {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_on_every_subcommand() {
    let b = TestBucket::uninit();
    for args in [
        &["--help"][..],
        &["help"],
        &["init", "--help"],
        &["build", "--help"],
        &["info", "--help"],
        &["cat", "--help"],
        &["cat", "workers", "--help"],
        &["cat", "jobs", "--help"],
        &["cat", "allocations", "--help"],
        &["cat", "job_ports", "--help"],
        &["cat", "hooks", "--help"],
        &["cat", "job_commands", "--help"],
        &["cat", "kv", "--help"],
        &["cat", "kv", "list", "--help"],
        &["cat", "kv", "get", "--help"],
        &["job", "--help"],
        &["job", "create", "--help"],
        &["logs", "--help"],
        &["logs", "show", "--help"],
        &["completions", "--help"],
    ] {
        let out = b.ok(args);
        assert!(out.contains("Usage: maand"), "{args:?}: {out}");
    }
    let build = b.ok(&["build", "--help"]);
    assert!(build.contains("--purge-job-kv"));
    // Nothing was created in the directory.
    assert_eq!(std::fs::read_dir(b.root()).unwrap().count(), 0);
}

#[test]
fn completions() {
    let b = TestBucket::uninit();
    for shell in ["bash", "zsh", "fish"] {
        let out = b.ok(&["completions", shell]);
        assert!(out.contains("maand"), "{shell}");
        assert!(out.contains("job_ports"), "{shell}");
    }
    let o = b.maand(&["completions", "tcsh"]);
    assert_eq!(o.code, 2);
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let b = TestBucket::new();
    let o = b.maand(&["cat", "nope"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("unrecognized subcommand 'nope'"));
}
