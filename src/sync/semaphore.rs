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
//! # Many permits at once
//!
//! [`Semaphore::acquire_many`] waits for `n` permits together (a job that
//! needs 3 MiB of a memory budget counted in MiB). The queue stays FIFO: a
//! waiter for many blocks the ones behind it even when they need fewer, so
//! it cannot starve (tokio's rule). While it waits, released permits are
//! *set aside* for it (`Queue::set_aside`) until it has all it asked for;
//! the counter stays at zero, and the invariant above still holds.
//!
//! # Cancellation
//!
//! Dropping an [`Acquire`] future is safe at any point. If it was still
//! waiting it leaves the queue. If a permit had already been handed to it
//! but it had not yet been polled to take it, the drop passes the permit on
//! (to the next waiter, or back to the counter): a cancelled `acquire`
//! neither takes a permit nor loses one. Permits set aside for a waiter
//! that leaves go on to the next one.
//!
//! # Closing
//!
//! [`Semaphore::close`] wakes every waiter with [`AcquireError`], and every
//! later `acquire` fails at once; permits already held stay valid and may
//! still be returned. This is how a pool shuts down.

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
    /// The tasks waiting for permits, oldest first.
    waiters: Mutex<Queue>,
}

/// The waiting side of a semaphore, behind its lock.
#[derive(Debug, Default)]
struct Queue {
    /// The waiters, oldest first; each node's `need` is its permit count.
    list: WaitList,
    /// Permits released while the front waiter needs more than there are:
    /// kept for it (and, should it leave, for the next one). Always less
    /// than the front waiter's need; zero when nobody waits.
    set_aside: usize,
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
            waiters: Mutex::new(Queue::default()),
        }
    }

    /// Waits for a permit. Fails only if the semaphore is (or gets) closed.
    /// Cancel-safe: see the module docs.
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire {
            semaphore: self,
            permits: 1,
            key: None,
        }
    }

    /// Waits for `n` permits at once, in FIFO order with the other waiters
    /// (see the module docs). `n == 0` succeeds at once; more permits than
    /// the semaphore will ever have waits until it is closed, as in tokio.
    pub fn acquire_many(&self, n: u32) -> Acquire<'_> {
        Acquire {
            semaphore: self,
            permits: n as usize,
            key: None,
        }
    }

    /// [`acquire_many`](Semaphore::acquire_many) for an `Arc<Semaphore>`.
    pub fn acquire_many_owned(self: Arc<Self>, n: u32) -> AcquireOwned {
        AcquireOwned {
            semaphore: Some(self),
            permits: n as usize,
            key: None,
        }
    }

    /// Takes `n` permits if that many are free right now (and nobody
    /// waits), without waiting.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(n as usize)?;
        Ok(SemaphorePermit {
            semaphore: self,
            permits: n as usize,
        })
    }

    /// [`try_acquire_many`](Semaphore::try_acquire_many) for an
    /// `Arc<Semaphore>`.
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(n as usize)?;
        Ok(OwnedSemaphorePermit {
            semaphore: self,
            permits: n as usize,
        })
    }

    /// Like [`acquire`](Semaphore::acquire), but the permit holds an `Arc`
    /// of the semaphore instead of a borrow, so it can move into a task.
    pub fn acquire_owned(self: Arc<Self>) -> AcquireOwned {
        AcquireOwned {
            semaphore: Some(self),
            permits: 1,
            key: None,
        }
    }

    /// Takes a permit if one is free right now, without waiting.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(1)?;
        Ok(SemaphorePermit {
            semaphore: self,
            permits: 1,
        })
    }

    /// [`try_acquire`](Semaphore::try_acquire) for an `Arc<Semaphore>`.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(1)?;
        Ok(OwnedSemaphorePermit {
            semaphore: self,
            permits: 1,
        })
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

    /// Closes the semaphore: every waiting and future `acquire` fails
    /// with [`AcquireError`] (waiters are woken to see it). Permits already
    /// held stay valid, and go back to the count when dropped.
    pub fn close(&self) {
        let mut wakers = Vec::new();
        {
            let mut queue = self.lock();
            self.permits.fetch_or(CLOSED, Ordering::Release);
            queue.list.drain_into(Served::Released, &mut wakers);
            self.serve_locked(&mut queue, &mut wakers);
        }
        wakers.into_iter().for_each(Waker::wake);
    }

    /// True once [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.permits.load(Ordering::Acquire) & CLOSED == CLOSED
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The lock guards plain data and runs no user code: a poisoned lock
        // (a panic while allocating) leaves the list consistent.
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fast path: one compare-and-swap on the counter.
    fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut current = self.permits.load(Ordering::Acquire);
        loop {
            if current & CLOSED == CLOSED {
                return Err(TryAcquireError::Closed);
            }
            if current / ONE < n {
                return Err(TryAcquireError::NoPermits);
            }
            match self.permits.compare_exchange_weak(
                current,
                current - n * ONE,
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
            let mut queue = self.lock();
            self.release_locked(n, &mut queue, &mut wakers);
        }
        // Woken after unlocking: the waiter's task may run on another thread
        // and would at once contend for the lock we held.
        wakers.into_iter().for_each(Waker::wake);
    }

    fn release_locked(&self, n: usize, queue: &mut Queue, wakers: &mut Vec<Waker>) {
        queue.set_aside += n;
        self.serve_locked(queue, wakers);
    }

    /// Hands the permits set aside to the front waiters while they cover
    /// a whole request; once nobody waits, the rest goes to the counter.
    fn serve_locked(&self, queue: &mut Queue, wakers: &mut Vec<Waker>) {
        while let Some(need) = queue.list.front_need() {
            if queue.set_aside < need {
                return;
            }
            queue.set_aside -= need;
            wakers.extend(queue.list.pop_front());
        }
        let n = std::mem::take(&mut queue.set_aside);
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
        n: usize,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        if key.is_none() {
            match self.try_take(n) {
                Ok(()) => return Poll::Ready(Ok(())),
                Err(TryAcquireError::Closed) => return Poll::Ready(Err(AcquireError(()))),
                Err(TryAcquireError::NoPermits) => {}
            }
        }
        let mut queue = self.lock();
        let k = match *key {
            Some(k) => k,
            None => {
                // Check again under the lock: a release may have come in since.
                match self.try_take(n) {
                    Ok(()) => return Poll::Ready(Ok(())),
                    Err(TryAcquireError::Closed) => return Poll::Ready(Err(AcquireError(()))),
                    Err(TryAcquireError::NoPermits) => {}
                }
                let k = queue.list.push_back_needing(cx.waker().clone(), n);
                *key = Some(k);
                // The counter must read zero while anyone waits: what it
                // holds (fewer than `n`) is set aside for the queue's front.
                let held = self.permits.fetch_and(CLOSED, Ordering::AcqRel) / ONE;
                if held == 0 {
                    return Poll::Pending;
                }
                let mut wakers = Vec::new();
                self.release_locked(held, &mut queue, &mut wakers);
                // Only a release racing our two checks gets here; anyone it
                // serves ahead of us is woken after the lock is dropped.
                drop(queue);
                wakers.into_iter().for_each(Waker::wake);
                queue = self.lock();
                k
            }
        };
        match queue.list.served(k) {
            None => {
                queue.list.set_waker(k, cx.waker());
                Poll::Pending
            }
            Some(served) => {
                queue.list.remove(k);
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
            let mut queue = self.lock();
            let need = queue.list.need(key);
            match queue.list.remove(key) {
                Some(Served::Handed) => self.release_locked(need, &mut queue, &mut wakers),
                // The permits set aside now wait for the next front waiter,
                // which may need fewer.
                _ => self.serve_locked(&mut queue, &mut wakers),
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
    /// How many permits to take at once.
    permits: usize,
    /// Our node in the wait queue, once we have joined it.
    key: Option<usize>,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (semaphore, permits) = (self.semaphore, self.permits);
        semaphore
            .poll_acquire(&mut self.key, permits, cx)
            .map_ok(|()| SemaphorePermit { semaphore, permits })
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
    /// How many permits to take at once.
    permits: usize,
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
        let permits = this.permits;
        let result = std::task::ready!(semaphore.poll_acquire(&mut this.key, permits, cx));
        let semaphore = this.semaphore.take().expect("checked above");
        Poll::Ready(result.map(|()| OwnedSemaphorePermit { semaphore, permits }))
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        if let (Some(semaphore), Some(key)) = (&self.semaphore, self.key) {
            semaphore.cancel(key);
        }
    }
}

/// Permits borrowed from a [`Semaphore`]; dropping them gives them back.
#[must_use = "dropping the permit releases it at once"]
#[derive(Debug)]
pub struct SemaphorePermit<'a> {
    /// Where the permits go back to.
    semaphore: &'a Semaphore,
    /// How many permits this holds.
    permits: usize,
}

impl SemaphorePermit<'_> {
    /// Keeps the permits out of the semaphore for good (it has that many
    /// permits less from now on; [`Semaphore::add_permits`] adds some back).
    pub fn forget(self) {
        std::mem::forget(self);
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Takes `other`'s permits into this one.
    ///
    /// # Panics
    /// If `other` belongs to another semaphore.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.semaphore, other.semaphore),
            "merging permits of different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}

/// Permits of an `Arc<Semaphore>`; dropping them gives them back.
#[must_use = "dropping the permit releases it at once"]
#[derive(Debug)]
pub struct OwnedSemaphorePermit {
    /// Where the permits go back to.
    semaphore: Arc<Semaphore>,
    /// How many permits this holds.
    permits: usize,
}

impl OwnedSemaphorePermit {
    /// The semaphore this permit belongs to.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        // The `Arc` is still dropped; only the permits are not returned.
        self.permits = 0;
    }

    /// Takes `other`'s permits into this one.
    ///
    /// # Panics
    /// If `other` belongs to another semaphore.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Arc::ptr_eq(&self.semaphore, &other.semaphore),
            "merging permits of different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}
