//! The transport against a real local fleet of sshd workers (spec 12). Skips, loudly, only
//! when the machine cannot host a fleet (not root, no sshd).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use maand_fleet::Fleet;
use maand_transport::{
    CollectingObserver, NullObserver, Observer, RemoteCommand, RsyncSpec, SshSettings, Stream,
    Target, Transport, TransportError, WORKER_TOOLS,
};

struct Env {
    fleet: Fleet,
    bucket: tempfile::TempDir,
    settings: SshSettings,
}

fn env(test: &str, n: usize) -> Option<Env> {
    let fleet = maand_fleet::fleet_or_skip(test, n).expect("start fleet")?;
    let bucket = tempfile::tempdir().expect("bucket dir");
    fleet
        .configure_bucket(bucket.path())
        .expect("configure bucket");
    let mut settings = SshSettings::for_bucket(
        bucket.path(),
        "root",
        bucket.path().join("secrets/worker.key"),
        fleet.port(),
    );
    settings.use_sudo = false;
    settings.connect_timeout = Duration::from_secs(3);
    settings.control_persist_secs = 0;
    Some(Env {
        fleet,
        bucket,
        settings,
    })
}

fn target(host: &str) -> Target {
    Target::worker(host, "run_command", "ssh")
}

fn transport(env: &Env) -> Transport {
    Transport::new(env.settings.clone(), Arc::new(NullObserver)).expect("transport")
}

#[test]
fn four_workers_in_parallel_with_private_worker_dirs() {
    let Some(env) = env("four_workers_in_parallel_with_private_worker_dirs", 4) else {
        return;
    };
    let obs = Arc::new(CollectingObserver::new());
    let t = Transport::new(env.settings.clone(), obs.clone()).unwrap();
    let hosts = env.fleet.hosts();
    let targets: Vec<Target> = hosts.iter().map(|h| target(h)).collect();

    let started = Instant::now();
    let results = t.run_all(targets.clone(), 4, |t| {
        RemoteCommand::new(
            "echo \"hello from $WORKER\"; echo \"$WORKER\" > /opt/worker/whoami; ls /opt/worker",
        )
        .env("WORKER", t.worker.clone().unwrap_or_default())
    });
    let first = started.elapsed();
    assert_eq!(results.len(), 4);
    for (t, r) in &results {
        let w = t.worker.clone().unwrap();
        let out = r.as_ref().unwrap_or_else(|e| panic!("{e}"));
        // Each worker sees only its own file: isolation.
        assert_eq!(out.stdout(), format!("hello from {w}\nwhoami"));
    }
    for (i, h) in hosts.iter().enumerate() {
        let text = fs::read_to_string(env.fleet.worker_dir(i).join("whoami")).unwrap();
        assert_eq!(text, format!("{h}\n"));
    }
    assert!(
        !Path::new("/opt/worker/whoami").exists(),
        "the host must not see worker files"
    );
    assert_eq!(
        obs.lines_of(&hosts[2], Stream::Stdout),
        vec![format!("hello from {}", hosts[2]), "whoami".to_string()]
    );

    let started = Instant::now();
    let results = t.run_all(targets, 4, |_| RemoteCommand::new("cat /opt/worker/whoami"));
    let second = started.elapsed();
    for (t, r) in results {
        assert_eq!(r.unwrap().stdout(), t.worker.unwrap());
    }
    eprintln!(
        "measured: 4 workers, first command {:.0} ms (handshakes), second {:.0} ms (multiplexed)",
        first.as_secs_f64() * 1000.0,
        second.as_secs_f64() * 1000.0
    );
    for i in 0..4 {
        assert_eq!(env.fleet.accepted_logins(i), 1, "worker {i}");
    }
}

#[test]
fn one_connection_per_worker_per_process() {
    let Some(env) = env("one_connection_per_worker_per_process", 1) else {
        return;
    };
    let t = transport(&env);
    let h = env.fleet.host(0);
    for i in 0..5 {
        let out = t
            .run_checked(&target(&h), &RemoteCommand::new(format!("echo {i}")))
            .unwrap();
        assert_eq!(out.stdout(), i.to_string());
    }
    let stage = tempfile::tempdir().unwrap();
    fs::write(stage.path().join("f"), "x").unwrap();
    t.rsync(
        &target(&h),
        &RsyncSpec::new(stage.path(), "/opt/worker/b1").create_dest(),
    )
    .unwrap();
    t.check_workers(std::slice::from_ref(&h), WORKER_TOOLS, 4)
        .unwrap();
    assert_eq!(
        env.fleet.accepted_logins(0),
        1,
        "ssh, rsync and the probe share one master"
    );

    // close_masters really closes: the next command logs in again.
    t.close_masters();
    t.run_checked(&target(&h), &RemoteCommand::new("true"))
        .unwrap();
    assert_eq!(env.fleet.accepted_logins(0), 2);
}

