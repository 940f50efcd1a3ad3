//! Ctrl-C / SIGTERM while hooks run (spec 07 §4): each hook runs in its own process group,
//! so maand forwards the signal to every running hook, waits up to 10 s, then kills the
//! rest. No new hook starts once a signal arrived; a second signal ends maand at once.

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long hooks get to exit after the forwarded signal.
pub const GRACE: Duration = Duration::from_secs(10);

struct Flags {
    int: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
}

static FLAGS: OnceLock<Flags> = OnceLock::new();
static RUNNING: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn running() -> std::sync::MutexGuard<'static, BTreeSet<i32>> {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Installs the forwarding once per process.
pub fn install() {
    FLAGS.get_or_init(|| {
        let flags = Flags {
            int: Arc::new(AtomicBool::new(false)),
            term: Arc::new(AtomicBool::new(false)),
        };
        for (sig, flag) in [
            (signal_hook::consts::SIGINT, &flags.int),
            (signal_hook::consts::SIGTERM, &flags.term),
        ] {
            let _ = signal_hook::flag::register_conditional_default(sig, Arc::clone(flag));
            let _ = signal_hook::flag::register(sig, Arc::clone(flag));
        }
        let (int, term) = (Arc::clone(&flags.int), Arc::clone(&flags.term));
        let _ = std::thread::Builder::new()
            .name("maand-hooks-signals".into())
            .spawn(move || watch(&int, &term));
        flags
    });
}

fn watch(int: &AtomicBool, term: &AtomicBool) {
    let sig = loop {
        if term.load(Ordering::SeqCst) {
            break Signal::SIGTERM;
        }
        if int.load(Ordering::SeqCst) {
            break Signal::SIGINT;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for pgid in running().iter() {
        let _ = killpg(Pid::from_raw(*pgid), sig);
    }
    let started = Instant::now();
    while started.elapsed() < GRACE && !running().is_empty() {
        std::thread::sleep(Duration::from_millis(50));
    }
    for pgid in running().iter() {
        let _ = killpg(Pid::from_raw(*pgid), Signal::SIGKILL);
    }
}

/// A signal arrived: start no new hook.
pub fn requested() -> bool {
    FLAGS
        .get()
        .is_some_and(|f| f.int.load(Ordering::SeqCst) || f.term.load(Ordering::SeqCst))
}

/// A hook process group is running.
pub fn track(pgid: u32) {
    running().insert(pgid as i32);
}

/// It ended.
pub fn untrack(pgid: u32) {
    running().remove(&(pgid as i32));
}
