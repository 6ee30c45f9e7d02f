//! `JoinSet`: a group of tasks whose results come back as they complete.
//!
//! asyncio's `as_completed` and aiotools' task groups answer the same
//! question: "I started N tasks; give me each result as soon as it is ready,
//! and do not let any task outlive the group". A [`JoinSet`] does that:
//! `spawn` adds a task, `join_next().await` yields the result of whichever
//! task finished next, and dropping the set aborts every task still running.
//!
//! # How it finds the next finished task without polling them all
//!
//! Each task's [`JoinHandle`] is polled once, at `spawn`, with a waker of
//! its own: an [`EntryWaker`] that knows the entry's key. When the task ends,
//! its join slot wakes that waker, which pushes the key onto the set's
//! *ready queue* and wakes the task awaiting `join_next`:
//!
//! ```text
//!   task 7 finishes ─▶ JoinSlot wakes EntryWaker{key: 7}
//!                        └─▶ ready.push_back(7); wake the join_next waker
//!   join_next(): ready.pop_front() == 7 ─▶ entries[7].handle is finished
//!                        └─▶ poll it once, remove it, return its outcome
//! ```
//!
//! The ready queue is filled in the order tasks finish, so `join_next`
//! returns results in completion order, at O(1) per result however many
//! tasks the set holds. The wakes may come from any thread (a join slot is
//! completed wherever the task ends), so the queue is behind a
//! `std::sync::Mutex`, and the `join_next` waker is woken after unlocking.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use slab::Slab;

use super::join::{AbortHandle, JoinError, JoinHandle};

/// A group of tasks, joined in completion order. See the module docs.
///
/// ```
/// use evloop::task::JoinSet;
///
/// evloop::block_on(async {
///     let mut set = JoinSet::new();
///     for n in 0..3u32 {
///         set.spawn(async move { n * 10 });
///     }
///     let mut total = 0;
///     while let Some(result) = set.join_next().await {
///         total += result.expect("no task panicked");
///     }
///     assert_eq!(total, 30);
/// });
/// ```
pub struct JoinSet<T> {
    /// The tasks not yet joined, by key.
    entries: Slab<Entry<T>>,
    /// Keys of finished tasks, in finishing order, and the joiner's waker.
    ready: Arc<ReadyQueue>,
}

/// A member of the set.
enum Entry<T> {
    /// The task's handle; its waker is the entry's `EntryWaker`.
    Running(JoinHandle<T>),
    /// A task that had already ended when it was added (spawned while its
    /// runtime shuts down): its outcome, already queued as ready.
    Ended(Result<T, JoinError>),
}

impl<T> Entry<T> {
    fn abort(&self) {
        if let Entry::Running(handle) = self {
            handle.abort();
        }
    }
}

/// Where finished tasks announce themselves.
struct ReadyQueue {
    /// The queue and the waker, behind one lock.
    state: Mutex<ReadyState>,
}

#[derive(Default)]
struct ReadyState {
    /// Keys of entries whose task has finished and not yet been joined.
    keys: std::collections::VecDeque<usize>,
    /// The task awaiting `join_next`, if it found the queue empty.
    waker: Option<Waker>,
}

impl ReadyQueue {
    fn lock(&self) -> MutexGuard<'_, ReadyState> {
        // Plain data, no user code under the lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The waker each task's join slot holds: "entry `key` has finished".
struct EntryWaker {
    /// The entry's key in `JoinSet::entries`.
    key: usize,
    /// The set's ready queue.
    ready: Arc<ReadyQueue>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waker = {
            let mut state = self.ready.lock();
            state.keys.push_back(self.key);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Slab::new(),
            ready: Arc::new(ReadyQueue {
                state: Mutex::new(ReadyState::default()),
            }),
        }
    }

