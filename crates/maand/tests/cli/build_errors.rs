//! One test per build error (spec 03 §18) and workspace error (spec 02): each starts from a
//! successful build of the example, breaks one thing, and checks the exact message, exit 1,
//! no panic, and a catalog identical to the one before the failed build.

use crate::harness::{job, TestBucket};
use serde_json::{json, Value};

/// The built example with one edit applied; the next build must fail with `expected`.
#[track_caller]
fn broken(edit: impl FnOnce(&TestBucket), expected: &str) -> String {
    let b = TestBucket::example_built();
    edit(&b);
    b.build_fails(expected)
}

/// [`broken`], asserting the whole error text (`error: {expected}` and nothing after it).
#[track_caller]
fn broken_exactly(edit: impl FnOnce(&TestBucket), expected: &str) {
    let err = broken(edit, expected);
    assert_eq!(err, format!("error: {expected}\n"));
}

fn manifest(b: &TestBucket, job: &str, edit: impl FnOnce(&mut Value)) {
    let rel = format!("workspace/jobs/{job}/manifest.json");
    let mut m: Value = serde_json::from_str(&b.read(&rel)).unwrap();
    edit(&mut m);
    b.write(&rel, serde_json::to_string_pretty(&m).unwrap());
}

fn migrate_demand(b: &TestBucket, demand: Value) {
    manifest(b, "api", |m| {
        m["commands"]["command_migrate"]["demands"] = demand;
    });
}

fn set_version(b: &TestBucket, job: &str, v: Value) {
    manifest(b, job, |m| m["version"] = v);
}

/// Rewrites `rel` with `from` replaced by Latin-1 `to` bytes: still valid TOML or JSON
/// apart from the encoding, so only the UTF-8 check can reject it.
fn latin1(b: &TestBucket, rel: &str, from: &str, to: &[u8]) {
    let text = b.read(rel);
    let at = text
        .find(from)
        .unwrap_or_else(|| panic!("{from:?} not in {rel}"));
    let mut bytes = text.as_bytes()[..at].to_vec();
    bytes.extend_from_slice(to);
    bytes.extend_from_slice(&text.as_bytes()[at + from.len()..]);
    b.write(rel, bytes);
}

// ---- files that are not UTF-8 --------------------------------------------------------------

#[test]
fn maand_conf_not_utf8() {
    broken_exactly(
        |b| latin1(b, "maand.conf", "\"agent\"", b"\"ag\xe9nt\""),
        "invalid maand.conf: maand.conf: not valid UTF-8",
    );
}

#[test]
fn bucket_conf_not_utf8() {
    broken_exactly(
        |b| {
            latin1(
                b,
                "workspace/bucket.conf",
                "\"production\"",
                b"\"produ\xe7tion\"",
            )
        },
        "invalid bucket.conf: workspace/bucket.conf: not valid UTF-8",
    );
}

#[test]
fn bucket_jobs_conf_not_utf8() {
    broken_exactly(
        |b| {
            latin1(
                b,
                "workspace/bucket.jobs.prod.conf",
                "[api]",
                b"# caf\xe9\n[api]",
            )
        },
        "invalid bucket.conf: workspace/bucket.jobs.prod.conf: not valid UTF-8",
    );
}

#[test]
fn workers_json_not_utf8() {
    broken_exactly(
        |b| latin1(b, "workspace/workers.json", "node-a", b"n\xf6de-a"),
        "invalid workers.json: workspace/workers.json: not valid UTF-8",
    );
}

#[test]
fn disabled_json_not_utf8() {
    broken_exactly(
        |b| latin1(b, "workspace/disabled.json", "10.0.0.3", b"10.0.0.3\xe9"),
        "invalid disabled.json: workspace/disabled.json: not valid UTF-8",
    );
}

#[test]
fn manifest_not_utf8() {
    broken_exactly(
        |b| {
            latin1(
                b,
                "workspace/jobs/api/manifest.json",
                "api.internal",
                b"\xe9pi.internal",
            )
        },
        "invalid manifest.json: workspace/jobs/api/manifest.json: not valid UTF-8",
    );
}

