//! `interval`: a tick every period, with a policy for ticks the loop missed.
//!
//! An [`Interval`] is a [`Sleep`] that is reset to the next tick each time
//! it fires. Ticks are scheduled from the *previous deadline*, not from when
//! the task happened to run, so they do not drift. When the task falls
//! behind (the loop was blocked, the task was busy) by more than a few
//! milliseconds, [`MissedTickBehavior`] says how to catch up.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::sleep::{Sleep, sleep_until};

/// How late a tick may be before it counts as missed (as in tokio).
const MISSED_AFTER: Duration = Duration::from_millis(5);

/// Ticks every `period`, the first one at once.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// evloop::block_on(async {
///     let start = Instant::now();
///     let mut every = evloop::time::interval(Duration::from_millis(10));
///     every.tick().await; // at once
///     every.tick().await;
///     every.tick().await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
///
/// # Panics
/// If `period` is zero (it would tick forever without waiting); like a
/// [`Sleep`], if polled outside of an evloop runtime.
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first one at `start`. See [`interval`].
///
/// # Panics
/// If `period` is zero.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "evloop::time::interval: `period` must be non-zero"
    );
    Interval {
        delay: sleep_until(start),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does after it missed ticks.
///
/// Say the period is 10 ms, ticks were due at 0, 10, 20, ... ms, and the
/// task only asks for a tick again at 35 ms. Then:
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks (10, 20, 30) at once, then go on at 40, 50:
    /// the count of ticks stays right. The default.
    #[default]
    Burst,
    /// Fire one tick now, then every period from now: 35, 45, 55.
    Delay,
    /// Fire one tick now, then go on with the original schedule, dropping
    /// the missed ticks: 35, 40, 50.
    Skip,
}

impl MissedTickBehavior {
    /// The next deadline after the tick due at `due` was taken at `now`.
    fn next_deadline(self, due: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => super::deadline_after(due, period),
            MissedTickBehavior::Delay => super::deadline_after(now, period),
            MissedTickBehavior::Skip => {
                let behind = now.saturating_duration_since(due).as_nanos() % period.as_nanos();
                // `behind < period`, so it fits in a `Duration`.
                let behind = Duration::from_nanos(u64::try_from(behind).unwrap_or(u64::MAX));
                super::deadline_after(now, period.saturating_sub(behind))
            }
        }
    }
}

/// The stream of ticks returned by [`interval`] and [`interval_at`].
#[derive(Debug)]
pub struct Interval {
    /// The next tick's deadline.
    delay: Sleep,
    /// Time between ticks.
    period: Duration,
    /// How to catch up after missed ticks.
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was due at.
    ///
    /// Cancel-safe: if the returned future is dropped before it completes,
    /// no tick is lost.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; see [`Interval::tick`].
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let due = self.delay.deadline();
        // A tick already due completes without a trip through the wheel:
        // that is how the first tick is immediate.
        if Instant::now() < due && Pin::new(&mut self.delay).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let now = Instant::now();
        let missed = due.checked_add(MISSED_AFTER).is_some_and(|late| now > late);
        let next = if missed {
            self.missed_tick_behavior
                .next_deadline(due, now, self.period)
        } else {
            super::deadline_after(due, self.period)
        };
        Pin::new(&mut self.delay).reset(next);
        Poll::Ready(due)
    }

    /// Starts over: the next tick is one period from now, and the ones
    /// after it follow from there.
    pub fn reset(&mut self) {
        self.reset_after(self.period);
    }

    /// The next tick is due at once (the next `tick()` completes without
    /// waiting); the ones after it follow one period apart from now.
    pub fn reset_immediately(&mut self) {
        self.reset_at(Instant::now());
    }

    /// The next tick is due `after` from now, then every period.
    pub fn reset_after(&mut self, after: Duration) {
        self.reset_at(super::deadline_after(Instant::now(), after));
    }

    /// The next tick is due at `deadline`, then every period. A deadline in
    /// the past is a tick due at once (with [`MissedTickBehavior`] deciding
    /// what follows, as for any late tick).
    pub fn reset_at(&mut self, deadline: Instant) {
        Pin::new(&mut self.delay).reset(deadline);
    }

    /// How missed ticks are handled.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets how missed ticks are handled.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }

    /// The time between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    /// Never ends: an interval ticks forever.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}
