//! `maand run_command` against real workers (spec 09 §5).

use crate::harness::FleetBucket;
use std::time::Duration;

fn built(test: &str, n: usize) -> Option<FleetBucket> {
    let b = FleetBucket::new(test, n)?;
    b.maand(&["build"]).ok();
    Some(b)
}

#[test]
fn runs_in_bucket_dir_with_env_and_prefixed_output() {
    let Some(b) = built("runs_in_bucket_dir_with_env_and_prefixed_output", 2) else {
        return;
    };
    let id = b.bucket_id();
    // Worker 0 was deployed to (its bucket dir exists); worker 1 was not.
    std::fs::create_dir_all(b.fleet.worker_dir(0).join(&id)).unwrap();
    let out = b
        .maand(&[
            "run_command",
            "echo \"$BUCKET_ID $WORKER_IP\"; pwd; echo oops >&2",
        ])
        .ok();
    let (h0, h1) = (b.host(0), b.host(1));
    for h in [&h0, &h1] {
        assert_eq!(out.count_line(&format!("{h} | {id} {h}")), 1, "{out:#?}");
        assert_eq!(out.count_line(&format!("{h} ! oops")), 1, "{out:#?}");
    }
    assert_eq!(out.count_line(&format!("{h0} | /opt/worker/{id}")), 1);
    assert_eq!(
        out.count_line(&format!("{h1} | /root")),
        1,
        "login dir fallback"
    );
}

#[test]
fn filters_batches_and_exit_status() {
    let Some(b) = FleetBucket::new("filters_batches_and_exit_status", 3) else {
        return;
    };
    let (h0, h1, h2) = (b.host(0), b.host(1), b.host(2));
    b.write(
        "workspace/workers.json",
        format!(
            r#"[{{"host":"{h0}","labels":["db"]}},{{"host":"{h1}","labels":["web"]}},{{"host":"{h2}","labels":["web"]}}]"#
        ),
    );
    b.maand(&["build"]).ok();

    let out = b.maand(&["run_command", "echo hi", "-w", &h1]).ok();
    assert_eq!(out.count_line(&format!("{h1} | hi")), 1);
    out.lacks(&format!("{h0} |")).lacks(&format!("{h2} |"));

    let out = b.maand(&["run_command", "echo hi", "-l", "web"]).ok();
    out.lacks(&format!("{h0} |"));
    assert_eq!(out.count_line(&format!("{h2} | hi")), 1);

    b.maand(&["run_command", "true", "-w", "10.9.9.9"])
        .failed()
        .has("workers not in this bucket: [10.9.9.9]");
    b.maand(&["run_command", "true", "-w", &h0, "-l", "web"])
        .failed()
        .has("specify either --workers or --labels, not both");

    // Batches of 2: worker 0 fails in the first batch, so worker 2 (second batch) never runs.
    let script = format!("echo ran; [ \"$WORKER_IP\" != {h0} ] || exit 3");
    let out = b.maand(&["run_command", &script, "-c", "2"]).failed();
    out.has(&format!("worker {h0}: command failed (exit 3)"));
    assert_eq!(out.count_line(&format!("{h1} | ran")), 1);
    out.lacks(&format!("{h2} | ran"));

    // One batch of 3: everything runs.
    let out = b.maand(&["run_command", "echo ran", "-c", "3"]).ok();
    for h in [&h0, &h1, &h2] {
        assert_eq!(out.count_line(&format!("{h} | ran")), 1);
    }
}

#[test]
fn hostname_on_four_workers_one_login_each() {
    let Some(b) = built("hostname_on_four_workers_one_login_each", 4) else {
        return;
    };
    let before: Vec<usize> = (0..4).map(|i| b.logins(i)).collect();
    let out = b.maand(&["run_command", "hostname", "-c", "4"]).ok();
    let host = local_hostname();
    for (i, before) in before.iter().enumerate() {
        assert_eq!(
            out.count_line(&format!("{} | {}", b.host(i), host)),
            1,
            "{out:#?}"
        );
        // The prerequisite probe and the command share one multiplexed connection.
        assert_eq!(
            b.logins(i) - before,
            1,
            "worker {i}: one sshd login per process"
        );
    }
}

