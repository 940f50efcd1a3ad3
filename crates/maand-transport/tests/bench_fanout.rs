//! Not a timed test: prints what multiplexing buys on a local fleet. Run with
//! `cargo test -p maand-transport --test bench_fanout -- --ignored --nocapture`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use maand_transport::{NullObserver, RemoteCommand, SshSettings, Target, Transport};

fn round(t: &Transport, hosts: &[String]) -> Duration {
    let started = Instant::now();
    let targets = hosts
        .iter()
        .map(|h| Target::worker(h.clone(), "bench", "ssh"))
        .collect();
    for (t, r) in t.run_all(targets, 16, |_| RemoteCommand::new("true")) {
        if let Err(e) = r {
            panic!("{}: {e}", t.label());
        }
    }
    started.elapsed()
}

#[test]
#[ignore = "benchmark: prints timings"]
fn fan_out_sixteen_workers() {
    let Some(fleet) = maand_fleet::fleet_or_skip("fan_out_sixteen_workers", 16).unwrap() else {
        return;
    };
    let bucket = tempfile::tempdir().unwrap();
    fleet.configure_bucket(bucket.path()).unwrap();
    let mut s = SshSettings::for_bucket(
        bucket.path(),
        "root",
        bucket.path().join("secrets/worker.key"),
        fleet.port(),
    );
    s.use_sudo = false;
    s.control_persist_secs = 60;
    let hosts = fleet.hosts();
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);

    let t = Transport::new(s.clone(), Arc::new(NullObserver)).unwrap();
    let first = round(&t, &hosts);
    let second = round(&t, &hosts);
    drop(t);
    // A later process on the same bucket: persisted masters, no handshake.
    let t = Transport::new(s, Arc::new(NullObserver)).unwrap();
    let later = round(&t, &hosts);
    t.close_masters();
    let logins: usize = (0..16).map(|i| fleet.accepted_logins(i)).sum();
    eprintln!(
        "16 workers: first round {} (handshakes), second {} (multiplexed), next process {} (persisted masters); {logins} logins in all",
        ms(first),
        ms(second),
        ms(later)
    );
    assert_eq!(logins, 16);
}
