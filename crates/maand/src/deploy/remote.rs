//! Worker-side commands of deploy as data (spec 06 "Worker layout", "Lifecycle command").

use maand_transport::{quote, RemoteCommand};

/// `<worker_dir>/<bucket_id>`.
pub fn root(worker_dir: &str, bucket_id: &str) -> String {
    format!("{}/{bucket_id}", worker_dir.trim_end_matches('/'))
}

/// `python3 -S <root>/bin/runner.py <bucket_id> <target> --jobs <job>` under `timeout`, with
/// the versions in the make environment. `-S` skips `site` (site-packages and `.pth`
/// files): the runner needs only the standard library, and on a typical Debian worker
/// `site` is most of the interpreter's start-up, paid once per job per batch.
pub fn lifecycle(
    root: &str,
    bucket_id: &str,
    target: &str,
    job: &str,
    versions: (&str, &str),
    timeout: u64,
) -> RemoteCommand {
    RemoteCommand::new(format!(
        "python3 -S {}/bin/runner.py {} {} --jobs {}",
        quote(root),
        quote(bucket_id),
        quote(target),
        quote(job)
    ))
    .env("CURRENT_VERSION", versions.0)
    .env("NEW_VERSION", versions.1)
    .sudo()
    .timeout(timeout)
}

/// Removes a deployed job tree except its runtime `data/` and `logs/`.
pub fn cleanup_job_tree(root: &str, job: &str) -> RemoteCommand {
    let dir = format!("{root}/jobs/{job}");
    RemoteCommand::new(format!(
        "if [ -d {d} ]; then find {d} -mindepth 1 -maxdepth 1 ! -name data ! -name logs -exec rm -rf {{}} +; fi",
        d = quote(&dir)
    ))
    .sudo()
}

/// Removes a worker's whole root (its host left workers.json).
pub fn cleanup_worker(root: &str) -> RemoteCommand {
    RemoteCommand::new(format!("rm -rf {}", quote(root))).sudo()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_line() {
        let c = lifecycle("/opt/worker/b", "b", "restart", "api", ("1.0", "1.1"), 600);
        assert_eq!(
            c.remote_line(true).unwrap(),
            "timeout -k 10 600 sudo -E bash -c 'export CURRENT_VERSION=1.0\nexport NEW_VERSION=1.1\npython3 -S /opt/worker/b/bin/runner.py b restart --jobs api'"
        );
    }

    #[test]
    fn cleanup_keeps_data_and_logs() {
        let c = cleanup_job_tree("/opt/worker/b", "api");
        assert!(c.script.contains("! -name data ! -name logs"));
        assert_eq!(
            cleanup_worker("/opt/worker/b").remote_line(false).unwrap(),
            "bash -c 'rm -rf /opt/worker/b'"
        );
    }
}
