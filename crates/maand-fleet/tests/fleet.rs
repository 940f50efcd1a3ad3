//! The fleet harness itself: slots, isolation, faults, bucket fragment, detached mode.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use maand_fleet::{Fleet, FleetError, FleetOptions, FleetState};
use maand_transport::{NullObserver, RemoteCommand, SshSettings, Target, Transport};

fn transport(fleet: &Fleet, bucket: &std::path::Path) -> Transport {
    fleet.configure_bucket(bucket).unwrap();
    let mut s = SshSettings::for_bucket(
        bucket,
        "root",
        bucket.join("secrets/worker.key"),
        fleet.port(),
    );
    s.use_sudo = false;
    s.connect_timeout = Duration::from_secs(3);
    s.control_persist_secs = 0;
    Transport::new(s, Arc::new(NullObserver)).unwrap()
}

fn t(host: &str) -> Target {
    Target::worker(host, "test", "ssh")
}

#[test]
fn concurrent_fleets_get_distinct_addresses_and_clean_up() {
    let Some(a) =
        maand_fleet::fleet_or_skip("concurrent_fleets_get_distinct_addresses_and_clean_up", 2)
            .unwrap()
    else {
        return;
    };
    let b = Fleet::start(2).unwrap();
    assert_ne!(a.k(), b.k());
    assert_eq!(
        a.hosts(),
        vec![format!("127.0.{}.1", a.k()), format!("127.0.{}.2", a.k())]
    );
    assert_eq!(a.port(), 2222);
    let pids: Vec<u32> = (0..2).filter_map(|i| b.pid(i)).collect();
    assert_eq!(pids.len(), 2);
    let root = b.root().to_path_buf();
    assert!(root.exists());
    drop(b);
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid),
            "pid {pid} survived drop"
        );
    }
    assert!(!root.exists(), "temp dir removed on drop");
}

fn is_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.contains(") Z "))
        .unwrap_or(true)
}

#[test]
fn workers_have_private_worker_dirs_and_the_right_config() {
    let Some(fleet) =
        maand_fleet::fleet_or_skip("workers_have_private_worker_dirs_and_the_right_config", 2)
            .unwrap()
    else {
        return;
    };
    let bucket = tempfile::tempdir().unwrap();
    let tr = transport(&fleet, bucket.path());
    let (h0, h1) = (fleet.host(0), fleet.host(1));
    tr.run_checked(&t(&h0), &RemoteCommand::new("echo zero > /opt/worker/mine"))
        .unwrap();
    let out = tr
        .run(
            &t(&h1),
            &RemoteCommand::new("cat /opt/worker/mine 2>&1; ls -A /opt/worker"),
        )
        .unwrap();
    assert!(
        out.stdout().contains("No such file"),
        "worker 1 must not see worker 0's file: {}",
        out.stdout()
    );
    assert_eq!(
        fs::read_to_string(fleet.worker_dir(0).join("mine")).unwrap(),
        "zero\n"
    );
    assert!(!fleet.worker_dir(1).join("mine").exists());

    let log = fs::read_to_string(fleet.sshd_log(0)).unwrap();
    assert!(
        log.contains(&format!("Server listening on {h0} port 2222")),
        "{log}"
    );
    assert_eq!(fleet.accepted_logins(0), 1);
    assert_eq!(fleet.accepted_logins(1), 1);
}

#[test]
fn configure_bucket_writes_only_the_key() {
    let Some(fleet) =
        maand_fleet::fleet_or_skip("configure_bucket_writes_only_the_key", 2).unwrap()
    else {
        return;
    };
    let bucket = tempfile::tempdir().unwrap();
    let frag = fleet.configure_bucket(bucket.path()).unwrap();
    let key = bucket.path().join("secrets/worker.key");
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::read(&key).unwrap(),
        fs::read(fleet.client_key()).unwrap()
    );
    let entries: Vec<_> = fs::read_dir(bucket.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, vec!["secrets"]);
    assert_eq!(
        frag.workers_json,
        format!(
            "[\n  {{\n    \"host\": \"{}\"\n  }},\n  {{\n    \"host\": \"{}\"\n  }}\n]\n",
            fleet.host(0),
            fleet.host(1)
        )
    );
    assert_eq!(
        frag.maand_conf,
        "ssh_user = \"root\"\nssh_port = 2222\nuse_sudo = false\nssh_key = \"worker.key\"\n"
    );
}

