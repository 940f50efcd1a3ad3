//! `maand logs show` over fixture files: every flag, both formats, errors.

use std::fs;
use std::path::Path;

use maand_logs::{show, LogsError, ShowFormat, ShowOptions};

const RUN_A: &str = "8f3a2c12-1111-4000-8000-00000000000a";
const RUN_B: &str = "b7c0ffee-2222-4000-8000-00000000000b";

const MAAND_LOG: &str = r#"ts=2026-06-02T22:07:00.000Z level=INFO event=deploy_skip run=8f3a2c12-1111-4000-8000-00000000000a maand=deploy seq=17 worker=- job=cassandra reason=already_promoted
ts=2026-06-02T22:07:05.000Z level=INFO event=cert_metrics_push run=8f3a2c12-1111-4000-8000-00000000000a maand=deploy seq=17 worker=- reason=ok msg="pushed 3 metrics"
ts=2026-06-02T23:00:00.000Z level=INFO event=command_begin run=b7c0ffee-2222-4000-8000-00000000000b maand=gc worker=- phase=gc action=cleanup_deploy cmd="rm -rf tmp"
ts=2026-06-02T23:00:00.020Z level=INFO event=command_end run=b7c0ffee-2222-4000-8000-00000000000b maand=gc worker=- phase=gc action=cleanup_deploy exit=0 duration_ms=20
"#;

const W1_LOG: &str = r#"ts=2026-06-02T22:07:01.000Z level=INFO event=command_begin run=8f3a2c12-1111-4000-8000-00000000000a maand=deploy seq=17 worker=10.0.0.1 job=postgres phase=reconcile action=stop cmd="python3 runner.py stop --jobs postgres"
ts=2026-06-02T22:07:01.500Z level=INFO run=8f3a2c12-1111-4000-8000-00000000000a maand=deploy seq=17 worker=10.0.0.1 job=postgres phase=reconcile action=stop stream=stdout msg="Container postgres  Stopping"
ts=2026-06-02T22:07:02.300Z level=INFO event=command_end run=8f3a2c12-1111-4000-8000-00000000000a maand=deploy seq=17 worker=10.0.0.1 job=postgres phase=reconcile action=stop exit=0 duration_ms=1300
"#;

/// Two commands running at once on one worker (api and web), in JSON, interleaved.
const W2_LOG: &str = r#"{"ts":"2026-06-02T22:07:01.100Z","level":"INFO","event":"command_begin","run":"8f3a2c12-1111-4000-8000-00000000000a","maand":"deploy","seq":17,"worker":"10.0.0.2","job":"api","phase":"rollout","action":"start","cmd":"make start"}
{"ts":"2026-06-02T22:07:01.200Z","level":"INFO","event":"command_begin","run":"8f3a2c12-1111-4000-8000-00000000000a","maand":"deploy","seq":17,"worker":"10.0.0.2","job":"web","phase":"rollout","action":"start","cmd":"make start"}
{"ts":"2026-06-02T22:07:01.300Z","level":"INFO","run":"8f3a2c12-1111-4000-8000-00000000000a","maand":"deploy","seq":17,"worker":"10.0.0.2","job":"web","phase":"rollout","action":"start","stream":"stdout","msg":"web up"}
{"ts":"2026-06-02T22:07:01.400Z","level":"INFO","run":"8f3a2c12-1111-4000-8000-00000000000a","maand":"deploy","seq":17,"worker":"10.0.0.2","job":"api","phase":"rollout","action":"start","stream":"stderr","msg":"api port busy"}
{"ts":"2026-06-02T22:07:01.450Z","level":"INFO","event":"command_end","run":"8f3a2c12-1111-4000-8000-00000000000a","maand":"deploy","seq":17,"worker":"10.0.0.2","job":"web","phase":"rollout","action":"start","exit":0,"duration_ms":250}
{"ts":"2026-06-02T22:07:03.600Z","level":"ERROR","event":"command_end","run":"8f3a2c12-1111-4000-8000-00000000000a","maand":"deploy","seq":17,"worker":"10.0.0.2","job":"api","phase":"rollout","action":"start","exit":2,"duration_ms":2500}
"#;

