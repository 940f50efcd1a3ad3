//! Runs a render that may recurse deeply on a thread with a large stack.
//!
//! Named templates may nest 1000 deep (spec 05 §5.7) and the executor
//! recurses on the Rust stack, which a 2 MiB worker or test thread cannot
//! hold. Files that invoke named templates therefore execute on a scoped
//! thread with a big (lazily committed) stack. The caller's [`KvSource`]
//! need not be `Sync`, so KV calls travel back over channels and are
//! answered on the caller's thread.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread;

use crate::KvSource;

/// Stack for the render thread; only the pages touched are committed.
const STACK_BYTES: usize = 256 << 20;

enum Request {
    Get(String, String),
    Keys(String),
    ScrapeConfigs,
    RuleFiles,
}

enum Reply {
    Get(Result<Option<String>, String>),
    Keys(Result<Vec<String>, String>),
    Text(Result<String, String>),
}

/// The render thread's [`KvSource`]: forwards each call to the caller.
struct Proxy {
    requests: Sender<Request>,
    replies: Receiver<Reply>,
}

impl Proxy {
    fn ask(&self, r: Request) -> Option<Reply> {
        self.requests.send(r).ok()?;
        self.replies.recv().ok()
    }
}

const GONE: &str = "kv source unavailable";

impl KvSource for Proxy {
    fn get(&self, namespace: &str, key: &str) -> Result<Option<String>, String> {
        match self.ask(Request::Get(namespace.into(), key.into())) {
            Some(Reply::Get(r)) => r,
            _ => Err(GONE.into()),
        }
    }

    fn keys(&self, namespace: &str) -> Result<Vec<String>, String> {
        match self.ask(Request::Keys(namespace.into())) {
            Some(Reply::Keys(r)) => r,
            _ => Err(GONE.into()),
        }
    }

    fn scrape_configs(&self) -> Result<String, String> {
        match self.ask(Request::ScrapeConfigs) {
            Some(Reply::Text(r)) => r,
            _ => Err(GONE.into()),
        }
    }

    fn rule_files(&self) -> Result<String, String> {
        match self.ask(Request::RuleFiles) {
            Some(Reply::Text(r)) => r,
            _ => Err(GONE.into()),
        }
    }
}

/// Runs `work` on a big-stack thread, serving its KV calls from `kv` here.
/// `None` if the thread could not be started or panicked.
pub(crate) fn on_big_stack<T: Send>(
    kv: &dyn KvSource,
    work: impl FnOnce(&dyn KvSource) -> T + Send,
) -> Option<T> {
    let (req_tx, req_rx) = channel();
    let (rep_tx, rep_rx) = channel();
    thread::scope(|scope| {
        let handle = thread::Builder::new()
            .name("maand-template".into())
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, move || {
                let proxy = Proxy {
                    requests: req_tx,
                    replies: rep_rx,
                };
                work(&proxy)
            })
            .ok()?;
        // Ends when the render thread drops its sender, i.e. when it is done.
        for request in req_rx {
            let reply = match request {
                Request::Get(ns, key) => Reply::Get(kv.get(&ns, &key)),
                Request::Keys(ns) => Reply::Keys(kv.keys(&ns)),
                Request::ScrapeConfigs => Reply::Text(kv.scrape_configs()),
                Request::RuleFiles => Reply::Text(kv.rule_files()),
            };
            if rep_tx.send(reply).is_err() {
                break;
            }
        }
        handle.join().ok()
    })
}
