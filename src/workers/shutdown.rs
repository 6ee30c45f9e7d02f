//! `Shutdown`: a one-way flag that many loops, on many threads, can await.
//!
//! Shutdown has to cross threads: the signal arrives on the supervisor's
//! loop, the workers each run their own. So this is not a loop-local
//! primitive but a small thread-safe one: an atomic flag for the fast
//! "has it begun?" check, and a list of wakers (behind a mutex) for the
//! tasks waiting for it. Triggering sets the flag, takes the wakers out
//! under the lock, and wakes them after releasing it; each waker is the
//! waiting task's own, so the wake travels to its loop through that loop's
//! injection queue like any remote wake.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use slab::Slab;

/// A shutdown that has begun, or not yet; shared by every worker. See the
/// [module docs](super).
///
/// Cloning gives another handle to the same flag.
///
/// ```
/// use evloop::workers::Shutdown;
///
/// let shutdown = Shutdown::new();
/// let waiter = std::thread::spawn({
///     let shutdown = shutdown.clone();
///     move || evloop::block_on(shutdown.wait()) // another thread, another loop
/// });
/// shutdown.trigger();
/// waiter.join().expect("the waiter does not panic");
/// assert!(shutdown.is_triggered());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    /// The flag and its waiters.
    state: Arc<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Set once, never cleared.
    triggered: AtomicBool,
    /// Tasks waiting in [`Wait`], keyed by their slot.
    waiters: Mutex<Slab<Waker>>,
}

impl Shutdown {
    /// A shutdown not yet triggered.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Has the shutdown begun?
    pub fn is_triggered(&self) -> bool {
        self.state.triggered.load(Ordering::Acquire)
    }

    /// A future that completes once the shutdown has begun (at once if it
    /// already has).
    pub fn wait(&self) -> Wait {
        Wait {
            state: self.state.clone(),
            key: None,
            waker: None,
        }
    }

    /// Begins the shutdown and wakes every waiter. Later calls do nothing.
    pub fn trigger(&self) {
        let wakers: Vec<Waker> = {
            let mut waiters = self.state.lock();
            // Set under the lock, so that a waiter that saw the flag clear
            // (while holding the lock) is in the list we take.
            if self.state.triggered.swap(true, Ordering::AcqRel) {
                return;
            }
            waiters.drain().collect()
        };
        // Woken after the lock is released: a wake may run arbitrary code.
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Slab<Waker>> {
        // Only wakers are stored, no user code runs under the lock.
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The future returned by [`Shutdown::wait`]. It is `Unpin`, so a loop can
/// keep one and poll it by `&mut` on every turn of an accept loop.
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Wait {
    /// The shutdown we wait for.
    state: Arc<State>,
    /// Our slot in the waiter list, once we wait.
    key: Option<usize>,
    /// A copy of the waker we left there, to skip the lock when the same
    /// task polls again.
    waker: Option<Waker>,
}

impl Future for Wait {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.state.triggered.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        if let Some(waker) = &self.waker
            && waker.will_wake(cx.waker())
        {
            return Poll::Pending; // already registered, and still ours
        }
        let this = &mut *self;
        let mut waiters = this.state.lock();
        if this.state.triggered.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        match this.key {
            Some(key) => waiters[key] = cx.waker().clone(),
            None => this.key = Some(waiters.insert(cx.waker().clone())),
        }
        drop(waiters);
        this.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut waiters = self.state.lock();
            // Gone already if the shutdown was triggered (the list drained).
            if !self.state.triggered.load(Ordering::Acquire) {
                waiters.try_remove(key);
            }
        }
    }
}
