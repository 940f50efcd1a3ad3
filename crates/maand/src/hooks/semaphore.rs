//! Named counting semaphores of the runtime API (spec 07 §7.10): scope (job, event, name),
//! capacity fixed by the first acquire, FIFO waiters, timeouts, release on hook exit.
//!
//! Only allocations with a hook in flight for (job, event) may hold or wait: the API
//! [`Semaphores::join`]s a hook when it starts and [`Semaphores::leave`]s when it exits,
//! under the same lock as the queues. Leaving releases the slots and cancels the waits of
//! that allocation, so a slot is never granted to a hook that already exited (it would
//! never be released, and every later acquire would time out).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Highest capacity an acquire may ask for.
pub const MAX_CAPACITY: i64 = 64;
/// Default and ceiling of `timeout_seconds`.
pub const DEFAULT_TIMEOUT_SECS: i64 = 600;
pub const MAX_TIMEOUT_SECS: i64 = 3600;
/// How often a waiter asks whether its client is still there (spec 07 §7.10: a waiter
/// whose client disconnects is removed).
const CLIENT_POLL: Duration = Duration::from_millis(200);

/// Why an acquire or release was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SemError {
    /// 409: capacity above 64 or different from the first acquire, release without holding.
    Conflict,
    /// 408: the wait timed out.
    TimedOut,
    /// The wait was abandoned: the caller's hook is not (or no longer) running, or its
    /// client disconnected. The caller is gone, so no slot was taken.
    Cancelled,
}

/// (job, event, name).
pub type Scope = (String, String, String);

/// (job, event, allocation): who may hold or wait.
type Member = (String, String, String);

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
    /// Hook runs in flight per member; a member with none may not hold or wait.
    members: HashMap<Member, usize>,
    /// Waits ended by another thread (granted by a release, cancelled because the hook
    /// exited), not yet seen by their waiter.
    ended: HashMap<u64, Result<(), SemError>>,
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

fn member(job: &str, event: &str, holder: &str) -> Member {
    (job.to_string(), event.to_string(), holder.to_string())
}

impl Semaphores {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A hook of `holder` started for (job, event): it may hold and wait from now on.
    pub fn join(&self, job: &str, event: &str, holder: &str) {
        *self
            .lock()
            .members
            .entry(member(job, event, holder))
            .or_default() += 1;
    }

    /// A hook of `holder` for (job, event) exited. When it was the last one, every slot
    /// `holder` holds there is released (returned, sorted) and its waits end
    /// [`SemError::Cancelled`].
    pub fn leave(&self, job: &str, event: &str, holder: &str) -> Vec<String> {
        let mut t = self.lock();
        let Table {
            sems,
            members,
            ended,
            ..
        } = &mut *t;
        let key = member(job, event, holder);
        match members.get_mut(&key) {
            Some(n) if *n > 1 => {
                *n -= 1;
                return Vec::new();
            }
            Some(_) => {
                members.remove(&key);
            }
            None => return Vec::new(),
        }
        let mut names = Vec::new();
        for ((j, e, name), sem) in sems.iter_mut() {
            if j != job || e != event {
                continue;
            }
            sem.queue.retain(|(ticket, who)| {
                let mine = who == holder;
                if mine {
                    ended.insert(*ticket, Err(SemError::Cancelled));
                }
                !mine
            });
            if sem.holders.remove(holder) {
                names.push(name.clone());
                grant_waiters(sem, ended);
            }
        }
        drop(t);
        self.changed.notify_all();
        names.sort();
        names
    }

