//! An async mutex: a lock you can hold across `.await`, handed over in FIFO
//! order.
//!
//! A `std::sync::Mutex` held across an `.await` would block the whole loop
//! (and every other task on it) while the holder sleeps. [`Mutex::lock`]
//! instead *waits* for the lock as a future, so the loop runs other tasks
//! in the meantime.
//!
//! # How it works
//!
//! The mutex is a [`Semaphore`] with one permit plus the value in an
//! `UnsafeCell`. Holding the permit is holding the lock. The semaphore
//! already gives what a fair lock needs:
//!
//! * **FIFO handoff.** Unlocking hands the permit straight to the task that
//!   has waited longest; a task arriving meanwhile cannot barge in, so no
//!   waiter starves.
//! * **Never to a dropped waiter.** A `lock()` future that is dropped leaves
//!   the queue; if the lock had just been handed to it, the drop hands it on
//!   to the next waiter.
//!
//! The only `unsafe` is the access to the value, justified by the permit.
//!
//! # Guards
//!
//! [`MutexGuard`] borrows the mutex; [`OwnedMutexGuard`] (from
//! [`Mutex::lock_owned`] on an `Arc<Mutex<T>>`) owns an `Arc` of it and can
//! move into a spawned task. [`MutexGuard::map`] narrows a guard to one
//! field ([`MappedMutexGuard`]), still holding the whole lock.
//! [`Mutex::blocking_lock`] locks from a plain thread that runs no loop.

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::semaphore::{Acquire, Semaphore, TryAcquireError};

/// An async mutual-exclusion lock. See the module docs.
///
/// ```
/// use std::sync::Arc;
/// use evloop::sync::Mutex;
///
/// evloop::block_on(async {
///     let count = Arc::new(Mutex::new(0));
///     let tasks: Vec<_> = (0..10)
///         .map(|_| {
///             let count = count.clone();
///             evloop::spawn(async move {
///                 let mut guard = count.lock().await;
///                 evloop::yield_now().await; // held across an await
///                 *guard += 1;
///             })
///         })
///         .collect();
///     for task in tasks {
///         task.await.expect("no panic");
///     }
///     assert_eq!(*count.lock().await, 10);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    /// One permit: whoever holds it holds the lock.
    semaphore: Semaphore,
    /// The protected value.
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through a `MutexGuard`, and at most one
// guard exists at a time (it owns the semaphore's only permit). So sharing a
// `Mutex` between threads shares `T` only by moving access from one thread to
// another, which `T: Send` allows; this is `std::sync::Mutex`'s reasoning.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: moving the mutex moves the `T` inside; `T: Send` allows that.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

/// `try_lock` found the mutex held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the mutex is locked")]
pub struct TryLockError(());

impl TryLockError {
    pub(crate) fn new() -> TryLockError {
        TryLockError(())
    }
}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            semaphore: Semaphore::new(1),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, taking the mutex apart.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock. Waiters get it in the order they asked for it.
    /// Cancel-safe: a dropped `lock()` future neither holds nor loses it.
    pub fn lock(&self) -> Lock<'_, T> {
        Lock {
            mutex: self,
            acquire: self.semaphore.acquire(),
        }
    }

    /// Takes the lock if it is free and nobody is waiting for it.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.semaphore.try_acquire() {
            Ok(permit) => {
                permit.forget();
                Ok(MutexGuard { mutex: self })
            }
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => Err(TryLockError(())),
        }
    }

    /// Waits for the lock, returning a guard that owns an `Arc` of the
    /// mutex, so that it can be moved into a task. Cancel-safe.
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        let permit = self
            .semaphore
            .acquire()
            .await
            .expect("a mutex's semaphore is never closed");
        permit.forget();
        OwnedMutexGuard { mutex: self }
    }

    /// [`try_lock`](Mutex::try_lock) for an `Arc<Mutex<T>>`.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        // The guard releases the permit itself when dropped.
        let locked = self.semaphore.try_acquire().map(|permit| permit.forget());
        match locked {
            Ok(()) => Ok(OwnedMutexGuard { mutex: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Locks from a thread that runs no loop, blocking it until the lock is
    /// handed over (in FIFO order with the async waiters).
    ///
    /// # Panics
    /// Inside a runtime (it would block the loop); use `lock().await` there.
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        super::park::block_on("Mutex::blocking_lock", self.lock())
    }

    /// The value, through a unique borrow: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutex")
            .field("locked", &(self.semaphore.available_permits() == 0))
            .finish_non_exhaustive()
    }
}

