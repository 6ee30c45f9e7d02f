//! Time: `sleep`, `timeout` and `interval`, on a hierarchical timing wheel.
//!
//! ```
//! use std::time::Duration;
//! use evloop::time::{MissedTickBehavior, interval, sleep, timeout};
//!
//! evloop::block_on(async {
//!     sleep(Duration::from_millis(10)).await; // asyncio.sleep(0.01)
//!     let slow = sleep(Duration::from_secs(9));
//!     let result = timeout(Duration::from_millis(5), slow).await; // asyncio.wait_for
//!     assert!(result.is_err());
//!     let mut every = interval(Duration::from_millis(10)); // a periodic tick
//!     every.set_missed_tick_behavior(MissedTickBehavior::Skip);
//!     every.tick().await; // the first tick is immediate
//!     every.tick().await; // the next one 10 ms later
//! });
//! ```
//!
//! # What a loop's timers have to be good at
//!
//! A server keeps a timer per connection (idle timeout, header timeout,
//! keep-alive) and *resets* it on every read. Almost none of them ever
//! fire: they are set, pushed back, pushed back again, and cancelled when
//! the connection closes. So the costs that matter are insert, reset and
//! cancel, by the hundred thousand. A binary heap (libuv, asyncio) pays
//! O(log n) for each; a timing wheel pays O(1). See the `wheel` module for how
//! the wheel works, and `docs/05-timers.md` for the longer story.
//!
//! # How a timer reaches your task
//!
//! ```text
//!  sleep(d)          Sleep { deadline }              nothing registered yet
//!   .await  ──poll──▶ wheel.insert(deadline, waker)  O(1), in the loop's slab
//!                                   ⋮
//!  loop turn, phase 1: wheel.fire_due(now) ──▶ waker.wake()  (after the borrow)
//!   .await  ──poll──▶ entry gone: Ready(())
//!  drop(Sleep) before that ──▶ wheel.cancel(key)     O(1)
//! ```
//!
//! Phase 4 of the loop's turn sleeps in `epoll_wait` until the wheel's next
//! deadline, rounded *up* to the millisecond, so an idle loop with one timer
//! pending makes one system call and burns no CPU until then. No timer ever
//! completes before its deadline: the wheel rounds deadlines up and the clock
//! down.
//!
//! # Outside a runtime
//!
//! Timers are driven by the loop they were first polled on. Polling a
//! [`Sleep`] (or a [`Timeout`] whose future is not ready, or an
//! [`Interval`] not yet due) outside of an evloop runtime panics with a
//! message saying so, as tokio does. Creating them anywhere is fine, and so
//! is moving them between loops: a `Sleep` polled on another loop moves its
//! entry there.

mod interval;
mod sleep;
mod timeout;
pub(crate) mod wheel;

use std::time::{Duration, Instant};

pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Elapsed, Timeout, timeout, timeout_at};
pub(crate) use wheel::Wheel;

/// About 30 years: what a deadline too far to represent becomes (tokio's
/// choice too). No loop lives that long, so it simply never fires.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `start + duration`, or a deadline in the far future if that overflows
/// the clock (for instance for `Duration::MAX`).
pub(crate) fn deadline_after(start: Instant, duration: Duration) -> Instant {
    start
        .checked_add(duration)
        .or_else(|| start.checked_add(FAR_FUTURE))
        .expect("an Instant can be 30 years ahead on every platform std supports")
}
