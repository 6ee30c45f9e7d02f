//! Reaching a loop from other threads: `Shared`, the injection queue, `Handle`.
//!
//! A loop's state is single-threaded, but three kinds of news come from other
//! threads: a waker fired elsewhere, a future spawned through a [`Handle`],
//! and the result of a blocking-pool job (which arrives as a waker). They all
//! travel the same way:
//!
//! ```text
//!  other thread                          loop thread
//!  ────────────                          ───────────
//!  inject.send(Wake(id)) ──────────────▶ phase 2: drain the queue
//!  if sleeping && !notified.swap(true):
//!      unparker.wake()  ──(eventfd)────▶ phase 5: epoll_wait returns
//! ```
//!
//! The loop sets `sleeping` right before it blocks in `epoll_wait` and clears
//! it (and `notified`) when it wakes up. A sender only writes the eventfd if
//! the loop sleeps, and only the first sender of a sleep does: a thousand
//! remote wakes during one sleep cost one `write(2)`, and wakes while the
//! loop is busy cost none. This is Dekker's pattern: the loop stores
//! `sleeping`, then checks the queue; the sender pushes, then loads
//! `sleeping`. A `fence(SeqCst)` between the two steps on *each* side (the
//! queue's own orderings are crossbeam's business, not ours to rely on)
//! rules out both missing each other: either the sender sees `sleeping` and
//! writes the eventfd, or the loop sees the message and does not block.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::sync::{Arc, PoisonError, RwLock};
use std::task::Waker;

use crossbeam_channel::Sender;

use super::context;
use super::watch::{Dump, DumpRequest};
use crate::blocking::Pool;
use crate::reactor::IoToken;
use crate::task::TaskId;
use crate::task::join::{JoinHandle, JoinSlot, RawTask, TaskFuture, drop_contained};
use crate::time::wheel::TimerKey;

/// A message for the loop from another thread.
pub(crate) enum Injected {
    /// Queue this task (a remote wake).
    Wake(TaskId),
    /// Insert this task and queue it (`Handle::spawn` from another thread).
    Spawn(RemoteTask),
    /// Free this source's slot (an `Async` dropped on another thread).
    ReleaseIo(IoToken),
    /// Remove this timer from the wheel (a `Sleep` dropped or moved away
    /// from its loop).
    CancelTimer(TimerKey),
    /// List the live tasks and send the list back (`Handle::dump`).
    Dump(DumpRequest),
}

/// A task spawned from another thread, on its way to the loop.
pub(crate) struct RemoteTask {
    /// The task's future (with its output delivery).
    pub(crate) future: Pin<Box<dyn RawTask + Send>>,
    /// Its waker (the task has no id yet; the loop gives it one).
    pub(crate) waker: Waker,
}

/// The part of a loop that other threads may touch. See the module docs.
pub(crate) struct Shared {
    /// The sending end of the injection queue.
    inject: Sender<Injected>,
    /// Interrupts the loop's `epoll_wait` (an eventfd on Linux).
    unparker: mio::Waker,
    /// True while the loop is in (or about to enter) `epoll_wait`.
    pub(crate) sleeping: AtomicBool,
    /// True once someone has written the eventfd during this sleep.
    pub(crate) notified: AtomicBool,
    /// How many times the eventfd was written: the cost of remote wakes.
    pub(crate) unpark_writes: AtomicU64,
    /// A clone of the poll's registry, so a source dropped on any thread can
    /// be deregistered right away.
    pub(crate) registry: mio::Registry,
    /// The blocking thread pool of this runtime.
    pub(crate) blocking: Pool,
    /// `Builder::inline_file_reads`: may file reads try the page cache on
    /// the loop's thread before going to the pool?
    pub(crate) inline_file_reads: bool,
    /// False once the runtime shuts down: remote spawns are then refused.
    /// A spawner holds the read lock from its check until its task is in
    /// the queue; the shutdown takes the write lock to close the gate, so
    /// that every spawn that got in is queued before the shutdown's drain.
    spawns_open: RwLock<bool>,
}

impl Shared {
    pub(crate) fn new(
        inject: Sender<Injected>,
        unparker: mio::Waker,
        registry: mio::Registry,
        blocking: Pool,
    ) -> Shared {
        Shared {
            inject,
            unparker,
            sleeping: AtomicBool::new(false),
            notified: AtomicBool::new(false),
            unpark_writes: AtomicU64::new(0),
            registry,
            blocking,
            inline_file_reads: true,
            spawns_open: RwLock::new(true),
        }
    }

    /// Queues a task spawned from another thread, or refuses it (dropping
    /// it, so that its handle reports cancellation) once the runtime shuts
    /// down.
    pub(crate) fn inject_spawn(&self, task: RemoteTask) {
        let open = self
            .spawns_open
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if *open {
            self.inject(Injected::Spawn(task));
            return;
        }
        drop(open);
        // The destructor is the user's; it is no reason to fail a spawn.
        drop_contained(task);
    }