    /// Spawns `future` on the current loop as a member of this set.
    ///
    /// # Panics
    /// Outside of a runtime, like [`crate::spawn`].
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(crate::spawn(future))
    }

    /// Runs the blocking closure `f` on the blocking pool as a member of
    /// this set. Aborting it only stops it if it has not started: a thread
    /// cannot be interrupted (as with tokio).
    ///
    /// # Panics
    /// Outside of a runtime, like [`crate::spawn_blocking`].
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.insert(crate::spawn_blocking(f))
    }

    /// Adds a spawned task's handle to the set.
    fn insert(&mut self, mut handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let entry = self.entries.vacant_entry();
        let waker = Waker::from(Arc::new(EntryWaker {
            key: entry.key(),
            ready: self.ready.clone(),
        }));
        // Registers the entry's waker in the task's join slot. The task has
        // not run yet, so this is `Pending`, except while the runtime shuts
        // down (the task is then cancelled at once): the waker will never
        // fire, so keep the outcome and queue the key by hand.
        match Pin::new(&mut handle).poll(&mut Context::from_waker(&waker)) {
            Poll::Pending => {
                entry.insert(Entry::Running(handle));
            }
            Poll::Ready(outcome) => {
                entry.insert(Entry::Ended(outcome));
                waker.wake();
            }
        }
        abort
    }

    /// Waits for the next task to finish and returns its outcome; `None`
    /// when the set is empty. Cancel-safe: if the future is dropped, no
    /// outcome is lost (it stays queued for the next call).
    pub fn join_next(&mut self) -> JoinNext<'_, T> {
        JoinNext { set: self }
    }

    /// The `poll` behind `join_next`.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        loop {
            let key = {
                let mut state = self.ready.lock();
                match state.keys.pop_front() {
                    Some(key) => key,
                    None if self.entries.is_empty() => return Poll::Ready(None),
                    None => {
                        match &mut state.waker {
                            Some(waker) if waker.will_wake(cx.waker()) => {}
                            slot => *slot = Some(cx.waker().clone()),
                        }
                        return Poll::Pending;
                    }
                }
            };
            let outcome = match self.entries.get_mut(key) {
                None => continue,
                // Only a finished handle is polled (with a no-op waker, as
                // nothing more is to come); an unfinished one keeps its entry
                // waker registered, so a stray key loses nothing.
                Some(Entry::Running(handle)) if handle.is_finished() => {
                    match Pin::new(handle).poll(&mut Context::from_waker(Waker::noop())) {
                        Poll::Ready(outcome) => outcome,
                        Poll::Pending => continue,
                    }
                }
                Some(Entry::Running(_)) => continue,
                Some(Entry::Ended(_)) => match self.entries.remove(key) {
                    Entry::Ended(outcome) => outcome,
                    Entry::Running(_) => unreachable!("matched as Ended above"),
                },
            };
            self.entries.try_remove(key);
            return Poll::Ready(Some(outcome));
        }
    }

    /// Returns the outcome of a task that has already finished, without
    /// waiting: `None` if none has (or the set is empty).
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        // A no-op waker: nobody is to be woken; the next `join_next` sets
        // its own waker before it waits.
        match self.poll_join_next(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(outcome) => outcome,
            Poll::Pending => None,
        }
    }

    /// Waits for every task and returns their values in completion order.
    ///
    /// # Panics
    /// If a task panicked, that panic is resumed here (the other tasks are
    /// aborted when the set is dropped), as tokio's `join_all`; a cancelled
    /// task panics with its `JoinError`. Use `join_next` to handle failures
    /// one by one.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut values = Vec::with_capacity(self.len());
        while let Some(outcome) = self.join_next().await {
            match outcome {
                Ok(value) => values.push(value),
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                Err(error) => panic!("a task of JoinSet::join_all failed: {error}"),
            }
        }
        values
    }

    /// Aborts every task and waits until all of them have ended: the set is
    /// empty afterwards. Outcomes are discarded.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Removes every task from the set *without* aborting them: they run
    /// on, detached, and their outcomes are dropped.
    pub fn detach_all(&mut self) {
        // Dropping a `JoinHandle` detaches its task.
        self.entries.clear();
        self.ready.lock().keys.clear();
    }

    /// Aborts every task in the set. Their outcomes (cancelled, or the
    /// value of a task that finished first) still come out of `join_next`.
    pub fn abort_all(&mut self) {
        for (_, entry) in &self.entries {
            entry.abort();
        }
    }

    /// How many tasks are in the set: running ones and finished ones not
    /// yet joined (as tokio's); `join_next`/`try_join_next` take one out,
    /// `detach_all` and `shutdown` empty it.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<T: 'static> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    /// Aborts every task still in the set: the loop drops their futures at
    /// its next turn. No task outlives its group.
    fn drop(&mut self) {
        for (_, entry) in &self.entries {
            entry.abort();
        }
    }
}

impl<T> std::fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinSet")
            .field("len", &self.entries.len())
            .finish()
    }
}

/// The future returned by [`JoinSet::join_next`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct JoinNext<'a, T> {
    /// The set to join from.
    set: &'a mut JoinSet<T>,
}

impl<T: 'static> Future for JoinNext<'_, T> {
    type Output = Option<Result<T, JoinError>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.set.poll_join_next(cx)
    }
}
