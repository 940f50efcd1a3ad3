//! The progress display of `deploy`, `gc`, `collect facts` and `run_command` (spec 09 §9)
//! and the live echo of output lines (§8.5).

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::echo::{echo_line, quiet_from_env};
use crate::human::format_duration_ms;
use crate::redact::Redactor;
use crate::sink::Stream;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A live region at the bottom of the terminal (stderr is a TTY).
    Live,
    /// One plain line when a unit starts and when it finishes; no cursor control.
    Plain,
    /// No progress lines at all (`MAAND_PROGRESS=off`); echo and warnings still print.
    Off,
}

impl ProgressMode {
    /// The mode for this process: from `MAAND_PROGRESS`, `TERM` and whether stderr is
    /// a terminal.
    pub fn detect() -> ProgressMode {
        ProgressMode::decide(
            io::stderr().is_terminal(),
            std::env::var("TERM").ok().as_deref(),
            std::env::var("MAAND_PROGRESS").ok().as_deref(),
        )
    }

    /// The rule behind [`ProgressMode::detect`], kept pure for tests:
    /// `MAAND_PROGRESS=off` → `Off`; `MAAND_PROGRESS=plain`, no TTY or `TERM=dumb` →
    /// `Plain`; otherwise `Live`.
    pub fn decide(
        stderr_is_tty: bool,
        term: Option<&str>,
        maand_progress: Option<&str>,
    ) -> ProgressMode {
        let setting = maand_progress.map(|s| s.trim().to_ascii_lowercase());
        match setting.as_deref() {
            Some("off") => ProgressMode::Off,
            Some("plain") => ProgressMode::Plain,
            _ if !stderr_is_tty || term == Some("dumb") => ProgressMode::Plain,
            _ => ProgressMode::Live,
        }
    }
}

/// The terminal display of one command: progress units plus every line printed while
/// they run. Cheap to clone; clones share the display.
///
/// All terminal output of a running command goes through it (echoed stream lines,
/// warnings, hook headers), because in live mode a line printed any other way would be
/// overwritten by the redraw of the live region.
#[derive(Clone)]
pub struct Progress {
    inner: Arc<Inner>,
}

struct Inner {
    mode: ProgressMode,
    quiet: bool,
    redactor: RwLock<Redactor>,
    total: AtomicUsize,
    done: AtomicUsize,
    failed: AtomicUsize,
    /// Plain and off modes (and live lines when the region is hidden): stderr, or a
    /// buffer in tests.
    out: Mutex<Box<dyn Write + Send>>,
    live: Option<Live>,
}

struct Live {
    multi: MultiProgress,
    overall: ProgressBar,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("mode", &self.inner.mode)
            .field("quiet", &self.inner.quiet)
            .field("total", &self.inner.total.load(Ordering::Relaxed))
            .field("done", &self.inner.done.load(Ordering::Relaxed))
            .finish()
    }
}

impl Progress {
    /// A display for `total` units, with mode and `MAAND_QUIET` read from the
    /// environment, writing to stderr.
    pub fn new(total: usize) -> Progress {
        Progress::with_mode(ProgressMode::detect(), total, quiet_from_env())
    }

