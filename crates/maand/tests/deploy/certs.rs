//! Certificates reach the workers: `jobs/<job>/certs/<name>.crt` (0644), `.key` (0600) and
//! `ca.crt`, with the PEMs build stored in KV; a reissued certificate rolls out.

use super::harness::TestBucket;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn deployed_certificates_have_modes_and_content() {
    let Some(b) = TestBucket::new("deployed_certificates_have_modes_and_content", 2) else {
        return;
    };
    b.job(
        "tlsjob",
        json!({"certs": {"tls": {"pkcs8": true, "subject": {"common_name": "tls.internal"}}}}),
        "0",
    );
    b.build_deploy();
    for i in 0..2 {
        let ns = format!("maand/job/tlsjob/worker/{}", b.host(i));
        for (file, want_mode) in [("tls.crt", 0o644), ("tls.key", 0o600), ("ca.crt", 0o644)] {
            let path = b.on_worker(i, &format!("jobs/tlsjob/certs/{file}"));
            assert_eq!(mode(&path), want_mode, "{file} on worker {i}");
            let on_worker = std::fs::read_to_string(&path).unwrap();
            let (kv_ns, key) = if file == "ca.crt" {
                ("maand/worker".to_string(), "certs/ca.crt".to_string())
            } else {
                (ns.clone(), format!("certs/{file}"))
            };
            let kv = b
                .maand(&["cat", "kv", "get", &kv_ns, &key, "--output", "json"])
                .ok()
                .json();
            assert_eq!(
                on_worker,
                format!("{}\n", kv["value"].as_str().unwrap()),
                "{file} content on worker {i}"
            );
        }
        assert!(b
            .worker_file(i, "jobs/tlsjob/certs/tls.key")
            .starts_with("-----BEGIN PRIVATE KEY-----"));
    }
    // A changed certs block reissues the leaves; the next deploy restarts the allocations.
    let before = b.worker_file(0, "jobs/tlsjob/certs/tls.crt");
    b.job(
        "tlsjob",
        json!({"certs": {"tls": {"pkcs8": true, "subject": {"common_name": "tls2.internal"}}}}),
        "0",
    );
    b.build_deploy();
    assert_ne!(b.worker_file(0, "jobs/tlsjob/certs/tls.crt"), before);
    assert!(
        b.targets(0, "tlsjob").iter().any(|t| t == "restart"),
        "{:?}",
        b.targets(0, "tlsjob")
    );
}
