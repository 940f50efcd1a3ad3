//! Deploy hook events on a real fleet (spec 06, 07 §4–§8): failure reports, the up-front
//! host tool check, KV checkpoints of `pre_deploy`, `rollout_order` overrides, the batch
//! environment, and `job_control` through `maand job`.

use crate::fleet::{Out, TestBucket};
use serde_json::json;

/// A Python hook: `body` runs with `os`, `sys`, `time`, `maand` imported, `root` = the
/// bucket (hooks run on the CLI host) and `env` = the hook environment.
fn hook(body: &str) -> String {
    format!(
        "import os, sys, time, maand\nroot = maand.find_bucket_root()\nenv = os.environ\n{body}"
    )
}

/// A statement appending the Python expression `expr` as one line to `<bucket>/<log>`.
fn append(log: &str, expr: &str) -> String {
    format!("with open(root / '{log}', 'a') as f:\n    f.write({expr} + '\\n')\n")
}

/// Lines of `<bucket>/<rel>` ("" lines when absent).
fn lines(b: &TestBucket, rel: &str) -> Vec<String> {
    std::fs::read_to_string(b.path(rel))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Lines of stderr equal to `line`.
fn stderr_count(out: &Out, line: &str) -> usize {
    out.stderr.lines().filter(|l| *l == line).count()
}

#[test]
fn deploy_hook_failures_name_event_hook_allocation_and_last_lines() {
    let Some(b) = TestBucket::new(
        "deploy_hook_failures_name_event_hook_allocation_and_last_lines",
        2,
    ) else {
        return;
    };
    let failing = hook(
        "ev, ip = maand.command_event(), maand.allocation_ip()\n\
         print(f'{ev} output 1')\nprint(f'{ev} output 2')\nprint(f'last words of {ev} on {ip}')\n\
         sys.exit(3 if (root / f'fail_{ev}_{ip}').exists() else 0)\n",
    );
    let cases = [
        ("post", "post_deploy"),
        ("started", "after_allocation_started"),
    ];
    for (job, event) in cases {
        b.job(
            job,
            json!({"commands": {"command_hook": {"executed_on": [event]}}}),
            "0",
        );
        b.write(
            &format!("workspace/jobs/{job}/_modules/command_hook.py"),
            &failing,
        );
    }
    let h1 = b.host(1);
    for (_, event) in cases {
        b.write(&format!("fail_{event}_{h1}"), "");
    }
    b.maand(&["build"]).ok();
    let out = b.maand(&["deploy"]).failed();
    for (job, event) in cases {
        let reason = format!(
            "{event}: job {job} command command_hook failed: {h1}: command execution failed (exit 3): \
             {event} output 1 / {event} output 2 / last words of {event} on {h1}"
        );
        assert_eq!(
            stderr_count(&out, &format!("deploy: job \"{job}\" failed: {reason}")),
            1,
            "{out:#?}"
        );
        assert_eq!(
            stderr_count(&out, &format!("  {job}: failed: {reason}")),
            1,
            "{out:#?}"
        );
        for i in 0..2 {
            assert_eq!(b.rollout(job, i), "new", "{job} must not be promoted");
        }
    }
    // The next deploy rolls both jobs again and, with the hooks fixed, promotes them.
    for (_, event) in cases {
        std::fs::remove_file(b.path(&format!("fail_{event}_{h1}"))).unwrap();
    }
    b.maand(&["deploy"]).ok();
    for (job, _) in cases {
        for i in 0..2 {
            assert_eq!(b.rollout(job, i), "promoted");
            assert_eq!(b.targets(i, job), ["start", "start"], "{job} on worker {i}");
        }
    }
}

/// A PATH holding only the host tools deploy needs besides bun.
fn path_without_bun() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let python = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let python = String::from_utf8(python.stdout).unwrap().trim().to_string();
    std::os::unix::fs::symlink(python, dir.path().join("python3")).unwrap();
    let path = std::env::var_os("PATH").unwrap();
    for tool in ["bash", "ssh", "rsync"] {
        let found = std::env::split_paths(&path)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{tool} not on PATH"));
        std::os::unix::fs::symlink(found, dir.path().join(tool)).unwrap();
    }
    dir
}

