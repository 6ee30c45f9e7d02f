//! A counting semaphore: at most N holders at a time, served in FIFO order.
//!
//! A [`Semaphore`] holds a number of *permits*. `acquire().await` takes one,
//! waiting while there are none; dropping the returned permit gives it back.
//! With `Semaphore::new(5)` at most five tasks are inside the guarded section
//! at once (asyncio's `Semaphore` capping concurrent downloads).
//!
//! # How it works
//!
//! Two pieces of state, and one invariant between them:
//!
//! * `permits`, an atomic counter (shifted left one bit, the low bit meaning
//!   "closed"), for the fast path: an uncontended `acquire` is one
//!   compare-and-swap, no lock, no allocation;
//! * `waiters`, a [`WaitList`] under a `std::sync::Mutex`, for the tasks that
//!   found the counter at zero.
//!
//! **Invariant: while anyone waits, the counter is zero.** A released permit
//! goes to the longest waiter *directly* (its node is marked
//! [`Served::Handed`]) and only reaches the counter when nobody waits. A
//! waiter joins the queue only after checking the counter again under the
//! lock. So a newcomer on the fast path can never overtake a waiter: the
//! semaphore is fair, which is what lets [`Mutex`](super::Mutex) hand its
//! lock over in FIFO order.
//!
//! # Cancellation
//!
//! Dropping an [`Acquire`] future is safe at any point. If it was still
//! waiting it leaves the queue. If a permit had already been handed to it
//! but it had not yet been polled to take it, the drop passes the permit on
//! (to the next waiter, or back to the counter): a cancelled `acquire`
//! neither takes a permit nor loses one.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use super::waiters::{Served, WaitList};

/// The low bit of `Semaphore::permits`: set once the semaphore is closed.
const CLOSED: usize = 1;
/// Permits are counted from bit 1 up.
const ONE: usize = 2;

/// A counting semaphore. See the module docs.
///
/// ```
/// use std::sync::Arc;
/// use evloop::sync::Semaphore;
///
/// evloop::block_on(async {
///     let sem = Arc::new(Semaphore::new(2));
///     let first = sem.acquire().await.expect("not closed");
///     let _second = sem.try_acquire().expect("one left");
///     assert!(sem.try_acquire().is_err(), "both are taken");
///     drop(first);
///     assert_eq!(sem.available_permits(), 1);
/// });
/// ```
#[derive(Debug)]
pub struct Semaphore {
    /// Free permits times two, plus `CLOSED`. Zero while anyone waits.
    permits: AtomicUsize,
    /// The tasks waiting for a permit, oldest first.
    waiters: Mutex<WaitList>,
}

/// `acquire` failed because the semaphore was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("semaphore closed")]
pub struct AcquireError(());

/// Why `try_acquire` returned no permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    #[error("semaphore closed")]
    Closed,
    /// All permits are taken right now.
    #[error("no permits available")]
    NoPermits,
}

impl Semaphore {
    /// The most permits a semaphore can hold.
    pub const MAX_PERMITS: usize = usize::MAX >> 2;

    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
    pub fn new(permits: usize) -> Semaphore {
        assert!(permits <= Self::MAX_PERMITS, "too many permits");
        Semaphore {
            permits: AtomicUsize::new(permits * ONE),
            waiters: Mutex::new(WaitList::default()),
        }
    }

