//! Observers receive every process event while it happens. The transport never prints by
//! itself (style guide: libraries never print); the CLI wires a [`ConsoleObserver`] and the
//! bucket log writer, usually together through [`Tee`].

use std::borrow::Cow;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{Stream, Target};

/// Receives the life of every process: `begin`, each output line as it arrives, `end`.
///
/// Calls come from several threads at once (one per stream per process, and fan-out
/// across workers), so implementations must serialise their own output.
pub trait Observer: Send + Sync {
    /// The process is about to start. `cmd` is a human summary (the script text for remote
    /// commands, the argv for rsync and local programs).
    fn begin(&self, target: &Target, cmd: &str);
    /// One line of output, without its trailing newline.
    fn line(&self, target: &Target, stream: Stream, line: &str);
    /// The process ended. `exit` is its exit code, `128 + signal` when it was killed by a
    /// signal, or `-1` when it could not be started.
    fn end(&self, target: &Target, exit: i32, duration: Duration);
    /// `text` with every secret this observer knows masked. The transport runs child
    /// output it puts into errors (the stderr tail of a failed command) through this, so a
    /// secret that a command printed never reaches the terminal by way of an error message.
    /// The default knows no secrets.
    fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        Cow::Borrowed(text)
    }
}

/// Drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullObserver;

impl Observer for NullObserver {
    fn begin(&self, _: &Target, _: &str) {}
    fn line(&self, _: &Target, _: Stream, _: &str) {}
    fn end(&self, _: &Target, _: i32, _: Duration) {}
}

/// Echoes each output line to stderr as `job@worker | line` (`!` for stderr lines), the
/// live view of spec 09 §8.5. Begin/end are not printed: the structured log has them.
#[derive(Debug, Default)]
pub struct ConsoleObserver {
    lock: Mutex<()>,
}

impl ConsoleObserver {
    pub fn new() -> Self {
        Self::default()
    }

    /// The exact text printed for one line (without newline).
    pub fn format_line(target: &Target, stream: Stream, line: &str) -> String {
        format!("{} {} {}", target.label(), stream.marker(), line)
    }
}

impl Observer for ConsoleObserver {
    fn begin(&self, _: &Target, _: &str) {}

    fn line(&self, target: &Target, stream: Stream, line: &str) {
        let text = Self::format_line(target, stream, line);
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        // A closed stderr must not kill a deploy; the log files still get the line.
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }

    fn end(&self, _: &Target, _: i32, _: Duration) {}
}

/// Sends every event to several observers, in order (e.g. console + bucket logs).
#[derive(Clone, Default)]
pub struct Tee(pub Vec<Arc<dyn Observer>>);

impl Observer for Tee {
    fn begin(&self, target: &Target, cmd: &str) {
        self.0.iter().for_each(|o| o.begin(target, cmd));
    }
    fn line(&self, target: &Target, stream: Stream, line: &str) {
        self.0.iter().for_each(|o| o.line(target, stream, line));
    }
    fn end(&self, target: &Target, exit: i32, duration: Duration) {
        self.0.iter().for_each(|o| o.end(target, exit, duration));
    }
    fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for o in &self.0 {
            let masked = match o.redact(&out) {
                Cow::Owned(s) => Some(s),
                Cow::Borrowed(_) => None,
            };
            if let Some(s) = masked {
                out = Cow::Owned(s);
            }
        }
        out
    }
}

/// One recorded event of a [`CollectingObserver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObservedEvent {
    Begin {
        target: Target,
        cmd: String,
    },
    Line {
        target: Target,
        stream: Stream,
        line: String,
    },
    End {
        target: Target,
        exit: i32,
    },
}

/// Records events in memory; for tests of code that drives the transport.
#[derive(Debug, Default)]
pub struct CollectingObserver {
    events: Mutex<Vec<ObservedEvent>>,
}

impl CollectingObserver {
    pub fn new() -> Self {
        Self::default()
    }

    /// A snapshot of everything seen so far.
    pub fn events(&self) -> Vec<ObservedEvent> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The lines seen for targets on `worker`, in arrival order.
    pub fn lines_of(&self, worker: &str, stream: Stream) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                ObservedEvent::Line {
                    target,
                    stream: s,
                    line,
                } if s == stream && target.worker.as_deref() == Some(worker) => Some(line),
                _ => None,
            })
            .collect()
    }

    fn push(&self, e: ObservedEvent) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(e);
    }
}

impl Observer for CollectingObserver {
    fn begin(&self, target: &Target, cmd: &str) {
        self.push(ObservedEvent::Begin {
            target: target.clone(),
            cmd: cmd.to_string(),
        });
    }
    fn line(&self, target: &Target, stream: Stream, line: &str) {
        self.push(ObservedEvent::Line {
            target: target.clone(),
            stream,
            line: line.to_string(),
        });
    }
    fn end(&self, target: &Target, exit: i32, _: Duration) {
        self.push(ObservedEvent::End {
            target: target.clone(),
            exit,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_format() {
        let t = Target::worker("10.0.0.1", "rollout", "start").with_job("postgres");
        assert_eq!(
            ConsoleObserver::format_line(&t, Stream::Stdout, "Stopping"),
            "postgres@10.0.0.1 | Stopping"
        );
        let t = Target::worker("10.0.0.1", "run_command", "ssh");
        assert_eq!(
            ConsoleObserver::format_line(&t, Stream::Stderr, "warn"),
            "10.0.0.1 ! warn"
        );
    }

    /// Masks one fixed word, like the bucket log observer masks registered secrets.
    struct Masking(&'static str);

    impl Observer for Masking {
        fn begin(&self, _: &Target, _: &str) {}
        fn line(&self, _: &Target, _: Stream, _: &str) {}
        fn end(&self, _: &Target, _: i32, _: Duration) {}
        fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
            if text.contains(self.0) {
                Cow::Owned(text.replace(self.0, "[redacted]"))
            } else {
                Cow::Borrowed(text)
            }
        }
    }

    #[test]
    fn tee_redacts_through_every_observer() {
        assert!(matches!(NullObserver.redact("s3cret"), Cow::Borrowed(_)));
        let tee = Tee(vec![
            Arc::new(Masking("s3cret")),
            Arc::new(NullObserver),
            Arc::new(Masking("t0ken")),
        ]);
        assert_eq!(
            tee.redact("pw=s3cret token=t0ken"),
            "pw=[redacted] token=[redacted]"
        );
        assert!(matches!(tee.redact("nothing"), Cow::Borrowed(_)));
    }
}