#[test]
fn deploy_without_bun_fails_before_touching_a_worker() {
    let Some(b) = TestBucket::new("deploy_without_bun_fails_before_touching_a_worker", 2) else {
        return;
    };
    b.hook_job(
        "py",
        "0",
        "command_pre.py",
        &["pre_deploy"],
        hook(&append("pre.log", "maand.allocation_ip()")),
    );
    b.build_deploy();
    // Now reconcile would stop py on worker 1 and a job has a Bun hook.
    let h1 = b.host(1);
    b.write(
        "workspace/disabled.json",
        json!({"jobs": {"py": {"allocations": [h1]}}}).to_string(),
    );
    b.hook_job(
        "ts",
        "0",
        "command_ts.ts",
        &["after_allocation_started"],
        "console.log(\"started\");\n",
    );
    b.maand(&["build"]).ok();
    std::fs::remove_file(b.path("pre.log")).unwrap();
    let (logins, seq) = (b.logins(), b.update_seq());

    let path = path_without_bun();
    let bin =
        std::env::var("MAAND_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_maand").into());
    let output = std::process::Command::new(bin)
        .arg("deploy")
        .current_dir(b.root())
        .env_remove("MAAND_BUCKET")
        .env("NO_COLOR", "1")
        .env("PATH", path.path())
        .output()
        .unwrap();
    let out = Out::new(output, std::time::Duration::ZERO).failed();
    out.has("missing prerequisites: CLI host: bun");
    assert_eq!(b.logins(), logins, "no worker may be contacted");
    assert_eq!(b.update_seq(), seq);
    assert!(!b.path("pre.log").exists(), "pre_deploy must not run");
    assert_eq!(b.targets(1, "py"), ["start"], "reconcile must not stop py");
}

#[test]
fn failed_pre_deploy_skips_only_its_job() {
    let Some(b) = TestBucket::new("failed_pre_deploy_skips_only_its_job", 2) else {
        return;
    };
    b.hook_job(
        "bad",
        "0",
        "command_pre.py",
        &["pre_deploy"],
        hook("print('cannot migrate')\nsys.exit(5)\n"),
    );
    b.job("good", json!({}), "0");
    b.maand(&["build"]).ok();
    let out = b.maand(&["deploy"]).failed();
    // Every allocation runs the hook; the failures are gathered.
    let (h0, h1) = (b.host(0), b.host(1));
    let reason = format!(
        "pre_deploy: job bad command command_pre failed: {h0}: command execution failed (exit 5): \
         cannot migrate; {h1}: command execution failed (exit 5): cannot migrate"
    );
    assert_eq!(
        stderr_count(&out, &format!("deploy: job \"bad\" failed: {reason}")),
        1,
        "{out:#?}"
    );
    assert_eq!(stderr_count(&out, &format!("  bad: failed: {reason}")), 1);
    assert_eq!(stderr_count(&out, "  good: deployed"), 1, "{out:#?}");
    for i in 0..2 {
        assert_eq!(b.rollout("good", i), "promoted");
        assert_eq!(b.targets(i, "good"), ["start"]);
        assert_eq!(b.rollout("bad", i), "new");
        assert!(
            !b.on_worker(i, "jobs/bad").exists(),
            "bad must not reach worker {i}"
        );
    }
}

#[test]
fn failed_pre_deploy_checkpoints_its_kv_except_in_a_dry_run() {
    // pre_deploy fails before any worker is needed: no fleet.
    let b = crate::harness::Bucket::new();
    b.write(
        "workspace/workers.json",
        r#"[{ "host": "127.0.0.1", "labels": ["pre"] }]"#,
    );
    b.job(
        "pre",
        r#"{ "version": "1.0.0", "selectors": ["pre"], "commands": {
  "command_pre": { "executed_on": ["pre_deploy"] } } }"#,
        &["command_pre"],
    );
    b.body(
        "import sys\nimport maand\n\
         maand.put_job_variable('seen', maand.command_event()).raise_for_status()\nsys.exit(4)\n",
    );
    b.maand(&["build"]).ok();
    let dry = b.maand(&["deploy", "--dry-run"]);
    assert!(
        dry.stdout
            .contains("pre_deploy: job pre command command_pre failed"),
        "{dry:#?}"
    );
    assert_eq!(
        b.kv("vars/job/pre", "seen"),
        None,
        "a dry run persists nothing"
    );
    let out = b.maand(&["deploy"]);
    out.failed();
    assert!(
        out.stderr.contains(
            "deploy: job \"pre\" failed: pre_deploy: job pre command command_pre failed: 127.0.0.1: command execution failed (exit 4)"
        ),
        "{out:#?}"
    );
    assert_eq!(b.kv("vars/job/pre", "seen").as_deref(), Some("pre_deploy"));
}

