//! `select` and `race`: the first of two futures wins, the other is dropped.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Which of two futures finished first, with its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Either<L, R> {
    /// The first (`a`) future won.
    Left(L),
    /// The second (`b`) future won.
    Right(R),
}

/// Waits for the first of `a` and `b`; the other is dropped (cancelled)
/// when the returned future is. `a` is polled first, so it wins a tie.
///
/// ```
/// use evloop::future::{Either, select};
///
/// evloop::block_on(async {
///     let (tx, mut rx) = evloop::sync::mpsc::channel::<u32>(1);
///     tx.send(7).await.expect("receiver alive");
///     match select(rx.recv(), evloop::yield_now()).await {
///         Either::Left(message) => assert_eq!(message, Some(7)),
///         Either::Right(()) => unreachable!("a value was queued"),
///     }
/// });
/// ```
pub fn select<A: Future, B: Future>(a: A, b: B) -> Select<A, B> {
    Select { a, b }
}

/// The future returned by [`select`].
#[must_use = "futures do nothing unless awaited"]
pub struct Select<A, B> {
    /// The left contender.
    a: A,
    /// The right contender.
    b: B,
}

impl<A: Future, B: Future> Select<A, B> {
    fn project(self: Pin<&mut Self>) -> (Pin<&mut A>, Pin<&mut B>) {
        // SAFETY: `a` and `b` are structurally pinned: `Select` never moves
        // them, has no `Drop` impl, and offers no `&mut` access to them.
        unsafe {
            let this = self.get_unchecked_mut();
            (
                Pin::new_unchecked(&mut this.a),
                Pin::new_unchecked(&mut this.b),
            )
        }
    }
}

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (a, b) = self.project();
        if let Poll::Ready(output) = a.poll(cx) {
            return Poll::Ready(Either::Left(output));
        }
        b.poll(cx).map(Either::Right)
    }
}

/// Waits for the first of two futures of the same output type and returns
/// its output; the other is dropped. `a` wins a tie.
///
/// ```
/// evloop::block_on(async {
///     let fast = async { "fast" };
///     let slow = async {
///         evloop::yield_now().await;
///         "slow"
///     };
///     assert_eq!(evloop::future::race(slow, fast).await, "fast");
/// });
/// ```
pub fn race<T, A, B>(a: A, b: B) -> Race<A, B>
where
    A: Future<Output = T>,
    B: Future<Output = T>,
{
    Race {
        inner: Select { a, b },
    }
}

/// The future returned by [`race`].
#[must_use = "futures do nothing unless awaited"]
pub struct Race<A, B> {
    /// A `select` whose two sides have one type.
    inner: Select<A, B>,
}

impl<T, A, B> Future for Race<A, B>
where
    A: Future<Output = T>,
    B: Future<Output = T>,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        // SAFETY: `inner` is structurally pinned: never moved out, no `Drop`.
        let inner = unsafe { self.map_unchecked_mut(|race| &mut race.inner) };
        inner.poll(cx).map(|either| match either {
            Either::Left(value) | Either::Right(value) => value,
        })
    }
}
