//! Ctrl-C during deploy: stop starting new batches, let running commands finish, commit
//! what was promoted, exit 130 (spec 06).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Clone)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// Registers SIGINT and SIGTERM; failures to register leave the default behaviour.
    pub fn install() -> Interrupt {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // A second signal terminates at once (the conditional default comes first).
            let _ = signal_hook::flag::register_conditional_default(sig, Arc::clone(&flag));
            let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
        }
        Interrupt(flag)
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