#[test]
fn pre_deploy_rollout_order_reverses_upgrade_batches() {
    let Some(b) = TestBucket::new("pre_deploy_rollout_order_reverses_upgrade_batches", 3) else {
        return;
    };
    b.job(
        "ro",
        json!({
            "max_concurrent_upgrades": 1,
            "commands": {"command_order": {"executed_on": ["pre_deploy", "after_allocation_started"]}}
        }),
        "0",
    );
    b.write(
        "workspace/jobs/ro/_modules/command_order.py",
        hook(&format!(
            "if maand.command_event() == 'pre_deploy':\n\
             \x20   if maand.allocation_index() == '0':\n\
             \x20       order = maand.get_kv_value('maand/job/ro', 'rollout_order').split(',')\n\
             \x20       maand.put_rollout_order(order[::-1]).raise_for_status()\n\
             else:\n\
             \x20   {}",
            append(
                "started.log",
                "' '.join([env['DEPLOY_PHASE'], env['BATCH_INDEX'], maand.allocation_ip(), \
                 env['ROLLOUT_ORDER'], env['ROLLOUT_ORDER_SOURCE']])"
            )
            .replace('\n', "\n    ")
        )),
    );
    b.build_deploy();
    std::fs::remove_file(b.path("started.log")).unwrap();
    b.write("workspace/jobs/ro/content.txt", "two\n");
    b.build_deploy();
    let (h0, h1, h2) = (b.host(0), b.host(1), b.host(2));
    let reversed = format!("{h2},{h1},{h0}");
    assert_eq!(
        lines(&b, "started.log"),
        [
            format!("update 0 {h2} {reversed} kv"),
            format!("update 1 {h1} {reversed} kv"),
            format!("update 2 {h0} {reversed} kv"),
        ]
    );
    // The restarts ran one after another, last worker first.
    let restart = |i: usize| b.spans(i, "ro", "restart")[0];
    assert!(restart(2).end <= restart(1).begin && restart(1).end <= restart(0).begin);
}

