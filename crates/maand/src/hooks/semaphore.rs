//! Named counting semaphores of the runtime API (spec 07 §7.10): scope (job, event, name),
//! capacity fixed by the first acquire, FIFO waiters, timeouts, release on hook exit.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Highest capacity an acquire may ask for.
pub const MAX_CAPACITY: i64 = 64;
/// Default and ceiling of `timeout_seconds`.
pub const DEFAULT_TIMEOUT_SECS: i64 = 600;
pub const MAX_TIMEOUT_SECS: i64 = 3600;

/// Why an acquire or release was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SemError {
    /// 409: capacity above 64 or different from the first acquire, release without holding.
    Conflict,
    /// 408: the wait timed out.
    TimedOut,
}

/// (job, event, name).
pub type Scope = (String, String, String);

#[derive(Debug)]
struct Sem {
    capacity: usize,
    holders: BTreeSet<String>,
    /// Waiting tickets, oldest first, with the allocation each waits for.
    queue: VecDeque<(u64, String)>,
}

#[derive(Debug, Default)]
struct Table {
    sems: HashMap<Scope, Sem>,
    /// Tickets promoted from a queue to holder by a release, not yet seen by their waiter.
    granted: HashSet<u64>,
    next_ticket: u64,
}

/// Status of one semaphore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub capacity: usize,
    pub holders: Vec<String>,
    pub waiting: usize,
    pub available: usize,
}

/// Every semaphore of one maand process.
#[derive(Debug, Default)]
pub struct Semaphores {
    table: Mutex<Table>,
    changed: Condvar,
}

/// `capacity` as sent: omitted or ≤ 0 → 1; > 64 → conflict.
pub fn normalize_capacity(capacity: Option<i64>) -> Result<usize, SemError> {
    match capacity {
        None => Ok(1),
        Some(c) if c <= 0 => Ok(1),
        Some(c) if c > MAX_CAPACITY => Err(SemError::Conflict),
        Some(c) => Ok(c as usize),
    }
}

/// `timeout_seconds` as sent: omitted or ≤ 0 → 600; above 3600 → 3600.
pub fn normalize_timeout(secs: Option<f64>) -> Duration {
    let s = match secs {
        Some(s) if s > 0.0 => s.min(MAX_TIMEOUT_SECS as f64),
        _ => DEFAULT_TIMEOUT_SECS as f64,
    };
    Duration::from_secs_f64(s)
}

impl Semaphores {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Acquires a slot of `scope` for `holder`, waiting FIFO up to `timeout`.
    pub fn acquire(
        &self,
        scope: &Scope,
        holder: &str,
        capacity: usize,
        timeout: Duration,
    ) -> Result<(), SemError> {
        let deadline = Instant::now() + timeout;
        let mut t = self.lock();
        let ticket = {
            let table = &mut *t;
            let sem = table.sems.entry(scope.clone()).or_insert_with(|| Sem {
                capacity,
                holders: BTreeSet::new(),
                queue: VecDeque::new(),
            });
            if sem.capacity != capacity {
                return Err(SemError::Conflict);
            }
            if sem.holders.contains(holder) {
                return Ok(());
            }
            if sem.holders.len() < sem.capacity && sem.queue.is_empty() {
                sem.holders.insert(holder.to_string());
                return Ok(());
            }
            table.next_ticket += 1;
            let ticket = table.next_ticket;
            sem.queue.push_back((ticket, holder.to_string()));
            ticket
        };
        loop {
            if t.granted.remove(&ticket) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                if let Some(sem) = t.sems.get_mut(scope) {
                    sem.queue.retain(|(n, _)| *n != ticket);
                }
                return Err(SemError::TimedOut);
            }
            t = self
                .changed
                .wait_timeout(t, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Releases `holder`'s slot; the oldest waiters take the free slots.
    pub fn release(&self, scope: &Scope, holder: &str) -> Result<(), SemError> {
        let mut t = self.lock();
        let table = &mut *t;
        let Some(sem) = table.sems.get_mut(scope) else {
            return Err(SemError::Conflict);
        };
        if !sem.holders.remove(holder) {
            return Err(SemError::Conflict);
        }
        grant_waiters(sem, &mut table.granted);
        drop(t);
        self.changed.notify_all();
        Ok(())
    }

    /// Releases every slot `holder` holds under (job, event); returns the names, sorted.
    pub fn release_all(&self, job: &str, event: &str, holder: &str) -> Vec<String> {
        let mut t = self.lock();
        let table = &mut *t;
        let mut names = Vec::new();
        for ((j, e, name), sem) in table.sems.iter_mut() {
            if j == job && e == event && sem.holders.remove(holder) {
                names.push(name.clone());
                grant_waiters(sem, &mut table.granted);
            }
        }
        drop(t);
        if !names.is_empty() {
            self.changed.notify_all();
        }
        names.sort();
        names
    }

    pub fn status(&self, scope: &Scope) -> Status {
        let t = self.lock();
        match t.sems.get(scope) {
            None => Status {
                capacity: 1,
                holders: Vec::new(),
                waiting: 0,
                available: 1,
            },
            Some(sem) => Status {
                capacity: sem.capacity,
                holders: sem.holders.iter().cloned().collect(),
                waiting: sem.queue.len(),
                available: sem.capacity.saturating_sub(sem.holders.len()),
            },
        }
    }
}

fn grant_waiters(sem: &mut Sem, granted: &mut HashSet<u64>) {
    while sem.holders.len() < sem.capacity {
        let Some((ticket, who)) = sem.queue.pop_front() else {
            break;
        };
        if sem.holders.insert(who) {
            granted.insert(ticket);
        } else {
            // The same allocation already holds a slot: its wait is over too.
            granted.insert(ticket);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn scope(name: &str) -> Scope {
        ("api".into(), "cli".into(), name.into())
    }

    #[test]
    fn normalizes() {
        assert_eq!(normalize_capacity(None), Ok(1));
        assert_eq!(normalize_capacity(Some(-3)), Ok(1));
        assert_eq!(normalize_capacity(Some(64)), Ok(64));
        assert_eq!(normalize_capacity(Some(65)), Err(SemError::Conflict));
        assert_eq!(normalize_timeout(None), Duration::from_secs(600));
        assert_eq!(normalize_timeout(Some(0.0)), Duration::from_secs(600));
        assert_eq!(normalize_timeout(Some(99999.0)), Duration::from_secs(3600));
    }

    #[test]
    fn fifo_and_release_all() {
        let s = Arc::new(Semaphores::default());
        let sc = scope("m");
        s.acquire(&sc, "a", 1, Duration::from_secs(1)).unwrap();
        s.acquire(&sc, "a", 1, Duration::from_secs(1)).unwrap();
        assert_eq!(
            s.acquire(&sc, "x", 2, Duration::from_secs(1)),
            Err(SemError::Conflict)
        );
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut hs = Vec::new();
        for who in ["b", "c"] {
            let (s, sc, order) = (s.clone(), sc.clone(), order.clone());
            hs.push(std::thread::spawn(move || {
                s.acquire(&sc, who, 1, Duration::from_secs(5)).unwrap();
                order.lock().unwrap().push(who);
                std::thread::sleep(Duration::from_millis(50));
                s.release(&sc, who).unwrap();
            }));
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(s.status(&sc).waiting, 2);
        assert_eq!(s.release_all("api", "cli", "a"), vec!["m".to_string()]);
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec!["b", "c"]);
        assert_eq!(s.release(&sc, "b"), Err(SemError::Conflict));
        assert_eq!(s.status(&sc).available, 1);
    }
}
