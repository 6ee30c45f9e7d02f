//! `sleep` and `sleep_until`: a future that completes at a deadline.
//!
//! A [`Sleep`] is a deadline plus, once it has been polled, the key of its
//! entry in its loop's timing wheel. Creating one costs a clock read and
//! nothing else; the first poll files the entry (O(1)); dropping the `Sleep`
//! unlinks it (O(1)); [`Sleep::reset`] moves it without allocating.
//!
//! Because the entry lives in the wheel's slab rather than inside the future,
//! `Sleep` is `Unpin` (no `pin!` needed to poll it) and `Send`: it may be
//! moved to another thread. It remembers which loop holds its entry, so that
//! when it is dropped (or polled) elsewhere the entry is still removed from
//! the right wheel, through that loop's injection queue.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::wheel::TimerKey;
use crate::runtime::context;
use crate::runtime::core::Core;
use crate::runtime::handle::{Injected, Shared};

/// Waits until `duration` has elapsed.
///
/// The deadline is `Instant::now() + duration`, taken when `sleep` is
/// called. The sleep completes at the first loop turn at or after it, never
/// before; timers have a resolution of one millisecond. A `duration` too
/// long to add to the clock (say `Duration::MAX`) gives a sleep about 30
/// years long, which is to say one that never completes.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// evloop::block_on(async {
///     let start = Instant::now();
///     evloop::time::sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
///
/// # Panics
/// Polling the returned future outside of an evloop runtime panics: the
/// loop's timing wheel is what drives it. Creating it anywhere is fine.
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(super::deadline_after(Instant::now(), duration))
}

/// Waits until `deadline`. A deadline the loop's clock has already passed
/// completes on the first poll. See [`sleep`] (including its panic).
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        home: None,
        elapsed: false,
    }
}

/// The future returned by [`sleep`] and [`sleep_until`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    /// When the sleep completes.
    deadline: Instant,
    /// The loop that drives this sleep, once it has been polled there.
    home: Option<Home>,
    /// Set when the wheel has fired the entry for `deadline`; a reset clears it.
    elapsed: bool,
}

/// Where a polled `Sleep` is registered.
struct Home {
    /// The loop whose wheel holds the entry: compared with the current loop
    /// to know if we are at home, and the route for a cancel from elsewhere.
    /// Kept after the entry fires, so that re-registering needs no clone.
    shared: Arc<Shared>,
    /// The wheel entry; `None` once it fired or was given up.
    key: Option<TimerKey>,
}

// `Sleep` is `Send` and `Sync`, like tokio's, and unlike it `Unpin`.
const _: fn() = || {
    fn assert<T: Send + Sync + Unpin>() {}
    assert::<Sleep>();
};

impl Sleep {
    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline, even after the sleep has completed (it then
    /// becomes pending again). A deadline the loop's clock has already
    /// passed completes at the next poll.
    ///
    /// On the loop that drives the sleep, moving a pending entry is O(1) and
    /// allocates nothing; a later deadline (the idle-timeout pattern) only
    /// rewrites one field. Elsewhere the entry is given up and the next poll
    /// registers a fresh one.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deadline = deadline;
        this.elapsed = false;
        let Some(home) = &mut this.home else {
            return; // never polled: the first poll files the new deadline
        };
        let Some(key) = home.key else {
            return; // fired: the next poll files the new deadline
        };
        let moved = context::with_core(|core| {
            Arc::ptr_eq(&core.shared, &home.shared) && core.timers.borrow_mut().reset(key, deadline)
        });
        if moved != Some(true) {
            // Fired meanwhile (then cancelling is a no-op), or not at home.
            cancel(&home.shared, key);
            home.key = None;
        }
    }

    /// The poll, with the current loop in hand.
    fn poll_on(&mut self, core: &Core, cx: &mut Context<'_>) -> Poll<()> {
        // A deadline the loop's clock has passed is due now: filing it (or
        // leaving it filed) would only fire it at the next turn's timer
        // phase. The clock is the turn's, read once per turn, so this costs
        // no clock read and never fires early.
        if self.deadline <= core.now() {
            if let Some(home) = &mut self.home
                && let Some(key) = home.key.take()
            {
                cancel(&home.shared, key);
            }
            self.elapsed = true;
            return Poll::Ready(());
        }
        if let Some(home) = &mut self.home {
            if Arc::ptr_eq(&home.shared, &core.shared) {
                if let Some(key) = home.key {
                    let replaced = core.timers.borrow_mut().set_waker(key, cx.waker());
                    let Ok(old_waker) = replaced else {
                        home.key = None;
                        self.elapsed = true;
                        return Poll::Ready(());
                    };
                    drop(old_waker); // after the wheel's borrow: a waker's drop may run any code
                    return Poll::Pending;
                }
            } else {
                // Moved to another loop: give the old entry up, start here.
                if let Some(key) = home.key.take() {
                    cancel(&home.shared, key);
                }
                home.shared = core.shared.clone();
            }
        }
        let key = core
            .timers
            .borrow_mut()
            .insert(self.deadline, cx.waker().clone());
        match &mut self.home {
            Some(home) => home.key = Some(key),
            None => {
                self.home = Some(Home {
                    shared: core.shared.clone(),
                    key: Some(key),
                })
            }
        }
        Poll::Pending
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.elapsed {
            return Poll::Ready(());
        }
        context::with_core(|core| this.poll_on(core, cx)).unwrap_or_else(|| {
            panic!(
                "evloop::time::Sleep polled outside of an evloop runtime: timers are \
                 driven by the loop, so await them inside Runtime::block_on or a task"
            )
        })
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(Home {
            shared,
            key: Some(key),
        }) = &self.home
        {
            cancel(shared, *key);
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("elapsed", &self.elapsed)
            .finish_non_exhaustive()
    }
}

/// Removes entry `key` from the wheel of the loop behind `shared`: directly
/// on that loop's thread, through its injection queue from anywhere else (or
/// if the wheel is busy, which only a destructor run by the wheel could see).
fn cancel(shared: &Arc<Shared>, key: TimerKey) {
    let done = context::with_core(|core| {
        if !Arc::ptr_eq(&core.shared, shared) {
            return false;
        }
        let Ok(mut wheel) = core.timers.try_borrow_mut() else {
            return false;
        };
        let waker = wheel.cancel(key);
        drop(wheel);
        drop(waker);
        true
    });
    if done != Some(true) {
        shared.inject(Injected::CancelTimer(key));
    }
}

impl Sleep {
    /// True once the sleep has completed, or its deadline has passed.
    ///
    /// tokio answers from its timer driver, so there a deadline that passed
    /// since the driver last ran still reads `false`; evloop also looks at
    /// the clock, so the answer never lags the deadline. A `reset` to a
    /// later deadline makes it `false` again.
    pub fn is_elapsed(&self) -> bool {
        self.elapsed || Instant::now() >= self.deadline
    }
}
