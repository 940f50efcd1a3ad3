//! `maand job create` (spec 03 §19, 09 §4.7).

use crate::harness::TestBucket;

const MAKEFILE: &str = "start:\n\nstop:\n\nrestart:\n\nreload:\n\nstatus:\n";

#[test]
fn creates_manifest_and_makefile() {
    let b = TestBucket::new();
    assert_eq!(
        b.ok(&["job", "create", "api", "--selectors", " worker, ,gpu"]),
        "created workspace/jobs/api\n"
    );
    assert_eq!(
        b.read("workspace/jobs/api/manifest.json"),
        "{\n    \"version\": \"1.0\",\n    \"selectors\": [\n        \"worker\",\n        \"gpu\"\n    ]\n}\n"
    );
    // 09 §4.7 (decision) adds reload and status to the three targets of 03 §19.
    assert_eq!(b.read("workspace/jobs/api/Makefile"), MAKEFILE);
    let names: Vec<_> = std::fs::read_dir(b.path("workspace/jobs/api"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    b.ok(&["job", "create", "db", "-s", "worker"]);
    assert_eq!(
        b.read("workspace/jobs/db/manifest.json"),
        "{\n    \"version\": \"1.0\",\n    \"selectors\": [\n        \"worker\"\n    ]\n}\n"
    );
}

#[test]
fn without_selectors_and_then_built() {
    let b = TestBucket::new();
    b.ok(&["job", "create", "cache"]);
    assert_eq!(
        b.read("workspace/jobs/cache/manifest.json"),
        "{\n    \"version\": \"1.0\",\n    \"selectors\": []\n}\n"
    );
    // It touched no catalog; the next build picks it up with the job name as selector.
    assert_eq!(b.json(&["info"])["jobs"], 0);
    b.write(
        "workspace/workers.json",
        r#"[{"host": "10.0.0.1", "labels": ["cache"]}, {"host": "10.0.0.2"}]"#,
    );
    assert_eq!(
        b.ok(&["build"]),
        "build: 2 workers, 1 job, 1 allocation (1 active, 0 disabled, 0 removed), 0 post_build hook runs\n"
    );
    assert_eq!(b.kv("maand/job/cache", "workers"), "10.0.0.1");
    assert_eq!(b.kv("maand/job/cache", "selectors"), "cache");
}

#[test]
fn existing_directory_is_an_error() {
    let b = TestBucket::new();
    b.ok(&["job", "create", "api"]);
    b.write("workspace/jobs/api/Makefile", "custom:\n");
    let o = b.maand(&["job", "create", "api", "-s", "x"]);
    assert_eq!(o.failed(), "error: job directory already exists: api\n");
    assert_eq!(o.stdout, "");
    assert_eq!(b.read("workspace/jobs/api/Makefile"), "custom:\n");
    // A plain file of that name counts too.
    b.write("workspace/jobs/notes", "x");
    assert_eq!(
        b.fail(&["job", "create", "notes"]),
        "error: job directory already exists: notes\n"
    );
}

#[test]
fn bad_names_are_rejected() {
    let b = TestBucket::new();
    let long = "a".repeat(129);
    for name in ["a/b", ".hidden", "-x", "with space", "ü", long.as_str()] {
        assert_eq!(
            b.fail(&["job", "create", "--", name]),
            format!("error: invalid job: job name \"{name}\" must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$ (at most 128 characters)\n"),
            "{name}"
        );
    }
    assert_eq!(
        std::fs::read_dir(b.path("workspace/jobs")).unwrap().count(),
        0
    );
    b.ok(&["job", "create", &"a".repeat(128)]);
    b.ok(&["job", "create", "A1_b.c-d"]);
}