#[test]
fn a_dead_worker_fails_fast_and_alone() {
    let Some(mut env) = env("a_dead_worker_fails_fast_and_alone", 3) else {
        return;
    };
    env.fleet.kill(1).unwrap();
    let t = transport(&env);
    let hosts = env.fleet.hosts();
    let results = maand_transport::fan_out(hosts.clone(), 3, |h| {
        let started = Instant::now();
        let r = t.run(&target(h), &RemoteCommand::new("echo ok"));
        (r, started.elapsed())
    });
    for (i, (_, (r, took))) in results.iter().enumerate() {
        if i == 1 {
            assert!(
                *took < env.settings.connect_timeout + Duration::from_secs(2),
                "{took:?}"
            );
            let err = r.as_ref().unwrap_err();
            assert!(err.is_unreachable());
            assert_eq!(
                err.to_string(),
                format!(
                    "worker {h}: ssh: connect to host {h} port {}: Connection refused",
                    env.fleet.port(),
                    h = hosts[1]
                )
            );
        } else {
            assert_eq!(r.as_ref().unwrap().stdout(), "ok");
        }
    }

    // The host comes back (same host key): works again.
    env.fleet.restart(1).unwrap();
    t.run_checked(&target(&hosts[1]), &RemoteCommand::new("true"))
        .unwrap();
}

#[test]
fn a_killed_worker_also_kills_open_connections() {
    let Some(mut env) = env("a_killed_worker_also_kills_open_connections", 1) else {
        return;
    };
    let t = transport(&env);
    let h = env.fleet.host(0);
    t.run_checked(&target(&h), &RemoteCommand::new("true"))
        .unwrap();
    env.fleet.kill(0).unwrap();
    let err = t.run(&target(&h), &RemoteCommand::new("true")).unwrap_err();
    assert!(matches!(err, TransportError::Connect { .. }), "{err}");
}

#[test]
fn a_frozen_worker_does_not_hang() {
    let Some(env) = env("a_frozen_worker_does_not_hang", 2) else {
        return;
    };
    let t = transport(&env);
    let h = env.fleet.host(0);

    // No master yet: ConnectTimeout bounds the banner exchange.
    env.fleet.freeze(0).unwrap();
    let started = Instant::now();
    let err = t.run(&target(&h), &RemoteCommand::new("true")).unwrap_err();
    let took = started.elapsed();
    eprintln!("frozen worker, fresh connection: {took:?}: {err}");
    assert!(err.is_unreachable(), "{err}");
    assert!(
        err.to_string().starts_with(&format!("worker {h}: ")),
        "{err}"
    );
    assert!(
        took < env.settings.connect_timeout + Duration::from_secs(3),
        "{took:?}"
    );

    // A master exists, then the host freezes: the local deadline bounds the command.
    env.fleet.thaw(0).unwrap();
    t.run_checked(&target(&h), &RemoteCommand::new("true"))
        .unwrap();
    env.fleet.freeze(0).unwrap();
    let started = Instant::now();
    let err = t
        .run(
            &target(&h),
            &RemoteCommand::new("true").deadline(Duration::from_secs(2)),
        )
        .unwrap_err();
    let took = started.elapsed();
    eprintln!("frozen worker, existing master: {took:?}: {err}");
    assert!(matches!(err, TransportError::Deadline { .. }), "{err}");
    assert!(took < Duration::from_secs(4), "{took:?}");

    // The other worker is unaffected.
    t.run_checked(&target(&env.fleet.host(1)), &RemoteCommand::new("true"))
        .unwrap();
    env.fleet.thaw(0).unwrap();
}

