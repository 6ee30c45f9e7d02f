//! `Notify`: wake one waiting task, or all of them, without sending data.
//!
//! [`Notify`] is the smallest synchronisation primitive: a task awaits
//! `notified()`, another calls `notify_one()` (wake the longest waiter) or
//! `notify_waiters()` (wake everyone waiting right now). It is asyncio's
//! `Event`/`Condition` reduced to its core, and the building block for
//! "something changed, go and look".
//!
//! # The stored permit
//!
//! A `notify_one()` with nobody waiting is not lost: it is stored, and the
//! next `notified()` completes at once (consuming it). At most one is
//! stored, however many `notify_one()` calls arrive. This closes the race
//! where the notifier runs between the waiter's "check the condition" and
//! its "start waiting". `notify_waiters()` stores nothing: it concerns only
//! the tasks already waiting, and every [`Notified`] future *created* before
//! the call, even one not yet polled (a counter of `notify_waiters` calls,
//! read when the future is made, tells it so).
//!
//! # Cancellation
//!
//! A dropped [`Notified`] leaves the queue. If a `notify_one()` had been
//! handed to it and not yet seen, the drop passes it on (to the next waiter,
//! or stores it), so a notification is never swallowed by a waiter that
//! went away.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use super::waiters::{Served, WaitList};

/// Notifies tasks. See the module docs.
///
/// ```
/// use std::sync::Arc;
/// use evloop::sync::Notify;
///
/// evloop::block_on(async {
///     let notify = Arc::new(Notify::new());
///     let waiter = {
///         let notify = notify.clone();
///         evloop::spawn(async move { notify.notified().await; "woken" })
///     };
///     evloop::yield_now().await; // let it start waiting
///     notify.notify_one();
///     assert_eq!(waiter.await.expect("no panic"), "woken");
/// });
/// ```
#[derive(Debug, Default)]
pub struct Notify {
    /// The waiters and the stored permit.
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Tasks waiting in `notified()`, oldest first.
    waiters: WaitList,
    /// A `notify_one()` that found nobody waiting.
    stored: bool,
    /// How many times `notify_waiters()` was called (wrapping).
    generation: usize,
}

impl Notify {
    /// A `Notify` with no stored permit.
    pub fn new() -> Notify {
        Notify::default()
    }

    /// Waits for a notification. Cancel-safe: see the module docs.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            generation: self.lock().generation,
            key: None,
            done: false,
        }
    }

    /// Wakes the longest-waiting task, or stores a permit for the next one.
    pub fn notify_one(&self) {
        let waker = {
            let mut state = self.lock();
            Self::notify_one_locked(&mut state)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes the task that started waiting *last*, or stores a permit for
    /// the next one (as `notify_one`, which wakes the longest-waiting).
    /// Useful when the newest waiter is the one whose caches are warm.
    pub fn notify_last(&self) {
        let waker = {
            let mut state = self.lock();
            if state.waiters.is_empty() {
                state.stored = true;
                None
            } else {
                state.waiters.pop_back()
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes every task waiting right now (and every `Notified` created
    /// before this call). Stores nothing.
    pub fn notify_waiters(&self) {
        let mut wakers = Vec::new();
        {
            let mut state = self.lock();
            state.generation = state.generation.wrapping_add(1);
            state.waiters.drain_into(Served::Released, &mut wakers);
        }
        wakers.into_iter().for_each(Waker::wake);
    }

    fn notify_one_locked(state: &mut State) -> Option<Waker> {
        if state.waiters.is_empty() {
            state.stored = true;
            return None;
        }
        state.waiters.pop_front()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Plain data, no user code under the lock: poisoning cannot leave
        // it inconsistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The future returned by [`Notify::notified`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Notified<'a> {
    /// Who notifies us.
    notify: &'a Notify,
    /// `State::generation` when this future was created.
    generation: usize,
    /// Our node in the queue, once we wait.
    key: Option<usize>,
    /// Set once we returned `Ready`.
    done: bool,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done {
            return Poll::Ready(());
        }
        let mut state = self.notify.lock();
        let ready = match self.key {
            Some(key) => match state.waiters.served(key) {
                Some(_) => {
                    state.waiters.remove(key);
                    true
                }
                None => {
                    state.waiters.set_waker(key, cx.waker());
                    false
                }
            },
            None if state.generation != self.generation => true,
            None if state.stored => {
                state.stored = false;
                true
            }
            None => {
                self.key = Some(state.waiters.push_back(cx.waker().clone()));
                false
            }
        };
        drop(state);
        if ready {
            self.key = None;
            self.done = true;
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let waker = {
            let mut state = self.notify.lock();
            match state.waiters.remove(key) {
                Some(Served::Handed) => Notify::notify_one_locked(&mut state),
                _ => None,
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}