/// Old payload-only lines, plus a torn line that must not break anything.
const LEGACY_LOG: &str = "| legacy out\n! legacy err\n\ngarbage without pairs\n";

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path();
    fs::write(logs.join("maand.log"), MAAND_LOG).unwrap();
    fs::write(logs.join("10.0.0.1.log"), W1_LOG).unwrap();
    fs::write(logs.join("10.0.0.2.log"), W2_LOG).unwrap();
    fs::write(logs.join("10.0.0.3.log"), LEGACY_LOG).unwrap();
    fs::write(logs.join("notes.txt"), "not a log\n").unwrap();
    for (run, lines) in [
        (RUN_A, W1_LOG),
        (
            RUN_B,
            &MAAND_LOG[MAAND_LOG.find("ts=2026-06-02T23").unwrap()..],
        ),
    ] {
        let d = logs.join("runs").join(run);
        fs::create_dir_all(&d).unwrap();
        let name = if run == RUN_A {
            "10.0.0.1.log"
        } else {
            "maand.log"
        };
        fs::write(d.join(name), lines).unwrap();
    }
    dir
}

fn run(logs: &Path, opts: &ShowOptions) -> Result<String, LogsError> {
    let mut out = Vec::new();
    show(logs, opts, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

fn ok(logs: &Path, opts: &ShowOptions) -> String {
    run(logs, opts).unwrap_or_else(|e| panic!("show failed: {e}"))
}

fn raw() -> ShowOptions {
    ShowOptions::default()
}

fn human() -> ShowOptions {
    ShowOptions {
        format: ShowFormat::Human,
        ..ShowOptions::default()
    }
}

/// The `msg`/`event`/`job` of each raw output line, to assert order compactly.
fn summary(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let grab = |k: &str| {
                let kv = format!(" {k}=");
                let js = format!("\"{k}\":\"");
                if let Some(i) = l.find(&kv) {
                    let v = &l[i + kv.len()..];
                    let v = if let Some(q) = v.strip_prefix('"') {
                        &q[..q.find('"').unwrap()]
                    } else {
                        v.split(' ').next().unwrap()
                    };
                    Some(v.to_string())
                } else {
                    l.find(&js).map(|i| {
                        let v = &l[i + js.len()..];
                        v[..v.find('"').unwrap()].to_string()
                    })
                }
            };
            match (grab("event"), grab("job"), grab("msg")) {
                (Some(e), Some(j), _) => format!("{e}:{j}"),
                (Some(e), None, _) => e,
                (None, _, Some(m)) => format!("> {m}"),
                _ => l.to_string(),
            }
        })
        .collect()
}

#[test]
fn raw_merges_all_files_by_timestamp() {
    let dir = fixture();
    let out = ok(dir.path(), &raw());
    assert_eq!(
        summary(&out),
        [
            // 10.0.0.3.log sorts first; its untimed lines keep their file order.
            "| legacy out",
            "! legacy err",
            "garbage without pairs",
            "deploy_skip:cassandra",
            "command_begin:postgres",
            "command_begin:api",
            "command_begin:web",
            "> web up",
            "> api port busy",
            "command_end:web",
            "> Container postgres  Stopping",
            "command_end:postgres",
            "command_end:api",
            "cert_metrics_push",
            "command_begin",
            "command_end",
        ]
    );
    // Lines are printed exactly as stored.
    assert!(out.contains(W1_LOG.lines().next().unwrap()));
    assert!(out.contains(W2_LOG.lines().next().unwrap()));
}

#[test]
fn raw_tail_keeps_last_matching_lines() {
    let dir = fixture();
    let opts = ShowOptions { tail: 2, ..raw() };
    assert_eq!(
        summary(&ok(dir.path(), &opts)),
        ["command_begin", "command_end"]
    );
    let opts = ShowOptions {
        tail: 2,
        job: Some("api".into()),
        ..raw()
    };
    assert_eq!(
        summary(&ok(dir.path(), &opts)),
        ["> api port busy", "command_end:api"]
    );
    let opts = ShowOptions { tail: 0, ..raw() };
    assert_eq!(ok(dir.path(), &opts).lines().count(), 16);
}

