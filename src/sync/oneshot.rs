//! A one-shot channel: one value, sent once, from one task to another.
//!
//! The smallest channel there is, and the usual way to get an answer back:
//! put a [`Sender`] in a request, await the [`Receiver`] for the reply
//! (asyncio's `Future` used as a reply slot). It is also the clearest picture
//! of what every channel is made of: a place for the value, a place for the
//! receiver's waker, and a rule for who looks where.
//!
//! ```text
//!      Sender ──┐                       ┌── Receiver (a Future)
//!               ▼                       ▼
//!        Arc<Inner> { state: AtomicUsize, value: cell, waker: cell }
//!
//!  poll(receiver):  COMPLETE? take the value (or Err).
//!                   else write the waker, then set RX_TASK_SET
//!  send(value):     write the value, then set VALUE_SENT | COMPLETE;
//!                   if RX_TASK_SET was set, wake the waker
//! ```
//!
//! The receiver leaves its waker where the sender will look, the sender
//! leaves the value where the receiver will look, and whichever comes second
//! finishes the job. Whoever sets a flag has finished writing the cell the
//! flag announces, and never writes it again; the single atomic word puts
//! all flag changes in one order, so the two sides can never both believe
//! they came first. This is tokio's oneshot, and it needs no lock: a round
//! trip is a few atomic operations, which matters because a oneshot is
//! created for every request of a request/reply protocol.
//!
//! The same dance runs the other way for [`Sender::closed`]: the sender
//! leaves *its* waker (`TX_TASK_SET`), and the receiver wakes it when it
//! closes or is dropped, so a server can stop computing a reply nobody
//! waits for any more.
//!
//! # Cancellation
//!
//! Dropping the `Receiver` closes the channel: a later `send` returns the
//! value in its `Err`. Dropping the `Sender` without sending makes the
//! receiver yield [`RecvError`]. Awaiting the receiver is cancel-safe: a
//! `Receiver` polled and then not awaited further loses nothing until it is
//! dropped.

use std::cell::UnsafeCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

/// The receiver's waker is in `Inner::waker` and the sender may wake it.
const RX_TASK_SET: usize = 0b0001;
/// The value is in `Inner::value`; it now belongs to the receiver.
const VALUE_SENT: usize = 0b0010;
/// The sender is done: it sent, or was dropped. Nothing more will come.
const COMPLETE: usize = 0b0100;
/// The receiver closed the channel or was dropped. `VALUE_SENT` is never
/// set after this.
const CLOSED: usize = 0b1000;
/// The sender's waker (from `Sender::closed`) is in `Inner::tx_waker`, and
/// the receiver may wake it when it closes. The mirror of `RX_TASK_SET`.
const TX_TASK_SET: usize = 0b1_0000;

/// Creates a one-shot channel.
///
/// ```
/// evloop::block_on(async {
///     let (tx, rx) = evloop::sync::oneshot::channel();
///     evloop::spawn(async move { tx.send(6 * 7).expect("receiver alive") });
///     assert_eq!(rx.await, Ok(42));
/// });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        waker: UnsafeCell::new(None),
        tx_waker: UnsafeCell::new(None),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner },
    )
}

/// No value will come: the sender dropped without sending, or the receiver
/// closed the channel before a value was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the oneshot channel closed without a value")]
pub struct RecvError(());

/// Why [`Receiver::try_recv`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TryRecvError {
    /// Nothing sent yet; the sender is still there.
    #[error("no value yet")]
    Empty,
    /// Nothing will come: the sender dropped without sending, the receiver
    /// closed the channel, or the value was taken.
    #[error("the oneshot sender is gone")]
    Closed,
}

