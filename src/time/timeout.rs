//! `timeout` and `timeout_at`: race a future against a deadline.
//!
//! A [`Timeout`] is the future plus a [`Sleep`]. Each poll polls the future
//! first, so a future that is ready in time always wins, even if the deadline
//! has passed by the time it is polled; only then the sleep. The sleep is
//! registered only if the future is not ready on its first poll, so
//! `timeout` over a future that is already ready never touches the wheel.
//!
//! When the deadline wins, `Timeout` yields [`Elapsed`]; dropping the
//! `Timeout` (which `.await` does as it returns) drops the inner future,
//! which is how the operation is cancelled. This is asyncio's `wait_for`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::sleep::{Sleep, sleep_until};

/// Runs `future`, giving up after `duration`.
///
/// ```
/// use std::time::Duration;
/// use evloop::time::{sleep, timeout};
///
/// evloop::block_on(async {
///     let fast = timeout(Duration::from_secs(1), async { 42 }).await;
///     assert_eq!(fast, Ok(42));
///     let slow = timeout(Duration::from_millis(10), sleep(Duration::from_secs(60))).await;
///     assert!(slow.is_err());
/// });
/// ```
///
/// # Panics
/// Polling the returned future outside of an evloop runtime panics if the
/// inner future is not ready at once (the deadline needs the loop's wheel).
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    timeout_at(super::deadline_after(Instant::now(), duration), future)
}

/// Runs `future`, giving up at `deadline`. See [`timeout`].
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        value: future,
        delay: sleep_until(deadline),
    }
}

/// The future returned by [`timeout`] and [`timeout_at`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Timeout<F> {
    /// The future being raced. Structurally pinned.
    value: F,
    /// The deadline. `Sleep` is `Unpin`, so it needs no pinning.
    delay: Sleep,
}

impl<F> Timeout<F> {
    /// The inner future.
    pub fn get_ref(&self) -> &F {
        &self.value
    }

    /// The inner future, mutably (the `Timeout` is not pinned yet).
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.value
    }

    /// Gives up the deadline and returns the inner future.
    pub fn into_inner(self) -> F {
        self.value
    }

    /// When the `Timeout` gives up.
    pub fn deadline(&self) -> Instant {
        self.delay.deadline()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `value` is structurally pinned: it is never moved out of a
        // pinned `Timeout` (`into_inner` and `get_mut` need it unpinned, and
        // there is no `Drop` impl), and `Timeout<F>: Unpin` only if `F: Unpin`
        // because `Sleep` is `Unpin`. `delay` is not pinned, so handing out
        // `&mut` to it is fine.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        let value = unsafe { Pin::new_unchecked(&mut this.value) };
        if let Poll::Ready(output) = value.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(&mut this.delay).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("value", &self.value)
            .field("deadline", &self.delay.deadline())
            .finish()
    }
}

/// The error of a [`Timeout`] whose deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("deadline has elapsed")]
pub struct Elapsed(());

impl From<Elapsed> for std::io::Error {
    /// `io::ErrorKind::TimedOut`, so that `?` works in I/O code.
    fn from(elapsed: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}