/// The future returned by [`Mutex::lock`].
#[must_use = "futures do nothing unless awaited"]
pub struct Lock<'a, T: ?Sized> {
    /// The mutex being locked.
    mutex: &'a Mutex<T>,
    /// The wait for its single permit.
    acquire: Acquire<'a>,
}

impl<'a, T: ?Sized> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let permit = std::task::ready!(Pin::new(&mut self.acquire).poll(cx))
            .expect("a mutex's semaphore is never closed");
        // The guard releases the permit itself when dropped.
        permit.forget();
        Poll::Ready(MutexGuard { mutex: self.mutex })
    }
}

impl<T: ?Sized> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").finish_non_exhaustive()
    }
}

/// Access to the value while the lock is held; dropping it unlocks, handing
/// the lock to the longest waiter.
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct MutexGuard<'a, T: ?Sized> {
    /// The locked mutex; this guard owns its permit.
    mutex: &'a Mutex<T>,
}

// SAFETY: a guard gives `&T` to whoever holds `&MutexGuard`, so sharing the
// guard between threads shares `&T`, which `T: Sync` allows.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard owns the only permit, so no other reference to
        // the value exists while it lives (see `Mutex`'s `Sync` impl).
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this borrow unique.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.semaphore.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Narrows the guard to a part of the value (a field, an element),
    /// keeping the whole mutex locked until the mapped guard is dropped.
    /// An associated function (`MutexGuard::map(guard, f)`), as tokio's, so
    /// that it cannot be confused with a method of `T`.
    pub fn map<U: ?Sized>(this: Self, f: impl FnOnce(&mut T) -> &mut U) -> MappedMutexGuard<'a, U> {
        let semaphore = &this.mutex.semaphore;
        // SAFETY: `this` owns the only permit, so this is the only
        // reference to the value; the permit moves to the mapped guard.
        let value: *mut U = f(unsafe { &mut *this.mutex.value.get() });
        // The mapped guard releases the permit now.
        std::mem::forget(this);
        MappedMutexGuard {
            semaphore,
            value,
            marker: PhantomData,
        }
    }
}

/// A [`MutexGuard`] narrowed by [`MutexGuard::map`] to a part of the value.
/// Dropping it unlocks the whole mutex.
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    /// The mutex's semaphore; this guard owns its permit.
    semaphore: &'a Semaphore,
    /// The part of the value this guard gives access to.
    value: *mut T,
    /// Borrows like `&'a mut T`: for variance and auto traits.
    marker: PhantomData<&'a mut T>,
}

// SAFETY: the guard is a unique borrow of `T` (the permit proves no one
// else reaches it), so it may move to another thread when `&mut T` may.
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: sharing the guard shares `&T`, which `T: Sync` allows.
unsafe impl<T: ?Sized + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the pointer came from a unique borrow under the permit
        // this guard owns, and the mutex outlives `'a`.
        unsafe { &*self.value }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this borrow unique.
        unsafe { &mut *self.value }
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.semaphore.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A guard that owns an `Arc` of its mutex: from [`Mutex::lock_owned`].
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct OwnedMutexGuard<T: ?Sized> {
    /// The locked mutex; this guard owns its permit.
    mutex: Arc<Mutex<T>>,
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(&self) -> &Arc<Mutex<T>> {
        &self.mutex
    }
}

// SAFETY: as for `MutexGuard`: sharing the guard shares `&T`.
unsafe impl<T: ?Sized + Sync> Sync for OwnedMutexGuard<T> {}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard owns the only permit (see `MutexGuard`).
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this borrow unique.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.mutex.semaphore.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
