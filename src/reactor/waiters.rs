//! The tasks waiting on one direction of one source.
//!
//! # Why a list, and why usually not
//!
//! Nothing stops several tasks from waiting on the same socket in the same
//! direction: fifty tasks accepting on one shared `TcpListener` (it is
//! `Sync` and `accept` takes `&self`), two tasks reading through
//! `&TcpStream`, a task looping on `recv_from` while another races a
//! `timeout` against one more `recv_from`. Readiness must reach *every* one
//! of them. Keep only the latest waker, as a first design naturally does,
//! and every other waiter hangs; worse, a waiter that gives up (its future
//! dropped by a timeout) has replaced the waker of a task that did not, and
//! that task now sleeps through every later event.
//!
//! So each direction keeps a set of wakers, and an event wakes them all.
//! One of them wins the syscall; the others find `WouldBlock` and park
//! again. That is the thundering herd, and it is the price tokio's
//! `ScheduledIo` and async-io's `Source` pay too: the alternative, waking
//! one and trusting it to pass the readiness on, strands the rest the
//! moment that one is cancelled.
//!
//! Almost always one task waits, so the first waiter lives in an inline
//! slot and only the second and later ones go to a `Vec`: the one-waiter
//! case allocates nothing and costs what a single `Option<Waker>` did.
//!
//! # Two kinds of waiter
//!
//! * **Futures of our own** (`Async::read_with` and so `accept`,
//!   `recv_from`, `connect`; `readable`, `writable`) have a drop point. Each
//!   gets a [`WaitKey`] the first time it parks; its waker is filed under
//!   that key, replaced in place when the future is polled again, and
//!   removed when the future is dropped before readiness came. A cancelled
//!   waiter leaves nothing behind.
//! * **`poll_*` methods** (`AsyncRead`/`AsyncWrite`, `poll_accept`,
//!   `Async::poll_read_with`) have no drop point: nobody tells us that the
//!   caller stopped caring. Their wakers are filed without a key and made
//!   unique with [`Waker::will_wake`], so a task that polls again and again
//!   takes one entry, not one per poll. An event clears them with the rest.
//!   To bound what tasks that gave up can leave behind, at most
//!   [`MAX_UNKEYED`] such wakers are kept per direction; one more wakes
//!   them all (spuriously: those still waiting poll and park again). tokio
//!   keeps a single slot for its `poll_*` methods, so a second task polling
//!   there replaces the first; here both are woken.
//!
//! Every event clears the whole set (each waker is woken once and the set is
//! empty again), so the invariant "a ready direction has no waiters" holds:
//! a future that finds its direction ready knows its entry is gone, and its
//! drop need not look.

use std::task::Waker;

/// How many wakers of `poll_*` callers (no key) one direction keeps before
/// it wakes them all; see the module docs. Past this many tasks polling the
/// same socket in the same direction, each new one costs the others a
/// spurious wakeup: use the futures (`readable`, `read_with`), which are
/// keyed, for crowds.
pub(crate) const MAX_UNKEYED: usize = 64;

/// The key of a `poll_*` caller's entry: no key.
const NO_KEY: u64 = 0;

/// The identity of a waiting future of our own, so that it can take its
/// waker back when dropped.
#[derive(Debug, Default)]
pub(crate) struct WaitKey {
    /// Handed out by the reactor the first time the future parks (0 until
    /// then); never reused, so a stale key names nobody.
    pub(super) key: u64,
    /// Whether the future may have an entry: set when it parks, cleared
    /// when it finds its direction ready (readiness cleared every entry).
    pub(super) parked: bool,
}

impl WaitKey {
    /// Marks the future as parked and returns its key, taking the next one
    /// from `next` the first time.
    pub(super) fn claim(&mut self, next: &mut u64) -> u64 {
        if self.key == NO_KEY {
            self.key = *next;
            *next += 1;
        }
        self.parked = true;
        self.key
    }
}

/// One parked waker.
struct Entry {
    /// Whose it is: a [`WaitKey`]'s key, or [`NO_KEY`] for a `poll_*` caller.
    key: u64,
    /// What to wake on readiness.
    waker: Waker,
}

/// The wakers parked on one direction of a source.
#[derive(Default)]
pub(crate) struct Waiters {
    /// The first waiter: usually the only one, so it costs no allocation.
    first: Option<Entry>,
    /// The second waiter and later ones, in no particular order.
    more: Vec<Entry>,
    /// How many entries (in `first` and `more`) have no key.
    unkeyed: usize,
}

impl Waiters {
    /// Parks `waker` under `key` ([`NO_KEY`] for a `poll_*` caller). An
    /// entry for the same waiter is updated in place. If the cap on
    /// unkeyed entries is reached, those entries move to `evicted`, to be
    /// woken once nobody borrows the reactor.
    ///
    /// Out of line: the reactor's ready path, which calls it only when it
    /// must park, then saves and restores fewer registers.
    #[inline(never)]
    pub(super) fn park(&mut self, key: u64, waker: &Waker, evicted: &mut Vec<Waker>) {
        // The common cases first: nobody waits yet, or only this waiter.
        if self.more.is_empty() {
            match &mut self.first {
                None => {
                    self.unkeyed = usize::from(key == NO_KEY);
                    self.first = Some(Entry {
                        key,
                        waker: waker.clone(),
                    });
                    return;
                }
                Some(entry)
                    if entry.key == key && (key != NO_KEY || entry.waker.will_wake(waker)) =>
                {
                    if !entry.waker.will_wake(waker) {
                        entry.waker.clone_from(waker);
                    }
                    return;
                }
                Some(_) => {}
            }
        }
        self.park_among_others(key, waker, evicted);
    }

