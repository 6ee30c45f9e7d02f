//! Synchronisation between tasks: channels, semaphores, notifications, locks.
//!
//! Tasks on an event loop cooperate: they never block the thread, they
//! *wait* by returning `Pending` and leaving a [`Waker`](std::task::Waker)
//! where someone will find it. Every primitive here is the same idea in a
//! different shape:
//!
//! | primitive | a task waits until ... | asyncio |
//! |---|---|---|
//! | [`oneshot`] | the single value is sent | `Future` as a reply slot |
//! | [`mpsc`] | a value is queued (receiver) / there is room (sender) | `Queue` |
//! | [`Semaphore`] | a permit is free | `Semaphore` |
//! | [`Notify`] | someone calls `notify_one`/`notify_waiters` | `Event`, `Condition` |
//! | [`Mutex`] | the lock is handed to it | `Lock` |
//! | [`RwLock`] | no writer holds it (reads) / nobody holds it (writes) | - |
//! | [`watch`] | the latest value changes | `Event` plus a value |
//!
//! # The common design
//!
//! * State shared between tasks lives behind a `std::sync::Mutex` (or an
//!   atomic for the fast paths), never a `RefCell`: so every primitive is
//!   `Send + Sync` like tokio's, and works between tasks of one loop, of two
//!   loops, or with a plain `std::thread`.
//! * Waiters queue in a `WaitList` (`waiters.rs`): FIFO, and a dropped future
//!   removes its own entry in O(1).
//! * A waker is taken out under the lock and woken after the lock is
//!   released; the woken task may run at once on another thread.
//! * **Cancellation is by drop**, and is clean: a future dropped after it was
//!   handed something (a permit, a queue slot, a notification) passes it on.
//!   Each module says exactly what, if anything, a dropped future loses.
//!
//! `docs/09-sync.md` walks through how these pieces make a channel.

mod chan;
pub mod mpsc;
mod mutex;
mod notify;
pub mod oneshot;
mod park;
mod rwlock;
mod semaphore;
mod waiters;
pub mod watch;

pub use mutex::{Lock, MappedMutexGuard, Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{
    Acquire, AcquireError, AcquireOwned, OwnedSemaphorePermit, Semaphore, SemaphorePermit,
    TryAcquireError,
};

/// Compile-time checks that the primitives cross threads where tokio's do
/// (the habit of async-executor): if a change makes one of them `!Send`, the
/// build fails here rather than in a user's program.
#[allow(dead_code)]
fn assert_send_sync() {
    fn send<T: std::marker::Send>() {}
    fn sync<T: Sync>() {}
    fn both<T: std::marker::Send + Sync>() {}

    both::<oneshot::Sender<u8>>();
    both::<oneshot::Receiver<u8>>();
    both::<mpsc::Sender<u8>>();
    both::<mpsc::Receiver<u8>>();
    both::<mpsc::UnboundedSender<u8>>();
    both::<mpsc::UnboundedReceiver<u8>>();
    both::<mpsc::Send<'static, u8>>();
    both::<mpsc::Recv<'static, u8>>();
    both::<mpsc::Permit<'static, u8>>();
    both::<mpsc::OwnedPermit<u8>>();
    both::<mpsc::Reserve<'static, u8>>();
    both::<mpsc::Closed<'static, u8>>();
    both::<Semaphore>();
    both::<Acquire<'static>>();
    both::<AcquireOwned>();
    both::<SemaphorePermit<'static>>();
    both::<OwnedSemaphorePermit>();
    both::<Notify>();
    both::<RwLock<Vec<u8>>>();
    both::<RwLockReadGuard<'static, Vec<u8>>>();
    both::<RwLockWriteGuard<'static, Vec<u8>>>();
    both::<watch::Sender<u8>>();
    both::<watch::Receiver<u8>>();
    both::<Notified<'static>>();
    both::<Mutex<Vec<u8>>>();
    both::<Lock<'static, Vec<u8>>>();
    both::<MutexGuard<'static, Vec<u8>>>();
    // A `Mutex` makes a `Send` but `!Sync` value shareable, as std's does.
    sync::<Mutex<std::cell::Cell<u8>>>();
    send::<MutexGuard<'static, std::cell::Cell<u8>>>();
    both::<OwnedMutexGuard<Vec<u8>>>();
    both::<MappedMutexGuard<'static, Vec<u8>>>();
}

/// Chapter 9 of the book in `docs/`, compiled so that its examples stay true.
#[cfg(doctest)]
#[doc = include_str!("../../docs/09-sync.md")]
struct BookChapter09;