#[test]
fn worker_flag_reads_only_that_file() {
    let dir = fixture();
    let opts = ShowOptions {
        worker: Some("10.0.0.2".into()),
        ..raw()
    };
    assert_eq!(ok(dir.path(), &opts), W2_LOG);
    // Prefix: every matching worker file, legacy lines dropped because a filter is set.
    let opts = ShowOptions {
        worker: Some("10.0.0.".into()),
        ..raw()
    };
    assert_eq!(ok(dir.path(), &opts).lines().count(), 9);
}

#[test]
fn run_filter_matches_prefix() {
    let dir = fixture();
    let opts = ShowOptions {
        run: Some("b7c0".into()),
        ..raw()
    };
    assert_eq!(
        summary(&ok(dir.path(), &opts)),
        ["command_begin", "command_end"]
    );
    let opts = ShowOptions {
        run: Some(RUN_A.into()),
        ..raw()
    };
    assert_eq!(ok(dir.path(), &opts).lines().count(), 11);
}

#[test]
fn job_phase_event_filters() {
    let dir = fixture();
    let opts = ShowOptions {
        job: Some("post".into()),
        ..raw()
    };
    assert_eq!(ok(dir.path(), &opts), W1_LOG);
    let opts = ShowOptions {
        phase: Some("rollout".into()),
        event: Some("command_end".into()),
        ..raw()
    };
    assert_eq!(
        summary(&ok(dir.path(), &opts)),
        ["command_end:web", "command_end:api"]
    );
    // phase and event are exact.
    let opts = ShowOptions {
        phase: Some("roll".into()),
        ..raw()
    };
    assert_eq!(ok(dir.path(), &opts), "");
    let opts = ShowOptions {
        event: Some("command".into()),
        ..raw()
    };
    assert_eq!(ok(dir.path(), &opts), "");
}

#[test]
fn comma_separated_field_parts_match() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("maand.log"),
        "ts=2026-01-01T00:00:00.000Z event=job_control worker=- job=api,web,db msg=x\n",
    )
    .unwrap();
    for (job, hits) in [("web", 1), ("d", 1), ("api", 1), ("cache", 0), ("eb", 0)] {
        let opts = ShowOptions {
            job: Some(job.into()),
            ..raw()
        };
        assert_eq!(ok(dir.path(), &opts).lines().count(), hits, "job {job}");
    }
}

#[test]
fn empty_filter_values_count_as_not_given() {
    let dir = fixture();
    let opts = ShowOptions {
        job: Some(" ".into()),
        worker: Some(String::new()),
        ..raw()
    };
    assert_eq!(ok(dir.path(), &opts).lines().count(), 16);
}

#[test]
fn run_dir_reads_the_run_directory() {
    let dir = fixture();
    let opts = ShowOptions {
        run: Some(RUN_A.into()),
        run_dir: true,
        ..raw()
    };
    assert_eq!(ok(dir.path(), &opts), W1_LOG);
    // A unique prefix selects the directory.
    let opts = ShowOptions {
        run: Some("b7".into()),
        run_dir: true,
        ..raw()
    };
    assert_eq!(
        summary(&ok(dir.path(), &opts)),
        ["command_begin", "command_end"]
    );
}

#[test]
fn run_dir_errors() {
    let dir = fixture();
    let opts = ShowOptions {
        run_dir: true,
        ..raw()
    };
    let err = run(dir.path(), &opts).unwrap_err();
    assert_eq!(err.to_string(), "--run-dir requires --run");

    fs::create_dir_all(dir.path().join("runs").join("8f3a2c12-other")).unwrap();
    let opts = ShowOptions {
        run: Some("8f3a".into()),
        run_dir: true,
        ..raw()
    };
    assert_eq!(
        run(dir.path(), &opts).unwrap_err().to_string(),
        "run id prefix \"8f3a\" is ambiguous: it matches 8f3a2c12-1111-4000-8000-00000000000a, 8f3a2c12-other (give more characters)"
    );

    let opts = ShowOptions {
        run: Some("zzz".into()),
        run_dir: true,
        ..raw()
    };
    assert_eq!(
        run(dir.path(), &opts).unwrap_err().to_string(),
        "no log files matched"
    );

    // An existing but empty run directory has no log file either.
    let opts = ShowOptions {
        run: Some("8f3a2c12-other".into()),
        run_dir: true,
        ..raw()
    };
    assert!(matches!(run(dir.path(), &opts), Err(LogsError::NoLogFiles)));
}