    /// [`Waiters::park`] when other tasks wait too.
    #[cold]
    fn park_among_others(&mut self, key: u64, waker: &Waker, evicted: &mut Vec<Waker>) {
        let same = |entry: &Entry| match key {
            NO_KEY => entry.key == NO_KEY && entry.waker.will_wake(waker),
            key => entry.key == key,
        };
        if let Some(entry) = self
            .first
            .iter_mut()
            .chain(&mut self.more)
            .find(|e| same(e))
        {
            if !entry.waker.will_wake(waker) {
                entry.waker.clone_from(waker);
            }
            return;
        }
        if key == NO_KEY {
            if self.unkeyed == MAX_UNKEYED {
                self.evict_unkeyed(evicted);
            }
            self.unkeyed += 1;
        }
        let entry = Entry {
            key,
            waker: waker.clone(),
        };
        match self.first {
            None => self.first = Some(entry),
            Some(_) => self.more.push(entry),
        }
    }

    /// Takes the entry of the future with this key, if it is still there.
    pub(super) fn remove(&mut self, key: u64) -> Option<Waker> {
        debug_assert_ne!(key, NO_KEY, "only keyed entries are removed");
        if self.first.as_ref().is_some_and(|e| e.key == key) {
            let entry = self.first.take();
            self.first = self.more.pop();
            return entry.map(|e| e.waker);
        }
        let at = self.more.iter().position(|e| e.key == key)?;
        Some(self.more.swap_remove(at).waker)
    }

    /// Moves every waker to `into` (readiness came, or the source is gone).
    pub(super) fn take_all(&mut self, into: &mut Vec<Waker>) {
        if let Some(entry) = self.first.take() {
            into.push(entry.waker);
        }
        if !self.more.is_empty() {
            into.extend(self.more.drain(..).map(|e| e.waker));
        }
        self.unkeyed = 0;
    }

    /// Moves the unkeyed entries to `into`, keeping the keyed ones.
    fn evict_unkeyed(&mut self, into: &mut Vec<Waker>) {
        if let Some(entry) = self.first.take() {
            self.more.push(entry);
        }
        let mut i = 0;
        while i < self.more.len() {
            if self.more[i].key == NO_KEY {
                into.push(self.more.swap_remove(i).waker);
            } else {
                i += 1;
            }
        }
        self.first = self.more.pop();
        self.unkeyed = 0;
    }

    /// How many wakers are parked (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// A waker that counts its wakes.
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        (counter.clone(), Waker::from(counter))
    }

    #[test]
    fn every_waiter_is_taken() {
        let mut waiters = Waiters::default();
        let mut evicted = Vec::new();
        let wakers: Vec<_> = (0..5).map(|_| counter()).collect();
        for (i, (_, waker)) in wakers.iter().enumerate() {
            waiters.park(i as u64 + 1, waker, &mut evicted);
        }
        waiters.park(NO_KEY, &wakers[0].1, &mut evicted);
        let mut woken = Vec::new();
        waiters.take_all(&mut woken);
        assert_eq!(woken.len(), 6);
        assert_eq!(waiters.len(), 0);
        assert!(evicted.is_empty());
    }

    #[test]
    // Rests on `Waker::will_wake`, which is best-effort by its docs: miri
    // gives each use of a vtable its own address, so there it is false even
    // for clones of one waker (the set then only grows to its bound).
    #[cfg_attr(miri, ignore)]
    fn a_waiter_polled_again_keeps_one_entry() {
        let mut waiters = Waiters::default();
        let mut evicted = Vec::new();
        let (_, a) = counter();
        let (_, b) = counter();
        for _ in 0..10 {
            waiters.park(7, &a, &mut evicted);
            waiters.park(NO_KEY, &b, &mut evicted);
        }
        assert_eq!(waiters.len(), 2);
        // The same key from another task: the entry now holds the new waker.
        waiters.park(7, &b, &mut evicted);
        assert_eq!(waiters.len(), 2);
        let waker = waiters.remove(7).expect("key 7 is parked");
        assert!(waker.will_wake(&b));
    }

    #[test]
    fn a_removed_waiter_leaves_the_others() {
        let mut waiters = Waiters::default();
        let mut evicted = Vec::new();
        let (_, waker) = counter();
        // Fewer under miri, where each of the linear searches is slow.
        let n: u64 = if cfg!(miri) { 300 } else { 10_000 };
        for key in 1..=n {
            waiters.park(key, &waker, &mut evicted);
            if key % 3 != 0 {
                assert!(waiters.remove(key).is_some());
            }
        }
        assert_eq!(waiters.len() as u64, n / 3);
        assert!(waiters.remove(1).is_none(), "removed already");
        let mut woken = Vec::new();
        waiters.take_all(&mut woken);
        assert_eq!(woken.len() as u64, n / 3);
    }

    #[test]
    fn unkeyed_wakers_are_bounded_and_woken_when_evicted() {
        let mut waiters = Waiters::default();
        let mut evicted = Vec::new();
        let (_, keyed) = counter();
        waiters.park(1, &keyed, &mut evicted);
        let counters: Vec<_> = (0..=MAX_UNKEYED).map(|_| counter()).collect();
        for (_, waker) in &counters {
            waiters.park(NO_KEY, waker, &mut evicted);
        }
        assert_eq!(evicted.len(), MAX_UNKEYED, "the first MAX_UNKEYED go");
        assert_eq!(waiters.len(), 2, "the keyed one and the newest stay");
        assert!(waiters.remove(1).is_some());
    }
}
