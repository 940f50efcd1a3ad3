//! The structured logs through the binary (spec 09 §8): what `run_command` and `deploy`
//! write in `log_format = "jsonl"`, and `maand logs show` with each of its flags.

use crate::harness::{FleetBucket, Out};
use serde_json::Value;
use std::collections::BTreeSet;

/// Every line of `text` as a JSON object (jsonl: nothing else is allowed).
fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            assert!(v.is_object(), "{l}");
            v
        })
        .collect()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// `maand logs show <args>`, which must succeed, as stdout lines.
fn show(b: &FleetBucket, args: &[&str]) -> Vec<String> {
    let mut all = vec!["logs", "show"];
    all.extend_from_slice(args);
    let out = b.maand(&all).ok();
    assert_eq!(out.stderr, "", "{out:#?}");
    out.stdout.lines().map(str::to_string).collect()
}

/// The run directories under `logs/runs/`.
fn runs(b: &FleetBucket) -> BTreeSet<String> {
    std::fs::read_dir(b.path("logs/runs"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `maand <args>` and returns its output and the id of the run it logged.
fn logged_run(b: &FleetBucket, args: &[&str]) -> (Out, String) {
    let before = runs(b);
    let out = b.maand(args);
    let new: Vec<String> = runs(b).difference(&before).cloned().collect();
    assert_eq!(new.len(), 1, "one new run directory: {new:?}");
    (out, new[0].clone())
}

/// The `logs show --format human` block of one command, from its stored lines.
fn human_block(lines: &[&Value]) -> String {
    let begin = lines[0];
    let ts = s(begin, "ts");
    let mut text = format!(
        "{} {}  {}  run={}\n  {}  {}  {}\n  $ {}\n",
        &ts[..10],
        &ts[11..19],
        s(begin, "maand"),
        &s(begin, "run")[..8],
        s(begin, "phase"),
        s(begin, "action"),
        s(begin, "worker"),
        s(begin, "cmd")
    );
    for l in &lines[1..lines.len() - 1] {
        let marker = if s(l, "stream") == "stderr" { "!" } else { "|" };
        text.push_str(&format!("  {} {marker} {}\n", s(l, "worker"), s(l, "msg")));
    }
    let end = lines[lines.len() - 1];
    let exit = end["exit"].as_i64().unwrap();
    text.push_str(&format!(
        "  {}  exit={exit}  {}\n\n",
        if exit == 0 { "ok" } else { "FAIL" },
        maand_logs::format_duration_ms(end["duration_ms"].as_u64().unwrap())
    ));
    text
}

#[test]
fn jsonl_logs_of_run_command_and_every_logs_show_flag() {
    let Some(b) = FleetBucket::new("jsonl_logs_of_run_command_and_every_logs_show_flag", 2) else {
        return;
    };
    let (h0, h1) = (b.host(0), b.host(1));
    b.set_conf("log_format", "\"jsonl\"");
    b.job("app", r#"{"version": "1.0.0", "selectors": ["worker"]}"#);
    b.maand(&["build"]).ok();
    b.maand(&["deploy"]).ok();
    // Nothing changed: the job is skipped, a bucket-local event (logs/maand.log).
    let (_, skip_run) = logged_run(&b, &["deploy"]);
    let (out, run) = logged_run(&b, &["run_command", "echo hi; echo warn >&2", "-c", "2"]);
    out.ok();
    let (out, failed_run) = logged_run(&b, &["run_command", "exit 3", "-w", &h1]);
    out.failed();

    // --- The files. ---
    for h in [&h0, &h1] {
        let all = jsonl(&b.read(&format!("logs/{h}.log")));
        assert!(all.iter().all(|v| s(v, "worker") == h.as_str()));
        let mine: Vec<&Value> = all
            .iter()
            .filter(|v| s(v, "run") == run && s(v, "phase") == "run_command")
            .collect();
        assert_eq!(mine.len(), 4, "begin, two stream lines, end: {mine:#?}");
        let (begin, end) = (mine[0], mine[3]);
        assert_eq!(s(begin, "event"), "command_begin");
        assert_eq!(s(begin, "maand"), "run_command");
        assert_eq!(s(begin, "action"), "ssh");
        assert_eq!(s(begin, "level"), "INFO");
        assert!(
            s(begin, "cmd").ends_with("echo hi; echo warn >&2"),
            "{begin}"
        );
        // stdout and stderr are separate pipes: either may come first.
        let mut streams: Vec<(&str, &str)> = mine[1..3]
            .iter()
            .map(|v| (s(v, "stream"), s(v, "msg")))
            .collect();
        streams.sort();
        assert_eq!(streams, [("stderr", "warn"), ("stdout", "hi")]);
        assert!(mine[1..3].iter().all(|v| v.get("event").is_none()));
        assert_eq!(s(end, "event"), "command_end");
        assert_eq!(end["exit"], Value::from(0), "exit is a JSON integer");
        assert!(end["duration_ms"].is_u64(), "{end}");
        // The run's own copy holds exactly that run's lines.
        let copy = b.read(&format!("logs/runs/{run}/{h}.log"));
        let of_run: Vec<&Value> = all.iter().filter(|v| s(v, "run") == run).collect();
        assert_eq!(jsonl(&copy).iter().collect::<Vec<_>>(), of_run);
        assert!(of_run.len() > 4, "the prerequisite probe is logged too");
    }
    let failed = jsonl(&b.read(&format!("logs/runs/{failed_run}/{h1}.log")));
    let end = failed.last().unwrap();
    assert_eq!(
        (s(end, "event"), s(end, "level"), &end["exit"]),
        ("command_end", "ERROR", &Value::from(3))
    );
    assert!(!b.path(&format!("logs/runs/{failed_run}/{h0}.log")).exists());
    let bucket_log = jsonl(&b.read("logs/maand.log"));
    let skip: Vec<&Value> = bucket_log
        .iter()
        .filter(|v| s(v, "run") == skip_run && s(v, "event") == "deploy_skip")
        .collect();
    assert_eq!(skip.len(), 1, "{bucket_log:#?}");
    assert_eq!(
        ["event", "maand", "worker", "job", "reason"].map(|k| s(skip[0], k)),
        ["deploy_skip", "deploy", "-", "app", "already_promoted"]
    );
    assert_eq!(
        b.read(&format!("logs/runs/{skip_run}/maand.log")),
        b.read("logs/maand.log")
            .lines()
            .filter(|l| l.contains(&skip_run))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );

    // --- raw (the default): every file merged in time order. ---
    let raw = show(&b, &[]);
    assert_eq!(raw, show(&b, &["--format", "raw"]));
    let stored: usize = [&h0, &h1, &"maand".to_string()]
        .iter()
        .map(|f| b.read(&format!("logs/{f}.log")).lines().count())
        .sum();
    assert_eq!(raw.len(), stored);
    let ts: Vec<String> = jsonl(&raw.join("\n"))
        .iter()
        .map(|v| s(v, "ts").to_string())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "merged by ts");

    // --worker: one file; `-` is maand.log.
    let w1 = show(&b, &["--worker", &h1]);
    assert_eq!(w1.join("\n"), b.read(&format!("logs/{h1}.log")).trim_end());
    let bucket = show(&b, &["--worker", "-"]);
    assert_eq!(bucket.join("\n"), b.read("logs/maand.log").trim_end());

    // --run, by id or prefix; --run-dir reads the run's own directory, same lines.
    let of_run = show(&b, &["--run", &run]);
    assert!(!of_run.is_empty());
    assert!(jsonl(&of_run.join("\n")).iter().all(|v| s(v, "run") == run));
    assert_eq!(show(&b, &["--run", &run[..8]]), of_run);
    assert_eq!(show(&b, &["--run", &run, "--run-dir"]), of_run);
    assert_eq!(show(&b, &["--run", &run[..8], "--run-dir"]), of_run);
    assert_eq!(
        show(&b, &["--run", &run, "--run-dir", "--worker", &h0]),
        show(&b, &["--run", &run, "--worker", &h0])
    );

    // --job, --phase and --event.
    let app = jsonl(&show(&b, &["--job", "app"]).join("\n"));
    assert!(app.iter().all(|v| s(v, "job") == "app"));
    assert!(app.iter().any(|v| s(v, "phase") == "rollout"));
    assert!(app.iter().any(|v| s(v, "event") == "deploy_skip"));
    let phase = jsonl(&show(&b, &["--phase", "run_command"]).join("\n"));
    assert_eq!(
        phase.len(),
        4 + 4 + 2,
        "two workers of the first run, one of the second"
    );
    assert!(phase.iter().all(|v| s(v, "phase") == "run_command"));
    let ends = jsonl(&show(&b, &["--phase", "run_command", "--event", "command_end"]).join("\n"));
    let exits: Vec<i64> = ends.iter().map(|v| v["exit"].as_i64().unwrap()).collect();
    assert_eq!(exits, [0, 0, 3]);
    assert_eq!(
        show(&b, &["--phase", "rollout", "--job", "nope"]),
        Vec::<String>::new()
    );

    // --tail: the last N matching lines.
    assert_eq!(show(&b, &["--tail", "2"]), raw[raw.len() - 2..]);
    assert_eq!(show(&b, &["--tail", "0"]), raw);
    assert_eq!(
        show(&b, &["--phase", "run_command", "--tail", "1"]),
        [phase_last(&b)]
    );

    // --- human: one block per command, built from the stored lines. ---
    let first = jsonl(&b.read(&format!("logs/runs/{run}/{h0}.log")));
    let second = jsonl(&b.read(&format!("logs/runs/{run}/{h1}.log")));
    let block = |lines: &[Value]| {
        human_block(
            &lines
                .iter()
                .filter(|v| s(v, "phase") == "run_command")
                .collect::<Vec<_>>(),
        )
    };
    let (b0, b1) = (block(&first), block(&second));
    let begins = |lines: &[Value]| {
        s(
            lines
                .iter()
                .find(|v| s(v, "phase") == "run_command")
                .unwrap(),
            "ts",
        )
        .to_string()
    };
    let expected = if (begins(&first), h0.as_str()) <= (begins(&second), h1.as_str()) {
        format!("{b0}{b1}")
    } else {
        format!("{b1}{b0}")
    };
    let human = b
        .maand(&[
            "logs",
            "show",
            "--format",
            "human",
            "--run",
            &run,
            "--phase",
            "run_command",
        ])
        .ok();
    assert_eq!(human.stdout, expected);
    let alias = b
        .maand(&[
            "logs",
            "show",
            "--format",
            "h",
            "--run",
            &run,
            "--phase",
            "run_command",
        ])
        .ok();
    assert_eq!(alias.stdout, expected);
    // --tail in human mode keeps the last blocks (and the last events).
    let last = b
        .maand(&[
            "logs",
            "show",
            "--format",
            "human",
            "--phase",
            "run_command",
            "--tail",
            "1",
        ])
        .ok();
    assert!(last.stdout.contains("  FAIL  exit=3  "), "{last:#?}");
    assert_eq!(last.stdout.matches("\n\n").count(), 1, "{last:#?}");
    let events = b
        .maand(&[
            "logs",
            "show",
            "--format",
            "human",
            "--event",
            "deploy_skip",
        ])
        .ok();
    assert_eq!(
        events.stdout.lines().nth(1),
        Some("  deploy_skip  job=app  reason=already_promoted  worker=-")
    );

    // --- errors. ---
    b.maand(&["logs", "show", "--run-dir"])
        .failed()
        .has("--run-dir requires --run");
    b.maand(&["logs", "show", "--worker", "10.9.9.9"])
        .failed()
        .has("no log files matched");
    b.maand(&["logs", "show", "--run", "no-such-run", "--run-dir"])
        .failed()
        .has("no log files matched");
    b.maand(&["logs", "show", "--format", "xml"])
        .failed()
        .has("invalid log format \"xml\": expected raw or human (h)");
}

/// The last stored line with `phase=run_command`, in time order.
fn phase_last(b: &FleetBucket) -> String {
    let mut lines: Vec<(String, String)> = Vec::new();
    for f in [b.host(0), b.host(1)] {
        for l in b.read(&format!("logs/{f}.log")).lines() {
            let v: Value = serde_json::from_str(l).unwrap();
            if s(&v, "phase") == "run_command" {
                lines.push((s(&v, "ts").to_string(), l.to_string()));
            }
        }
    }
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    lines.pop().unwrap().1
}
