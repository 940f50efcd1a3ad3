//! Certificates end to end (spec 10): `maand init` makes the CA, `maand build` issues and
//! renews leaves into KV, `maand cat certs` lists them. Issued material is checked with
//! the `openssl` binary (`verify -CAfile`, `x509 -text`); the product never calls it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The spec example workspace (02 §13).
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/spec");

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

struct Bucket {
    dir: tempfile::TempDir,
}

impl Bucket {
    /// `maand init` in a fresh directory (2048-bit keys: `MAAND_TEST=1`).
    fn new() -> Bucket {
        let b = Bucket {
            dir: tempfile::Builder::new()
                .prefix("maand-certs-")
                .tempdir()
                .unwrap(),
        };
        b.ok(&["init"]);
        b
    }

    /// The spec example, built once.
    fn example_built() -> Bucket {
        let b = Bucket::new();
        copy_tree(Path::new(EXAMPLE), b.root());
        b.ok(&["build"]);
        b
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    fn write(&self, rel: &str, content: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    fn maand(&self, args: &[&str]) -> Out {
        let out = Command::new(env!("CARGO_BIN_EXE_maand"))
            .args(args)
            .current_dir(self.root())
            .env_remove("MAAND_BUCKET")
            .env("MAAND_TEST", "1")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let o = Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
        o
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> Out {
        let o = self.maand(args);
        assert_eq!(o.code, 0, "maand {args:?}: {}{}", o.stdout, o.stderr);
        o
    }

    #[track_caller]
    fn fail(&self, args: &[&str]) -> String {
        let o = self.maand(args);
        assert_eq!(o.code, 1, "maand {args:?} should fail: {}", o.stdout);
        o.stderr
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--output", "json"]);
        serde_json::from_str(&self.ok(&a).stdout).unwrap()
    }

    /// Live KV value, or `None`.
    fn kv(&self, ns: &str, key: &str) -> Option<String> {
        let o = self.maand(&["cat", "kv", "get", ns, key, "--output", "json"]);
        (o.code == 0).then(|| {
            let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
            v["value"].as_str().unwrap().to_string()
        })
    }

    /// (crt, key) of an allocation.
    fn pair(&self, job: &str, ip: &str, name: &str) -> (String, String) {
        let ns = format!("maand/job/{job}/worker/{ip}");
        (
            self.kv(&ns, &format!("certs/{name}.crt"))
                .expect("crt in KV"),
            self.kv(&ns, &format!("certs/{name}.key"))
                .expect("key in KV"),
        )
    }

    /// Writes a PEM to a scratch file for openssl.
    fn scratch(&self, name: &str, pem: &str) -> PathBuf {
        let p = self.path(&format!("tmp/{name}"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, format!("{pem}\n")).unwrap();
        p
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// Runs openssl; returns stdout + stderr and asserts success.
#[track_caller]
fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openssl {args:?}: {text}");
    text
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `notAfter=` of a certificate file as unix seconds.
fn end_date(file: &Path) -> i64 {
    let text = openssl(&[
        "x509",
        "-noout",
        "-enddate",
        "-dateopt",
        "iso_8601",
        "-in",
        p(file),
    ]);
    let date = text.trim().trim_start_matches("notAfter=");
    chrono::NaiveDateTime::parse_from_str(date.trim_end_matches('Z'), "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("{date:?}: {e}"))
        .and_utc()
        .timestamp()
}

const DAY: i64 = 86_400;

#[test]
fn init_creates_the_ca_once() {
    let b = Bucket::new();
    let mode = |rel: &str| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(b.path(rel)).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode("secrets"), 0o700);
    assert_eq!(mode("secrets/ca.key"), 0o600);
    assert_eq!(mode("secrets/ca.crt"), 0o644);
    let key = b.read("secrets/ca.key");
    assert!(
        key.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"),
        "{key}"
    );
    let id = b.json(&["info"])["bucket_id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_default();
    let text = openssl(&[
        "x509",
        "-noout",
        "-text",
        "-in",
        p(&b.path("secrets/ca.crt")),
    ]);
    if !id.is_empty() {
        assert!(text.contains(&format!("Subject: CN = {id}")), "{text}");
        assert!(text.contains(&format!("Issuer: CN = {id}")), "{text}");
    }
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
    assert!(text.contains("CA:TRUE"), "{text}");
    assert!(text.contains("Certificate Sign"), "{text}");
    assert!(text.contains("sha256WithRSAEncryption"), "{text}");
    let now = chrono::Utc::now().timestamp();
    let end = end_date(&b.path("secrets/ca.crt"));
    assert!((end - (now + 3650 * DAY)).abs() < 120, "{end} vs {now}");

    // Re-running init leaves the CA alone; half a pair is refused.
    let crt = b.read("secrets/ca.crt");
    b.ok(&["init"]);
    assert_eq!(crt, b.read("secrets/ca.crt"));
    std::fs::remove_file(b.path("secrets/ca.key")).unwrap();
    let err = b.fail(&["init"]);
    assert!(
        err.contains("bucket CA is incomplete: secrets must contain both ca.crt and ca.key"),
        "{err}"
    );
}

#[test]
fn example_build_issues_verifiable_leaves() {
    let b = Bucket::example_built();
    let ca = b.path("secrets/ca.crt");
    // 10.0.0.3 is disabled for api: it still gets its own pair.
    let (crt3, key3) = b.pair("api", "10.0.0.3", "tls");
    let (crt2, _) = b.pair("api", "10.0.0.2", "tls");
    assert_ne!(crt2, crt3);
    assert!(
        key3.starts_with("-----BEGIN PRIVATE KEY-----"),
        "pkcs8: {key3}"
    );
    assert_eq!(
        b.kv("maand/worker", "certs/ca.crt").unwrap(),
        b.read("secrets/ca.crt").trim()
    );
    for (ip, crt) in [("10.0.0.2", &crt2), ("10.0.0.3", &crt3)] {
        let f = b.scratch(&format!("{ip}.crt"), crt);
        let v = openssl(&["verify", "-CAfile", p(&ca), p(&f)]);
        assert!(v.contains(": OK"), "{v}");
        let text = openssl(&["x509", "-noout", "-text", "-in", p(&f)]);
        assert!(text.contains("Subject: CN = api.internal"), "{text}");
        assert!(
            text.contains(&format!("IP Address:127.0.0.1, IP Address:{ip}\n")),
            "{text}"
        );
        assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
        assert!(text.contains("rsaEncryption"), "{text}");
        assert!(text.contains("CA:FALSE"), "{text}");
        assert!(
            text.contains("Digital Signature, Key Encipherment"),
            "{text}"
        );
        assert!(
            text.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
            "{text}"
        );
        assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");
        // certs_ttl = 60 in the example's maand.conf.
        let now = chrono::Utc::now().timestamp();
        assert!((end_date(&f) - (now + 60 * DAY)).abs() < 300);
    }
    // The key belongs to the certificate.
    let kf = b.scratch("k3.pem", &key3);
    let cf = b.scratch("c3.pem", &crt3);
    let from_key = openssl(&["pkey", "-in", p(&kf), "-pubout"]);
    let from_crt = openssl(&["x509", "-in", p(&cf), "-noout", "-pubkey"]);
    assert_eq!(from_key, from_crt);

    // Rebuild: identical PEMs, still version 1.
    b.ok(&["build"]);
    assert_eq!((crt3.clone(), key3), b.pair("api", "10.0.0.3", "tls"));
    let rows = b.json(&["cat", "kv", "--active"]);
    for r in rows.as_array().unwrap() {
        if r["key"].as_str().unwrap().starts_with("certs/") && r["namespace"] != "maand/worker" {
            assert_eq!(r["version"], 1, "{r}");
        }
    }
}

#[test]
fn cat_certs_lists_ca_then_leaves() {
    let b = Bucket::example_built();
    let out = b.ok(&["cat", "certs"]).stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].contains("scope") && lines[0].contains("days_left"),
        "{out}"
    );
    let body: Vec<&str> = lines.iter().skip(2).copied().collect();
    assert_eq!(body.len(), 3, "{out}");
    assert!(body[0].starts_with("| ca "), "{out}");
    assert!(
        body[0].contains("| 3649 ") && body[0].contains("| ok "),
        "{out}"
    );
    assert!(
        body[1].contains("| api ") && body[1].contains("| 10.0.0.2 "),
        "{out}"
    );
    assert!(
        body[2].contains("| 10.0.0.3 ") && body[2].contains("| tls "),
        "{out}"
    );
    assert!(
        body[2].contains("| api.internal ") && body[2].contains("| 59 "),
        "{out}"
    );
    assert!(body[2].contains(" UTC |"), "{out}");

    let rows = b.json(&["cat", "certs", "--workers", "10.0.0.3"]);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["scope"], "ca");
    assert_eq!(rows[0]["job"], "");
    assert_eq!(rows[0]["cert"], "ca");
    assert_eq!(rows[1]["scope"], "job");
    assert_eq!(rows[1]["job"], "api");
    assert_eq!(rows[1]["worker"], "10.0.0.3");
    assert_eq!(rows[1]["cert"], "tls");
    assert_eq!(rows[1]["common_name"], "api.internal");
    assert_eq!(rows[1]["days_left"], 59);
    assert_eq!(rows[1]["status"], "ok");
    let na = rows[1]["not_after"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(na).unwrap();

    // Filters are validated; they never hide the CA.
    let err = b.fail(&["cat", "certs", "--jobs", "nosuch"]);
    assert!(err.contains("invalid input, jobs [nosuch]"), "{err}");
    let err = b.fail(&["cat", "certs", "--workers", "10.9.9.9"]);
    assert!(err.contains("invalid input, workers [10.9.9.9]"), "{err}");
    let rows = b.json(&["cat", "certs", "--jobs", "database"]);
    assert_eq!(rows.as_array().unwrap().len(), 1);

    // Buffer covering the whole lifetime: leaves are "expiring", and every build
    // reissues them with a warning.
    let conf = b
        .read("maand.conf")
        .replace("certs_renewal_buffer = 10", "certs_renewal_buffer = 60");
    b.write("maand.conf", &conf);
    let rows = b.json(&["cat", "certs"]);
    assert_eq!(rows[0]["status"], "ok");
    assert_eq!(rows[1]["status"], "expiring");
    let before = b.pair("api", "10.0.0.2", "tls");
    let o = b.ok(&["build"]);
    assert!(
        o.stderr.contains(
            "certs_renewal_buffer (60) >= certs_ttl (60): every build reissues every certificate"
        ),
        "{}",
        o.stderr
    );
    assert_ne!(before, b.pair("api", "10.0.0.2", "tls"));
}

#[test]
fn cat_certs_without_certificates() {
    let b = Bucket::new();
    let rows = b.json(&["cat", "certs"]);
    assert_eq!(rows.as_array().unwrap().len(), 1, "the CA row alone");
    std::fs::remove_file(b.path("secrets/ca.crt")).unwrap();
    std::fs::remove_file(b.path("secrets/ca.key")).unwrap();
    let err = b.fail(&["cat", "certs"]);
    assert!(err.contains("no certificates found"), "{err}");
    assert_eq!(b.json(&["cat", "certs"]), serde_json::json!([]));
    // A garbage CA file is listed as invalid.
    b.write("secrets/ca.crt", "garbage");
    let rows = b.json(&["cat", "certs"]);
    assert_eq!(rows[0]["status"], "invalid");
    assert_eq!(rows[0]["days_left"], serde_json::Value::Null);
}

#[test]
fn rotated_operator_ca_reissues_and_caps() {
    let b = Bucket::example_built();
    let old = b.pair("api", "10.0.0.2", "tls");
    // An operator-made CA: PKCS#8 key, valid for 30 days only (< certs_ttl 60).
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=operator-ca",
        "-days",
        "30",
        "-keyout",
        p(&b.path("secrets/ca.key")),
        "-out",
        p(&b.path("secrets/ca.crt")),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=keyCertSign,digitalSignature",
    ]);
    assert!(b
        .read("secrets/ca.key")
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    let o = b.ok(&["build"]);
    assert!(
        o.stderr
            .contains("job api cert \"tls\": NotAfter capped at the bucket CA's expiry"),
        "{}",
        o.stderr
    );
    let new = b.pair("api", "10.0.0.2", "tls");
    assert_ne!(old, new);
    let f = b.scratch("rotated.crt", &new.0);
    let ca = b.path("secrets/ca.crt");
    assert!(openssl(&["verify", "-CAfile", p(&ca), p(&f)]).contains(": OK"));
    assert_eq!(end_date(&f), end_date(&ca));
    let text = openssl(&["x509", "-noout", "-issuer", "-in", p(&f)]);
    assert!(text.contains("CN = operator-ca"), "{text}");
}

#[test]
fn broken_ca_fails_the_build_cleanly() {
    let b = Bucket::new();
    copy_tree(Path::new(EXAMPLE), b.root());
    b.write("secrets/ca.key", "not a key\n");
    let err = b.fail(&["build"]);
    assert!(err.contains("bucket CA: secrets/ca.key: "), "{err}");
    // Nothing was committed: no leaf in KV.
    assert_eq!(b.kv("maand/job/api/worker/10.0.0.2", "certs/tls.crt"), None);
}

#[test]
fn removing_the_certs_block_purges_the_keys() {
    let b = Bucket::example_built();
    let ns = "maand/job/api/worker/10.0.0.2";
    assert!(b.kv(ns, "certs/tls.key").is_some());
    let m = b.read("workspace/jobs/api/manifest.json");
    let start = m.find("\"certs\"").unwrap();
    let end = m[start..].find("},\n").unwrap() + start + 3;
    let m2 = format!("{}{}", &m[..start], &m[end..]);
    b.write("workspace/jobs/api/manifest.json", &m2);
    b.ok(&["build"]);
    assert_eq!(b.kv(ns, "certs/tls.crt"), None);
    assert_eq!(b.kv(ns, "certs/tls.key"), None);
    // Allocation keys are untouched.
    assert!(b.kv(ns, "peer_workers").is_some());
}
