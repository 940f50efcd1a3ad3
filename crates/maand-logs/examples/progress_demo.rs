//! Shows the progress display by hand: `cargo run -p maand-logs --example progress_demo`
//! (live on a terminal; `MAAND_PROGRESS=plain` or a pipe for plain lines).

use std::thread;
use std::time::Duration;

use maand_logs::{Progress, Stream};

fn main() {
    let workers = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"];
    let progress = Progress::new(workers.len());
    let handles: Vec<_> = workers
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let progress = progress.clone();
            let w = w.to_string();
            thread::spawn(move || {
                let unit = progress.start(&w);
                unit.set_phase("run_command ssh");
                for n in 0..3 {
                    thread::sleep(Duration::from_millis(300 * (i as u64 + 1)));
                    progress.echo(None, Some(&w), Stream::Stdout, &format!("line {n}"));
                }
                if i == 2 {
                    progress.echo(None, Some(&w), Stream::Stderr, "disk full");
                    unit.finish_failed("exit 1");
                } else {
                    unit.finish_ok();
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    progress.finish();
    progress.println("all workers done");
}
