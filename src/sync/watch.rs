//! A watch channel: one latest value, many receivers that see it change.
//!
//! Some state is interesting only in its newest form: a configuration that
//! gets reloaded, a "shutting down" flag, the current leader of a cluster.
//! An [`mpsc`](super::mpsc) queue would make every reader replay every old
//! value; a watch channel keeps just one value and a *version*. A receiver
//! remembers the version it last saw. [`Receiver::changed`] waits until the
//! channel's version is newer, and [`Receiver::borrow_and_update`] reads
//! the value and marks that version seen. A reader that is slow simply
//! skips the values it missed: only the latest one is there.
//!
//! ```
//! use evloop::sync::watch;
//!
//! evloop::block_on(async {
//!     let (tx, mut rx) = watch::channel("starting");
//!     let reader = evloop::spawn(async move {
//!         rx.changed().await.expect("the sender is alive");
//!         *rx.borrow_and_update()
//!     });
//!     tx.send("ready").expect("a receiver is alive");
//!     assert_eq!(reader.await.expect("no panic"), "ready");
//! });
//! ```
//!
//! # How it works
//!
//! * The value sits in a `std::sync::RwLock`: `borrow()` is a read lock,
//!   `send` a write lock. Do not hold a [`Ref`] across an `.await`: a
//!   sender would block its thread until it is dropped (as with tokio).
//! * The version is an atomic counter bumped by 2 under the write lock; its
//!   low bit says "every sender is gone". So a reader holding the read lock
//!   sees the version that belongs to the value it reads.
//! * Waiting is a [`super::Notify`]: `send` calls `notify_waiters`
//!   after the value is in place. A waiter creates its `Notified` *before*
//!   it checks the version, so a send between the check and the wait is
//!   never missed (a `Notified` remembers `notify_waiters` calls made after
//!   it was created).
//!
//! The channel closes for receivers when every [`Sender`] is gone
//! (`changed` then fails once the last value was seen), and for senders
//! when every [`Receiver`] is gone (`send` fails, [`Sender::closed`]
//! resolves). [`Sender::send_replace`] and [`Sender::send_modify`] store
//! the value even with no receiver, for receivers made later by
//! [`Sender::subscribe`].

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use super::Notify;

/// The low bit of `Shared::version`: every sender is gone.
const CLOSED: usize = 1;
/// The version counts from bit 1 up.
const STEP: usize = 2;

/// Creates a watch channel holding `init`. The receiver starts having seen
/// it: its first `changed()` waits for the first `send`.
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        version: AtomicUsize::new(0),
        receivers: AtomicUsize::new(1),
        senders: AtomicUsize::new(1),
        changed: Notify::new(),
        receivers_gone: Notify::new(),
    });
    let rx = Receiver {
        shared: shared.clone(),
        version: 0,
    };
    (Sender { shared }, rx)
}

/// What senders and receivers share.
struct Shared<T> {
    /// The latest value.
    value: RwLock<T>,
    /// Version times `STEP`, plus `CLOSED`; bumped under the write lock.
    version: AtomicUsize,
    /// Live receivers; at zero, `send` fails.
    receivers: AtomicUsize,
    /// Live senders; at zero, the channel is closed for receivers.
    senders: AtomicUsize,
    /// Receivers waiting in `changed()`.
    changed: Notify,
    /// Senders waiting in `closed()`.
    receivers_gone: Notify,
}

impl<T> Shared<T> {
    fn read(&self) -> RwLockReadGuard<'_, T> {
        // A panic in a `send_modify` closure poisons the lock; the value is
        // still there, as tokio's, so readers go on reading it.
        self.value.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `send` found no receiver; the value comes back.
#[derive(PartialEq, Eq, Clone, Copy, thiserror::Error)]
#[error("watch channel closed: no receiver")]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError").finish_non_exhaustive()
    }
}

/// Every sender is gone and the latest value was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("watch channel closed: no sender")]
pub struct RecvError(());

/// A borrow of the channel's value (a read lock); see the module docs.
pub struct Ref<'a, T> {
    /// The read lock on the value.
    guard: RwLockReadGuard<'a, T>,
    /// Whether this value was new to the receiver that borrowed it.
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether the value was not yet seen by the receiver when borrowed
    /// (always `false` for a borrow through the sender).
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The sending half: stores new values. Clone it for more senders.
pub struct Sender<T> {
    /// The channel.
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Stores `value` and wakes the waiting receivers. Fails, giving the
    /// value back and storing nothing, if every receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.receivers.load(Ordering::Acquire) == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Stores `value` even if no receiver exists, and returns the old one.
    pub fn send_replace(&self, value: T) -> T {
        let mut value = Some(value);
        let mut old = None;
        self.send_if_modified(|current| {
            old = Some(std::mem::replace(
                current,
                value.take().expect("called once"),
            ));
            true
        });
        old.expect("the closure ran")
    }