#[test]
fn deploy_hook_env_batches_phases_versions_and_target() {
    let Some(b) = TestBucket::new("deploy_hook_env_batches_phases_versions_and_target", 3) else {
        return;
    };
    let record = hook(&append(
        "env.log",
        "' '.join([maand.command_event(), maand.allocation_ip()] + \
         [k + '=' + env.get(k, '-') for k in ('DEPLOY_PHASE', 'BATCH_ALLOCATIONS', 'BATCH_INDEX', \
         'BATCH_COUNT', 'ROLLOUT_ORDER', 'ROLLOUT_ORDER_SOURCE', 'CURRENT_VERSION', 'NEW_VERSION', 'TARGET')])",
    ));
    let ev = |version: &str| {
        json!({
            "version": version,
            "max_concurrent_starts": 2,
            "max_concurrent_upgrades": 2,
            "commands": {"command_env": {"executed_on":
                ["after_allocation_started", "post_deploy", "after_allocation_stopped"]}}
        })
    };
    b.job("ev", ev("1.0.0"), "0");
    b.job(
        "ctl",
        json!({"commands": {"command_env": {"executed_on": ["job_control"]}}}),
        "0",
    );
    for job in ["ev", "ctl"] {
        b.write(
            &format!("workspace/jobs/{job}/_modules/command_env.py"),
            &record,
        );
    }
    let (h0, h1, h2) = (b.host(0), b.host(1), b.host(2));
    let order = format!("{h0},{h1},{h2}");
    // Sorted: runs of one batch (and job_control runs) are concurrent.
    let take = |b: &TestBucket| {
        let mut l = lines(b, "env.log");
        l.sort();
        std::fs::remove_file(b.path("env.log")).unwrap();
        l
    };
    let line = |event: &str, ip: &str, rest: &str| format!("{event} {ip} {rest}");

    b.build_deploy();
    let batch = |phase: &str, ips: &str, i: usize, n: usize, src: &str, cur: &str, new: &str| {
        format!(
            "DEPLOY_PHASE={phase} BATCH_ALLOCATIONS={ips} BATCH_INDEX={i} BATCH_COUNT={n} \
             ROLLOUT_ORDER={order} ROLLOUT_ORDER_SOURCE={src} CURRENT_VERSION={cur} NEW_VERSION={new} TARGET=-"
        )
    };
    let plain = |cur: &str, new: &str, target: &str| {
        format!(
            "DEPLOY_PHASE=- BATCH_ALLOCATIONS=- BATCH_INDEX=- BATCH_COUNT=- ROLLOUT_ORDER=- \
             ROLLOUT_ORDER_SOURCE=- CURRENT_VERSION={cur} NEW_VERSION={new} TARGET={target}"
        )
    };
    let first = format!("{h0},{h1}");
    let mut want = vec![
        line(
            "after_allocation_started",
            &h0,
            &batch("new", &first, 0, 2, "default", "0.0.0", "1.0.0"),
        ),
        line(
            "after_allocation_started",
            &h1,
            &batch("new", &first, 0, 2, "default", "0.0.0", "1.0.0"),
        ),
        line(
            "after_allocation_started",
            &h2,
            &batch("new", &h2, 1, 2, "default", "0.0.0", "1.0.0"),
        ),
    ];
    for h in [&h0, &h1, &h2] {
        want.push(line("job_control", h, &plain("0.0.0", "1.0.0", "-")));
        want.push(line("post_deploy", h, &plain("0.0.0", "1.0.0", "-")));
    }
    want.sort();
    assert_eq!(take(&b), want);

    // `maand job` fires job_control with TARGET, on the selected allocations only.
    b.maand(&["job", "restart", "ctl"]).ok();
    let mut want: Vec<String> = [&h0, &h1, &h2]
        .iter()
        .map(|h| line("job_control", h, &plain("1.0.0", "1.0.0", "restart")))
        .collect();
    want.sort();
    assert_eq!(take(&b), want);
    b.maand(&["job", "stop", "ctl", "--allocations", &h1]).ok();
    assert_eq!(
        take(&b),
        [line("job_control", &h1, &plain("1.0.0", "1.0.0", "stop"))]
    );

    // A new version: upgrade batches, and CURRENT_VERSION is the promoted one.
    b.job("ev", ev("1.1.0"), "0");
    b.build_deploy();
    let mut want = vec![
        line(
            "after_allocation_started",
            &h0,
            &batch("update", &first, 0, 2, "default", "1.0.0", "1.1.0"),
        ),
        line(
            "after_allocation_started",
            &h1,
            &batch("update", &first, 0, 2, "default", "1.0.0", "1.1.0"),
        ),
        line(
            "after_allocation_started",
            &h2,
            &batch("update", &h2, 1, 2, "default", "1.0.0", "1.1.0"),
        ),
    ];
    for h in [&h0, &h1, &h2] {
        want.push(line("post_deploy", h, &plain("1.0.0", "1.1.0", "-")));
    }
    want.sort();
    assert_eq!(take(&b), want);

    // Draining a worker stops ev there: phase stop, one batch, no rollout order.
    b.write(
        "workspace/disabled.json",
        json!({"jobs": {"ev": {"allocations": [h2]}}}).to_string(),
    );
    b.build_deploy();
    assert_eq!(
        take(&b),
        [line(
            "after_allocation_stopped",
            &h2,
            &format!(
                "DEPLOY_PHASE=stop BATCH_ALLOCATIONS={h2} BATCH_INDEX=0 BATCH_COUNT=1 ROLLOUT_ORDER= \
                 ROLLOUT_ORDER_SOURCE= CURRENT_VERSION=1.1.0 NEW_VERSION=1.1.0 TARGET=-"
            )
        )]
    );
}

#[test]
fn bun_after_allocation_started_hook_writes_kv() {
    if std::process::Command::new("bun")
        .arg("--version")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        maand_fleet::skip(
            "bun_after_allocation_started_hook_writes_kv",
            "bun is not installed",
        );
        return;
    }
    let Some(b) = TestBucket::new("bun_after_allocation_started_hook_writes_kv", 2) else {
        return;
    };
    b.hook_job(
        "bn",
        "0",
        "command_ts.ts",
        &["after_allocation_started"],
        r#"import { allocationIp, commandEvent, putJobVariable } from "./maand";
const r = await putJobVariable(`started_${allocationIp()}`, `${commandEvent()} ${process.env.DEPLOY_PHASE} ${process.env.BATCH_ALLOCATIONS}`);
if (r.status !== 200) { console.log(`put failed: ${r.status}`); process.exit(1); }
"#,
    );
    b.build_deploy();
    let batch = format!("{},{}", b.host(0), b.host(1));
    for i in 0..2 {
        let o = b.maand(&[
            "cat",
            "kv",
            "get",
            "vars/job/bn",
            &format!("started_{}", b.host(i)),
            "--output",
            "json",
        ]);
        assert_eq!(
            o.ok().json()["value"],
            format!("after_allocation_started new {batch}")
        );
    }
}