#[test]
fn vars_toml_not_utf8() {
    broken_exactly(
        |b| {
            let vars = b.read("workspace/jobs/database/vars.toml");
            let mut bytes = b"# caf\xe9\n".to_vec();
            bytes.extend_from_slice(vars.as_bytes());
            b.write("workspace/jobs/database/vars.toml", bytes);
        },
        "invalid vars.toml: workspace/jobs/database/vars.toml: not valid UTF-8",
    );
}

// ---- maand.conf ---------------------------------------------------------------------------

#[test]
fn maand_conf_malformed_toml() {
    broken(
        |b| b.write("maand.conf", "ssh_user = \n"),
        "invalid maand.conf: maand.conf: invalid string",
    );
}

#[test]
fn maand_conf_wrong_type() {
    broken(
        |b| b.write("maand.conf", "use_sudo = \"yes\"\n"),
        "invalid maand.conf: maand.conf: use_sudo: expected a boolean, found string",
    );
}

#[test]
fn maand_conf_negative_certs_ttl() {
    broken(
        |b| b.write("maand.conf", "certs_ttl = -1\n"),
        "invalid maand.conf: maand.conf: certs_ttl: must not be negative (got -1)",
    );
}

#[test]
fn maand_conf_bad_job_config_selector() {
    broken(
        |b| b.write("maand.conf", "job_config_selector = \"../x\"\n"),
        "invalid maand.conf: maand.conf: job_config_selector: \"../x\" must match ^[A-Za-z0-9_.-]*$",
    );
}

// ---- bucket.conf and the port pool ---------------------------------------------------------

#[test]
fn bucket_conf_malformed_toml() {
    broken(
        |b| b.write("workspace/bucket.conf", "port_min = \"30000\n"),
        "invalid bucket.conf: workspace/bucket.conf: ",
    );
}

#[test]
fn bucket_conf_array_value() {
    broken(
        |b| b.write("workspace/bucket.conf", "zones = [\"a\", \"b\"]\n"),
        "invalid bucket.conf: invalid value for key zones in workspace/bucket.conf: tables and arrays are not allowed",
    );
}

#[test]
fn port_range_not_an_integer() {
    broken(
        |b| b.write("workspace/bucket.conf", "port_min = \"3x\"\n"),
        "invalid port range in bucket.conf: workspace/bucket.conf: port_min \"3x\" is not a base-10 integer",
    );
}

#[test]
fn port_range_min_above_max() {
    broken(
        |b| b.write("workspace/bucket.conf", "port_min = 40000\nport_max = 30000\n"),
        "invalid port range in bucket.conf: workspace/bucket.conf: need 1 <= port_min <= port_max <= 65535, got port_min 40000, port_max 30000",
    );
}

#[test]
fn port_range_min_zero() {
    broken_exactly(
        |b| b.write("workspace/bucket.conf", "port_min = 0\n"),
        "invalid port range in bucket.conf: workspace/bucket.conf: need 1 <= port_min <= port_max <= 65535, got port_min 0, port_max 39999",
    );
}

#[test]
fn port_range_above_65535() {
    broken(
        |b| b.write("workspace/bucket.conf", "port_max = 70000\n"),
        "invalid port range in bucket.conf: workspace/bucket.conf: need 1 <= port_min <= port_max <= 65535, got port_min 30000, port_max 70000",
    );
}

// ---- bucket.jobs[.<selector>].conf ---------------------------------------------------------

#[test]
fn bucket_jobs_conf_malformed_toml() {
    broken(
        |b| b.write("workspace/bucket.jobs.prod.conf", "[api\nmemory = 1\n"),
        "invalid bucket.conf: workspace/bucket.jobs.prod.conf: ",
    );
}

#[test]
fn bucket_jobs_conf_top_level_key() {
    broken(
        |b| b.write("workspace/bucket.jobs.prod.conf", "memory = \"1 gb\"\n"),
        "invalid bucket.conf: workspace/bucket.jobs.prod.conf: top-level key \"memory\" must be a [job] table",
    );
}