    /// Changes the value in place (under the write lock) and wakes the
    /// receivers, even if no receiver exists.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.send_if_modified(|value| {
            modify(value);
            true
        });
    }

    /// Changes the value in place; only if `modify` returns `true` is it a
    /// new version that wakes the receivers.
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        {
            let mut value = self
                .shared
                .value
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if !modify(&mut value) {
                return false;
            }
            self.shared.version.fetch_add(STEP, Ordering::Release);
        }
        // Woken after the write lock is released.
        self.shared.changed.notify_waiters();
        true
    }

    /// Reads the current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.read(),
            has_changed: false,
        }
    }

    /// True once every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until every receiver is gone.
    pub async fn closed(&self) {
        loop {
            let notified = self.shared.receivers_gone.notified();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    /// A new receiver, which has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.receivers.fetch_add(1, Ordering::AcqRel);
        Receiver {
            version: self.shared.version.load(Ordering::Acquire) & !CLOSED,
            shared: self.shared.clone(),
        }
    }

    /// How many receivers are alive.
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.load(Ordering::Acquire)
    }

    /// How many senders are alive.
    pub fn sender_count(&self) -> usize {
        self.shared.senders.load(Ordering::Acquire)
    }

    /// Whether `other` belongs to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.senders.fetch_add(1, Ordering::AcqRel);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.version.fetch_or(CLOSED, Ordering::Release);
            self.shared.changed.notify_waiters();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender")
            .field("value", &*self.shared.read())
            .finish()
    }
}

/// A receiving half: reads the latest value, waits for changes. Clone it
/// for another reader that has seen what this one has.
pub struct Receiver<T> {
    /// The channel.
    shared: Arc<Shared<T>>,
    /// The version this receiver has seen (without the `CLOSED` bit).
    version: usize,
}

impl<T> Receiver<T> {
    /// Reads the current value without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = self.shared.read();
        let version = self.shared.version.load(Ordering::Acquire) & !CLOSED;
        Ref {
            guard,
            has_changed: version != self.version,
        }
    }

    /// Reads the current value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.read();
        // Bumped only under the write lock: this is the read value's version.
        let version = self.shared.version.load(Ordering::Acquire) & !CLOSED;
        let has_changed = version != self.version;
        self.version = version;
        Ref { guard, has_changed }
    }

    /// Whether a value this receiver has not seen is there. An error once
    /// every sender is gone (even if an unseen value remains, as tokio's).
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let version = self.shared.version.load(Ordering::Acquire);
        if version & CLOSED != 0 {
            return Err(RecvError(()));
        }
        Ok(version != self.version)
    }

    /// Waits for a value this receiver has not seen, and marks it seen
    /// (read it with `borrow`). Returns at once if one is already there.
    /// Fails once every sender is gone and the latest value was seen.
    /// Cancel-safe.
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        loop {
            // Created before the check: a send in between still wakes it.
            let notified = self.shared.changed.notified();
            let version = self.shared.version.load(Ordering::Acquire);
            if version & !CLOSED != self.version {
                self.version = version & !CLOSED;
                return Ok(());
            }
            if version & CLOSED != 0 {
                return Err(RecvError(()));
            }
            notified.await;
        }
    }

    /// Waits until the value satisfies `predicate` (checking the current
    /// one first), marks it seen and returns a borrow of it.
    pub async fn wait_for(
        &mut self,
        mut predicate: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        loop {
            let notified = self.shared.changed.notified();
            let version = {
                let guard = self.shared.read();
                // Read under the lock: the version of the value in `guard`.
                let version = self.shared.version.load(Ordering::Acquire);
                let has_changed = version & !CLOSED != self.version;
                self.version = version & !CLOSED;
                if predicate(&guard) {
                    return Ok(Ref { guard, has_changed });
                }
                version
            };
            if version & CLOSED != 0 {
                return Err(RecvError(()));
            }
            notified.await;
        }
    }

    /// Marks the current value as not seen: the next `changed()` returns
    /// at once.
    pub fn mark_changed(&mut self) {
        self.version = self.version.wrapping_sub(STEP);
    }

    /// Marks the current value as seen.
    pub fn mark_unchanged(&mut self) {
        self.version = self.shared.version.load(Ordering::Acquire) & !CLOSED;
    }

    /// Whether `other` belongs to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        self.shared.receivers.fetch_add(1, Ordering::AcqRel);
        Receiver {
            shared: self.shared.clone(),
            version: self.version,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.shared.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.receivers_gone.notify_waiters();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("value", &*self.shared.read())
            .finish()
    }
}