    /// Waits for a permit. Fails only if the semaphore is (or gets) closed.
    /// Cancel-safe: see the module docs.
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire {
            semaphore: self,
            key: None,
        }
    }

    /// Like [`acquire`](Semaphore::acquire), but the permit holds an `Arc`
    /// of the semaphore instead of a borrow, so it can move into a task.
    pub fn acquire_owned(self: Arc<Self>) -> AcquireOwned {
        AcquireOwned {
            semaphore: Some(self),
            key: None,
        }
    }

    /// Takes a permit if one is free right now, without waiting.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take()?;
        Ok(SemaphorePermit { semaphore: self })
    }

    /// [`try_acquire`](Semaphore::try_acquire) for an `Arc<Semaphore>`.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take()?;
        Ok(OwnedSemaphorePermit { semaphore: self })
    }

    /// Adds `n` permits, handing them to waiters first.
    ///
    /// # Panics
    /// If the total would exceed [`Semaphore::MAX_PERMITS`].
    pub fn add_permits(&self, n: usize) {
        self.release(n);
    }

    /// How many permits are free right now.
    pub fn available_permits(&self) -> usize {
        self.permits.load(Ordering::Acquire) / ONE
    }

    /// Closes the semaphore: every waiting and future `acquire` fails.
    /// Permits already held stay valid.
    pub fn close(&self) {
        let mut wakers = Vec::new();
        {
            let mut waiters = self.lock();
            self.permits.fetch_or(CLOSED, Ordering::Release);
            waiters.drain_into(Served::Released, &mut wakers);
        }
        wakers.into_iter().for_each(Waker::wake);
    }

    /// True once [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.permits.load(Ordering::Acquire) & CLOSED == CLOSED
    }

    fn lock(&self) -> MutexGuard<'_, WaitList> {
        // The lock guards plain data and runs no user code: a poisoned lock
        // (a panic while allocating) leaves the list consistent.
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fast path: one compare-and-swap on the counter.
    fn try_take(&self) -> Result<(), TryAcquireError> {
        let mut current = self.permits.load(Ordering::Acquire);
        loop {
            if current & CLOSED == CLOSED {
                return Err(TryAcquireError::Closed);
            }
            if current < ONE {
                return Err(TryAcquireError::NoPermits);
            }
            match self.permits.compare_exchange_weak(
                current,
                current - ONE,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => current = actual,
            }
        }
    }

    /// Gives back `n` permits: to waiters first, the rest to the counter.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut wakers = Vec::new();
        {
            let mut waiters = self.lock();
            self.release_locked(n, &mut waiters, &mut wakers);
        }
        // Woken after unlocking: the waiter's task may run on another thread
        // and would at once contend for the lock we held.
        wakers.into_iter().for_each(Waker::wake);
    }

    fn release_locked(&self, mut n: usize, waiters: &mut WaitList, wakers: &mut Vec<Waker>) {
        while n > 0 && !waiters.is_empty() {
            wakers.extend(waiters.pop_front());
            n -= 1;
        }
        if n > 0 {
            let before = self.permits.fetch_add(n * ONE, Ordering::Release);
            assert!(
                before / ONE + n <= Self::MAX_PERMITS,
                "semaphore permit count overflow"
            );
        }
    }

    /// The body of both acquire futures. `key` is the future's node, if it
    /// has joined the queue.
    fn poll_acquire(
        &self,
        key: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        if key.is_none() {
            match self.try_take() {
                Ok(()) => return Poll::Ready(Ok(())),
                Err(TryAcquireError::Closed) => return Poll::Ready(Err(AcquireError(()))),
                Err(TryAcquireError::NoPermits) => {}
            }
        }
        let mut waiters = self.lock();
        let Some(k) = *key else {
            // Check again under the lock: a release may have come in since.
            match self.try_take() {
                Ok(()) => return Poll::Ready(Ok(())),
                Err(TryAcquireError::Closed) => return Poll::Ready(Err(AcquireError(()))),
                Err(TryAcquireError::NoPermits) => {}
            }
            *key = Some(waiters.push_back(cx.waker().clone()));
            return Poll::Pending;
        };
        match waiters.served(k) {
            None => {
                waiters.set_waker(k, cx.waker());
                Poll::Pending
            }
            Some(served) => {
                waiters.remove(k);
                *key = None;
                match served {
                    Served::Handed => Poll::Ready(Ok(())),
                    Served::Released => Poll::Ready(Err(AcquireError(()))),
                }
            }
        }
    }

    /// An acquire future was dropped while queued: leave the queue, and pass
    /// on a permit handed to it but never taken.
    fn cancel(&self, key: usize) {
        let mut wakers = Vec::new();
        {
            let mut waiters = self.lock();
            if waiters.remove(key) == Some(Served::Handed) {
                self.release_locked(1, &mut waiters, &mut wakers);
            }
        }
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// The future returned by [`Semaphore::acquire`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Acquire<'a> {
    /// The semaphore to take a permit from.
    semaphore: &'a Semaphore,
    /// Our node in the wait queue, once we have joined it.
    key: Option<usize>,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let semaphore = self.semaphore;
        semaphore
            .poll_acquire(&mut self.key, cx)
            .map_ok(|()| SemaphorePermit { semaphore })
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.semaphore.cancel(key);
        }
    }
}

/// The future returned by [`Semaphore::acquire_owned`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct AcquireOwned {
    /// The semaphore; taken out into the permit on success.
    semaphore: Option<Arc<Semaphore>>,
    /// Our node in the wait queue, once we have joined it.
    key: Option<usize>,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let semaphore = this
            .semaphore
            .as_ref()
            .expect("AcquireOwned polled after it completed");
        let result = std::task::ready!(semaphore.poll_acquire(&mut this.key, cx));
        let semaphore = this.semaphore.take().expect("checked above");
        Poll::Ready(result.map(|()| OwnedSemaphorePermit { semaphore }))
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        if let (Some(semaphore), Some(key)) = (&self.semaphore, self.key) {
            semaphore.cancel(key);
        }
    }
}

/// A permit borrowed from a [`Semaphore`]; dropping it gives it back.
#[must_use = "dropping the permit releases it at once"]
#[derive(Debug)]
pub struct SemaphorePermit<'a> {
    /// Where the permit goes back to.
    semaphore: &'a Semaphore,
}

impl SemaphorePermit<'_> {
    /// Keeps the permit out of the semaphore for good (the semaphore has one
    /// permit less from now on).
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.semaphore.release(1);
    }
}

/// A permit of an `Arc<Semaphore>`; dropping it gives it back.
#[must_use = "dropping the permit releases it at once"]
#[derive(Debug)]
pub struct OwnedSemaphorePermit {
    /// Where the permit goes back to.
    semaphore: Arc<Semaphore>,
}

impl OwnedSemaphorePermit {
    /// The semaphore this permit belongs to.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.semaphore.release(1);
    }
}
