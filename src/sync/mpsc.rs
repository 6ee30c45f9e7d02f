//! Multi-producer, single-consumer channels: a queue between tasks (and
//! threads).
//!
//! * [`channel(capacity)`](channel) is *bounded*: at most `capacity` values
//!   wait in the queue; a `send` beyond that waits until the receiver takes
//!   one. That wait is **backpressure**: a fast producer is slowed to the
//!   pace of its consumer instead of filling memory (asyncio's
//!   `Queue(maxsize=n)`).
//! * [`unbounded_channel()`](unbounded_channel) never makes a sender wait.
//!   Use it where the producer cannot wait (a callback, a `Drop`), and
//!   bound the traffic some other way.
//!
//! Both halves work anywhere: a `Sender` may be moved to another loop or to
//! a plain `std::thread` (which uses [`Sender::blocking_send`]). Values from
//! one sender arrive in the order it sent them. `recv()` returns `None` once
//! every sender is gone and the queue is empty: that is how a consumer
//! learns that the stream has ended.
//!
//! How the channel is built (a queue, a parked receiver waker, a FIFO of
//! waiting senders) is explained in `chan.rs`, and in `docs/09-sync.md`.
//!
//! # Cancellation
//!
//! * `recv()` is cancel-safe: if the future is dropped, no value was taken.
//! * `send(value)`: if the future is dropped before it completes, the value
//!   was **not** sent and is dropped with the future (use
//!   [`Sender::try_send`] to keep it). A queue slot already reserved for it
//!   passes to the next waiting sender; nothing else is lost.
//! * [`Sender::reserve`] waits for room *before* the value exists; the
//!   [`Permit`] it returns sends without waiting (see `mpsc/permit.rs`).
//! * `recv_many(buf, limit)` takes up to `limit` queued values in one lock,
//!   for a consumer that handles values in batches.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::chan::{Chan, TryRecv, TrySend};
use super::park;

mod permit;

pub use permit::{Closed, OwnedPermit, Permit, Reserve, SendTimeoutError};

/// Creates a bounded channel holding at most `capacity` values.
///
/// ```
/// evloop::block_on(async {
///     let (tx, mut rx) = evloop::sync::mpsc::channel(8);
///     for id in 0..3 {
///         let tx = tx.clone();
///         evloop::spawn(async move { tx.send(id).await.expect("receiver alive") });
///     }
///     drop(tx); // so that `recv` ends once the workers' senders are gone
///     let mut got = Vec::new();
///     while let Some(id) = rx.recv().await {
///         got.push(id);
///     }
///     got.sort();
///     assert_eq!(got, [0, 1, 2]);
/// });
/// ```
///
/// # Panics
/// If `capacity` is zero.
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc::channel needs a capacity of at least 1");
    let chan = Arc::new(Chan::new(capacity));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// Creates a channel whose senders never wait.
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Arc::new(Chan::new(usize::MAX));
    (
        UnboundedSender { chan: chan.clone() },
        UnboundedReceiver { chan },
    )
}

/// The receiver is gone (or closed); the value that could not be sent.
#[derive(PartialEq, Eq, Clone, Copy, thiserror::Error)]
#[error("channel closed")]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError").finish_non_exhaustive()
    }
}

/// Why [`Sender::try_send`] did not send; the value comes back.
#[derive(PartialEq, Eq, Clone, Copy, thiserror::Error)]
pub enum TrySendError<T> {
    /// The queue is full (or other senders wait for room first).
    #[error("channel full")]
    Full(T),
    /// The receiver is gone.
    #[error("channel closed")]
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(value) | TrySendError::Closed(value) => value,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

/// Why `try_recv` returned no value.
#[derive(Debug, PartialEq, Eq, Clone, Copy, thiserror::Error)]
pub enum TryRecvError {
    /// The queue is empty right now.
    #[error("channel empty")]
    Empty,
    /// The queue is empty and every sender is gone (or the channel closed).
    #[error("channel disconnected")]
    Disconnected,
}

fn try_recv<T>(chan: &Chan<T>) -> Result<T, TryRecvError> {
    match chan.try_recv() {
        TryRecv::Value(value) => Ok(value),
        TryRecv::Empty => Err(TryRecvError::Empty),
        TryRecv::Done => Err(TryRecvError::Disconnected),
    }
}

/// The sending half of a bounded channel. Clone it for more producers.
pub struct Sender<T> {
    /// The shared channel.
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for room while the queue is full. Fails, giving
    /// the value back, if the receiver is gone. See the module docs on
    /// cancellation.
    pub fn send(&self, value: T) -> Send<'_, T> {
        Send {
            chan: &self.chan,
            value: Some(value),
            key: None,
        }
    }

