//! Secret KV values never reach the logs or the terminal (spec 09 §8, spec 04): every
//! command that opens a session registers the bucket's secrets for redaction, not only the
//! hook runtime that wrote them.

use crate::harness::{FleetBucket, Out};

const SECRET: &str = "Sup3r-S3cr3t-9x7q";
const MASKED: &str = "token = [redacted]";

const MANIFEST: &str = r#"{"version": "1.0.0", "selectors": ["worker"],
  "commands": {"command_seed": {"executed_on": ["cli"]}}}"#;

const SEED_PY: &str = r#"import maand
maand.put_job_secret("token", "Sup3r-S3cr3t-9x7q").raise_for_status()
print("seeded")
"#;

/// Every target prints the rendered secret on stdout and stderr; `leak` then fails, so
/// the secret also lands in the error's stderr tail.
const MAKEFILE: &str = "start stop restart reload status:\n\
                        \t@cat secret.conf\n\
                        \t@cat secret.conf >&2\n\
                        leak:\n\
                        \t@cat secret.conf >&2; exit 4\n";

#[track_caller]
fn masked(out: &Out) {
    out.lacks(SECRET).has(MASKED);
}

#[test]
fn secrets_are_masked_in_deploy_job_and_run_command() {
    let Some(b) = FleetBucket::new("secrets_are_masked_in_deploy_job_and_run_command", 1) else {
        return;
    };
    b.write("workspace/jobs/vault/manifest.json", MANIFEST);
    b.write("workspace/jobs/vault/Makefile", MAKEFILE);
    b.write("workspace/jobs/vault/_modules/command_seed.py", SEED_PY);
    b.write(
        "workspace/jobs/vault/secret.conf.tpl",
        "token = {{ getSecret \"token\" }}\n",
    );
    b.maand(&["build"]).ok();
    // The secret is written by this process's hook; later processes only read it.
    b.maand(&["hooks", "command_seed", "vault"])
        .ok()
        .has("seeded")
        .lacks(SECRET);
    let h = b.host(0);

    let deploy = b.maand(&["deploy"]).ok();
    masked(&deploy);
    // The worker really got the secret (so the masking above is not vacuous).
    let rendered = b
        .fleet
        .worker_dir(0)
        .join(b.bucket_id())
        .join("jobs/vault/secret.conf");
    assert_eq!(
        std::fs::read_to_string(rendered).unwrap(),
        format!("token = {SECRET}\n")
    );

    masked(&b.maand(&["job", "restart", "vault"]).ok());
    let leak = b
        .maand(&["job", "run", "vault", "--target", "leak"])
        .failed();
    masked(&leak);
    // The error quotes the failed command's stderr, masked too.
    leak.has("command failed (exit 2): token = [redacted] / make: ");

    let out = b.maand(&["run_command", "cat jobs/vault/secret.conf"]).ok();
    masked(&out);
    assert_eq!(out.count_line(&format!("{h} | {MASKED}")), 1, "{out:#?}");

    let files = b.log_files();
    assert!(!files.is_empty());
    for (path, text) in &files {
        assert!(!text.contains(SECRET), "secret in {}", path.display());
    }
    let worker_log = &b.read(&format!("logs/{h}.log"));
    assert!(worker_log.contains(MASKED), "{worker_log}");
}