#[test]
fn bucket_jobs_conf_array_value() {
    broken(
        |b| b.write("workspace/bucket.jobs.prod.conf", "[api]\nhosts = [1]\n"),
        "invalid bucket.conf: workspace/bucket.jobs.prod.conf: [api]: invalid value for key hosts in workspace/bucket.jobs.prod.conf: tables and arrays are not allowed",
    );
}

#[test]
fn bucket_jobs_conf_unparsable_unit() {
    broken_exactly(
        |b| {
            b.write(
                "workspace/bucket.jobs.prod.conf",
                "[api]\nmemory = \"lots\"\n",
            )
        },
        "invalid bucket.conf: workspace/bucket.jobs.prod.conf: [api] memory: invalid value \"lots\" (units: mb, gb, tb)",
    );
}

#[test]
fn bucket_jobs_conf_default_file_is_read_without_selector() {
    // With job_config_selector = "" the file is bucket.jobs.conf (the prod file is ignored).
    broken(
        |b| {
            b.write("maand.conf", "");
            b.write("workspace/bucket.jobs.conf", "[api\n");
        },
        "invalid bucket.conf: workspace/bucket.jobs.conf: ",
    );
}

#[test]
fn unsupported_resource_configuration_above_max() {
    broken(
        |b| b.write("workspace/bucket.jobs.prod.conf", "[api]\nmemory = \"4 gb\"\n"),
        "unsupported resource configuration: bucket.jobs.prod.conf, job api max_memory_mb 2048.00 mb, requested 4096.00 mb",
    );
}

#[test]
fn unsupported_resource_configuration_below_min() {
    broken(
        |b| {
            b.write("maand.conf", "");
            b.write("workspace/bucket.jobs.conf", "[api]\ncpu = \"100 mhz\"\n");
        },
        "unsupported resource configuration: bucket.jobs.conf, job api min_cpu_mhz 200.00 mhz, requested 100.00 mhz",
    );
}

// ---- workers.json --------------------------------------------------------------------------

#[test]
fn workers_json_malformed() {
    broken(
        |b| b.write("workspace/workers.json", "[{\"host\": \"10.0.0.1\",}]"),
        "invalid workers.json: workspace/workers.json: ",
    );
}

#[test]
fn workers_json_not_an_array() {
    broken(
        |b| b.write("workspace/workers.json", "{\"host\": \"10.0.0.1\"}"),
        "invalid workers.json: workspace/workers.json: expected a JSON array of worker objects",
    );
}

#[test]
fn workers_json_duplicate_host() {
    broken(
        |b| {
            b.write(
                "workspace/workers.json",
                "[{\"host\": \"10.0.0.1\"}, {\"host\": \"10.0.0.1\"}]",
            )
        },
        "invalid workers.json: workspace/workers.json: [1].host: duplicate host \"10.0.0.1\"",
    );
}

#[test]
fn workers_json_bad_memory_unit() {
    broken(
        |b| {
            b.write(
                "workspace/workers.json",
                "[{\"host\": \"10.0.0.1\", \"memory\": \"12 GiB\"}]",
            )
        },
        "invalid workers.json: workspace/workers.json: worker 10.0.0.1: memory: ",
    );
}

#[test]
fn workers_json_negative_position() {
    broken(
        |b| {
            b.write(
                "workspace/workers.json",
                "[{\"host\": \"10.0.0.1\", \"position\": -1}]",
            )
        },
        "invalid workers.json: workspace/workers.json: worker 10.0.0.1: position: -1 must be an integer >= 0",
    );
}

#[test]
fn workers_json_duplicate_label() {
    broken(
        |b| {
            b.write(
                "workspace/workers.json",
                "[{\"host\": \"10.0.0.1\", \"labels\": [\"db\", \"DB\"]}]",
            )
        },
        "invalid workers.json: workspace/workers.json: worker 10.0.0.1: duplicate labels: \"db\"",
    );
}

/// Replaces `from` with `to` in the example's workers.json.
fn workers_edit(b: &TestBucket, from: &str, to: &str) {
    let w = b.read("workspace/workers.json");
    assert!(w.contains(from), "{from:?} not in workers.json");
    b.write("workspace/workers.json", w.replacen(from, to, 1));
}