#[test]
fn a_changed_host_key_fails_with_the_fix() {
    let Some(mut env) = env("a_changed_host_key_fails_with_the_fix", 1) else {
        return;
    };
    let h = env.fleet.host(0);
    {
        let t = transport(&env);
        t.run_checked(&target(&h), &RemoteCommand::new("true"))
            .unwrap();
    } // drop: masters closed (persist 0), so the next connection checks the key again
    env.fleet.rotate_host_key(0).unwrap();
    let t = transport(&env);
    let err = t.run(&target(&h), &RemoteCommand::new("true")).unwrap_err();
    let kh = env.bucket.path().join("secrets/known_hosts");
    let fix = format!(
        "ssh-keygen -f {} -R '[{h}]:{}'",
        kh.display(),
        env.fleet.port()
    );
    assert!(
        matches!(err, TransportError::HostKeyChanged { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("worker {h}: host key changed")),
        "{err}"
    );
    assert!(err.to_string().ends_with(&fix), "{err}");

    // Following the advice works.
    let status = std::process::Command::new("bash")
        .args(["-c", &format!("{fix} >/dev/null 2>&1")])
        .status()
        .unwrap();
    assert!(status.success());
    t.run_checked(&target(&h), &RemoteCommand::new("true"))
        .unwrap();
}

#[test]
fn rsync_keeps_modes_deletes_excludes_and_reports_a_read_only_disk() {
    let Some(env) = env(
        "rsync_keeps_modes_deletes_excludes_and_reports_a_read_only_disk",
        1,
    ) else {
        return;
    };
    let t = transport(&env);
    let h = env.fleet.host(0);
    let stage = tempfile::tempdir().unwrap();
    fs::create_dir(stage.path().join("bin")).unwrap();
    fs::write(stage.path().join("bin/run.sh"), "#!/bin/sh\necho run\n").unwrap();
    fs::set_permissions(
        stage.path().join("bin/run.sh"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    fs::write(stage.path().join("app.conf"), "a=1\n").unwrap();
    fs::set_permissions(
        stage.path().join("app.conf"),
        fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let spec = RsyncSpec::new(stage.path(), "/opt/worker/b1/jobs/api")
        .create_dest()
        .delete()
        .exclude("data/");
    let tgt = Target::worker(&h, "rsync", "rsync").with_job("api");
    t.rsync(&tgt, &spec).unwrap();

    let remote = env.fleet.worker_dir(0).join("b1/jobs/api");
    let mode = |p: &str| fs::metadata(remote.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("bin/run.sh"), 0o755);
    assert_eq!(mode("app.conf"), 0o640);
    let out = t
        .run_checked(
            &target(&h),
            &RemoteCommand::new("jobs/api/bin/run.sh").cwd("/opt/worker/b1"),
        )
        .unwrap();
    assert_eq!(out.stdout(), "run");

    // --delete removes strays but leaves excluded runtime dirs alone.
    fs::create_dir_all(remote.join("data")).unwrap();
    fs::write(remote.join("data/db"), "keep").unwrap();
    fs::write(remote.join("stray"), "x").unwrap();
    t.rsync(&tgt, &spec).unwrap();
    assert!(remote.join("data/db").exists());
    assert!(!remote.join("stray").exists());

    // Same size, same second: content decides, not size + mtime.
    fs::write(stage.path().join("app.conf"), "a=9\n").unwrap();
    t.rsync(&tgt, &spec).unwrap();
    assert_eq!(
        fs::read_to_string(remote.join("app.conf")).unwrap(),
        "a=9\n"
    );

    // Disk fault: writes fail, and rsync's own words reach the error.
    env.fleet.set_read_only(0, true).unwrap();
    fs::write(stage.path().join("app.conf"), "a=2\n").unwrap();
    let err = t.rsync(&tgt, &spec).unwrap_err();
    assert!(matches!(err, TransportError::Rsync { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("worker {h}: rsync failed (exit ")),
        "{err}"
    );
    assert!(err.to_string().contains("Read-only file system"), "{err}");
    env.fleet.set_read_only(0, false).unwrap();
    t.rsync(&tgt, &spec).unwrap();
    assert_eq!(
        fs::read_to_string(remote.join("app.conf")).unwrap(),
        "a=2\n"
    );
}

#[test]
fn failures_and_timeouts_carry_the_worker_and_stderr() {
    let Some(env) = env("failures_and_timeouts_carry_the_worker_and_stderr", 1) else {
        return;
    };
    let t = transport(&env);
    let h = env.fleet.host(0);
    let err = t
        .run_checked(
            &target(&h),
            &RemoteCommand::new("echo out; echo 'bad thing' >&2; exit 3"),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("worker {h}: command failed (exit 3): bad thing")
    );

    let started = Instant::now();
    let err = t
        .run_checked(&target(&h), &RemoteCommand::new("sleep 20").timeout(1))
        .unwrap_err();
    assert_eq!(err.to_string(), format!("worker {h}: timed out after 1s"));
    assert!(started.elapsed() < Duration::from_secs(5));

    // Exit codes are data for `run`.
    let out = t.run(&target(&h), &RemoteCommand::new("exit 2")).unwrap();
    assert_eq!(out.exit, 2);
}

/// Masks one word, like the bucket log observer masks the secrets it was given.
struct Masking(&'static str);

impl Observer for Masking {
    fn begin(&self, _: &Target, _: &str) {}
    fn line(&self, _: &Target, _: Stream, _: &str) {}
    fn end(&self, _: &Target, _: i32, _: Duration) {}
    fn redact<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        text.replace(self.0, "[redacted]").into()
    }
}

#[test]
fn a_failed_command_error_masks_secrets_in_its_stderr() {
    let Some(env) = env("a_failed_command_error_masks_secrets_in_its_stderr", 1) else {
        return;
    };
    let t = Transport::new(env.settings.clone(), Arc::new(Masking("s3cret-pw"))).unwrap();
    let h = env.fleet.host(0);
    let err = t
        .run_checked(
            &target(&h),
            &RemoteCommand::new("echo 'password is s3cret-pw' >&2; exit 3"),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("worker {h}: command failed (exit 3): password is [redacted]")
    );
}

#[test]
fn drop_closes_masters_and_removes_the_control_dir() {
    let Some(env) = env("drop_closes_masters_and_removes_the_control_dir", 2) else {
        return;
    };
    let dir = env.settings.control_dir.clone();
    let t = transport(&env);
    let targets: Vec<Target> = env.fleet.hosts().iter().map(|h| target(h)).collect();
    for (_, r) in t.run_all(targets, 2, |_| RemoteCommand::new("true")) {
        r.unwrap();
    }
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        2,
        "one socket per master"
    );
    drop(t);
    assert!(
        !dir.exists(),
        "persist 0: masters closed, {} removed",
        dir.display()
    );

    // A persisting master keeps the directory (and its socket) for the next process.
    let settings = SshSettings {
        control_persist_secs: 60,
        ..env.settings.clone()
    };
    let t = Transport::new(settings, Arc::new(NullObserver)).unwrap();
    t.run_checked(&target(&env.fleet.host(0)), &RemoteCommand::new("true"))
        .unwrap();
    drop(t);
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    // The next process reuses it and, with persist 0, closes it and removes the directory.
    let t = transport(&env);
    t.run_checked(&target(&env.fleet.host(0)), &RemoteCommand::new("true"))
        .unwrap();
    assert_eq!(
        env.fleet.accepted_logins(0),
        2,
        "the persisted master was reused"
    );
    drop(t);
    assert!(!dir.exists());
}

#[test]
fn prerequisites_are_reported_in_one_message() {
    let Some(mut env) = env("prerequisites_are_reported_in_one_message", 3) else {
        return;
    };
    let obs = Arc::new(CollectingObserver::new());
    let t = Transport::new(env.settings.clone(), obs.clone()).unwrap();
    let hosts = env.fleet.hosts();
    t.check_workers(&hosts, WORKER_TOOLS, 4).unwrap();
    let probes = obs.events().len();
    assert!(probes > 0);
    // Cached per worker for the process: no second probe.
    t.check_workers(&hosts, WORKER_TOOLS, 4).unwrap();
    assert_eq!(obs.events().len(), probes);
    env.fleet.kill(2).unwrap();
    let err = t
        .check_workers(&hosts, &["bash", "maand-no-such-tool"], 4)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "missing prerequisites: worker {a}: maand-no-such-tool; worker {b}: maand-no-such-tool; cannot check prerequisites: worker {c}: ssh: connect to host {c}",
            a = hosts[0],
            b = hosts[1],
            c = hosts[2]
        )),
        "{err}"
    );
}

/// Records when each line arrived.
#[derive(Default)]
struct Timed {
    lines: Mutex<Vec<(String, Instant)>>,
    ended: Mutex<Option<Instant>>,
}

impl Observer for Timed {
    fn begin(&self, _: &Target, _: &str) {}
    fn line(&self, _: &Target, _: Stream, line: &str) {
        self.lines
            .lock()
            .unwrap()
            .push((line.to_string(), Instant::now()));
    }
    fn end(&self, _: &Target, _: i32, _: Duration) {
        *self.ended.lock().unwrap() = Some(Instant::now());
    }
}

#[test]
fn output_is_streamed_while_the_command_runs() {
    let Some(env) = env("output_is_streamed_while_the_command_runs", 1) else {
        return;
    };
    let obs = Arc::new(Timed::default());
    let t = Transport::new(env.settings.clone(), obs.clone()).unwrap();
    let h = env.fleet.host(0);
    t.run_checked(
        &target(&h),
        &RemoteCommand::new("echo first; sleep 1.5; echo second >&2"),
    )
    .unwrap();
    let lines = obs.lines.lock().unwrap().clone();
    let ended = obs.ended.lock().unwrap().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].0, "first");
    assert!(
        ended - lines[0].1 > Duration::from_secs(1),
        "first line arrived late"
    );
}

