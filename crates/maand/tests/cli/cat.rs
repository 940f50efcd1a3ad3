//! `maand cat …` and `maand info` on the spec example (spec 09 §1–3, 04 §10–11).

use crate::harness::{stable_uuid, TestBucket};
use serde_json::json;

#[test]
fn cat_workers() {
    let b = TestBucket::example_built();
    assert_eq!(
        b.ok(&["cat", "workers"]),
        "\
| Worker IP | zone | CPU (mhz) | Memory (mb) | Position | labels                |
|-----------|------|-----------|-------------|----------|-----------------------|
| 10.0.0.1  | a    | 8000      | 16384       | 0        | db,worker             |
| 10.0.0.2  | b    | 4000      | 8192        | 1        | api,worker            |
| 10.0.0.3  | c    | 4000      | 8192        | 2        | api,prometheus,worker |
"
    );
    assert_eq!(
        b.json(&["cat", "workers"]),
        json!([
            {"worker_ip": "10.0.0.1", "zone": "a", "cpu_mhz": 8000.0, "memory_mb": 16384.0, "position": 0, "labels": ["db", "worker"]},
            {"worker_ip": "10.0.0.2", "zone": "b", "cpu_mhz": 4000.0, "memory_mb": 8192.0, "position": 1, "labels": ["api", "worker"]},
            {"worker_ip": "10.0.0.3", "zone": "c", "cpu_mhz": 4000.0, "memory_mb": 8192.0, "position": 2, "labels": ["api", "prometheus", "worker"]},
        ])
    );
}

#[test]
fn cat_workers_orders_by_position_and_leaves_zone_blank() {
    let b = TestBucket::new();
    b.write(
        "workspace/workers.json",
        r#"[{"host": "10.0.0.9", "position": 5}, {"host": "10.0.0.8", "labels": ["B", "a"], "memory": 1.5, "tags": {"Zone": " EU "}}]"#,
    );
    b.ok(&["build"]);
    assert_eq!(
        b.ok(&["cat", "workers"]),
        "\
| Worker IP | zone | CPU (mhz) | Memory (mb) | Position | labels     |
|-----------|------|-----------|-------------|----------|------------|
| 10.0.0.8  | eu   | 0         | 1.5         | 1        | a,b,worker |
| 10.0.0.9  |      | 0         | 0           | 5        | worker     |
"
    );
    assert_eq!(b.json(&["cat", "workers"])[1]["zone"], json!(null));
}

#[test]
fn cat_jobs() {
    let b = TestBucket::example_built();
    assert_eq!(
        b.ok(&["cat", "jobs"]),
        "\
| job        | version | disabled | deployment_seq | cpu                              | memory                          | selectors  |
|------------|---------|----------|----------------|----------------------------------|---------------------------------|------------|
| database   | 2.1.0   | 0        | 0              | 2000 mhz (bucket.jobs.prod.conf) | 4096 mb (bucket.jobs.prod.conf) | db         |
| prometheus | 2.53.0  | 0        | 0              | 0 mhz (manifest)                 | 0 mb (manifest)                 | prometheus |
| api        | v1.4    | 0        | 1              | 1000 mhz (bucket.jobs.prod.conf) | 1024 mb (bucket.jobs.prod.conf) | api        |
"
    );
    assert_eq!(
        b.json(&["cat", "jobs"]),
        json!([
            {"job": "database", "version": "2.1.0", "disabled": false, "deployment_seq": 0, "cpu_mhz": 2000.0, "cpu_source": "bucket.jobs.prod.conf", "memory_mb": 4096.0, "memory_source": "bucket.jobs.prod.conf", "selectors": ["db"]},
            {"job": "prometheus", "version": "2.53.0", "disabled": false, "deployment_seq": 0, "cpu_mhz": 0.0, "cpu_source": "manifest", "memory_mb": 0.0, "memory_source": "manifest", "selectors": ["prometheus"]},
            {"job": "api", "version": "v1.4", "disabled": false, "deployment_seq": 1, "cpu_mhz": 1000.0, "cpu_source": "bucket.jobs.prod.conf", "memory_mb": 1024.0, "memory_source": "bucket.jobs.prod.conf", "selectors": ["api"]},
        ])
    );
}

