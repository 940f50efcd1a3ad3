//! A real local fleet of OpenSSH workers for maand's tests, demo and benchmarks (spec 12
//! "The local test fleet").
//!
//! Worker *i* is an `sshd` listening on `127.0.k.(i+1):2222`, started inside its own mount
//! namespace with a private directory bind-mounted over `/opt/worker`, so what one worker
//! writes there neither the others nor the host see. Keys are generated per fleet; the
//! machine's `~/.ssh` is never touched. `k` is unique per running fleet (flock'ed slot
//! files under `/tmp`), so parallel tests never collide. Processes are stopped by recorded
//! pid and mount namespace — never by name — including when a test panics (`Drop`).
//!
//! ```no_run
//! let fleet = maand_fleet::Fleet::start(4)?;
//! let hosts = fleet.hosts(); // ["127.0.1.1", …]
//! # Ok::<(), maand_fleet::FleetError>(())
//! ```

mod error;
mod fleet;
mod procs;
mod state;

pub use error::FleetError;
pub use fleet::{BucketFragment, Fleet, FleetOptions, DEFAULT_PORT, SSHD, WORKER_MOUNT};
pub use state::{FleetState, WorkerState, WorkerStatus};

/// For tests: start a fleet of `n`, or skip (see [`skip`]) when this machine cannot host
/// one (not root, no sshd). Any other failure is an error.
pub fn fleet_or_skip(test: &str, n: usize) -> Result<Option<Fleet>, FleetError> {
    if let Some(reason) = Fleet::unsupported_reason() {
        skip(test, &reason);
        return Ok(None);
    }
    Fleet::start(n).map(Some)
}

/// For tests that need something this machine may lack (a fleet, sudo, bun, Prometheus):
/// print a loud notice so the caller can return early. The README's test command sets
/// `MAAND_TEST_NO_SKIP`, and there this panics instead: a green CI run means every test ran.
pub fn skip(test: &str, reason: &str) {
    if std::env::var_os("MAAND_TEST_NO_SKIP").is_some() {
        panic!("test {test} cannot run here ({reason}) and MAAND_TEST_NO_SKIP is set");
    }
    eprintln!("\n!!!!! SKIPPED test {test}: {reason} !!!!!\n");
}

/// The non-root login `scripts/setup.sh` creates for the sudo tests of spec 12:
/// passwordless sudo, no password (a fleet's sshd accepts the fleet key for any local user).
pub const SUDO_USER: &str = "maand-sudo";

/// For the sudo tests: [`SUDO_USER`] when this machine has it and sudo, else skip (see
/// [`skip`]) and `None`.
pub fn sudo_user_or_skip(test: &str) -> Option<&'static str> {
    if !std::path::Path::new("/usr/bin/sudo").exists() {
        skip(test, "/usr/bin/sudo is missing (apt-get install sudo)");
        return None;
    }
    let exists = std::process::Command::new("id")
        .arg(SUDO_USER)
        .output()
        .is_ok_and(|o| o.status.success());
    if !exists {
        skip(
            test,
            "user maand-sudo is missing (scripts/setup.sh creates it)",
        );
        return None;
    }
    Some(SUDO_USER)
}
