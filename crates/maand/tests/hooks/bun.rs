//! The embedded Bun helper (spec 07 §9.2), only where `bun` is installed.

use crate::harness::Bucket;

#[test]
fn bun_helper_reads_and_writes() {
    if std::process::Command::new("bun")
        .arg("--version")
        .output()
        .is_err()
    {
        maand_fleet::skip("bun_helper_reads_and_writes", "bun is not installed");
        return;
    }
    let b = Bucket::new();
    b.write(
        "workspace/workers.json",
        r#"[{ "host": "127.0.0.1", "labels": ["t"] }]"#,
    );
    b.write(
        "workspace/jobs/t/manifest.json",
        r#"{ "version": "1.0.0", "selectors": ["t"], "commands": { "command_ts": { "executed_on": ["cli"] } } }"#,
    );
    b.write("workspace/jobs/t/Makefile", "start:\n");
    b.write(
        "workspace/jobs/t/_modules/command_ts.ts",
        r#"import { jobName, commandEvent, putJobVariable, getStoreValue, kvGet, listJobKeys, acquireSemaphore, releaseSemaphore, semaphoreStatus } from "./maand";
const put = await putJobVariable("k", "v");
const got = await (await getStoreValue("vars/job/t", "k")).json();
const alias = await (await kvGet("maand/job/t", "version")).json();
const keys = await (await listJobKeys("vars/job/t")).json();
const acq = await (await acquireSemaphore("s", 1, 5)).json();
const st = await (await semaphoreStatus("s")).json();
const rel = await releaseSemaphore("s");
console.log(`${jobName()} ${commandEvent()} ${put.status} ${got.value} ${alias.value} ${keys.namespaces["vars/job/t"].join(",")} ${acq.acquired} ${st.available} ${rel.status}`);
"#,
    );
    b.maand(&["build"]).ok();
    let o = b.maand(&["hooks", "command_ts"]);
    o.ok();
    assert!(
        o.stderr
            .contains("t@127.0.0.1 | t cli 200 v 1.0.0 k true 0 200"),
        "{}",
        o.stderr
    );
    assert_eq!(b.kv("vars/job/t", "k").as_deref(), Some("v"));
}