    /// A display in an explicit mode writing to stderr; `quiet` suppresses the echo.
    pub fn with_mode(mode: ProgressMode, total: usize, quiet: bool) -> Progress {
        let live = (mode == ProgressMode::Live).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let overall = multi.add(ProgressBar::new_spinner());
            overall.set_style(style("{msg}"));
            Live { multi, overall }
        });
        let progress = Progress::build(mode, total, quiet, Box::new(io::stderr()), live);
        progress.update_overall();
        progress
    }

    /// A display writing plain lines to `out` (tests, or a caller that owns stderr).
    /// `Live` is not possible without a terminal and is treated as `Plain`.
    pub fn to_writer(
        mode: ProgressMode,
        total: usize,
        quiet: bool,
        out: Box<dyn Write + Send>,
    ) -> Progress {
        let mode = if mode == ProgressMode::Live {
            ProgressMode::Plain
        } else {
            mode
        };
        Progress::build(mode, total, quiet, out, None)
    }

    fn build(
        mode: ProgressMode,
        total: usize,
        quiet: bool,
        out: Box<dyn Write + Send>,
        live: Option<Live>,
    ) -> Progress {
        Progress {
            inner: Arc::new(Inner {
                mode,
                quiet,
                redactor: RwLock::new(Redactor::new()),
                total: AtomicUsize::new(total),
                done: AtomicUsize::new(0),
                failed: AtomicUsize::new(0),
                out: Mutex::new(out),
                live,
            }),
        }
    }

    /// Shares a secret list (usually [`LogSink::redactor`](crate::LogSink::redactor)) so
    /// echoed lines are masked exactly like logged ones.
    /// Applies to every clone of this display.
    pub fn with_redactor(self, redactor: Redactor) -> Progress {
        *self
            .inner
            .redactor
            .write()
            .unwrap_or_else(PoisonError::into_inner) = redactor;
        self
    }

    /// The mode in use.
    pub fn mode(&self) -> ProgressMode {
        self.inner.mode
    }

    /// Changes the number of units (when it is known only after planning).
    pub fn set_total(&self, total: usize) {
        self.inner.total.store(total, Ordering::Relaxed);
        self.update_overall();
    }

    /// Units finished so far, and how many of them failed.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.inner.done.load(Ordering::Relaxed),
            self.inner.failed.load(Ordering::Relaxed),
        )
    }

    /// Starts a unit (a worker, or a job in a wave) named `name`.
    pub fn start(&self, name: &str) -> Unit {
        let bar = self.inner.live.as_ref().map(|live| {
            let bar = live
                .multi
                .insert_before(&live.overall, ProgressBar::new_spinner());
            bar.set_style(style("{spinner} {prefix}  {msg}  {elapsed}"));
            bar.set_prefix(name.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        if self.inner.mode == ProgressMode::Plain {
            let (done, _) = self.counts();
            self.write_plain(&format!("[{}] {name} started", self.counter(done)));
        }
        Unit {
            progress: self.clone(),
            name: name.to_string(),
            started: Instant::now(),
            bar,
            finished: false,
        }
    }

    /// Prints a line (a warning, a `hooks: <job>` header, an event sentence) above the
    /// live region, or plainly; secrets are masked. Printed in every mode.
    pub fn println(&self, line: &str) {
        let redactor = self
            .inner
            .redactor
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let line = redactor.redact(line);
        match &self.inner.live {
            Some(live) if !live.multi.is_hidden() => {
                let _ = live.multi.println(line.as_ref());
            }
            _ => self.write_plain(&line),
        }
    }

    /// Echoes one output line as `job@worker | line` (`!` for stderr), unless quiet.
    pub fn echo(&self, job: Option<&str>, worker: Option<&str>, stream: Stream, line: &str) {
        if !self.inner.quiet {
            self.println(&echo_line(job, worker, stream, line));
        }
    }

    /// Removes the live region; plain modes need no clean-up. Call when the command ends.
    pub fn finish(&self) {
        if let Some(live) = &self.inner.live {
            live.overall.finish_and_clear();
            let _ = live.multi.clear();
        }
    }

    /// `done/total`, or just `done` while the total is unknown (0).
    fn counter(&self, done: usize) -> String {
        match self.inner.total.load(Ordering::Relaxed) {
            0 => done.to_string(),
            total => format!("{done}/{total}"),
        }
    }

    fn write_plain(&self, line: &str) {
        let mut out = self
            .inner
            .out
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // A failing stderr is not worth failing the command for.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    fn update_overall(&self) {
        if let Some(live) = &self.inner.live {
            let (done, failed) = self.counts();
            let mut msg = format!("{} done", self.counter(done));
            if failed > 0 {
                msg.push_str(&format!(", {failed} failed"));
            }
            live.overall.set_message(msg);
        }
    }

    fn unit_finished(&self, name: &str, ok: bool, elapsed: Duration, note: &str) {
        let done = self.inner.done.fetch_add(1, Ordering::Relaxed) + 1;
        if !ok {
            self.inner.failed.fetch_add(1, Ordering::Relaxed);
        }
        let duration = format_duration_ms(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(" {note}")
        };
        match self.inner.mode {
            ProgressMode::Off => {}
            ProgressMode::Plain => {
                let status = if ok { "ok" } else { "FAIL" };
                let counter = self.counter(done);
                self.write_plain(&format!("[{counter}] {name} {status} {duration}{note}"));
            }
            ProgressMode::Live => {
                let mark = if ok { '✓' } else { '✗' };
                self.println(&format!("{mark} {name} {duration}{note}"));
                self.update_overall();
            }
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// One in-flight unit of a [`Progress`] display. Finish it with [`Unit::finish_ok`] or
/// [`Unit::finish_failed`]; a unit dropped unfinished (an early `?` return) counts as
/// failed, so the counter never claims success it did not see.
#[derive(Debug)]
pub struct Unit {
    progress: Progress,
    name: String,
    started: Instant,
    bar: Option<ProgressBar>,
    finished: bool,
}

impl Unit {
    /// Shows what the unit is doing now (`rollout start`, `rsync`), in live mode.
    pub fn set_phase(&self, phase: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(phase.to_string());
        }
    }

    /// Time since the unit started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Marks the unit done and successful.
    pub fn finish_ok(mut self) {
        self.finish(true, "");
    }

    /// Marks the unit failed; `note` (e.g. `exit 1`) is appended to its final line.
    pub fn finish_failed(mut self, note: &str) {
        self.finish(false, note);
    }

    fn finish(&mut self, ok: bool, note: &str) {
        if self.finished {
            return;
        }
        self.finished = true;
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.progress
            .unit_finished(&self.name, ok, self.started.elapsed(), note);
    }
}

impl Drop for Unit {
    fn drop(&mut self) {
        self.finish(false, "unfinished");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// Replaces durations (`12ms`, `2.1s`) with `<d>` so output is deterministic.
    fn mask_durations(text: &str) -> String {
        text.split('\n')
            .map(|line| {
                line.split(' ')
                    .map(|w| {
                        let is_ms = w.strip_suffix("ms").is_some_and(|n| {
                            !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())
                        });
                        let is_s = w.strip_suffix('s').is_some_and(|n| {
                            n.contains('.') && n.chars().all(|c| c.is_ascii_digit() || c == '.')
                        });
                        if is_ms || is_s {
                            "<d>"
                        } else {
                            w
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn mode_rules() {
        use ProgressMode::*;
        assert_eq!(ProgressMode::decide(true, Some("xterm"), None), Live);
        assert_eq!(ProgressMode::decide(false, Some("xterm"), None), Plain);
        assert_eq!(ProgressMode::decide(true, Some("dumb"), None), Plain);
        assert_eq!(ProgressMode::decide(true, None, Some("plain")), Plain);
        assert_eq!(ProgressMode::decide(true, None, Some("OFF")), Off);
        assert_eq!(ProgressMode::decide(false, None, Some("off")), Off);
        assert_eq!(ProgressMode::decide(true, None, Some("whatever")), Live);
    }

    #[test]
    fn plain_lines_on_start_and_finish() {
        let buf = Buf::default();
        let p = Progress::to_writer(ProgressMode::Plain, 3, false, Box::new(buf.clone()));
        let a = p.start("10.0.0.1");
        let b = p.start("10.0.0.2");
        p.echo(None, Some("10.0.0.1"), Stream::Stdout, "hello");
        a.finish_ok();
        b.finish_failed("exit 1");
        {
            let _c = p.start("10.0.0.3");
        }
        p.finish();
        assert_eq!(
            mask_durations(&buf.text()),
            "[0/3] 10.0.0.1 started\n\
             [0/3] 10.0.0.2 started\n\
             10.0.0.1 | hello\n\
             [1/3] 10.0.0.1 ok <d>\n\
             [2/3] 10.0.0.2 FAIL <d> exit 1\n\
             [2/3] 10.0.0.3 started\n\
             [3/3] 10.0.0.3 FAIL <d> unfinished\n"
        );
        assert_eq!(p.counts(), (3, 2));
    }

    #[test]
    fn off_mode_prints_echo_but_no_progress() {
        let buf = Buf::default();
        let p = Progress::to_writer(ProgressMode::Off, 1, false, Box::new(buf.clone()));
        let u = p.start("w");
        p.echo(Some("api"), Some("w"), Stream::Stderr, "boom");
        p.println("warning: x");
        u.finish_ok();
        assert_eq!(buf.text(), "api@w ! boom\nwarning: x\n");
    }

    #[test]
    fn unknown_total_shows_done_count_only() {
        let buf = Buf::default();
        let p = Progress::to_writer(ProgressMode::Plain, 0, false, Box::new(buf.clone()));
        p.start("gc").finish_ok();
        assert_eq!(
            mask_durations(&buf.text()),
            "[0] gc started\n[1] gc ok <d>\n"
        );
    }

    #[test]
    fn quiet_suppresses_echo_only() {
        let buf = Buf::default();
        let p = Progress::to_writer(ProgressMode::Off, 1, true, Box::new(buf.clone()));
        p.echo(Some("api"), None, Stream::Stdout, "line");
        p.println("warning: kept");
        assert_eq!(buf.text(), "warning: kept\n");
    }

    #[test]
    fn echo_is_redacted() {
        let buf = Buf::default();
        let r = Redactor::new();
        let p = Progress::to_writer(ProgressMode::Plain, 0, false, Box::new(buf.clone()))
            .with_redactor(r.clone());
        r.add_secret("s3cret");
        p.echo(
            Some("db"),
            Some("10.0.0.1"),
            Stream::Stdout,
            "password=s3cret",
        );
        assert_eq!(buf.text(), "db@10.0.0.1 | password=[redacted]\n");
    }

    #[test]
    fn live_mode_does_not_panic_without_terminal() {
        let p = Progress::with_mode(ProgressMode::Live, 2, true);
        let u = p.start("job a / wave 1");
        u.set_phase("rollout start");
        p.println("above");
        u.finish_ok();
        p.set_total(3);
        p.finish();
        assert_eq!(p.counts(), (1, 0));
    }
}