#[test]
fn cat_jobs_disabled_column() {
    // Every allocation of api disabled, and a job placed nowhere: both show disabled = 1.
    let b = TestBucket::example();
    b.write("workspace/disabled.json", r#"{"jobs": {"api": null}}"#);
    crate::harness::job(&b, "gpu", r#"{"selectors": ["gpu"]}"#);
    b.ok(&["build"]);
    let rows = b.json(&["cat", "jobs"]);
    let disabled: Vec<(String, bool)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["job"].as_str().unwrap().into(),
                r["disabled"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        disabled,
        [
            ("database".to_string(), false),
            ("gpu".to_string(), true),
            ("prometheus".to_string(), false),
            ("api".to_string(), true),
        ]
    );
}

fn alloc_table_row(job: &str, ip: &str, zone: &str, disabled: u8) -> String {
    format!(
        "| {} | {ip:<9} | {zone:<4} | {job:<10} | {disabled:<8} | 0       |\n",
        stable_uuid(&format!("{job}|{ip}"))
    )
}

#[test]
fn cat_allocations() {
    let b = TestBucket::example_built();
    let expected = format!(
        "\
| allocation_id                        | worker_ip | zone | job        | disabled | removed |
|--------------------------------------|-----------|------|------------|----------|---------|
{}{}{}{}",
        alloc_table_row("api", "10.0.0.2", "b", 0),
        alloc_table_row("api", "10.0.0.3", "c", 1),
        alloc_table_row("database", "10.0.0.1", "a", 0),
        alloc_table_row("prometheus", "10.0.0.3", "c", 0),
    );
    assert_eq!(b.ok(&["cat", "allocations"]), expected);
    assert_eq!(
        b.json(&["cat", "allocations", "--jobs", "api"]),
        json!([
            {"allocation_id": stable_uuid("api|10.0.0.2"), "worker_ip": "10.0.0.2", "zone": "b", "job": "api", "disabled": false, "removed": false},
            {"allocation_id": stable_uuid("api|10.0.0.3"), "worker_ip": "10.0.0.3", "zone": "c", "job": "api", "disabled": true, "removed": false},
        ])
    );
    // --active drops the disabled allocation; --workers filters by host.
    let active = b.json(&["cat", "allocations", "--active"]);
    assert_eq!(active.as_array().unwrap().len(), 3);
    let on3 = b.json(&["cat", "allocations", "--workers", "10.0.0.3"]);
    let jobs: Vec<&str> = on3
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["job"].as_str().unwrap())
        .collect();
    assert_eq!(jobs, ["api", "prometheus"]);
    // No match for both filters together: an empty table is an error, JSON is [].
    let o = b.maand(&[
        "cat",
        "allocations",
        "--jobs",
        "database",
        "--workers",
        "10.0.0.3",
    ]);
    assert_eq!(o.failed(), "error: no allocations found\n");
    assert_eq!(o.stdout, "");
    let o = b.maand(&[
        "cat",
        "allocations",
        "--jobs",
        "database",
        "--workers",
        "10.0.0.3",
        "--output",
        "json",
    ]);
    assert_eq!(o.succeeded(), "[]\n");
}

#[test]
fn cat_job_ports() {
    let b = TestBucket::example_built();
    assert_eq!(
        b.ok(&["cat", "job_ports"]),
        "\
| job      | name             | port  |
|----------|------------------|-------|
| api      | api_http_port    | 30000 |
| api      | api_metrics_port | 30001 |
| database | database_port    | 5432  |
"
    );
    assert_eq!(
        b.json(&["cat", "job_ports", "--jobs", "database"]),
        json!([{"job": "database", "name": "database_port", "port": 5432}])
    );
    // prometheus exists but has no ports.
    assert_eq!(
        b.fail(&["cat", "job_ports", "--jobs", "prometheus"]),
        "error: no job ports found\n"
    );
}

#[test]
fn cat_hooks() {
    let b = TestBucket::example_built();
    let table = "\
| job      | command_name    | executed_on | demand_job | demand_command | demand_config                           |
|----------|-----------------|-------------|------------|----------------|-----------------------------------------|
| api      | command_migrate | cli         | database   | command_schema | {\"min_version\":\"2.0.0\",\"max_version\":3} |
| api      | command_migrate | pre_deploy  | database   | command_schema | {\"min_version\":\"2.0.0\",\"max_version\":3} |
| database | command_schema  | cli         |            |                | {}                                      |
| database | command_schema  | post_build  |            |                | {}                                      |
";
    assert_eq!(b.ok(&["cat", "hooks"]), table);
    assert_eq!(b.ok(&["cat", "job_commands"]), table);
    assert_eq!(
        b.json(&["cat", "hooks", "--jobs", "database"]),
        json!([
            {"job": "database", "command_name": "command_schema", "executed_on": "cli", "demand_job": "", "demand_command": "", "demand_config": {}},
            {"job": "database", "command_name": "command_schema", "executed_on": "post_build", "demand_job": "", "demand_command": "", "demand_config": {}},
        ])
    );
    let api = b.json(&["cat", "hooks", "--jobs", "api"]);
    assert_eq!(
        api[0]["demand_config"],
        json!({"min_version": "2.0.0", "max_version": 3})
    );
    assert_eq!(
        b.fail(&["cat", "hooks", "--jobs", "prometheus"]),
        "error: no hooks found\n"
    );
}

#[test]
fn filter_validation() {
    let b = TestBucket::example_built();
    for args in [
        &["cat", "allocations", "--jobs", "x"][..],
        &["cat", "job_ports", "--jobs", "x"],
        &["cat", "hooks", "--jobs", "x"],
        &["cat", "kv", "--jobs", "x"],
    ] {
        assert_eq!(b.fail(args), "error: invalid input, jobs [x]\n", "{args:?}");
    }
    assert_eq!(
        b.fail(&["cat", "allocations", "--jobs", " y, x,,y "]),
        "error: invalid input, jobs [y, x]\n"
    );
    assert_eq!(
        b.fail(&["cat", "allocations", "--workers", "10.9.9.9"]),
        "error: invalid input, workers [10.9.9.9]\n"
    );
    // Some names match: the unknown ones are a warning.
    let o = b.maand(&[
        "cat",
        "allocations",
        "--jobs",
        "database,x",
        "--output",
        "json",
    ]);
    o.succeeded();
    assert_eq!(o.stderr, "warning: unknown jobs ignored: [x]\n");
    let rows: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    let o = b.maand(&["cat", "allocations", "--workers", "10.0.0.1,10.9.9.9"]);
    o.succeeded();
    assert_eq!(o.stderr, "warning: unknown workers ignored: [10.9.9.9]\n");
}

#[test]
fn empty_catalog() {
    let b = TestBucket::new();
    for (args, what) in [
        (&["cat", "workers"][..], "workers"),
        (&["cat", "jobs"], "jobs"),
        (&["cat", "allocations"], "allocations"),
        (&["cat", "job_ports"], "job ports"),
        (&["cat", "hooks"], "hooks"),
        (&["cat", "kv"], "key values"),
    ] {
        let o = b.maand(args);
        assert_eq!(o.failed(), format!("error: no {what} found\n"), "{args:?}");
        assert_eq!(o.stdout, "");
        let mut json_args = args.to_vec();
        json_args.extend(["--output", "json"]);
        assert_eq!(b.ok(&json_args), "[]\n", "{args:?}");
    }
    // `cat` alone prints usage.
    assert!(b.ok(&["cat"]).contains("Usage: maand cat"));
}

#[test]
fn info() {
    let b = TestBucket::example_built();
    let j = b.json(&["info"]);
    let id = j["bucket_id"].as_str().unwrap().to_string();
    assert_eq!(
        j,
        json!({"bucket_id": id, "update_seq": 0, "workers": 3, "jobs": 3, "allocations": 4})
    );
    assert_eq!(
        b.ok(&["info"]),
        format!(
            "\
| Description           | Value                                |
|-----------------------|--------------------------------------|
| Bucket ID             | {id} |
| Update Sequence       | 0                                    |
| Number of Workers     | 3                                    |
| Number of Jobs        | 3                                    |
| Number of Allocations | 4                                    |
"
        )
    );
    // Removed allocations still count.
    b.remove("workspace/jobs/prometheus");
    b.ok(&["build"]);
    assert_eq!(
        b.json(&["info"]),
        json!({"bucket_id": id, "update_seq": 0, "workers": 3, "jobs": 2, "allocations": 4})
    );
}

/// The trimmed cells of the table row for (namespace, key).
fn cells(table: &str, ns: &str, key: &str) -> Vec<String> {
    table
        .lines()
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect::<Vec<_>>()
        })
        .find(|c| c[0] == ns && c[1] == key)
        .unwrap_or_else(|| panic!("{ns} {key} not in\n{table}"))
}

fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[test]
fn cat_kv_table() {
    // A bucket without workers or jobs: a small, complete listing.
    let b = TestBucket::new();
    b.ok(&["build"]);
    let j = b.json(&["cat", "kv"]);
    let created = rfc3339(j[0]["created_date"].as_i64().unwrap());
    let id = b.kv("maand/bucket", "bucket_id");
    assert_eq!(
        b.ok(&["cat", "kv"]),
        format!(
            "\
| Namespace        | Key                | Value                                | Version | TTL | Created              | Deleted |
|------------------|--------------------|--------------------------------------|---------|-----|----------------------|---------|
| maand/bucket     | activejobs         |                                      | 1       | 0   | {created} | 0       |
| maand/bucket     | bucket_id          | {id} | 1       | 0   | {created} | 0       |
| maand/bucket     | jobs               |                                      | 1       | 0   | {created} | 0       |
| maand/prometheus | scrape_configs     | []                                   | 1       | 0   | {created} | 0       |
| maand/prometheus | scrape_jobs        |                                      | 1       | 0   | {created} | 0       |
| maand/prometheus | scrape_jobs_length | 0                                    | 1       | 0   | {created} | 0       |
| maand/worker     | certs/ca.crt       | -----BEGIN CERTIFICATE-----          | 1       | 0   | {created} | 0       |
| vars/bucket      | port_max           | 39999                                | 1       | 0   | {created} | 0       |
| vars/bucket      | port_min           | 30000                                | 1       | 0   | {created} | 0       |
"
        )
    );
    assert_eq!(b.ok(&["cat", "kv", "list"]), b.ok(&["cat", "kv"]));
    assert_eq!(
        j[0],
        json!({"namespace": "maand/bucket", "key": "activejobs", "value": "", "version": 1, "ttl": 0, "created_date": j[0]["created_date"], "deleted": false})
    );
}

#[test]
fn cat_kv_get() {
    let b = TestBucket::example_built();
    let j = b.json(&["cat", "kv", "get", "vars/bucket", "environment"]);
    let created = j["created_date"].as_i64().unwrap();
    assert_eq!(
        j,
        json!({"namespace": "vars/bucket", "key": "environment", "value": "production", "version": 1, "ttl": 0, "created_date": created, "deleted": false})
    );
    assert_eq!(
        b.ok(&["cat", "kv", "get", "vars/bucket", "environment"]),
        format!(
            "namespace: vars/bucket\nkey: environment\nvalue: production\nversion: 1\nttl: 0\ncreated_date: {}\n",
            rfc3339(created)
        )
    );
    // --jobs/--active/--deleted are accepted by get and ignored; --reveal is a no-op here.
    assert_eq!(
        b.json(&[
            "cat",
            "kv",
            "get",
            "vars/bucket",
            "environment",
            "--reveal",
            "--jobs",
            "x",
            "--active"
        ]),
        j
    );
    let o = b.maand(&["cat", "kv", "get", "vars/bucket", "nope"]);
    assert_eq!(
        o.failed(),
        "error: key not found: namespace vars/bucket, key nope\n"
    );
    assert_eq!(o.stdout, "");
    let o = b.maand(&[
        "cat",
        "kv",
        "get",
        "vars/nope",
        "environment",
        "--output",
        "json",
    ]);
    assert_eq!(
        o.failed(),
        "error: key not found: namespace vars/nope, key environment\n"
    );
    assert_eq!(o.stdout, "");
}

#[test]
fn cat_kv_display_rules() {
    let b = TestBucket::example();
    let long = "x".repeat(60);
    b.write(
        "workspace/jobs/database/vars.toml",
        format!(
            "cluster_name = \"prod-east\"\nmax_connections = 200\nbanner = \"{long}\"\nexact = \"{}\"\n\"certs/db.crt\" = \"\"\"\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n\"\"\"\n",
            "y".repeat(50)
        ),
    );
    b.ok(&["build"]);
    let table = b.ok(&["cat", "kv", "--jobs", "database", "--active"]);
    let value = |key: &str| cells(&table, "vars/job/database", key)[2].clone();
    // Longer than 50 characters: the first 50 and "...".
    assert_eq!(value("banner"), format!("{}...", "x".repeat(50)));
    assert_eq!(value("exact"), "y".repeat(50));
    // certs/*: the first line only (values are trimmed when stored).
    assert_eq!(value("certs/db.crt"), "-----BEGIN CERTIFICATE-----");
    // get and JSON show full values.
    assert_eq!(b.kv("vars/job/database", "banner"), long);
    assert_eq!(
        b.kv("vars/job/database", "certs/db.crt"),
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    );
    let all = b.json(&["cat", "kv", "--jobs", "database"]);
    let banner = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "banner")
        .unwrap();
    assert_eq!(banner["value"], long.as_str());
    // --jobs database: its read set only (no api namespaces, no other worker).
    let namespaces: std::collections::BTreeSet<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(
        namespaces.into_iter().collect::<Vec<_>>(),
        [
            "maand/bucket",
            "maand/job/database",
            "maand/job/database/worker/10.0.0.1",
            "maand/prometheus",
            "maand/worker",
            "maand/worker/10.0.0.1",
            "maand/worker/10.0.0.1/tags",
            "vars/bucket",
            "vars/bucket/job/database",
            "vars/job/database",
        ]
    );
    // api demands database: it also reads maand/job/database and vars/job/database.
    let api = b.json(&["cat", "kv", "--jobs", "api"]);
    let api_ns: std::collections::BTreeSet<&str> = api
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["namespace"].as_str().unwrap())
        .collect();
    for ns in [
        "maand/job/database",
        "vars/job/database",
        "maand/worker/10.0.0.3",
        "maand/job/api/worker/10.0.0.3",
    ] {
        assert!(api_ns.contains(ns), "{ns}");
    }
    for ns in [
        "vars/bucket/job/database",
        "maand/job/database/worker/10.0.0.1",
        "maand/worker/10.0.0.1",
    ] {
        assert!(!api_ns.contains(ns), "{ns}");
    }
}