#[test]
fn workers_json_empty_host() {
    broken_exactly(
        |b| workers_edit(b, "\"host\": \"10.0.0.2\"", "\"host\": \" \""),
        "invalid workers.json: workspace/workers.json: [1].host: \"\" is not a valid host (1-253 characters of A-Z a-z 0-9 . - : _, not starting with -)",
    );
}

#[test]
fn workers_json_malformed_host() {
    broken_exactly(
        |b| workers_edit(b, "\"host\": \"10.0.0.2\"", "\"host\": \"-node b\""),
        "invalid workers.json: workspace/workers.json: [1].host: \"-node b\" is not a valid host (1-253 characters of A-Z a-z 0-9 . - : _, not starting with -)",
    );
}

#[test]
fn workers_json_malformed_label() {
    broken_exactly(
        |b| workers_edit(b, "[\"db\"]", "[\"db\", \"Fast Disk\"]"),
        "invalid workers.json: workspace/workers.json: worker 10.0.0.1: labels: \"fast disk\" must match ^[a-z0-9][a-z0-9_.:-]*$",
    );
}

#[test]
fn workers_json_non_string_tag() {
    broken_exactly(
        |b| workers_edit(b, "\"zone\": \"b\"", "\"zone\": 2"),
        "invalid workers.json: workspace/workers.json: worker 10.0.0.2: tags.zone: expected a string value",
    );
}

#[test]
fn workers_json_bad_cpu_value() {
    broken_exactly(
        |b| workers_edit(b, "\"cpu\": \"4 ghz\"", "\"cpu\": \"4 cores\""),
        "invalid workers.json: workspace/workers.json: worker 10.0.0.3: cpu: invalid size \"4 cores\" (units: mhz, ghz, thz)",
    );
}

#[test]
fn workers_json_negative_memory() {
    broken_exactly(
        |b| workers_edit(b, "\"memory\": \"16 gb\"", "\"memory\": -1024"),
        "invalid workers.json: workspace/workers.json: worker 10.0.0.1: memory: -1024 must not be negative",
    );
}

// ---- disabled.json -------------------------------------------------------------------------

#[test]
fn disabled_json_malformed() {
    broken(
        |b| b.write("workspace/disabled.json", "{ \"jobs\": "),
        "invalid disabled.json: workspace/disabled.json: ",
    );
}

#[test]
fn disabled_json_wrong_shape() {
    broken_exactly(
        |b| b.write("workspace/disabled.json", "{ \"workers\": \"10.0.0.3\" }"),
        "invalid disabled.json: workspace/disabled.json: workers: expected an array of host strings",
    );
}

// ---- manifest.json -------------------------------------------------------------------------

#[test]
fn manifest_malformed_json() {
    broken(
        |b| {
            b.write(
                "workspace/jobs/api/manifest.json",
                "{ \"version\": \"1.0\", }",
            )
        },
        "invalid manifest.json: workspace/jobs/api/manifest.json: ",
    );
}

#[test]
fn manifest_not_an_object() {
    broken_exactly(
        |b| b.write("workspace/jobs/prometheus/manifest.json", "[]"),
        "invalid manifest.json: workspace/jobs/prometheus/manifest.json: expected a JSON object",
    );
}

#[test]
fn manifest_bad_memory_unit() {
    broken(
        |b| manifest(b, "api", |m| m["resources"]["memory"]["min"] = json!("12 GiB")),
        "invalid manifest.json: workspace/jobs/api/manifest.json: resources.memory.min: invalid memory size \"12 GiB\" (units: mb, gb, tb)",
    );
}

#[test]
fn manifest_min_above_max() {
    broken(
        |b| manifest(b, "api", |m| m["resources"]["cpu"]["min"] = json!("3 ghz")),
        "invalid manifest.json: workspace/jobs/api/manifest.json: resources.cpu: min 3000 > max 2000",
    );
}

#[test]
fn manifest_bad_restart_policy() {
    broken(
        |b| manifest(b, "api", |m| m["restart_policy"] = json!("sometimes")),
        "invalid manifest.json: workspace/jobs/api/manifest.json: restart_policy",
    );
}

