//! `join` and `join_all`: wait for every future, polling them in one task.
//!
//! Each future sits in a [`MaybeDone`] cell. Every poll of the combinator
//! polls the cells still running (all of them: a wake does not say which
//! future it was for), and once all are done it takes the outputs out.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::maybe_done::MaybeDone;

/// Waits for both futures; returns both outputs.
pub fn join<A: Future, B: Future>(a: A, b: B) -> Join<A, B> {
    Join {
        a: MaybeDone::Future(a),
        b: MaybeDone::Future(b),
    }
}

/// The future returned by [`join`].
#[must_use = "futures do nothing unless awaited"]
pub struct Join<A: Future, B: Future> {
    /// The first future, or its output.
    a: MaybeDone<A>,
    /// The second future, or its output.
    b: MaybeDone<B>,
}

impl<A: Future, B: Future> Future for Join<A, B> {
    type Output = (A::Output, B::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `a` and `b` are structurally pinned: `Join` never moves
        // them and has no `Drop` impl; we only re-pin them here.
        let (mut a, mut b) = unsafe {
            let this = self.get_unchecked_mut();
            (
                Pin::new_unchecked(&mut this.a),
                Pin::new_unchecked(&mut this.b),
            )
        };
        let a_done = a.as_mut().poll_done(cx);
        let b_done = b.as_mut().poll_done(cx);
        if !(a_done && b_done) {
            return Poll::Pending;
        }
        let a = a.take_output().expect("a is done");
        let b = b.take_output().expect("b is done");
        Poll::Ready((a, b))
    }
}

/// Waits for every future of `futures`; returns their outputs in the order
/// of the input (not of completion: for that, spawn them into a
/// [`JoinSet`](crate::task::JoinSet)).
///
/// ```
/// evloop::block_on(async {
///     let squares = evloop::future::join_all((1..=3).map(|n| async move { n * n })).await;
///     assert_eq!(squares, [1, 4, 9]);
/// });
/// ```
pub fn join_all<I>(futures: I) -> JoinAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let cells: Box<[MaybeDone<I::Item>]> = futures.into_iter().map(MaybeDone::Future).collect();
    JoinAll {
        cells: Box::into_pin(cells),
    }
}

/// The future returned by [`join_all`].
#[must_use = "futures do nothing unless awaited"]
pub struct JoinAll<F: Future> {
    /// One cell per future, pinned on the heap (one allocation in all).
    cells: Pin<Box<[MaybeDone<F>]>>,
}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: the slice is pinned in its box and never moved; each cell
        // is re-pinned in place and none is moved out.
        let cells = unsafe { self.cells.as_mut().get_unchecked_mut() };
        let mut all_done = true;
        for cell in cells.iter_mut() {
            // SAFETY: as above: the cell lives in the pinned slice.
            all_done &= unsafe { Pin::new_unchecked(cell) }.poll_done(cx);
        }
        if !all_done {
            return Poll::Pending;
        }
        let outputs = cells
            .iter_mut()
            // SAFETY: as above.
            .map(|cell| unsafe { Pin::new_unchecked(cell) }.take_output())
            .map(|output| output.expect("every cell is done"))
            .collect();
        Poll::Ready(outputs)
    }
}
