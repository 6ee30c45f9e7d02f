//! A future together with its output once it has finished: the cell the
//! `join` combinators keep per future.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future, then its output, then nothing (after the output was taken).
pub(crate) enum MaybeDone<F: Future> {
    /// Still running.
    Future(F),
    /// Finished; the output waits to be taken.
    Done(F::Output),
    /// The output was taken.
    Gone,
}

impl<F: Future> MaybeDone<F> {
    /// Polls the future if it is still running; true once it has finished.
    pub(crate) fn poll_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        // SAFETY: the `Future` variant's field is structurally pinned: it
        // is never moved out; it is only dropped in place, by the assignment
        // below (assigning to `*this` drops the old value where it lies).
        let this = unsafe { self.get_unchecked_mut() };
        let output = match this {
            // SAFETY: see above; `this` stays pinned for as long as it lives.
            MaybeDone::Future(future) => match unsafe { Pin::new_unchecked(future) }.poll(cx) {
                Poll::Ready(output) => output,
                Poll::Pending => return false,
            },
            MaybeDone::Done(_) => return true,
            MaybeDone::Gone => panic!("a join combinator polled after it completed"),
        };
        *this = MaybeDone::Done(output);
        true
    }

    /// Takes the output of a finished future.
    pub(crate) fn take_output(self: Pin<&mut Self>) -> Option<F::Output> {
        // SAFETY: only the `Done` variant is moved out of, and it holds no
        // pinned data (the future is gone by then).
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            MaybeDone::Done(_) => match std::mem::replace(this, MaybeDone::Gone) {
                MaybeDone::Done(output) => Some(output),
                _ => None,
            },
            _ => None,
        }
    }
}
