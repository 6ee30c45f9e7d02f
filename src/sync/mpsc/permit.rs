//! Reserving a slot before having the value, and waiting on the receiver.
//!
//! `send(value).await` needs the value *before* it waits for room. Often
//! it is better the other way round: wait for room first, then build the
//! value (reading it off a socket, say), so that a value is never created
//! only to sit in a future while the queue is full, or be lost when that
//! future is cancelled. [`Sender::reserve`] waits for a slot and returns a
//! [`Permit`]; [`Permit::send`] fills it without waiting and cannot fail.
//! A permit dropped unused gives its slot back (to the next waiting sender,
//! or to the free slots): reserving never leaks capacity.
//!
//! A reserved slot counts against the capacity like a queued value, which
//! is why [`Sender::capacity`] drops by one per live permit.

use std::fmt;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{SendError, Sender, TrySendError, UnboundedSender};
use crate::sync::chan::{Chan, TrySend};

impl<T> Sender<T> {
    /// Waits for a free slot and reserves it. Fails if the receiver is
    /// gone. Cancel-safe: a dropped `Reserve` passes on a slot handed to it.
    pub fn reserve(&self) -> Reserve<'_, T> {
        Reserve {
            chan: &self.chan,
            key: None,
        }
    }

    /// Reserves a slot if one is free right now (and no sender waits).
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.chan.try_reserve() {
            TrySend::Sent => Ok(Permit { chan: &self.chan }),
            TrySend::Full(()) => Err(TrySendError::Full(())),
            TrySend::Closed(()) => Err(TrySendError::Closed(())),
        }
    }

    /// [`reserve`](Sender::reserve) that consumes a clone of the sender,
    /// so that the permit can move into another task; [`OwnedPermit::send`]
    /// gives the sender back.
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        // `Reserve` passes a handed slot on if this future is cancelled.
        let permit = self.reserve().await?;
        // The slot moves to the owned permit, which releases it in turn.
        std::mem::forget(permit);
        Ok(OwnedPermit { sender: Some(self) })
    }

    /// [`try_reserve`](Sender::try_reserve) that consumes the sender; on
    /// failure the sender comes back inside the error.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Sender<T>>> {
        match self.chan.try_reserve() {
            TrySend::Sent => Ok(OwnedPermit { sender: Some(self) }),
            TrySend::Full(()) => Err(TrySendError::Full(self)),
            TrySend::Closed(()) => Err(TrySendError::Closed(self)),
        }
    }

    /// Sends `value`, waiting at most `timeout` for room. On timeout the
    /// value comes back in [`SendTimeoutError::Timeout`].
    pub async fn send_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        let mut send = self.send(value);
        let mut sleep = pin!(crate::time::sleep(timeout));
        std::future::poll_fn(|cx| {
            if let Poll::Ready(result) = Pin::new(&mut send).poll(cx) {
                return Poll::Ready(
                    result.map_err(|SendError(value)| SendTimeoutError::Closed(value)),
                );
            }
            if sleep.as_mut().poll(cx).is_ready() {
                let value = send
                    .value
                    .take()
                    .expect("a pending send still holds its value");
                return Poll::Ready(Err(SendTimeoutError::Timeout(value)));
            }
            Poll::Pending
        })
        .await
    }

    /// Waits until the receiver closes the channel or is dropped: a
    /// producer can stop computing values nobody will read.
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            chan: &self.chan,
            key: None,
        }
    }

    /// Whether `other` sends on the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> UnboundedSender<T> {
    /// See [`Sender::closed`].
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            chan: &self.chan,
            key: None,
        }
    }

    /// Whether `other` sends on the same channel.
    pub fn same_channel(&self, other: &UnboundedSender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

/// Why [`Sender::send_timeout`] did not send; the value comes back.
#[derive(PartialEq, Eq, Clone, Copy, thiserror::Error)]
pub enum SendTimeoutError<T> {
    /// No room came in time.
    #[error("timed out waiting on send operation")]
    Timeout(T),
    /// The receiver is gone.
    #[error("channel closed")]
    Closed(T),
}

impl<T> SendTimeoutError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(value) | SendTimeoutError::Closed(value) => value,
        }
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SendTimeoutError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

/// The future returned by [`Sender::reserve`].
#[must_use = "futures do nothing unless awaited"]
pub struct Reserve<'a, T> {
    /// The channel to reserve a slot in.
    chan: &'a Chan<T>,
    /// Our node among the waiting senders, while we wait.
    key: Option<usize>,
}

impl<'a, T> Future for Reserve<'a, T> {
    type Output = Result<Permit<'a, T>, SendError<()>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let chan = self.chan;
        chan.poll_reserve(&mut self.key, cx)
            .map(|result| result.map(|()| Permit { chan }).map_err(|()| SendError(())))
    }
}

impl<T> Drop for Reserve<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            // The same as a waiting send's: leave, passing on a handed slot.
            self.chan.cancel_send(key);
        }
    }
}

impl<T> fmt::Debug for Reserve<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reserve")
            .field("waiting", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// One reserved slot of a bounded channel, from [`Sender::reserve`]:
/// [`Permit::send`] fills it without waiting; dropped unused, it gives the
/// slot back to the next waiting sender.
#[must_use = "a permit dropped unused gives its slot back"]
pub struct Permit<'a, T> {
    /// The channel whose slot this is.
    chan: &'a Chan<T>,
}

impl<T> Permit<'_, T> {
    /// Fills the reserved slot with `value`, without waiting. If the
    /// receiver went away meanwhile the value is dropped, as in tokio.
    pub fn send(self, value: T) {
        let chan = self.chan;
        // The slot is used, not released: skip our `Drop`.
        std::mem::forget(self);
        drop(chan.send_reserved(value));
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.chan.release_reserved();
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// A reserved slot that owns its [`Sender`], from
/// [`Sender::reserve_owned`]: it can move into a spawned task.
#[must_use = "a permit dropped unused gives its slot back"]
pub struct OwnedPermit<T> {
    /// The sender; `None` only once `send` or `release` gave it back.
    sender: Option<Sender<T>>,
}

impl<T> OwnedPermit<T> {
    /// Fills the reserved slot with `value` without waiting, and gives the
    /// sender back. If the receiver went away the value is dropped.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("a permit holds its sender until used");
        drop(sender.chan.send_reserved(value));
        sender
    }

    /// Gives the slot back unused, and the sender with it.
    pub fn release(mut self) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("a permit holds its sender until used");
        sender.chan.release_reserved();
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = &self.sender {
            sender.chan.release_reserved();
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").finish_non_exhaustive()
    }
}

/// The future returned by [`Sender::closed`].
#[must_use = "futures do nothing unless awaited"]
pub struct Closed<'a, T> {
    /// The channel to watch.
    chan: &'a Chan<T>,
    /// Our node among the waiters, while we wait.
    key: Option<usize>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let chan = self.chan;
        chan.poll_closed(&mut self.key, cx)
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.chan.cancel_closed(key);
        }
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}
