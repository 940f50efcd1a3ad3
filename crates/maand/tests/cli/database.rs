//! A corrupt catalog (`data/maand.db`) is `ErrDatabase` (spec 03 §18): every command that
//! opens it fails with `database error: …`, exit 1, no panic.

use crate::harness::TestBucket;

/// Runs each command and checks its last stderr line is `error: database error: <detail>`.
#[track_caller]
fn all_fail(b: &TestBucket, detail: &str) {
    for args in [
        &["build"][..],
        &["info"],
        &["cat", "workers"],
        &["cat", "kv"],
        &["deploy"],
        &["render", "api"],
    ] {
        let err = b.fail(args);
        let last = err.lines().last().unwrap_or_default();
        assert_eq!(
            last,
            format!("error: database error: {detail}"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn database_file_is_not_a_database() {
    let b = TestBucket::example_built();
    b.write("data/maand.db", "not a database, just text ".repeat(40));
    all_fail(&b, "file is not a database");
    assert_eq!(
        b.fail(&["info"]),
        "error: database error: file is not a database\n"
    );
}

#[test]
fn database_pages_overwritten() {
    let b = TestBucket::example_built();
    // Keep the header page (schema), overwrite every other page.
    let db = std::fs::read(b.path("data/maand.db")).unwrap();
    let mut broken = db[..4096].to_vec();
    broken.resize(db.len(), 0xff);
    b.write("data/maand.db", broken);
    all_fail(&b, "database disk image is malformed");
}
