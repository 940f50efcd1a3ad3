//! Writing: file routing, encodings on disk, redaction, permissions, concurrency.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use maand_logs::{CommandCtx, LogFormat, LogSink, Record, Stream};

const RUN: &str = "8f3a2c12-0000-4000-8000-000000000001";

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Drops the leading `ts=…` pair (or the `"ts"` JSON member), the one non-deterministic field.
fn without_ts(text: &str) -> String {
    text.lines()
        .map(|l| {
            if let Some(rest) = l.strip_prefix("ts=") {
                let ts_len = rest.find(' ').unwrap_or(rest.len());
                assert_eq!(ts_len, "2026-06-02T22:07:01.123Z".len(), "{l}");
                assert!(rest[..ts_len].ends_with('Z'));
                rest[ts_len..].trim_start().to_string()
            } else if let Some(rest) = l.strip_prefix("{\"ts\":\"") {
                let end = rest.find("\",").unwrap();
                format!("{{{}", &rest[end + 2..])
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect()
}

#[test]
fn worker_lines_go_to_worker_file_and_run_copy() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let sink = LogSink::open(&logs, RUN, "deploy", LogFormat::Kv).unwrap();
    sink.set_seq(17);
    let ctx = CommandCtx::new("reconcile", "stop")
        .worker("10.48.200.3")
        .job("postgres");
    sink.command_begin(
        &ctx,
        "python3   /opt/worker/b/bin/runner.py\n stop --jobs postgres",
    )
    .unwrap();
    sink.stream(&ctx, Stream::Stdout, "Container postgres  Stopping\n")
        .unwrap();
    sink.stream(&ctx, Stream::Stderr, "warning: \"x\"").unwrap();
    sink.command_end(&ctx, 0, Duration::from_millis(1300))
        .unwrap();

    let expected = "\
level=INFO event=command_begin run=8f3a2c12-0000-4000-8000-000000000001 maand=deploy seq=17 worker=10.48.200.3 job=postgres phase=reconcile action=stop cmd=\"python3 /opt/worker/b/bin/runner.py stop --jobs postgres\"
level=INFO run=8f3a2c12-0000-4000-8000-000000000001 maand=deploy seq=17 worker=10.48.200.3 job=postgres phase=reconcile action=stop stream=stdout msg=\"Container postgres  Stopping\"
level=INFO run=8f3a2c12-0000-4000-8000-000000000001 maand=deploy seq=17 worker=10.48.200.3 job=postgres phase=reconcile action=stop stream=stderr msg=\"warning: \\\"x\\\"\"
level=INFO event=command_end run=8f3a2c12-0000-4000-8000-000000000001 maand=deploy seq=17 worker=10.48.200.3 job=postgres phase=reconcile action=stop exit=0 duration_ms=1300
";
    let main = read(&logs.join("10.48.200.3.log"));
    assert_eq!(without_ts(&main), expected);
    let copy = read(&logs.join("runs").join(RUN).join("10.48.200.3.log"));
    assert_eq!(copy, main, "the run copy holds the very same lines");
    assert!(!logs.join("maand.log").exists());
}

#[test]
fn bucket_lines_go_to_maand_log_and_seq_is_omitted_when_zero() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let sink = LogSink::open(&logs, RUN, "deploy", LogFormat::Kv).unwrap();
    sink.event(
        "deploy_skip",
        &[("job", "cassandra"), ("reason", "already_promoted")],
    )
    .unwrap();
    sink.event(
        "reconcile_skip_stop",
        &[
            ("job", "api"),
            ("reason", "not_deployed"),
            ("removed", "true"),
            ("disabled", "false"),
        ],
    )
    .unwrap();
    sink.warning("workspace/x.json: unknown field \"y\" ignored")
        .unwrap();
    let expected = format!(
        "level=INFO event=deploy_skip run={RUN} maand=deploy worker=- job=cassandra reason=already_promoted
level=INFO event=reconcile_skip_stop run={RUN} maand=deploy worker=- job=api reason=not_deployed disabled=false removed=true
level=WARN event=warning run={RUN} maand=deploy worker=- msg=\"workspace/x.json: unknown field \\\"y\\\" ignored\"
"
    );
    let main = read(&logs.join("maand.log"));
    assert_eq!(without_ts(&main), expected);
    assert_eq!(read(&logs.join("runs").join(RUN).join("maand.log")), main);
}

#[test]
fn explicit_worker_dash_and_local_commands_use_maand_log() {
    let dir = tempfile::tempdir().unwrap();
    let sink = LogSink::open(dir.path(), RUN, "hooks", LogFormat::Kv).unwrap();
    let ctx = CommandCtx::new("job_command", "backup")
        .job("api")
        .with("hook_event", "post_deploy");
    sink.command_begin(&ctx, "python3 _modules/command_backup.py")
        .unwrap();
    sink.command_end(&ctx, 2, Duration::from_millis(20))
        .unwrap();
    sink.event("worker_assumed_dead", &[("worker", "-"), ("msg", "gone")])
        .unwrap();
    let expected = format!(
        "level=INFO event=command_begin run={RUN} maand=hooks worker=- job=api phase=job_command action=backup cmd=\"python3 _modules/command_backup.py\" hook_event=post_deploy
level=ERROR event=command_end run={RUN} maand=hooks worker=- job=api phase=job_command action=backup exit=2 duration_ms=20 hook_event=post_deploy
level=INFO event=worker_assumed_dead run={RUN} maand=hooks worker=- msg=gone
"
    );
    assert_eq!(without_ts(&read(&dir.path().join("maand.log"))), expected);
}

#[test]
fn json_format_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let sink = LogSink::open(dir.path(), RUN, "run_command", LogFormat::Json).unwrap();
    sink.set_seq(3);
    let ctx = CommandCtx::new("run_command", "ssh").worker("10.0.0.1");
    sink.command_end(&ctx, 124, Duration::from_secs(2)).unwrap();
    let expected = format!(
        "{{\"level\":\"ERROR\",\"event\":\"command_end\",\"run\":\"{RUN}\",\"maand\":\"run_command\",\"seq\":3,\"worker\":\"10.0.0.1\",\"phase\":\"run_command\",\"action\":\"ssh\",\"exit\":124,\"duration_ms\":2000}}\n"
    );
    assert_eq!(
        without_ts(&read(&dir.path().join("10.0.0.1.log"))),
        expected
    );
}