    /// Sends `value` if there is room right now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.chan.try_send(value) {
            TrySend::Sent => Ok(()),
            TrySend::Full(value) => Err(TrySendError::Full(value)),
            TrySend::Closed(value) => Err(TrySendError::Closed(value)),
        }
    }

    /// Sends from a thread that runs no loop, blocking it while the queue
    /// is full.
    ///
    /// # Panics
    /// Inside a runtime (it would block the loop); use `send().await` there.
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        park::block_on("Sender::blocking_send", self.send(value))
    }

    /// True once the receiver has closed the channel or been dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// How many more values the queue takes right now before a `send`
    /// waits: a producer can shed load when it runs low.
    pub fn capacity(&self) -> usize {
        self.chan.free_slots()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.capacity()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Sender").finish_non_exhaustive()
    }
}

/// The future returned by [`Sender::send`].
#[must_use = "futures do nothing unless awaited"]
pub struct Send<'a, T> {
    /// The channel to send on.
    chan: &'a Chan<T>,
    /// The value, until it is queued or given back.
    value: Option<T>,
    /// Our node among the waiting senders, while we wait.
    key: Option<usize>,
}

// `Send` never pins its fields: the value only moves into the queue.
impl<T> Unpin for Send<'_, T> {}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.chan
            .poll_send(&mut this.key, &mut this.value, cx)
            .map_err(SendError)
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.chan.cancel_send(key);
        }
    }
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send")
            .field("waiting", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// The receiving half of a bounded channel.
pub struct Receiver<T> {
    /// The shared channel.
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Receives the next value; `None` once every sender is gone (or the
    /// channel was closed) and the queue is empty. Cancel-safe.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { chan: &self.chan }
    }

    /// The poll behind `recv` and `Stream::poll_next`.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// Receives a value if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        try_recv(&self.chan)
    }

    /// Receives from a thread that runs no loop, blocking it while empty.
    ///
    /// # Panics
    /// Inside a runtime; use `recv().await` there.
    pub fn blocking_recv(&mut self) -> Option<T> {
        park::block_on("Receiver::blocking_recv", self.recv())
    }

    /// Closes the channel: sends fail from now on (waiting ones too), while
    /// the values already queued can still be received.
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// How many values are queued.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// True if no value is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many more values fit right now (as [`Sender::capacity`]).
    pub fn capacity(&self) -> usize {
        self.chan.free_slots()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.capacity()
    }

    /// Waits for at least one value, then moves up to `limit` queued values
    /// into `buf` (appended) and returns how many. `0` means the channel is
    /// done (every sender gone, or closed, and the queue empty), or
    /// `limit` was 0. Cancel-safe.
    pub async fn recv_many(&mut self, buf: &mut Vec<T>, limit: usize) -> usize {
        std::future::poll_fn(|cx| self.chan.poll_recv_many(cx, buf, limit)).await
    }

    /// True once the channel is closed (by [`close`](Self::close)) or every
    /// sender is gone; queued values may still be waiting to be received.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed_for_receiver()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.close_and_drain();
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.poll_recv(cx)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Receiver").finish_non_exhaustive()
    }
}

/// The future returned by `recv()` on either kind of receiver.
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    /// The channel to receive from.
    chan: &'a Chan<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

/// The sending half of an unbounded channel.
pub struct UnboundedSender<T> {
    /// The shared channel.
    chan: Arc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    /// Queues `value` at once; fails, giving it back, if the receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.chan.try_send(value) {
            TrySend::Sent => Ok(()),
            TrySend::Full(value) | TrySend::Closed(value) => Err(SendError(value)),
        }
    }

    /// True once the receiver has closed the channel or been dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> UnboundedSender<T> {
        self.chan.add_sender();
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::UnboundedSender")
            .finish_non_exhaustive()
    }
}

/// The receiving half of an unbounded channel.
pub struct UnboundedReceiver<T> {
    /// The shared channel.
    chan: Arc<Chan<T>>,
}

impl<T> UnboundedReceiver<T> {
    /// See [`Receiver::recv`].
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { chan: &self.chan }
    }

    /// See [`Receiver::poll_recv`].
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// See [`Receiver::try_recv`].
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        try_recv(&self.chan)
    }

    /// See [`Receiver::blocking_recv`].
    pub fn blocking_recv(&mut self) -> Option<T> {
        park::block_on("UnboundedReceiver::blocking_recv", self.recv())
    }

    /// See [`Receiver::close`].
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// How many values are queued.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// True if no value is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits for at least one value, then moves up to `limit` queued values
    /// into `buf` (appended) and returns how many. `0` means the channel is
    /// done (every sender gone, or closed, and the queue empty), or
    /// `limit` was 0. Cancel-safe.
    pub async fn recv_many(&mut self, buf: &mut Vec<T>, limit: usize) -> usize {
        std::future::poll_fn(|cx| self.chan.poll_recv_many(cx, buf, limit)).await
    }

    /// True once the channel is closed (by [`close`](Self::close)) or every
    /// sender is gone; queued values may still be waiting to be received.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed_for_receiver()
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        self.chan.close_and_drain();
    }
}

impl<T> Stream for UnboundedReceiver<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.poll_recv(cx)
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::UnboundedReceiver")
            .finish_non_exhaustive()
    }
}