    /// Acquires a slot of `scope` for `holder`, waiting FIFO up to `timeout`. While it
    /// waits, `client_gone` is asked every [`CLIENT_POLL`] (with the table locked, so it
    /// must be quick): `true` ends the wait [`SemError::Cancelled`].
    pub fn acquire(
        &self,
        scope: &Scope,
        holder: &str,
        capacity: usize,
        timeout: Duration,
        client_gone: &dyn Fn() -> bool,
    ) -> Result<(), SemError> {
        let deadline = Instant::now() + timeout;
        let mut t = self.lock();
        let ticket = {
            let table = &mut *t;
            let (job, event, _) = scope;
            if !table.members.contains_key(&member(job, event, holder)) {
                return Err(SemError::Cancelled);
            }
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
            if let Some(outcome) = t.ended.remove(&ticket) {
                return outcome;
            }
            let now = Instant::now();
            let gave_up = if now >= deadline {
                Some(SemError::TimedOut)
            } else if client_gone() {
                Some(SemError::Cancelled)
            } else {
                None
            };
            if let Some(err) = gave_up {
                if let Some(sem) = t.sems.get_mut(scope) {
                    sem.queue.retain(|(n, _)| *n != ticket);
                }
                return Err(err);
            }
            t = self
                .changed
                .wait_timeout(t, (deadline - now).min(CLIENT_POLL))
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
        grant_waiters(sem, &mut table.ended);
        drop(t);
        self.changed.notify_all();
        Ok(())
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

/// Fills free slots from the front of the queue. Every queued allocation is a member:
/// [`Semaphores::leave`] empties the queue of the allocation it removes.
fn grant_waiters(sem: &mut Sem, ended: &mut HashMap<u64, Result<(), SemError>>) {
    while sem.holders.len() < sem.capacity {
        let Some((ticket, who)) = sem.queue.pop_front() else {
            break;
        };
        // An allocation waiting twice already holds after its first grant: its second
        // wait ends too, without taking another slot.
        sem.holders.insert(who);
        ended.insert(ticket, Ok(()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    fn scope(name: &str) -> Scope {
        ("api".into(), "cli".into(), name.into())
    }

    fn joined(who: &[&str]) -> Arc<Semaphores> {
        let s = Arc::new(Semaphores::default());
        for w in who {
            s.join("api", "cli", w);
        }
        s
    }

    const STAYS: &dyn Fn() -> bool = &|| false;

    /// Waits until `scope` has `n` waiters (at most 5 s).
    #[track_caller]
    fn wait_for_waiters(s: &Semaphores, sc: &Scope, n: usize) {
        let t = Instant::now();
        while s.status(sc).waiting != n {
            assert!(t.elapsed() < Duration::from_secs(5), "{:?}", s.status(sc));
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `who` waits for `sc` on a thread; the thread returns the outcome.
    fn wait_in_thread(
        s: &Arc<Semaphores>,
        sc: &Scope,
        who: &'static str,
        gone: Arc<AtomicBool>,
    ) -> std::thread::JoinHandle<Result<(), SemError>> {
        let (s, sc) = (Arc::clone(s), sc.clone());
        std::thread::spawn(move || {
            s.acquire(&sc, who, 1, Duration::from_secs(30), &|| {
                gone.load(Ordering::SeqCst)
            })
        })
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
    fn fifo_and_leave() {
        let s = joined(&["a", "b", "c", "x"]);
        let sc = scope("m");
        s.acquire(&sc, "a", 1, Duration::from_secs(1), STAYS)
            .unwrap();
        s.acquire(&sc, "a", 1, Duration::from_secs(1), STAYS)
            .unwrap();
        assert_eq!(
            s.acquire(&sc, "x", 2, Duration::from_secs(1), STAYS),
            Err(SemError::Conflict)
        );
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut hs = Vec::new();
        for who in ["b", "c"] {
            let (s2, sc2, order) = (s.clone(), sc.clone(), order.clone());
            hs.push(std::thread::spawn(move || {
                s2.acquire(&sc2, who, 1, Duration::from_secs(5), STAYS)
                    .unwrap();
                order.lock().unwrap().push(who);
                std::thread::sleep(Duration::from_millis(50));
                s2.release(&sc2, who).unwrap();
            }));
            wait_for_waiters(&s, &sc, hs.len());
        }
        assert_eq!(s.leave("api", "cli", "a"), vec!["m".to_string()]);
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec!["b", "c"]);
        assert_eq!(s.release(&sc, "b"), Err(SemError::Conflict));
        assert_eq!(s.status(&sc).available, 1);
    }

    /// The audited bug: a hook exits while waiting; the holder releases; the slot went to
    /// the exited allocation and the holder's next acquire timed out.
    #[test]
    fn leaving_cancels_waits_and_is_never_granted() {
        let s = joined(&["a", "b"]);
        let sc = scope("m");
        s.acquire(&sc, "a", 1, Duration::from_secs(1), STAYS)
            .unwrap();
        let b = wait_in_thread(&s, &sc, "b", Arc::default());
        wait_for_waiters(&s, &sc, 1);
        let t = Instant::now();
        assert_eq!(s.leave("api", "cli", "b"), Vec::<String>::new());
        assert_eq!(b.join().unwrap(), Err(SemError::Cancelled));
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_eq!(s.status(&sc).waiting, 0);
        s.release(&sc, "a").unwrap();
        assert_eq!(s.status(&sc).holders, Vec::<String>::new());
        s.acquire(&sc, "a", 1, Duration::from_millis(100), STAYS)
            .unwrap();
        // An allocation without a running hook neither waits nor takes a slot.
        assert_eq!(
            s.acquire(&sc, "b", 1, Duration::from_secs(1), STAYS),
            Err(SemError::Cancelled)
        );
        assert_eq!(s.status(&sc).waiting, 0);
    }

    #[test]
    fn leave_counts_hook_runs() {
        let s = joined(&["a"]);
        s.join("api", "cli", "a");
        let sc = scope("m");
        s.acquire(&sc, "a", 1, Duration::from_secs(1), STAYS)
            .unwrap();
        assert_eq!(s.leave("api", "cli", "a"), Vec::<String>::new());
        assert_eq!(s.status(&sc).holders, vec!["a".to_string()]);
        // Another event's hook of the same allocation is not this member.
        assert_eq!(s.leave("api", "pre_deploy", "a"), Vec::<String>::new());
        assert_eq!(s.leave("api", "cli", "a"), vec!["m".to_string()]);
        assert_eq!(s.status(&sc).available, 1);
    }

    #[test]
    fn a_waiter_whose_client_went_away_is_removed() {
        let s = joined(&["a", "b", "c"]);
        let sc = scope("m");
        s.acquire(&sc, "a", 1, Duration::from_secs(1), STAYS)
            .unwrap();
        let b_gone = Arc::new(AtomicBool::new(false));
        let b = wait_in_thread(&s, &sc, "b", Arc::clone(&b_gone));
        wait_for_waiters(&s, &sc, 1);
        let c = wait_in_thread(&s, &sc, "c", Arc::default());
        wait_for_waiters(&s, &sc, 2);
        b_gone.store(true, Ordering::SeqCst);
        assert_eq!(b.join().unwrap(), Err(SemError::Cancelled));
        assert_eq!(s.status(&sc).waiting, 1);
        s.release(&sc, "a").unwrap();
        assert_eq!(c.join().unwrap(), Ok(()));
        assert_eq!(s.status(&sc).holders, vec!["c".to_string()]);
    }
}