#[test]
fn parallel_first_commands_to_one_worker_share_one_connection() {
    let Some(env) = env(
        "parallel_first_commands_to_one_worker_share_one_connection",
        1,
    ) else {
        return;
    };
    let t = transport(&env);
    let h = env.fleet.host(0);
    let targets: Vec<Target> = (0..6)
        .map(|i| target(&h).with_job(format!("job{i}")))
        .collect();
    let results = t.run_all(targets, 6, |t| {
        RemoteCommand::new(format!("echo {}", t.label()))
    });
    for (t, r) in results {
        assert_eq!(r.unwrap().stdout(), t.label());
    }
    assert_eq!(env.fleet.accepted_logins(0), 1);
}

#[test]
fn parallel_commands_to_a_frozen_worker_do_not_queue_up() {
    let Some(env) = env("parallel_commands_to_a_frozen_worker_do_not_queue_up", 1) else {
        return;
    };
    let t = transport(&env);
    let h = env.fleet.host(0);
    env.fleet.freeze(0).unwrap();
    let started = Instant::now();
    let targets: Vec<Target> = (0..4)
        .map(|i| target(&h).with_job(format!("job{i}")))
        .collect();
    let results = t.run_all(targets, 4, |_| RemoteCommand::new("true"));
    let took = started.elapsed();
    assert!(results
        .iter()
        .all(|(_, r)| r.as_ref().is_err_and(|e| e.is_unreachable())));
    // One connect timeout for the first contact, then the rest in parallel.
    assert!(
        took < env.settings.connect_timeout * 2 + Duration::from_secs(3),
        "{took:?}"
    );
    env.fleet.thaw(0).unwrap();
}

