//! The slow-poll detector's watchdog: timing polls without reading a clock.
//!
//! The obvious detector reads the clock before and after every poll. On a
//! loop that polls a trivial task every 20 ns (a task that yields, a
//! channel hand-off), two reads of the monotonic clock (20 to 30 ns each
//! on a virtual machine) would triple the cost of a poll. asyncio can
//! afford that; a runtime that competes with tokio cannot.
//!
//! So the loop does not time its polls; a second thread watches it, the way
//! Go's `sysmon` watches goroutines that run too long:
//!
//! ```text
//!  loop thread                         watchdog thread (wakes every tick)
//!  ───────────                         ────────────────────────────────
//!  poll n starts: current = n          sees current == n at two samples
//!    ... blocks ...                    a threshold apart: the poll is slow
//!                                      started_at = when n was first seen
//!                                      flagged = n
//!  poll n ends: flagged == n?  yes →   (the loop reads the clock only now)
//!    report n, took now - started_at
//! ```
//!
//! A poll costs the loop one relaxed store (publish `n`, its count of polls,
//! which it keeps for its metrics anyway) and one relaxed
//! load and compare (was `n` flagged?): a couple of instructions, no
//! clock, no syscall, no shared cache line written by anyone else in the
//! common case. When the loop is about to sleep in `epoll_wait` (or leaves
//! `block_on`), it publishes `IDLE`, so a quiet loop is never mistaken for
//! a stuck one.
//!
//! The price is precision: the watchdog samples every `tick` (a tenth of
//! the threshold), so it sees a poll start up to one tick late. The
//! duration reported is from that first sighting to the end of the poll:
//! never more than the poll really took, and less by at most one tick. A
//! poll is flagged only after the watchdog has seen it run for a whole
//! threshold, so a fast poll is never reported.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

/// `current` while no poll runs.
const IDLE: u64 = 0;

/// What the loop and its watchdog share.
struct Shared {
    /// The number of the poll running now, or `IDLE`. Written by the loop.
    current: AtomicU64,
    /// The number of the last poll the watchdog found slow. Written by the
    /// watchdog, read by the loop after each poll.
    flagged: AtomicU64,
    /// When the watchdog first saw the flagged poll, in nanoseconds after
    /// `epoch`. Written before `flagged` (release), read after it.
    started_at: AtomicU64,
    /// Time zero of `started_at`.
    epoch: Instant,
}

/// The loop's side of the watchdog. See the module docs.
pub(crate) struct Watchdog {
    /// What the two threads share.
    shared: Arc<Shared>,
    /// Dropping it tells the watchdog thread to exit.
    stop: Cell<Option<Sender<()>>>,
    /// The watchdog thread, joined when the runtime is dropped.
    thread: Cell<Option<thread::JoinHandle<()>>>,
}

impl Watchdog {
    /// Starts a watchdog thread for polls longer than `threshold`.
    pub(crate) fn start(threshold: Duration) -> std::io::Result<Watchdog> {
        let shared = Arc::new(Shared {
            current: AtomicU64::new(IDLE),
            flagged: AtomicU64::new(IDLE),
            started_at: AtomicU64::new(0),
            epoch: Instant::now(),
        });
        let (stop, stopped) = crossbeam_channel::bounded(0);
        let tick = (threshold / 10).clamp(Duration::from_millis(1), Duration::from_millis(100));
        let watched = shared.clone();
        let thread = thread::Builder::new()
            .name("evloop-watchdog".to_owned())
            .spawn(move || watch(&watched, threshold, tick, &stopped))?;
        Ok(Watchdog {
            shared,
            stop: Cell::new(Some(stop)),
            thread: Cell::new(Some(thread)),
        })
    }

    /// Poll number `n` begins. The loop numbers its polls (never `IDLE`,
    /// never the same number twice in a row), so the watchdog can tell one
    /// long poll from many short ones.
    #[inline]
    pub(crate) fn poll_begin(&self, n: u64) {
        self.shared.current.store(n, Ordering::Relaxed);
    }

    /// Poll `n` ended: how long it took, if the watchdog found it slow.
    #[inline]
    pub(crate) fn poll_end(&self, n: u64) -> Option<Duration> {
        if self.shared.flagged.load(Ordering::Relaxed) != n {
            return None;
        }
        Some(self.flagged_for())
    }

    /// How long the flagged poll ran: from the watchdog's first sighting.
    #[cold]
    fn flagged_for(&self) -> Duration {
        // Pairs with the watchdog's release store of `flagged`.
        fence(Ordering::Acquire);
        let started = self.shared.started_at.load(Ordering::Relaxed);
        let started = self.shared.epoch + Duration::from_nanos(started);
        started.elapsed()
    }

    /// The loop is about to sleep, or leaves `block_on`: nothing runs.
    pub(crate) fn idle(&self) {
        self.shared.current.store(IDLE, Ordering::Relaxed);
    }

    /// Stops the watchdog thread and waits for it.
    pub(crate) fn stop(&self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // The thread only loads, stores and sleeps: it cannot panic.
            let _ = thread.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The watchdog thread: samples `current` every `tick` until told to stop.
fn watch(shared: &Shared, threshold: Duration, tick: Duration, stop: &Receiver<()>) {
    let mut seen = IDLE;
    let mut first_seen = Instant::now();
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(tick) {
        let now = Instant::now();
        let current = shared.current.load(Ordering::Relaxed);
        if current != seen {
            seen = current;
            first_seen = now;
            continue;
        }
        let slow = current != IDLE && now - first_seen >= threshold;
        if slow && shared.flagged.load(Ordering::Relaxed) != current {
            let nanos = (first_seen - shared.epoch).as_nanos();
            let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
            shared.started_at.store(nanos, Ordering::Relaxed);
            shared.flagged.store(current, Ordering::Release);
        }
    }
}
