//! `yield_now`: let the other tasks run.
//!
//! A future that returns `Pending` once, after waking itself. The loop puts
//! the task at the back of the run queue, so every other ready task runs
//! before it is polled again. Because the loop goes to the OS (and fires
//! timers) at least once per run-queue budget (see
//! [`crate::runtime`]), even a task that yields forever cannot starve I/O
//! or timers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the other tasks of the loop, once.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct YieldNow {
    /// Whether we have already been polled (and so yielded) once.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