    /// Closes the gate of `inject_spawn`; returns once no spawn is under way.
    pub(crate) fn refuse_spawns(&self) {
        *self
            .spawns_open
            .write()
            .unwrap_or_else(PoisonError::into_inner) = false;
    }

    /// Sends `message` to the loop and makes sure it will look.
    ///
    /// If the runtime is gone the message is dropped, which for a spawned
    /// task means its future is dropped and its handle reports cancellation.
    pub(crate) fn inject(&self, message: Injected) {
        if self.inject.send(message).is_ok() {
            // The twin of the fence in `Core::poll_timeout`: our push is
            // ordered before our look at `sleeping`.
            fence(Ordering::SeqCst);
            self.unpark();
        }
    }

    /// Wakes the loop if it sleeps; one eventfd write per sleep at most.
    pub(crate) fn unpark(&self) {
        if self.sleeping.load(Ordering::SeqCst) && !self.notified.swap(true, Ordering::SeqCst) {
            self.unpark_writes.fetch_add(1, Ordering::Relaxed);
            // An error here means the eventfd is gone with its runtime.
            let _ = self.unparker.wake();
        }
    }
}

/// A cheap, thread-safe reference to a runtime: spawn onto it from anywhere.
///
/// `Handle` is `Clone + Send + Sync`. It does not keep the loop running: once
/// the `Runtime` is dropped, `spawn` returns handles that report cancellation.
#[derive(Clone)]
pub struct Handle {
    /// The loop's thread-safe half.
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// The handle of the runtime running on this thread.
    ///
    /// # Panics
    /// Outside of a runtime; see [`Handle::try_current`].
    pub fn current() -> Handle {
        Handle::try_current().expect(
            "evloop::Handle::current() called outside of a runtime; \
             call it inside Runtime::block_on",
        )
    }

    /// The handle of the runtime running on this thread, if any.
    pub fn try_current() -> Option<Handle> {
        context::with_core(|core| Handle {
            shared: core.shared.clone(),
        })
    }

    /// Spawns a `Send` future onto this runtime, from any thread.
    ///
    /// On the loop's own thread this is a local spawn; elsewhere the future
    /// travels through the injection queue and the loop is woken. Once the
    /// runtime is shutting down (being dropped) the spawn is refused: the
    /// future is dropped and the handle reports cancellation.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let at = Location::caller();
        let slot = Arc::new(JoinSlot::spawned_at(Some(self.shared.clone()), at));
        let waker = Waker::from(slot.clone());
        let future = Box::pin(TaskFuture::new(future, slot.clone()));
        let mut task = Some(RemoteTask { future, waker });
        context::with_core(|core| {
            if Arc::ptr_eq(&core.shared, &self.shared)
                && let Some(task) = task.take()
            {
                core.insert(task.future, task.waker);
            }
        });
        if let Some(task) = task {
            self.shared.inject_spawn(task);
        }
        JoinHandle::new(slot)
    }

    /// Runs a blocking closure on this runtime's thread pool; see
    /// [`crate::spawn_blocking`].
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.shared.blocking.spawn(f)
    }

    /// Lists the runtime's live tasks (see [`crate::Runtime::dump`]), from
    /// any thread.
    ///
    /// The task table belongs to the loop, so the loop answers: on its own
    /// thread the returned future is ready at once; from another thread the
    /// request travels through the injection queue and the future resolves
    /// once the loop has drained it, at its next turn. Await it on any
    /// runtime (or `evloop::block_on` it on a plain thread).
    ///
    /// # Errors
    /// `NotConnected` if the runtime is dropped before it answers. A loop
    /// that is not running (`block_on` has returned) answers when it runs
    /// again.
    pub fn dump(&self) -> Dump {
        let local =
            context::with_core(|core| Arc::ptr_eq(&core.shared, &self.shared).then(|| core.dump()));
        if let Some(Some(tasks)) = local {
            return Dump::ready(tasks);
        }
        let (answer, asked) = crate::sync::oneshot::channel();
        self.shared.inject(Injected::Dump(answer));
        Dump::asked(asked)
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many wakers racing while the loop sleeps write the eventfd once.
    #[test]
    fn wakes_during_one_sleep_cost_one_eventfd_write() {
        let rt = crate::Runtime::new().expect("runtime");
        let shared = rt.handle().shared;
        shared.sleeping.store(true, Ordering::SeqCst);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let shared = shared.clone();
                std::thread::spawn(move || (0..1_000).for_each(|_| shared.unpark()))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().expect("thread"));
        assert_eq!(shared.unpark_writes.load(Ordering::SeqCst), 1);
        // Awake loop: no writes at all.
        shared.sleeping.store(false, Ordering::SeqCst);
        shared.notified.store(false, Ordering::SeqCst);
        (0..1_000).for_each(|_| shared.unpark());
        assert_eq!(shared.unpark_writes.load(Ordering::SeqCst), 1);
    }
}