#[test]
fn explicit_record_keeps_caller_ts() {
    let dir = tempfile::tempdir().unwrap();
    let sink = LogSink::open(dir.path(), RUN, "gc", LogFormat::Kv).unwrap();
    sink.write(
        Record::event("custom")
            .with("ts", "2026-06-02T22:07:01.123Z")
            .with("zeta", "1")
            .with("alpha", "2"),
    )
    .unwrap();
    assert_eq!(
        read(&dir.path().join("maand.log")),
        format!(
            "ts=2026-06-02T22:07:01.123Z level=INFO event=custom run={RUN} maand=gc worker=- alpha=2 zeta=1\n"
        )
    );
}

#[test]
fn secrets_never_reach_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let sink = LogSink::open(dir.path(), RUN, "deploy", LogFormat::Kv).unwrap();
    sink.add_secret("hunter2");
    sink.add_secret("p@ss \"word\"");
    let long_secret = "S".repeat(300);
    sink.add_secret(&long_secret);
    let ctx = CommandCtx::new("rollout", "start")
        .worker("10.0.0.1")
        .job("db")
        .with("token", "xx-hunter2-xx");
    sink.command_begin(&ctx, &format!("env PW=hunter2 X={long_secret} run"))
        .unwrap();
    sink.stream(&ctx, Stream::Stdout, "login with p@ss \"word\" ok")
        .unwrap();
    sink.event(
        "cert_metrics_push",
        &[("reason", "failed"), ("msg", "hunter2")],
    )
    .unwrap();
    for file in ["10.0.0.1.log", "maand.log"] {
        for path in [
            dir.path().join(file),
            dir.path().join("runs").join(RUN).join(file),
        ] {
            let text = read(&path);
            assert!(!text.contains("hunter2"), "{text}");
            assert!(!text.contains("word"), "{text}");
            assert!(!text.contains("SSS"), "{text}");
            assert!(text.contains("[redacted]"), "{text}");
        }
    }
    let text = without_ts(&read(&dir.path().join("10.0.0.1.log")));
    assert!(
        text.contains("cmd=\"env PW=[redacted] X=[redacted] run\""),
        "{text}"
    );
    assert!(text.contains("msg=\"login with [redacted] ok\""), "{text}");
    assert!(text.contains("token=xx-[redacted]-xx"), "{text}");
    assert_eq!(sink.redact("a hunter2 b"), "a [redacted] b");
}

#[test]
fn files_append_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    for run in ["r1", "r2"] {
        let sink = LogSink::open(dir.path(), run, "gc", LogFormat::Kv).unwrap();
        sink.event("x", &[]).unwrap();
    }
    let main = read(&dir.path().join("maand.log"));
    assert_eq!(main.lines().count(), 2);
    assert_eq!(
        read(&dir.path().join("runs/r1/maand.log")).lines().count(),
        1
    );
    assert_eq!(
        read(&dir.path().join("runs/r2/maand.log")).lines().count(),
        1
    );
}

#[cfg(unix)]
#[test]
fn permissions_are_0755_and_0644() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let sink = LogSink::open(&logs, RUN, "deploy", LogFormat::Kv).unwrap();
    sink.event("x", &[("worker", "10.0.0.9")]).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&logs), 0o755);
    assert_eq!(mode(&logs.join("runs")), 0o755);
    assert_eq!(mode(&logs.join("runs").join(RUN)), 0o755);
    assert_eq!(mode(&logs.join("10.0.0.9.log")), 0o644);
    assert_eq!(
        mode(&logs.join("runs").join(RUN).join("10.0.0.9.log")),
        0o644
    );
}

