//! An async reader-writer lock: many readers or one writer, fairly.
//!
//! A [`Mutex`](super::Mutex) lets one task in at a time. When most tasks
//! only read (a routing table, a cache consulted on every request), they
//! could all be inside together; only a writer needs to be alone. That is
//! a reader-writer lock: [`RwLock::read`] shares, [`RwLock::write`]
//! excludes.
//!
//! # How it works: a semaphore of `MAX_READS` permits (tokio's design)
//!
//! The lock is a [`Semaphore`] holding `MAX_READS` permits. A reader takes
//! one; a writer takes *all* of them at once with
//! [`Semaphore::acquire_many`]. So any number of readers (up to
//! `MAX_READS`) can hold the lock together, and a writer holds it alone.
//!
//! Fairness comes from the semaphore's FIFO queue: once a writer waits,
//! every reader that comes after it queues *behind* it, even though
//! readers are inside right now. The writer is served as soon as the
//! readers before it leave; the readers after it go in when it is done. A
//! steady stream of readers therefore cannot starve a writer ("writer
//! preference" in the sense tokio's documentation uses), and a writer
//! cannot starve the readers that queued before the next writer.
//!
//! # Cancellation
//!
//! As for the semaphore: a dropped `read()`/`write()` future takes no
//! permit and loses none; permits set aside for a cancelled writer go on to
//! the next waiter.

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};

use super::TryLockError;
use super::semaphore::Semaphore;

/// How many readers may hold the lock at once (tokio's limit).
const MAX_READS: u32 = u32::MAX >> 3;

/// An async reader-writer lock. See the module docs.
///
/// ```
/// use evloop::sync::RwLock;
///
/// evloop::block_on(async {
///     let lock = RwLock::new(5);
///     {
///         let a = lock.read().await;
///         let b = lock.read().await; // readers share
///         assert_eq!(*a + *b, 10);
///         assert!(lock.try_write().is_err(), "a writer must wait for them");
///     }
///     *lock.write().await += 1;
///     assert_eq!(*lock.read().await, 6);
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    /// `max_readers` permits: one per reader, all of them for a writer.
    semaphore: Semaphore,
    /// How many permits a writer takes.
    max_readers: u32,
    /// The protected value.
    value: UnsafeCell<T>,
}

// SAFETY: a writer's guard gives `&mut T` (so `T: Send` to move access
// between threads); readers share `&T` across threads (so `T: Sync`). The
// permits make the two exclusive, as in `std::sync::RwLock`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}
// SAFETY: moving the lock moves the `T` inside.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}

impl<T> RwLock<T> {
    /// An unlocked `RwLock` holding `value`.
    pub fn new(value: T) -> RwLock<T> {
        RwLock::with_max_readers(value, MAX_READS)
    }

    /// An `RwLock` that lets at most `max_readers` readers in at once.
    ///
    /// # Panics
    /// If `max_readers` is 0 or above `u32::MAX >> 3`.
    pub fn with_max_readers(value: T, max_readers: u32) -> RwLock<T> {
        assert!(
            (1..=MAX_READS).contains(&max_readers),
            "max_readers must be between 1 and {MAX_READS}"
        );
        RwLock {
            semaphore: Semaphore::new(max_readers as usize),
            max_readers,
            value: UnsafeCell::new(value),
        }
    }

    /// The value, taking the lock apart.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared access, behind any writer already waiting.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        let permit = self
            .semaphore
            .acquire()
            .await
            .expect("an RwLock's semaphore is never closed");
        // The guard gives the permit back itself.
        permit.forget();
        RwLockReadGuard { lock: self }
    }

    /// Waits for exclusive access: until every reader and writer before it
    /// has left.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        let permit = self
            .semaphore
            .acquire_many(self.max_readers)
            .await
            .expect("an RwLock's semaphore is never closed");
        permit.forget();
        RwLockWriteGuard { lock: self }
    }

    /// Shared access if no writer holds or waits for the lock.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match self.semaphore.try_acquire() {
            Ok(permit) => {
                permit.forget();
                Ok(RwLockReadGuard { lock: self })
            }
            Err(_) => Err(TryLockError::new()),
        }
    }

    /// Exclusive access if nobody holds or waits for the lock.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match self.semaphore.try_acquire_many(self.max_readers) {
            Ok(permit) => {
                permit.forget();
                Ok(RwLockWriteGuard { lock: self })
            }
            Err(_) => Err(TryLockError::new()),
        }
    }

    /// [`read`](RwLock::read) from a thread that runs no loop.
    ///
    /// # Panics
    /// Inside a runtime.
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        super::park::block_on("RwLock::blocking_read", self.read())
    }

    /// [`write`](RwLock::write) from a thread that runs no loop.
    ///
    /// # Panics
    /// Inside a runtime.
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        super::park::block_on("RwLock::blocking_write", self.write())
    }

    /// The value, through a unique borrow: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLock")
            .field("free_reads", &self.semaphore.available_permits())
            .finish_non_exhaustive()
    }
}

/// Shared access to an [`RwLock`]'s value; dropping it leaves the lock.
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    /// The lock; this guard owns one of its permits.
    lock: &'a RwLock<T>,
}

// SAFETY: the guard only gives `&T`; sending or sharing it shares `&T`.
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: a reader's permit excludes every writer (a writer needs
        // all permits), so only shared references exist.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.semaphore.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to an [`RwLock`]'s value; dropping it leaves the lock.
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    /// The lock; this guard owns all of its permits.
    lock: &'a RwLock<T>,
}

// SAFETY: the guard gives `&mut T` (moving access needs `T: Send`) and,
// through `&guard`, `&T` (sharing needs `T: Sync`), as std's guard.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockWriteGuard<'_, T> {}
// SAFETY: sharing the guard shares `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns write access into read access without letting a writer in
    /// between. The waiters are then served in their FIFO order: readers
    /// at the front come in alongside, a writer at the front waits for us.
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let lock = self.lock;
        // Keep one permit for the read guard; skip our own `Drop`.
        std::mem::forget(self);
        lock.semaphore.release(lock.max_readers as usize - 1);
        RwLockReadGuard { lock }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds every permit: no other guard exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this borrow unique.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.semaphore.release(self.lock.max_readers as usize);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
