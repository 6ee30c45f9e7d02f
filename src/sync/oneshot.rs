//! A one-shot channel: one value, sent once, from one task to another.
//!
//! The smallest channel there is, and the usual way to get an answer back:
//! put a [`Sender`] in a request, await the [`Receiver`] for the reply
//! (asyncio's `Future` used as a reply slot). It is also the clearest picture
//! of what every channel is made of:
//!
//! ```text
//!      Sender ──┐                  ┌── Receiver (a Future)
//!               ▼                  ▼
//!        Arc<Inner> { Mutex { value: Option<T>, waker: Option<Waker>,
//!                             sender_gone, receiver_gone } }
//!
//!  poll(receiver):  value there? take it.  sender gone? Err.  else store waker
//!  send(value):     store value, take the waker; unlock; wake it
//! ```
//!
//! The receiver leaves its waker where the sender will look, the sender
//! leaves the value where the receiver will look, and whichever comes second
//! finishes the job. The lock makes "look, then leave something" one step, so
//! neither can miss the other; the waker is woken only after the lock is
//! released, because the woken task may run at once on another thread and
//! would contend for it.
//!
//! # Cancellation
//!
//! Dropping the `Receiver` closes the channel: a later `send` returns the
//! value in its `Err`. Dropping the `Sender` without sending makes the
//! receiver yield [`RecvError`]. Awaiting the receiver is cancel-safe: a
//! `Receiver` polled and then not awaited further loses nothing until it is
//! dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

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
        state: Mutex::new(State {
            value: None,
            waker: None,
            sender_gone: false,
            receiver_gone: false,
        }),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner },
    )
}

/// The sender dropped without sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the oneshot sender was dropped without sending")]
pub struct RecvError(());

/// Why [`Receiver::try_recv`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TryRecvError {
    /// Nothing sent yet; the sender is still there.
    #[error("no value yet")]
    Empty,
    /// The sender dropped without sending (or the value was taken).
    #[error("the oneshot sender is gone")]
    Closed,
}

struct Inner<T> {
    /// Everything both halves look at, behind one lock.
    state: Mutex<State<T>>,
}

struct State<T> {
    /// The value, from `send` until the receiver takes it.
    value: Option<T>,
    /// The receiver's task, if it polled before the value arrived.
    waker: Option<Waker>,
    /// The sender sent or was dropped: no value will come after this.
    sender_gone: bool,
    /// The receiver was dropped or closed: sends fail.
    receiver_gone: bool,
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No user code runs under this lock (values are moved, not
        // dropped, inside it), so a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
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
        let inner = self.inner.take().expect("only `send` takes it");
        let waker = {
            let mut state = inner.lock();
            state.sender_gone = true;
            if state.receiver_gone {
                return Err(value);
            }
            state.value = Some(value);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// True if the receiver has been dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|inner| inner.lock().receiver_gone)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let waker = {
            let mut state = inner.lock();
            state.sender_gone = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
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
        let mut state = self.inner.lock();
        match state.value.take() {
            Some(value) => Ok(value),
            None if state.sender_gone => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Closes the channel: a later `send` fails and returns its value. A
    /// value sent before is still received.
    pub fn close(&mut self) {
        self.inner.lock().receiver_gone = true;
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.inner.lock();
        if let Some(value) = state.value.take() {
            return Poll::Ready(Ok(value));
        }
        if state.sender_gone {
            return Poll::Ready(Err(RecvError(())));
        }
        match &mut state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // Take the value out under the lock, drop it after: its destructor
        // is user code and must not run while we hold the lock.
        let (value, waker) = {
            let mut state = self.inner.lock();
            state.receiver_gone = true;
            (state.value.take(), state.waker.take())
        };
        drop(waker);
        drop(value);
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}
