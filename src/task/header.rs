//! The part of a task that any thread may touch: its waker.
//!
//! A [`std::task::Waker`] must be `Send + Sync`, because the code that wakes a
//! task is often somewhere else entirely: a pool thread that finished a file
//! read, another event loop, a `std::thread` holding a channel sender. The
//! task's future, on the other hand, is `!Send` in general and stays in its
//! loop's [`TaskTable`](super::table::TaskTable). So a task is split in two:
//! the future, owned by the loop, and this small `Header`, reference-counted
//! and shared, which is what a `Waker` points at.
//!
//! Waking a task means "put its id on its loop's run queue". Two flags keep
//! that cheap and correct:
//!
//! * `scheduled` makes a task queued at most once, however many times it is
//!   woken before it runs. The loop clears it just before polling, so a wake
//!   that arrives *during* the poll queues the task again (it may have missed
//!   the event that woke it).
//! * `cancelled` is how `abort()` reaches a task from any thread: set the
//!   flag, then wake the task; the loop sees the flag and drops the future
//!   instead of polling it.
//!
//! Where the id goes depends on who wakes: on the loop's own thread it is a
//! plain push onto the local run queue (no lock, no syscall); from any other
//! thread it travels through the loop's injection queue (see
//! [`crate::runtime::handle`]).

use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::TaskId;
use crate::runtime::context;
use crate::runtime::handle::Shared;

/// `Header::id` before the loop has given the task a slot (a task spawned
/// from another thread travels to its loop first), or for a blocking job,
/// which never has one.
const NO_ID: u64 = u64::MAX;

/// The shared, thread-safe half of a task. See the module docs.
pub(crate) struct Header {
    /// The task's `TaskId`, packed; `NO_ID` until the loop inserts the task.
    id: AtomicU64,
    /// True while the task sits on a run queue (or is about to): later wakes
    /// are then no-ops, so a task is queued at most once.
    scheduled: AtomicBool,
    /// Set by `abort()`: the loop drops the future at its next turn instead of
    /// polling it.
    cancelled: AtomicBool,
    /// Set once the task's output (or its cancellation or panic) has been
    /// delivered; `is_finished()` reads it without taking any lock.
    finished: AtomicBool,
    /// The loop this task belongs to: where its wakes must go.
    /// `None` for blocking jobs, which no loop polls.
    shared: Option<Arc<Shared>>,
    /// The line that spawned the task (`#[track_caller]`): what the task
    /// dump, the slow-poll detector and the trace call it.
    spawned_at: &'static Location<'static>,
}

impl Header {
    /// A header for a task of the loop behind `shared`. It starts out
    /// `scheduled`, because a new task is queued for its first poll.
    pub(crate) fn new(
        shared: Option<Arc<Shared>>,
        spawned_at: &'static Location<'static>,
    ) -> Header {
        Header {
            id: AtomicU64::new(NO_ID),
            scheduled: AtomicBool::new(true),
            cancelled: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            shared,
            spawned_at,
        }
    }

    /// Where the task was spawned.
    pub(crate) fn spawned_at(&self) -> &'static Location<'static> {
        self.spawned_at
    }

    /// True while the task is queued to run (for the task dump).
    pub(crate) fn is_scheduled(&self) -> bool {
        self.scheduled.load(Ordering::Acquire)
    }

    /// Records the slot the loop gave this task.
    pub(crate) fn set_id(&self, id: TaskId) {
        self.id.store(id.to_u64(), Ordering::Release);
    }

    /// The task's id, if the loop has inserted it.
    pub(crate) fn id(&self) -> Option<TaskId> {
        match self.id.load(Ordering::Acquire) {
            NO_ID => None,
            word => Some(TaskId::from_u64(word)),
        }
    }

    /// Called by the loop right before a poll, so that wakes during the poll
    /// queue the task again.
    ///
    /// A read-modify-write, not a plain store. A waker publishes its news
    /// (a value in a channel, the `cancelled` flag) and then swaps
    /// `scheduled`; if it finds `true` it queues nothing, counting on the
    /// poll that is coming. That poll must then see the news. With a plain
    /// store here the loop could store `false` and read the news before the
    /// waker's writes reached it (a store followed by a load may be
    /// reordered, even on x86), and the wake would be lost: miri found an
    /// `abort()` from another thread lost this way. A swap reads the
    /// waker's swap, and its acquire makes everything the waker did before
    /// visible to the poll.
    pub(crate) fn clear_scheduled(&self) {
        self.scheduled.swap(false, Ordering::AcqRel);
    }

    /// Marks the task as queued; used when the loop queues a task itself.
    pub(crate) fn set_scheduled(&self) {
        self.scheduled.store(true, Ordering::Release);
    }

    /// Asks the loop to drop the task instead of polling it again.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        self.schedule();
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    pub(crate) fn set_finished(&self) {
        self.finished.store(true, Ordering::Release);
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Queues the task on its loop unless it is queued already: what waking
    /// a task means.
    pub(crate) fn schedule(&self) {
        let Some(shared) = &self.shared else { return };
        if self.finished.load(Ordering::Acquire) || self.scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        // A task always has its id by the time `scheduled` can be false:
        // it starts out `scheduled`, and only the loop clears the flag,
        // after inserting it.
        if let Some(id) = self.id() {
            context::schedule(shared, id);
        }
    }
}

/// Something that holds a task's `Header`: lets the loop and an
/// `AbortHandle` reach the header without knowing the task's output type.
pub(crate) trait HasHeader: Send + Sync {
    fn header(&self) -> &Header;
}
