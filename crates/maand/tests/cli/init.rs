//! `maand init` (spec 02 §1–3, 04 §4.1) and the preconditions every other command checks.

use crate::harness::{run_in, TestBucket};
use std::os::unix::fs::PermissionsExt;

const DEFAULT_MAAND_CONF: &str = r#"ssh_user = "agent"
ssh_key = "worker.key"
ssh_port = 22
use_sudo = true
certs_ttl = 60
certs_renewal_buffer = 0
job_config_selector = ""
log_format = "kv"
"#;

fn mode(b: &TestBucket, rel: &str) -> u32 {
    std::fs::metadata(b.path(rel)).unwrap().permissions().mode() & 0o777
}

fn bucket_id(b: &TestBucket) -> String {
    b.json(&["info"])["bucket_id"].as_str().unwrap().to_string()
}

#[test]
fn init_creates_the_layout() {
    let b = TestBucket::uninit();
    let out = b.ok(&["init"]);
    let id = bucket_id(&b);
    assert_eq!(
        out,
        format!("initialized bucket {id} in {}\n", b.root().display())
    );
    assert_eq!(id.len(), 36);
    for d in [
        "data",
        "workspace",
        "workspace/jobs",
        "logs",
        "tmp",
        "secrets",
    ] {
        assert!(b.path(d).is_dir(), "{d} missing");
    }
    assert!(b.path("data/maand.db").is_file());
    assert_eq!(b.read("maand.conf"), DEFAULT_MAAND_CONF);
    assert_eq!(b.read("workspace/workers.json").trim(), "[]");
    assert_eq!(
        b.read("workspace/bucket.conf"),
        "port_min = \"30000\"\nport_max = \"39999\"\n"
    );
    assert_eq!(std::fs::read(b.path("secrets/kv.key")).unwrap().len(), 32);
    assert_eq!(mode(&b, "secrets/kv.key"), 0o600);
    assert_eq!(mode(&b, "secrets"), 0o700);
    // No SSH key is created; the workspace is otherwise empty.
    assert!(!b.path("secrets/worker.key").exists());
    assert_eq!(
        std::fs::read_dir(b.path("workspace/jobs")).unwrap().count(),
        0
    );
}

#[test]
fn init_is_idempotent() {
    let b = TestBucket::new();
    let id = bucket_id(&b);
    let key = std::fs::read(b.path("secrets/kv.key")).unwrap();
    // Operator edits survive a second init.
    b.write("maand.conf", "ssh_user = \"ops\"\n");
    b.write("workspace/workers.json", "[{\"host\": \"10.0.0.9\"}]\n");
    b.write(
        "workspace/bucket.conf",
        "port_min = 40000\nport_max = 40010\n",
    );
    let out = b.ok(&["init"]);
    assert_eq!(
        out,
        format!("upgraded bucket {id} in {}\n", b.root().display())
    );
    assert_eq!(bucket_id(&b), id);
    assert_eq!(std::fs::read(b.path("secrets/kv.key")).unwrap(), key);
    assert_eq!(b.read("maand.conf"), "ssh_user = \"ops\"\n");
    assert_eq!(
        b.read("workspace/workers.json"),
        "[{\"host\": \"10.0.0.9\"}]\n"
    );
    assert_eq!(
        b.read("workspace/bucket.conf"),
        "port_min = 40000\nport_max = 40010\n"
    );
}

#[test]
fn init_of_an_existing_bucket_does_not_recreate_maand_conf() {
    // maand.conf is written only for a new bucket: deleting it means "all defaults".
    let b = TestBucket::new();
    b.remove("maand.conf");
    b.ok(&["init"]);
    assert!(!b.path("maand.conf").exists());
    b.ok(&["build"]);
}

#[test]
fn every_command_needs_an_initialised_bucket() {
    let b = TestBucket::uninit();
    for args in [
        &["build"][..],
        &["info"],
        &["cat", "workers"],
        &["cat", "jobs"],
        &["cat", "allocations"],
        &["cat", "job_ports"],
        &["cat", "hooks"],
        &["cat", "kv"],
        &["cat", "kv", "get", "maand/bucket", "bucket_id"],
        &["job", "create", "api"],
    ] {
        let err = b.fail(args);
        assert_eq!(
            err,
            format!(
                "error: maand is not initialized: no data/maand.db in {}; run maand init\n",
                b.root().display()
            ),
            "{args:?}"
        );
    }
    // Nothing was created by the failed commands.
    assert_eq!(std::fs::read_dir(b.root()).unwrap().count(), 0);
    // --help and completions need no bucket.
    b.ok(&["--help"]);
    b.ok(&["build", "--help"]);
    assert!(!b.ok(&["completions", "bash"]).is_empty());
}

#[test]
fn bucket_is_found_from_a_subdirectory_and_by_flag() {
    let b = TestBucket::example();
    let sub = b.path("workspace/jobs/api");
    let o = run_in(&sub, &["build"]);
    assert_eq!(o.code, 0, "{o:#?}");
    let other = TestBucket::uninit();
    let root = b.root().to_str().unwrap();
    let info = other.ok(&["--bucket", root, "info", "--output", "json"]);
    assert!(info.contains("\"allocations\": 4"), "{info}");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_maand"))
        .args(["info", "--output", "json"])
        .current_dir(other.root())
        .env("MAAND_BUCKET", root)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"jobs\": 3"));
}

#[test]
fn old_schema_requires_init() {
    let b = TestBucket::new();
    b.write("workspace/workers.json", "[{\"host\": \"10.0.0.1\"}]");
    // A catalog from before the first migration: user_version 0, no tables.
    b.remove("data/maand.db");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(b.path(&format!("data/maand.db{suffix}")));
    }
    {
        let conn = rusqlite::Connection::open(b.path("data/maand.db")).unwrap();
        conn.pragma_update(None, "user_version", 0).unwrap();
    }
    let expected = "error: database schema upgrade required: catalog schema 0, this maand needs 1; run maand init\n";
    for args in [
        &["build"][..],
        &["info"],
        &["cat", "workers"],
        &["cat", "kv"],
        &["cat", "deployments"],
        &["deploy"],
        &["deploy", "--dry-run"],
        &["render", "api"],
        &["gc"],
        &["job", "create", "api"],
        &["job", "status", "api"],
        &["hooks", "command_x"],
        &["health_check"],
        &["run_command", "true"],
        &["collect", "facts"],
    ] {
        assert_eq!(b.fail(args), expected, "{args:?}");
    }
    // Nothing was written on the way: `job create` refused before creating its directory.
    assert!(!b.path("workspace/jobs/api").exists());
    b.ok(&["init"]);
    assert_eq!(
        b.ok(&["build"]),
        "build: 1 worker, 0 jobs, 0 allocations (0 active, 0 disabled, 0 removed), 0 post_build hook runs\n"
    );
}

#[test]
fn newer_schema_is_refused() {
    let b = TestBucket::new();
    {
        let conn = rusqlite::Connection::open(b.path("data/maand.db")).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let expected = "error: database schema is newer than this maand binary: catalog schema 99, this maand supports 1; upgrade maand\n";
    assert_eq!(b.fail(&["build"]), expected);
    assert_eq!(b.fail(&["init"]), expected);
}

#[test]
fn invalid_maand_conf_fails_every_command() {
    let b = TestBucket::new();
    b.write("maand.conf", "ssh_port = \"22\"\n");
    for args in [&["build"][..], &["info"], &["cat", "kv"]] {
        assert_eq!(
            b.fail(args),
            "error: invalid maand.conf: maand.conf: ssh_port: expected an integer, found string\n",
            "{args:?}"
        );
    }
}