struct Inner<T> {
    /// `RX_TASK_SET | VALUE_SENT | COMPLETE | CLOSED`: who may touch which
    /// cell. See the constants.
    state: AtomicUsize,
    /// The value. Written by the sender before it sets `VALUE_SENT`, read
    /// by the receiver only after it sees `VALUE_SENT`.
    value: UnsafeCell<Option<T>>,
    /// The receiver's waker. Written by the receiver only while
    /// `RX_TASK_SET` is clear; read by the sender only after it saw
    /// `RX_TASK_SET` in the same atomic operation that set `COMPLETE`.
    waker: UnsafeCell<Option<Waker>>,
    /// The sender's waker, from `poll_closed`. Written by the sender only
    /// while `TX_TASK_SET` is clear; read by the receiver only after it saw
    /// `TX_TASK_SET` in the operation that first set `CLOSED`.
    tx_waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cells are only reached under the protocol above, which gives
// each access exclusive (or, for waking, shared and read-only) use, ordered
// by the acquire/release operations on `state`. Values of `T` move between
// threads, hence `T: Send`; no `&T` is ever shared, so no `T: Sync`.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Inner<T> {
    /// Wakes the receiver if the state word `prev`, returned by the
    /// operation that set `COMPLETE`, says its waker is there.
    fn wake_receiver(&self, prev: usize) {
        if prev & RX_TASK_SET != 0 {
            // SAFETY: `RX_TASK_SET` was set when we set `COMPLETE`, so the
            // receiver had finished writing the waker (its release of
            // `RX_TASK_SET` happens before our acquire), and it never writes
            // it again once `COMPLETE` is set. Only shared access here.
            if let Some(waker) = unsafe { &*self.waker.get() } {
                waker.wake_by_ref();
            }
        }
    }

    /// Wakes the sender's `closed()` if the state word `prev`, returned by
    /// the operation that set `CLOSED`, says this set it first and the
    /// sender's waker is there.
    fn wake_sender(&self, prev: usize) {
        if prev & CLOSED == 0 && prev & TX_TASK_SET != 0 {
            // SAFETY: `TX_TASK_SET` was set when we first set `CLOSED`, so
            // the sender had finished writing its waker, and it never
            // writes it again once `CLOSED` is set. Only shared access.
            if let Some(waker) = unsafe { &*self.tx_waker.get() } {
                waker.wake_by_ref();
            }
        }
    }

    /// Takes the value. Only the receiver calls this, after it saw
    /// `VALUE_SENT`.
    ///
    /// # Safety
    /// The caller is the receiver and has observed `VALUE_SENT`.
    unsafe fn take_value(&self) -> Option<T> {
        // SAFETY: the caller's contract: the sender wrote the value before
        // setting `VALUE_SENT` and never touches it again.
        unsafe { (*self.value.get()).take() }
    }
}

/// Sends the channel's one value. See the module docs.
pub struct Sender<T> {
    /// `None` once `send` consumed it (so `Drop` knows there is no work).
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`; gives it back if the receiver is gone.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.as_ref().expect("only `send` takes it");
        let mut state = inner.state.load(Ordering::Acquire);
        if state & CLOSED != 0 {
            return Err(value); // `Drop` then sets `COMPLETE`
        }
        // SAFETY: `VALUE_SENT` is not set, so the receiver does not read the
        // cell; only this (consumed) sender writes it, once.
        unsafe { *inner.value.get() = Some(value) };
        loop {
            if state & CLOSED != 0 {
                // SAFETY: we never set `VALUE_SENT`, so the value is ours.
                let value = unsafe { (*inner.value.get()).take() };
                return Err(value.expect("written above"));
            }
            match inner.state.compare_exchange_weak(
                state,
                state | VALUE_SENT | COMPLETE,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(prev) => {
                    inner.wake_receiver(prev);
                    self.inner = None;
                    return Ok(());
                }
                Err(actual) => state = actual,
            }
        }
    }

    /// True if the receiver has been dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|inner| inner.state.load(Ordering::Acquire) & CLOSED != 0)
    }

    /// Waits until the receiver closes the channel or is dropped: the
    /// answer is no longer wanted. Cancel-safe.
    ///
    /// ```
    /// evloop::block_on(async {
    ///     let (mut tx, rx) = evloop::sync::oneshot::channel::<u32>();
    ///     drop(rx); // the caller gave up
    ///     tx.closed().await; // so the worker stops
    /// });
    /// ```
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// The poll form of [`Sender::closed`]: `Ready` once the receiver is
    /// gone; else `cx`'s waker is kept (only the latest one) and woken then.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(inner) = self.inner.as_ref() else {
            return Poll::Ready(());
        };
        let mut state = inner.state.load(Ordering::Acquire);
        if state & CLOSED != 0 {
            return Poll::Ready(());
        }
        if state & TX_TASK_SET != 0 {
            // SAFETY: shared read; the receiver only reads the waker too.
            let same = unsafe { &*inner.tx_waker.get() }
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()));
            if same {
                return Poll::Pending;
            }
            // Take the cell back before writing it.
            state = inner.state.fetch_and(!TX_TASK_SET, Ordering::AcqRel);
            if state & CLOSED != 0 {
                // The receiver may be waking the old waker: leave the cell.
                inner.state.fetch_or(TX_TASK_SET, Ordering::AcqRel);
                return Poll::Ready(());
            }
        }
        // SAFETY: `TX_TASK_SET` is clear and `CLOSED` was not set when we
        // looked, so the receiver will not read the cell until it sees the
        // flag we set next; only this sender (`&mut self`) writes it.
        unsafe { *inner.tx_waker.get() = Some(cx.waker().clone()) };
        let prev = inner.state.fetch_or(TX_TASK_SET, Ordering::AcqRel);
        if prev & CLOSED != 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let prev = inner.state.fetch_or(COMPLETE, Ordering::AcqRel);
            inner.wake_receiver(prev);
        }
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("oneshot::Sender").finish_non_exhaustive()
    }
}