#[test]
fn dead_worker_fails_fast_with_its_name() {
    let Some(mut b) = built("dead_worker_fails_fast_with_its_name", 4) else {
        return;
    };
    b.fleet.kill(3).unwrap();
    let (h0, h1, dead) = (b.host(0), b.host(1), b.host(3));
    // Issue 4's "done when": `hostname -c 4` with one of four workers killed prints the
    // other three, names the dead one, and fails within the connect timeout (3 s) plus a
    // small margin for a loaded machine.
    let out = b.maand(&["run_command", "hostname", "-c", "4"]).failed();
    assert!(
        out.took < Duration::from_secs(3 + 2),
        "connect timeout 3 s + margin, took {:?}",
        out.took
    );
    // One line, the worker named once, then OpenSSH's own words.
    assert_eq!(
        out.count_line(&format!(
            "error: worker {dead}: ssh connection failed: ssh: connect to host {dead} port 2222: Connection refused"
        )),
        1,
        "{out:#?}"
    );
    out.lacks(&format!("worker {h0}:"));
    let host = local_hostname();
    for i in 0..3 {
        let line = format!("{} | {}", b.host(i), host);
        assert_eq!(out.count_line(&line), 1, "{out:#?}");
    }
    // Leaving the dead worker out, the others run.
    let out = b
        .maand(&[
            "run_command",
            "echo alive",
            "-w",
            &format!("{h0},{h1}"),
            "-c",
            "2",
        ])
        .ok();
    for h in [&h0, &h1] {
        assert_eq!(out.count_line(&format!("{h} | alive")), 1, "{out:#?}");
    }
}

#[test]
fn input_errors_command_sh_fallback_and_remote_timeout() {
    let Some(b) = built("input_errors_command_sh_fallback_and_remote_timeout", 2) else {
        return;
    };
    let (h0, h1) = (b.host(0), b.host(1));
    let before = b.logins(0);
    for c in ["0", "-2"] {
        b.maand(&["run_command", "true", "-c", c])
            .failed()
            .has("batch size (-c) must be at least 1");
    }
    // No argument (or a blank one) and no workspace/command.sh.
    for args in [&["run_command"][..], &["run_command", "  "][..]] {
        b.maand(args)
            .failed()
            .has("command argument or workspace/command.sh is required");
    }
    b.write("workspace/command.sh", " \n\t\n");
    b.maand(&["run_command"]).failed().has("command is empty");
    b.maand(&["run_command", "true", "-l", "nope"])
        .failed()
        .has("no workers matched the selection");
    assert_eq!(b.logins(0), before, "input errors contact no worker");

    // The fallback: workspace/command.sh, verbatim, when the argument is absent or blank.
    b.write(
        "workspace/command.sh",
        "#!/bin/bash\necho \"from file on $WORKER_IP\"\n",
    );
    for args in [&["run_command"][..], &["run_command", " "][..]] {
        let out = b.maand(args).ok();
        for h in [&h0, &h1] {
            assert_eq!(
                out.count_line(&format!("{h} | from file on {h}")),
                1,
                "{out:#?}"
            );
        }
    }
    // An argument wins over the file.
    b.maand(&["run_command", "echo arg"])
        .ok()
        .lacks("from file");

    // command_timeout bounds the script on the worker: `timeout` exits 124.
    b.set_conf("command_timeout", "1");
    let out = b
        .maand(&["run_command", "echo started; sleep 30", "-w", &h0])
        .failed();
    assert_eq!(out.count_line(&format!("{h0} | started")), 1, "{out:#?}");
    assert_eq!(
        out.count_line(&format!("error: worker {h0}: timed out")),
        1,
        "{out:#?}"
    );
    assert!(out.took < Duration::from_secs(10), "took {:?}", out.took);
}

/// This machine's host name: the fleet's workers share it (one UTS namespace).
fn local_hostname() -> String {
    let out = std::process::Command::new("hostname").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