#[test]
fn faults_kill_freeze_restart_read_only() {
    let Some(mut fleet) =
        maand_fleet::fleet_or_skip("faults_kill_freeze_restart_read_only", 1).unwrap()
    else {
        return;
    };
    let bucket = tempfile::tempdir().unwrap();
    let tr = transport(&fleet, bucket.path());
    let h = fleet.host(0);

    fleet.set_read_only(0, true).unwrap();
    let err = tr
        .run_checked(&t(&h), &RemoteCommand::new("touch /opt/worker/x"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("Read-only file system"), "{err}");
    fleet.set_read_only(0, false).unwrap();
    tr.run_checked(&t(&h), &RemoteCommand::new("touch /opt/worker/x"))
        .unwrap();

    let old_pid = fleet.pid(0).unwrap();
    fleet.restart(0).unwrap();
    assert_ne!(fleet.pid(0).unwrap(), old_pid);
    // Same worker dir after restart.
    tr.run_checked(&t(&h), &RemoteCommand::new("test -e /opt/worker/x"))
        .unwrap();

    fleet.kill(0).unwrap();
    assert_eq!(fleet.pid(0), None);
    assert!(matches!(
        fleet.freeze(0),
        Err(FleetError::NotRunning { .. })
    ));
    assert!(matches!(
        fleet.set_read_only(0, true),
        Err(FleetError::NotRunning { .. })
    ));
    assert!(matches!(
        fleet.kill(5),
        Err(FleetError::NoSuchWorker { index: 5, count: 1 })
    ));
    fleet.restart(0).unwrap();
    tr.run_checked(&t(&h), &RemoteCommand::new("true")).unwrap();
}

#[test]
fn the_binary_starts_reports_and_stops_a_detached_fleet() {
    if let Some(reason) = Fleet::unsupported_reason() {
        maand_fleet::skip(
            "the_binary_starts_reports_and_stops_a_detached_fleet",
            &reason,
        );
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().to_str().unwrap();
    let bin = env!("CARGO_BIN_EXE_maand-fleet");
    let out = Command::new(bin)
        .args(["start", "--workers", "2", "--state", dir])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hosts: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(hosts.len(), 2);

    let fleet = FleetState::read(state.path()).unwrap();
    assert_eq!(
        fleet
            .workers
            .iter()
            .map(|w| w.host.clone())
            .collect::<Vec<_>>(),
        hosts
    );
    assert!(fleet.status().iter().all(|w| w.alive && w.accepting));

    let again = Command::new(bin)
        .args(["start", "--workers", "1", "--state", dir])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already running"));

    let status = Command::new(bin)
        .args(["status", "--state", dir])
        .output()
        .unwrap();
    let text = String::from_utf8(status.stdout).unwrap();
    assert!(
        text.contains(&format!("{}:2222", hosts[0])) && text.contains("running"),
        "{text}"
    );

    let bucket = tempfile::tempdir().unwrap();
    let printed = Command::new(bin)
        .args(["bucket", "--state", dir, "--bucket"])
        .arg(bucket.path())
        .args(["--print", "workers-json"])
        .output()
        .unwrap();
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let text = String::from_utf8(printed.stdout).unwrap();
    assert!(text.starts_with("[\n  {\n    \"host\": "), "{text}");
    assert!(bucket.path().join("secrets/worker.key").exists());

    let stop = Command::new(bin)
        .args(["stop", "--state", dir])
        .output()
        .unwrap();
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    std::thread::sleep(Duration::from_millis(200));
    // (Not `accepting`: a parallel test may already have claimed the freed addresses.)
    assert!(
        fleet.status().iter().all(|w| !w.alive),
        "{:?}",
        fleet.status()
    );

    let bad = Command::new(bin)
        .args(["stop", "--state", dir])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let usage = Command::new(bin)
        .args(["start", "--state", dir])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&usage.stderr).contains("--workers N is required"));
}

#[test]
fn options_choose_port_and_root() {
    let Some(_probe) = maand_fleet::fleet_or_skip("options_choose_port_and_root", 0).unwrap()
    else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let fleet = Fleet::start_with(FleetOptions {
        workers: 1,
        port: 2299,
        root: Some(root.path().to_path_buf()),
    })
    .unwrap();
    assert_eq!(fleet.port(), 2299);
    assert!(fleet.client_key().starts_with(root.path()));
    let bucket = tempfile::tempdir().unwrap();
    let tr = transport(&fleet, bucket.path());
    tr.run_checked(&t(&fleet.host(0)), &RemoteCommand::new("true"))
        .unwrap();
    drop(tr);
    drop(fleet);
    assert!(root.path().exists(), "a caller-given root is kept");
}