#[test]
fn cat_kv_active_and_deleted() {
    let b = TestBucket::example_built();
    assert_eq!(
        b.fail(&["cat", "kv", "--active", "--deleted"]),
        "error: cannot use --active and --deleted together\n"
    );
    assert_eq!(
        b.fail(&[
            "cat",
            "kv",
            "list",
            "--active",
            "--deleted",
            "--output",
            "json"
        ]),
        "error: cannot use --active and --deleted together\n"
    );
    assert_eq!(
        b.fail(&["cat", "kv", "--deleted"]),
        "error: no key values found\n"
    );
    assert_eq!(
        b.ok(&["cat", "kv", "--deleted", "--output", "json"]),
        "[]\n"
    );
    b.write(
        "workspace/bucket.conf",
        "port_min = 30000\nport_max = 39999\n",
    );
    b.ok(&["build"]);
    let deleted = b.json(&["cat", "kv", "--deleted"]);
    assert_eq!(deleted.as_array().unwrap().len(), 1);
    assert_eq!(deleted[0]["key"], "environment");
    let all = b.json(&["cat", "kv"]).as_array().unwrap().len();
    let active = b.json(&["cat", "kv", "--active"]).as_array().unwrap().len();
    assert_eq!(all, active + 1);
}

/// Writes a secret the way hooks do (AES-256-GCM under secrets/kv.key, `enc:v1:`).
fn insert_secret(b: &TestBucket, ns: &str, key: &str, plaintext: &str) {
    use aes_gcm::aead::{Aead, KeyInit};
    use base64::Engine;
    let k = std::fs::read(b.path("secrets/kv.key")).unwrap();
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&k).unwrap();
    let nonce = [7u8; 12];
    let mut blob = nonce.to_vec();
    blob.extend(
        cipher
            .encrypt(aes_gcm::Nonce::from_slice(&nonce), plaintext.as_bytes())
            .unwrap(),
    );
    let value = format!(
        "enc:v1:{}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    );
    let conn = rusqlite::Connection::open(b.path("data/maand.db")).unwrap();
    conn.execute(
        "INSERT INTO key_value (namespace, key, value, version, ttl, created_date, deleted) VALUES (?1, ?2, ?3, 1, 0, 1740824525, 0)",
        rusqlite::params![ns, key, value],
    )
    .unwrap();
}