#[test]
fn sudo_paths_work_when_use_sudo_is_set() {
    let name = "sudo_paths_work_when_use_sudo_is_set";
    let Some(mut env) = env(name, 1) else {
        return;
    };
    let Some(user) = maand_fleet::sudo_user_or_skip(name) else {
        return;
    };
    // Spec 12: sudo paths are tested with a non-root user. Without sudo it cannot write
    // the worker directory (root's, 0755)…
    env.settings.user = user.to_string();
    let h = env.fleet.host(0);
    let stage = tempfile::tempdir().unwrap();
    fs::write(stage.path().join("f"), "x").unwrap();
    let spec = RsyncSpec::new(stage.path(), "/opt/worker/s/jobs/a").create_dest();
    {
        let t = transport(&env);
        let out = t
            .run_checked(&target(&h), &RemoteCommand::new("id -un"))
            .unwrap();
        assert_eq!(out.stdout(), user);
        let err = t.rsync(&target(&h), &spec).unwrap_err().to_string();
        assert!(err.contains("Permission denied"), "{err}");
    }
    // …with `use_sudo` the composed `sudo -E bash -c` line, `--rsync-path=sudo …` and the
    // sudo prerequisite probes make it root on the worker.
    env.settings.use_sudo = true;
    let t = transport(&env);
    t.check_workers(std::slice::from_ref(&h), WORKER_TOOLS, 1)
        .unwrap();
    let out = t
        .run_checked(
            &target(&h),
            &RemoteCommand::new("echo \"$(id -u):$SUDO_USER:$MARK\"")
                .sudo()
                .env("MARK", "m1"),
        )
        .unwrap();
    assert_eq!(out.stdout(), format!("0:{user}:m1"));
    t.rsync(&target(&h), &spec).unwrap();
    let f = env.fleet.worker_dir(0).join("s/jobs/a/f");
    assert_eq!(fs::read_to_string(&f).unwrap(), "x");
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&fs::metadata(&f).unwrap()),
        0
    );
}