#[test]
fn hostile_worker_names_stay_inside_logs_dir() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let sink = LogSink::open(&logs, RUN, "deploy", LogFormat::Kv).unwrap();
    sink.event("x", &[("worker", "../../etc/passwd")]).unwrap();
    assert!(logs.join("_.._.._etc_passwd.log").exists());
}

#[test]
fn concurrent_writers_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(LogSink::open(dir.path(), RUN, "deploy", LogFormat::Kv).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let sink = Arc::clone(&sink);
            std::thread::spawn(move || {
                let worker = format!("10.0.0.{}", t % 2);
                let ctx = CommandCtx::new("rollout", "start").worker(&worker).job("j");
                for i in 0..200 {
                    let line = format!("thread {t} line {i} {}", "x".repeat(500));
                    sink.stream(&ctx, Stream::Stdout, &line).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for w in ["10.0.0.0", "10.0.0.1"] {
        let text = read(&dir.path().join(format!("{w}.log")));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 800);
        let mut prev = "";
        for l in lines {
            assert!(
                l.starts_with("ts=") && l.ends_with("xxx\""),
                "torn line: {l}"
            );
            let ts = &l[3..27];
            assert!(ts >= prev, "out of order");
            prev = ts;
        }
    }
}

#[test]
fn write_derives_level_and_drops_zero_seq() {
    let dir = tempfile::tempdir().unwrap();
    let sink = LogSink::open(dir.path(), RUN, "job", LogFormat::Kv).unwrap();
    sink.write(
        Record::event("command_end")
            .with("exit", "1")
            .with("seq", "0"),
    )
    .unwrap();
    sink.write(Record::event("command_end").with("exit", "0"))
        .unwrap();
    let ctx = CommandCtx::from_parts(Some(""), Some("api"), "job_control", "start");
    assert_eq!(ctx.worker, None);
    assert_eq!(ctx.target().as_deref(), Some("api"));
    assert_eq!(
        without_ts(&read(&dir.path().join("maand.log"))),
        format!(
            "level=ERROR event=command_end run={RUN} maand=job worker=- exit=1
level=INFO event=command_end run={RUN} maand=job worker=- exit=0
"
        )
    );
}

mod recorder {
    use super::*;
    use maand_logs::{Progress, ProgressMode, Recorder};
    use std::io::Write;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn logs_and_echoes_with_redaction() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Arc::new(LogSink::open(dir.path(), RUN, "run_command", LogFormat::Kv).unwrap());
        sink.add_secret("t0ken");
        let buf = Buf::default();
        let progress = Progress::to_writer(ProgressMode::Off, 1, false, Box::new(buf.clone()))
            .with_redactor(sink.redactor());
        let rec = Recorder::new(Arc::clone(&sink), progress);
        let ctx = CommandCtx::new("run_command", "ssh").worker("10.0.0.1");
        rec.begin(&ctx, "curl -H 'Authorization: t0ken' x");
        rec.line(&ctx, Stream::Stdout, "got t0ken");
        rec.line(&ctx, Stream::Stderr, "warn");
        rec.end(&ctx, 0, Duration::from_millis(5));
        rec.clone().silent().line(&ctx, Stream::Stdout, "quiet one");
        assert!(rec.take_error().is_none());
        assert_eq!(buf.text(), "10.0.0.1 | got [redacted]\n10.0.0.1 ! warn\n");
        let text = read(&dir.path().join("10.0.0.1.log"));
        assert_eq!(text.lines().count(), 5);
        assert!(!text.contains("t0ken"));
        assert!(text.contains("msg=\"quiet one\""));
    }

    #[cfg(unix)]
    #[test]
    fn write_failure_warns_once_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let sink = Arc::new(LogSink::open(&logs, RUN, "deploy", LogFormat::Kv).unwrap());
        // A directory where the worker's log file should be makes every write fail.
        fs::create_dir_all(logs.join("10.0.0.1.log")).unwrap();
        let buf = Buf::default();
        let progress = Progress::to_writer(ProgressMode::Off, 1, true, Box::new(buf.clone()));
        let rec = Recorder::new(sink, progress);
        let ctx = CommandCtx::new("rollout", "start").worker("10.0.0.1");
        rec.begin(&ctx, "make start");
        rec.end(&ctx, 0, Duration::ZERO);
        let err = rec.take_error().expect("error kept");
        assert!(
            err.to_string().starts_with("cannot write log file "),
            "{err}"
        );
        assert!(rec.take_error().is_none());
        let warnings = buf.text();
        assert_eq!(warnings.lines().count(), 1, "{warnings}");
        assert!(warnings.starts_with("warning: cannot write log file "));
        // The run copy is still written.
        assert_eq!(
            read(&logs.join("runs").join(RUN).join("10.0.0.1.log"))
                .lines()
                .count(),
            2
        );
    }
}