#[test]
fn manifest_restart_globs_without_reload() {
    broken(
        |b| manifest(b, "api", |m| m["restart_policy"] = json!("always")),
        "invalid manifest.json: workspace/jobs/api/manifest.json: restart_globs requires restart_policy reload",
    );
}

#[test]
fn manifest_negative_min_allocations_count() {
    broken(
        |b| manifest(b, "database", |m| m["min_allocations_count"] = json!(-1)),
        "invalid manifest.json: workspace/jobs/database/manifest.json: min_allocations_count",
    );
}

#[test]
fn manifest_health_check_unknown_port() {
    broken(
        |b| {
            manifest(b, "api", |m| {
                m["health_check"]["checks"][0]["port"] = json!("api_admin_port")
            })
        },
        "invalid manifest.json: workspace/jobs/api/manifest.json: job api health_check.checks[0]: port \"api_admin_port\" not in resources.ports",
    );
}

#[test]
fn manifest_bad_cert_name() {
    broken(
        |b| manifest(b, "api", |m| m["certs"] = json!({"../tls": {}})),
        "invalid manifest.json: workspace/jobs/api/manifest.json: job api cert \"../tls\"",
    );
}

// ---- vars.toml -----------------------------------------------------------------------------

#[test]
fn vars_toml_malformed() {
    broken(
        |b| b.write("workspace/jobs/database/vars.toml", "cluster_name = prod\n"),
        "invalid vars.toml: workspace/jobs/database/vars.toml: ",
    );
}

#[test]
fn vars_toml_table_value() {
    broken(
        |b| b.write("workspace/jobs/database/vars.toml", "[pool]\nsize = 3\n"),
        "invalid vars.toml: invalid value for key pool in workspace/jobs/database/vars.toml: tables and arrays are not allowed",
    );
}

// ---- ports ---------------------------------------------------------------------------------

#[test]
fn port_key_format() {
    broken(
        |b| manifest(b, "api", |m| m["resources"]["ports"]["Bad-Port"] = json!({})),
        "invalid port key format: workspace/jobs/api/manifest.json: job api: port \"Bad-Port\" must match ^[a-z][a-z0-9_]*$",
    );
}

#[test]
fn manifest_port_string() {
    broken(
        |b| manifest(b, "api", |m| m["resources"]["ports"]["api_http_port"] = json!("8080")),
        "invalid manifest port declaration: workspace/jobs/api/manifest.json: job api: port \"api_http_port\": \"8080\" is neither {} nor an integer 1-65535",
    );
}

#[test]
fn manifest_port_out_of_range() {
    broken(
        |b| manifest(b, "api", |m| m["resources"]["ports"]["api_http_port"] = json!(70000)),
        "invalid manifest port declaration: workspace/jobs/api/manifest.json: job api: port \"api_http_port\": 70000 is neither {} nor an integer 1-65535",
    );
}

#[test]
fn manifest_port_non_empty_object() {
    broken(
        |b| manifest(b, "api", |m| m["resources"]["ports"]["api_http_port"] = json!({"a": 1})),
        "invalid manifest port declaration: workspace/jobs/api/manifest.json: job api: port \"api_http_port\": {\"a\":1} is neither {} nor an integer 1-65535",
    );
}