#[test]
fn no_log_files_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        run(dir.path(), &raw()),
        Err(LogsError::NoLogFiles)
    ));
    assert!(matches!(
        run(&dir.path().join("missing"), &raw()),
        Err(LogsError::NoLogFiles)
    ));
    let dir = fixture();
    let opts = ShowOptions {
        worker: Some("10.9.9.9".into()),
        ..raw()
    };
    assert_eq!(
        run(dir.path(), &opts).unwrap_err().to_string(),
        "no log files matched"
    );
}

#[test]
fn legacy_lines_only_without_filters() {
    let dir = fixture();
    let opts = ShowOptions {
        worker: Some("10.0.0.3".into()),
        ..raw()
    };
    assert_eq!(ok(dir.path(), &opts), "");
    let dir2 = tempfile::tempdir().unwrap();
    fs::write(dir2.path().join("10.0.0.3.log"), LEGACY_LOG).unwrap();
    assert_eq!(
        ok(dir2.path(), &raw()),
        "| legacy out\n! legacy err\ngarbage without pairs\n"
    );
    assert_eq!(
        ok(dir2.path(), &human()),
        "  | legacy out\n  ! legacy err\n  garbage without pairs\n\n"
    );
}

const HUMAN_ALL: &str = "  | legacy out
  ! legacy err
  garbage without pairs

2026-06-02 22:07:00  deploy  seq=17  run=8f3a2c12
  deploy_skip  job=cassandra  reason=already_promoted  worker=-

2026-06-02 22:07:01  deploy  seq=17  run=8f3a2c12
  reconcile  stop  postgres@10.0.0.1
  $ python3 runner.py stop --jobs postgres
  postgres@10.0.0.1 | Container postgres  Stopping
  ok  exit=0  1.3s

2026-06-02 22:07:01  deploy  seq=17  run=8f3a2c12
  rollout  start  api@10.0.0.2
  $ make start
  api@10.0.0.2 ! api port busy
  FAIL  exit=2  2.5s

2026-06-02 22:07:01  deploy  seq=17  run=8f3a2c12
  rollout  start  web@10.0.0.2
  $ make start
  web@10.0.0.2 | web up
  ok  exit=0  250ms

2026-06-02 22:07:05  deploy  seq=17  run=8f3a2c12
  pushed 3 metrics

2026-06-02 23:00:00  gc  run=b7c0ffee
  gc  cleanup_deploy
  $ rm -rf tmp
  ok  exit=0  20ms

";

#[test]
fn human_groups_concurrent_commands_into_blocks() {
    let dir = fixture();
    assert_eq!(ok(dir.path(), &human()), HUMAN_ALL);
    let opts = ShowOptions {
        format: "h".parse().unwrap(),
        ..raw()
    };
    assert_eq!(ok(dir.path(), &opts), HUMAN_ALL);
}

#[test]
fn human_filters_apply_to_begin_lines() {
    let dir = fixture();
    let opts = ShowOptions {
        job: Some("web".into()),
        ..human()
    };
    assert_eq!(
        ok(dir.path(), &opts),
        "2026-06-02 22:07:01  deploy  seq=17  run=8f3a2c12
  rollout  start  web@10.0.0.2
  $ make start
  web@10.0.0.2 | web up
  ok  exit=0  250ms

"
    );
    // Stream and end lines have no event, so --event selects blocks by their begin line.
    let opts = ShowOptions {
        event: Some("command_begin".into()),
        worker: Some("10.0.0.1".into()),
        ..human()
    };
    assert!(ok(dir.path(), &opts).contains("  ok  exit=0  1.3s\n"));
    let opts = ShowOptions {
        event: Some("deploy_skip".into()),
        ..human()
    };
    assert_eq!(
        ok(dir.path(), &opts),
        "2026-06-02 22:07:00  deploy  seq=17  run=8f3a2c12
  deploy_skip  job=cassandra  reason=already_promoted  worker=-

"
    );
}

#[test]
fn human_tail_keeps_last_blocks_and_last_events() {
    let dir = fixture();
    let opts = ShowOptions { tail: 1, ..human() };
    // Last block (gc) and last event (cert push), in time order.
    assert_eq!(
        ok(dir.path(), &opts),
        "2026-06-02 22:07:05  deploy  seq=17  run=8f3a2c12
  pushed 3 metrics

2026-06-02 23:00:00  gc  run=b7c0ffee
  gc  cleanup_deploy
  $ rm -rf tmp
  ok  exit=0  20ms

"
    );
}