/// Receives the channel's value: await it. See the module docs.
#[must_use = "a Receiver does nothing unless awaited"]
pub struct Receiver<T> {
    /// The shared state.
    inner: Arc<Inner<T>>,
}

impl<T> Receiver<T> {
    /// Takes the value if it has arrived, without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let state = self.inner.state.load(Ordering::Acquire);
        if state & COMPLETE == 0 {
            // Closed by us: the sender can no longer send, so nothing will
            // ever come even though it is still alive.
            if state & CLOSED != 0 {
                return Err(TryRecvError::Closed);
            }
            return Err(TryRecvError::Empty);
        }
        self.take(state).ok_or(TryRecvError::Closed)
    }

    /// Closes the channel: a later `send` fails and returns its value. A
    /// value sent before is still received; otherwise awaiting the receiver
    /// (or `try_recv`) now reports the channel closed instead of waiting for
    /// a sender that can no longer send.
    pub fn close(&mut self) {
        let prev = self.inner.state.fetch_or(CLOSED, Ordering::AcqRel);
        self.inner.wake_sender(prev);
    }

    /// The value, if `state` (with `COMPLETE` set) says it was sent.
    fn take(&mut self, state: usize) -> Option<T> {
        if state & VALUE_SENT == 0 {
            return None;
        }
        // SAFETY: we are the receiver (`&mut self`) and saw `VALUE_SENT`.
        unsafe { self.inner.take_value() }
    }

    /// Stores `cx`'s waker for the sender and announces it. Returns the
    /// state if the sender completed meanwhile (then it will not wake us).
    fn park(&mut self, mut state: usize, cx: &mut Context<'_>) -> Option<usize> {
        if state & RX_TASK_SET != 0 {
            // SAFETY: shared read; the sender only reads the waker too.
            let same = unsafe { &*self.inner.waker.get() }
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()));
            if same {
                return None;
            }
            // Take the cell back before writing it.
            state = self.inner.state.fetch_and(!RX_TASK_SET, Ordering::AcqRel);
            if state & COMPLETE != 0 {
                // The sender may be waking the old waker right now: leave
                // the cell alone (and the flag set, so nothing else does).
                self.inner.state.fetch_or(RX_TASK_SET, Ordering::AcqRel);
                return Some(state);
            }
        }
        // SAFETY: `RX_TASK_SET` is clear and `COMPLETE` was not set when we
        // (or the `fetch_and` above) looked, so the sender will not read
        // the cell until it sees the flag we set next.
        unsafe { *self.inner.waker.get() = Some(cx.waker().clone()) };
        let prev = self.inner.state.fetch_or(RX_TASK_SET, Ordering::AcqRel);
        (prev & COMPLETE != 0).then_some(prev)
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut state = this.inner.state.load(Ordering::Acquire);
        if state & COMPLETE == 0 {
            // `send` never sets `VALUE_SENT` once `CLOSED` is set (it
            // checks in the same compare-exchange), so after our `close`
            // without a value, none will come.
            if state & CLOSED != 0 {
                return Poll::Ready(Err(RecvError(())));
            }
            match this.park(state, cx) {
                None => return Poll::Pending,
                Some(completed) => state = completed,
            }
        }
        Poll::Ready(this.take(state).ok_or(RecvError(())))
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let prev = self.inner.state.fetch_or(CLOSED, Ordering::AcqRel);
        self.inner.wake_sender(prev);
        // A value sent and never received is dropped here, not leaked until
        // the sender's `Arc` goes too.
        drop(self.take(prev));
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}