#[test]
fn port_collision_between_jobs() {
    broken(
        |b| {
            job(b, "a", r#"{"resources": {"ports": {"shared_port": 30010}}}"#);
            job(b, "b", r#"{"resources": {"ports": {"shared_port": 30010}}}"#);
        },
        "port collision: port 30010 (job b port \"shared_port\") is already used by job a port \"shared_port\"",
    );
}

#[test]
fn port_collision_within_a_job() {
    broken(
        |b| manifest(b, "database", |m| m["resources"]["ports"]["database_admin_port"] = json!(5432)),
        // database_port keeps 5432 from the previous build (retained before fixed ports
        // are claimed), so the new name is the one that collides.
        "port collision: port 5432 (job database port \"database_admin_port\") is already used by job database port \"database_port\"",
    );
}

#[test]
fn port_collision_with_a_pool_port() {
    // api_http_port holds 30000 from the pool; a new fixed 30000 may not displace it.
    broken(
        |b| job(b, "cache", r#"{"resources": {"ports": {"cache_port": 30000}}}"#),
        "port collision: port 30000 (job cache port \"cache_port\") is already used by job api port \"api_http_port\"",
    );
}

#[test]
fn port_range_exhausted() {
    broken(
        |b| {
            b.write(
                "workspace/bucket.conf",
                "port_min = 30000\nport_max = 30000\n",
            )
        },
        "port range exhausted: no free ports in range 30000-30000",
    );
}

// ---- demands, versions, cycles (spec 03 §7) ------------------------------------------------

#[test]
fn demand_half_set() {
    broken(
        |b| migrate_demand(b, json!({"job": "database"})),
        "invalid job command demand: job api hook command_migrate: demands.job and demands.command must both be set",
    );
}

#[test]
fn demand_self_reference() {
    broken(
        |b| migrate_demand(b, json!({"job": "api", "command": "command_migrate"})),
        "invalid job command configuration: job api hook command_migrate: self referencing demand",
    );
}

#[test]
fn demand_unknown_job() {
    broken(
        |b| migrate_demand(b, json!({"job": "databse", "command": "command_schema"})),
        "invalid job command demand: job api hook command_migrate demands unknown job \"databse\"",
    );
}

#[test]
fn demand_undeclared_hook() {
    broken(
        |b| migrate_demand(b, json!({"job": "database", "command": "command_x"})),
        "invalid job command demand: job api hook command_migrate demands job \"database\" hook \"command_x\" which is not declared",
    );
}

#[test]
fn version_unparsable() {
    broken(
        |b| set_version(b, "api", json!("1.x")),
        "invalid job version: workspace/jobs/api/manifest.json: job \"api\": version: invalid segment \"x\" in \"1.x\"",
    );
}

#[test]
fn version_unknown_is_rejected() {
    broken_exactly(
        |b| set_version(b, "prometheus", json!("unknown")),
        "invalid job version: workspace/jobs/prometheus/manifest.json: job \"prometheus\": version: \"unknown\" is not a version",
    );
}

#[test]
fn version_missing_on_a_participant() {
    broken(
        |b| {
            manifest(b, "database", |m| {
                m.as_object_mut()
                    .unwrap()
                    .remove("version")
                    .map(drop)
                    .unwrap()
            })
        },
        "invalid job version: job \"database\" must declare version (dependency participant)",
    );
}

#[test]
fn demand_min_version_wrong_type() {
    broken(
        |b| {
            migrate_demand(
                b,
                json!({"job": "database", "command": "command_schema", "config": {"min_version": true}}),
            )
        },
        "invalid job version: job api hook command_migrate: demands.config.min_version: true is not a version",
    );
}

#[test]
fn demand_min_version_unparsable() {
    broken(
        |b| {
            migrate_demand(
                b,
                json!({"job": "database", "command": "command_schema", "config": {"max_version": "1.2.3.4"}}),
            )
        },
        "invalid job version: job api hook command_migrate: demands.config.max_version: ",
    );
}

#[test]
fn demand_min_above_max() {
    broken(
        |b| {
            migrate_demand(
                b,
                json!({"job": "database", "command": "command_schema", "config": {"min_version": "3.0.0", "max_version": 2}}),
            )
        },
        "invalid job command configuration: job api hook command_migrate: min_version 3.0.0 > max_version 2.0.0",
    );
}

#[test]
fn demand_version_below_min() {
    broken(
        |b| set_version(b, "database", json!("1.0.0")),
        "job command demand version mismatch: job api hook command_migrate depends on database: upstream version 1.0.0 below min_version 2.0.0",
    );
}

#[test]
fn demand_version_above_max() {
    // max_version 3 means 3.0.0 inclusive; 3.0.1 is outside.
    broken(
        |b| set_version(b, "database", json!("3.0.1")),
        "job command demand version mismatch: job api hook command_migrate depends on database: upstream version 3.0.1 above max_version 3.0.0",
    );
}

#[test]
fn demand_cycle() {
    broken(
        |b| {
            manifest(b, "database", |m| {
                m["commands"]["command_schema"]["demands"] =
                    json!({"job": "api", "command": "command_migrate"})
            })
        },
        "circular job command dependency: api -> database -> api",
    );
}

#[test]
fn demand_cycle_of_three() {
    broken(
        |b| {
            for (name, up) in [("x", "y"), ("y", "z"), ("z", "x")] {
                job(
                    b,
                    name,
                    &format!(
                        r#"{{"version": "1.0", "selectors": ["db"], "commands": {{"command_c": {{"executed_on": ["cli"], "demands": {{"job": "{up}", "command": "command_c"}}}}}}}}"#
                    ),
                );
                b.write(&format!("workspace/jobs/{name}/_modules/command_c.py"), "");
            }
        },
        "circular job command dependency: x -> y -> z -> x",
    );
}

// ---- hooks ---------------------------------------------------------------------------------

#[test]
fn hook_name_without_prefix() {
    broken(
        |b| manifest(b, "prometheus", |m| m["commands"] = json!({"reload": {"executed_on": ["cli"]}})),
        "invalid job command configuration: workspace/jobs/prometheus/manifest.json: job prometheus hook reload: name must match ^command_[A-Za-z0-9_][A-Za-z0-9_-]*$",
    );
}

#[test]
fn hook_missing_executed_on() {
    broken(
        |b| manifest(b, "prometheus", |m| m["commands"] = json!({"command_x": {"executed_on": []}})),
        "invalid job command configuration: workspace/jobs/prometheus/manifest.json: job prometheus hook command_x: missing executed_on",
    );
}

#[test]
fn hook_invalid_executed_on() {
    broken(
        |b| manifest(b, "prometheus", |m| m["commands"] = json!({"command_x": {"executed_on": ["post-build"]}})),
        "invalid job command configuration: workspace/jobs/prometheus/manifest.json: job prometheus hook command_x: invalid executed_on \"post-build\"",
    );
}

#[test]
fn hook_script_missing() {
    broken(
        |b| b.remove("workspace/jobs/database/_modules/command_schema.py"),
        "job command file not found: expected command_schema.py, command_schema.ts, or command_schema.js under workspace/jobs/database/_modules",
    );
}

#[test]
fn hook_script_duplicated() {
    broken(
        |b| b.write("workspace/jobs/database/_modules/command_schema.ts", ""),
        "invalid job command configuration: multiple implementations for command_schema under workspace/jobs/database/_modules (use only one of .py, .ts, .js)",
    );
}

// ---- job directories -----------------------------------------------------------------------

#[test]
fn job_without_makefile() {
    broken(
        |b| b.remove("workspace/jobs/prometheus/Makefile"),
        "invalid job: job prometheus: Makefile or Makefile.tpl not found",
    );
}

#[test]
fn job_reserved_directories() {
    for reserved in ["data", "logs", "bin"] {
        broken(
            |b| b.write(&format!("workspace/jobs/prometheus/{reserved}/x"), ""),
            &format!("invalid job: job prometheus: {reserved} directory is reserved"),
        );
    }
}

#[test]
fn job_file_and_template_pair() {
    broken(
        |b| {
            b.write("workspace/jobs/api/conf/app.yml", "");
            b.write("workspace/jobs/api/conf/app.yml.tpl", "");
        },
        "invalid job: job api: both conf/app.yml and conf/app.yml.tpl exist; keep only one",
    );
    broken(
        |b| b.write("workspace/jobs/api/config.json", "{}"),
        "invalid job: job api: both config.json and config.json.tpl exist; keep only one",
    );
}

#[test]
fn job_makefile_and_makefile_tpl() {
    broken(
        |b| b.write("workspace/jobs/api/Makefile", "start:\n"),
        "invalid job: job api: both Makefile and Makefile.tpl exist; keep only one",
    );
}

#[test]
fn job_prometheus_yml_and_template() {
    broken_exactly(
        |b| b.write("workspace/jobs/prometheus/prometheus.yml", ""),
        "invalid job: job prometheus: cannot define both prometheus.yml and prometheus.yml.tpl",
    );
}

#[test]
fn job_bad_name() {
    broken(
        |b| job(b, "bad name", "{}"),
        "invalid job: job name \"bad name\" must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$ (at most 128 characters)",
    );
}

#[test]
fn job_symlinked_directory() {
    broken(
        |b| {
            std::os::unix::fs::symlink(
                b.path("workspace/jobs/api"),
                b.path("workspace/jobs/prometheus/linked"),
            )
            .unwrap()
        },
        "invalid job: job prometheus: linked: symbolic links to directories are not supported",
    );
}

// ---- templates (spec 05 §1: checked at build, not first at deploy) -------------------------

#[test]
fn template_syntax_error() {
    broken_exactly(
        |b| b.write("workspace/jobs/api/x.tpl", "{\n  {{ if .WorkerIP }}\n}\n"),
        "template error: job api, x.tpl:2:3: unexpected EOF",
    );
}

#[test]
fn template_undefined_function_in_unexecuted_branch() {
    broken_exactly(
        |b| {
            b.write(
                "workspace/jobs/api/conf/x.tpl",
                "a\n{{ if false }}{{ frob .Job }}{{ end }}\n",
            )
        },
        "template error: job api, conf/x.tpl:2:15: function \"frob\" not defined",
    );
}

#[test]
fn templates_under_modules_are_not_checked() {
    // `_modules/` holds hook scripts; a .tpl there is never rendered, so not checked.
    let b = TestBucket::example_built();
    b.write("workspace/jobs/api/_modules/x.tpl", "{{ if }\n{{ frob }}\n");
    b.ok(&["build"]);
    // Nor rendered by deploy (render previews exactly what deploy stages).
    let all = b.ok(&["render", "api"]);
    assert!(all.contains("==> config.json <=="), "{all}");
    assert!(!all.contains("_modules"), "{all}");
}

// ---- placement and capacity ----------------------------------------------------------------

#[test]
fn insufficient_allocations() {
    let err = broken(
        |b| {
            manifest(b, "database", |m| m["min_allocations_count"] = json!(2));
            manifest(b, "api", |m| m["min_allocations_count"] = json!(3));
        },
        "missing allocations",
    );
    assert_eq!(
        err,
        "error: missing allocations\njob api has 2 allocation(s), min_allocations_count is 3\njob database has 1 allocation(s), min_allocations_count is 2\n"
    );
}

#[test]
fn disabled_allocations_count_towards_min_allocations() {
    let b = TestBucket::example_built();
    manifest(&b, "api", |m| m["min_allocations_count"] = json!(2));
    b.ok(&["build"]);
}

#[test]
fn insufficient_resource_capacity_exceeded() {
    let err = broken(
        |b| {
            let w = b
                .read("workspace/workers.json")
                .replace("\"16 gb\"", "\"4095 mb\"")
                .replace("\"8 ghz\"", "\"1999 mhz\"");
            b.write("workspace/workers.json", w);
        },
        "insufficient resource",
    );
    assert_eq!(
        err,
        "error: insufficient resource\nworker_ip 10.0.0.1, available memory is 4095.00 MB, required memory is 4096.00 MB\nworker_ip 10.0.0.1, available cpu is 1999.00 MHZ, required cpu is 2000.00 MHZ\n"
    );
}

#[test]
fn insufficient_resource_capacity_undeclared() {
    let err = broken(
        |b| {
            b.write(
                "workspace/workers.json",
                r#"[{"host": "10.0.0.1", "labels": ["db"]}, {"host": "10.0.0.2", "labels": ["api"], "cpu": "4 ghz"}]"#,
            );
        },
        "insufficient resource",
    );
    assert_eq!(
        err,
        "error: insufficient resource\nworker_ip 10.0.0.1 must specify memory in workers.json (allocated jobs require 4096.00 MB)\nworker_ip 10.0.0.1 must specify cpu in workers.json (allocated jobs require 2000.00 MHZ)\nworker_ip 10.0.0.2 must specify memory in workers.json (allocated jobs require 1024.00 MB)\n"
    );
}

#[test]
fn capacity_exactly_full_is_enough() {
    let b = TestBucket::example_built();
    let w = b
        .read("workspace/workers.json")
        .replace("\"16 gb\"", "\"4096 mb\"")
        .replace("\"8 ghz\"", "\"2000 mhz\"");
    b.write("workspace/workers.json", w);
    b.ok(&["build"]);
}