#[test]
fn human_blocks_without_begin_or_end() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("10.0.0.5.log"),
        "ts=2026-01-01T00:00:00.000Z run=r1 maand=run_command worker=10.0.0.5 phase=run_command action=ssh stream=stdout msg=orphan
ts=2026-01-01T00:00:01.000Z event=command_end run=r1 maand=run_command worker=10.0.0.5 phase=run_command action=ssh exit=124 duration_ms=60000
ts=2026-01-01T00:00:02.000Z event=command_begin run=r1 maand=run_command worker=10.0.0.5 phase=run_command action=ssh cmd=uptime
ts=2026-01-01T00:00:02.500Z run=r1 maand=run_command worker=10.0.0.5 phase=run_command action=ssh stream=stdout msg=\"up 3 days\"
",
    )
    .unwrap();
    assert_eq!(
        ok(dir.path(), &human()),
        "2026-01-01 00:00:00  run_command  run=r1
  run_command  ssh  10.0.0.5
  10.0.0.5 | orphan
  FAIL  exit=124  60.0s

2026-01-01 00:00:02  run_command  run=r1
  run_command  ssh  10.0.0.5
  $ uptime
  10.0.0.5 | up 3 days

"
    );
}

#[test]
fn format_parse() {
    assert_eq!("raw".parse::<ShowFormat>().unwrap(), ShowFormat::Raw);
    assert_eq!("Human".parse::<ShowFormat>().unwrap(), ShowFormat::Human);
    assert_eq!("H".parse::<ShowFormat>().unwrap(), ShowFormat::Human);
    assert_eq!(
        "table".parse::<ShowFormat>().unwrap_err().to_string(),
        "invalid log format \"table\": expected raw or human (h)"
    );
}

#[test]
fn sink_output_reads_back_in_human_form() {
    use maand_logs::{CommandCtx, LogFormat, LogSink, Stream};
    use std::time::Duration;
    for format in [LogFormat::Kv, LogFormat::Json] {
        let dir = tempfile::tempdir().unwrap();
        let sink = LogSink::open(dir.path(), "0123456789abcdef", "job", format).unwrap();
        sink.set_seq(4);
        let ctx = CommandCtx::new("job_control", "restart")
            .worker("10.0.0.7")
            .job("api");
        sink.command_begin(&ctx, "make restart").unwrap();
        sink.stream(&ctx, Stream::Stderr, "restarting \"api\"")
            .unwrap();
        sink.command_end(&ctx, 0, Duration::from_millis(42))
            .unwrap();
        let text = ok(dir.path(), &human());
        let body: Vec<&str> = text.lines().skip(1).collect();
        assert!(text
            .lines()
            .next()
            .unwrap()
            .ends_with("  job  seq=4  run=01234567"));
        assert_eq!(
            body,
            [
                "  job_control  restart  api@10.0.0.7",
                "  $ make restart",
                "  api@10.0.0.7 ! restarting \"api\"",
                "  ok  exit=0  42ms",
                "",
            ]
        );
        let opts = ShowOptions {
            run: Some("0123".into()),
            run_dir: true,
            ..human()
        };
        assert_eq!(ok(dir.path(), &opts), text);
    }
}

#[test]
fn closed_output_is_reported_as_broken_pipe() {
    struct Closed;
    impl std::io::Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let dir = fixture();
    let err = show(dir.path(), &raw(), &mut Closed).unwrap_err();
    assert!(err.is_broken_pipe(), "{err}");
}

#[test]
fn worker_dash_selects_bucket_log() {
    let dir = fixture();
    let opts = ShowOptions {
        worker: Some("-".into()),
        ..raw()
    };
    assert_eq!(ok(dir.path(), &opts), MAAND_LOG);
}

#[test]
fn run_dir_never_leaves_runs_directory() {
    let dir = fixture();
    for id in ["..", ".", "../runs", "/etc"] {
        let opts = ShowOptions {
            run: Some(id.into()),
            run_dir: true,
            ..raw()
        };
        assert!(
            matches!(run(dir.path(), &opts), Err(LogsError::NoLogFiles)),
            "{id}"
        );
    }
}
