//! Templates at deploy (spec 05 §7, 06): a job whose template fails to render fails alone,
//! naming file and line; nothing of it reaches the worker; other jobs of the same deploy
//! still roll out, with exactly what `maand render` previewed.

use crate::harness::TestBucket;
use serde_json::json;

#[test]
fn template_error_fails_only_its_job() {
    let Some(b) = TestBucket::new("template_error_fails_only_its_job", 2) else {
        return;
    };
    b.job("bad", json!({}), "0");
    b.job("good", json!({}), "0");
    // Parses (build checks syntax and functions), fails when rendered: no such KV key.
    b.write(
        "workspace/jobs/bad/app.conf.tpl",
        "name = {{ .Job }}\nport = {{ get \"vars/bucket\" \"no_such_key\" }}\n",
    );
    b.write(
        "workspace/jobs/good/app.conf.tpl",
        "name = {{ .Job }}\nworker = {{ .WorkerIP }}\nseq = {{ .UpdateSeq }}\n",
    );
    b.maand(&["build"]).ok();
    let preview: Vec<String> = (0..2)
        .map(|i| {
            b.maand(&["render", "good", "--worker", &b.host(i), "app.conf"])
                .ok()
                .stdout
        })
        .collect();

    let out = b.maand(&["deploy"]).failed();
    // Every allocation of bad fails the same way; the one reported names its worker.
    let msg = |i: usize| {
        format!(
            "template error: job bad, worker {}, app.conf.tpl:2:8: get \"vars/bucket\" \"no_such_key\": key not found: namespace vars/bucket, key no_such_key",
            b.host(i)
        )
    };
    let reported = (0..2)
        .map(msg)
        .find(|m| out.count_line(&format!("deploy: job \"bad\": {m}")) == 1)
        .unwrap_or_else(|| panic!("no template error line for bad: {out:#?}"));
    assert_eq!(
        out.count_line(&format!("  bad: failed: {reported}")),
        1,
        "{out:#?}"
    );
    assert_eq!(out.count_line("  good: deployed"), 1, "{out:#?}");
    for (i, shown) in preview.iter().enumerate() {
        // Nothing of bad reached the worker: no tree, no lifecycle target.
        assert!(
            !b.on_worker(i, "jobs/bad").exists(),
            "jobs/bad on worker {i}"
        );
        assert!(b.targets(i, "bad").is_empty());
        assert_ne!(b.rollout("bad", i), "promoted");
        // good rolled out, its file exactly as render showed it before the deploy.
        assert_eq!(b.targets(i, "good"), ["start"]);
        assert_eq!(b.rollout("good", i), "promoted");
        assert_eq!(&b.worker_file(i, "jobs/good/app.conf"), shown);
        assert!(!b.on_worker(i, "jobs/good/app.conf.tpl").exists());
    }
    // The deploy ran as update_seq 1, the number render showed beforehand.
    assert_eq!(b.update_seq(), 1);
    assert!(preview[0].ends_with("seq = 1\n"), "{preview:?}");
}