#[test]
fn cat_kv_masks_secrets() {
    let b = TestBucket::example_built();
    insert_secret(&b, "secrets/job/database", "password", "  s3cret pw  ");
    let table = b.ok(&["cat", "kv", "--jobs", "database"]);
    assert_eq!(
        cells(&table, "secrets/job/database", "password"),
        [
            "secrets/job/database",
            "password",
            "[encrypted]",
            "1",
            "0",
            "2025-03-01T10:22:05Z",
            "0"
        ]
    );
    assert!(!table.contains("s3cret"));
    let json = b.ok(&["cat", "kv", "--output", "json"]);
    assert!(json.contains("\"value\": \"[encrypted]\""));
    assert!(!json.contains("s3cret") && !json.contains("enc:v1:"));
    assert_eq!(b.kv("secrets/job/database", "password"), "[encrypted]");
    assert_eq!(
        b.ok(&["cat", "kv", "get", "secrets/job/database", "password"]),
        "namespace: secrets/job/database\nkey: password\nvalue: [encrypted]\nversion: 1\nttl: 0\ncreated_date: 2025-03-01T10:22:05Z\n"
    );
    // --reveal decrypts with secrets/kv.key; plaintext is not trimmed.
    let revealed = b.json(&[
        "cat",
        "kv",
        "get",
        "secrets/job/database",
        "password",
        "--reveal",
    ]);
    assert_eq!(revealed["value"], "  s3cret pw  ");
    // A wrong key file fails the reveal, never the listing.
    b.write("secrets/kv.key", [1u8; 32]);
    assert_eq!(
        b.fail(&[
            "cat",
            "kv",
            "get",
            "secrets/job/database",
            "password",
            "--reveal"
        ]),
        "error: decrypt secrets/job/database/password: failed to decrypt kv value\n"
    );
    b.write("secrets/kv.key", [1u8; 31]);
    assert_eq!(
        b.fail(&["cat", "kv", "get", "secrets/job/database", "password", "--reveal"]),
        "error: decrypt secrets/job/database/password: kv encryption key is missing or invalid (secrets/kv.key)\n"
    );
    b.ok(&["cat", "kv"]);
    // A secret survives a rebuild untouched (build never writes secrets/job/*).
    b.ok(&["build"]);
    let j = b.json(&["cat", "kv", "get", "secrets/job/database", "password"]);
    assert_eq!(j["version"], 1);
}
