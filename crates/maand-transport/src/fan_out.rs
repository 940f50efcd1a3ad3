//! Bounded parallel fan-out over workers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

/// Run `f` on every item with at most `parallelism` running at once (`0` counts as 1) and
/// return each item with its own result, in input order. A failing item never stops or
/// hides the others: errors are just results.
pub fn fan_out<I, T, F>(items: Vec<I>, parallelism: usize, f: F) -> Vec<(I, T)>
where
    I: Send + Sync,
    T: Send,
    F: Fn(&I) -> T + Sync,
{
    let n = items.len();
    let workers = parallelism.max(1).min(n);
    if workers <= 1 {
        return items
            .into_iter()
            .map(|i| {
                let r = f(&i);
                (i, r)
            })
            .collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let idx = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(idx) else { break };
                let r = f(item);
                *slots[idx].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            });
        }
    });
    items
        .into_iter()
        .zip(slots)
        .filter_map(|(item, slot)| {
            let r = slot.into_inner().unwrap_or_else(|e| e.into_inner())?;
            Some((item, r))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::{Duration, Instant};

    #[test]
    fn keeps_order_bounds_parallelism_and_reports_every_item() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let started = Instant::now();
        let out = fan_out((0..12).collect(), 4, |i: &u32| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            running.fetch_sub(1, Ordering::SeqCst);
            if matches!(i % 5, 0) {
                Err(format!("item {i} failed"))
            } else {
                Ok(i * 2)
            }
        });
        assert_eq!(out.len(), 12);
        assert_eq!(peak.load(Ordering::SeqCst), 4);
        assert!(started.elapsed() < Duration::from_millis(500));
        for (i, r) in &out {
            if matches!(i % 5, 0) {
                assert_eq!(r, &Err(format!("item {i} failed")));
            } else {
                assert_eq!(r, &Ok(i * 2));
            }
        }
        assert_eq!(
            out.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            (0..12).collect::<Vec<_>>()
        );
    }

    #[test]
    fn zero_parallelism_and_empty_input() {
        assert_eq!(fan_out(vec![1, 2], 0, |i| i + 1), vec![(1, 2), (2, 3)]);
        assert!(fan_out(Vec::<u8>::new(), 8, |i| *i).is_empty());
    }
}
