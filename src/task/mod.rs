//! Tasks: the unit of concurrency on an event loop.
//!
//! A *task* is a future that the runtime owns and polls until it completes.
//! Spawning one hands the future to the loop and gives you back a
//! [`JoinHandle`], a future of its own that resolves to the task's output.
//!
//! This module holds the pieces every task is made of:
//!
//! ```text
//!   TaskTable (slab, loop-local)              shared with other threads
//!   ┌─────────────────────────────────┐      ┌────────────────────────────┐
//!   │ slot 3: Task                    │      │ JoinSlot<T> (one Arc)      │
//!   │   generation: 17                │      │   header: Header           │◀── Waker
//!   │   future: Pin<Box<TaskFuture>> ─┼─────▶│     id: TaskId{3, 17}      │◀── AbortHandle
//!   │   waker ────────────────────────┼─────▶│     scheduled, cancelled   │
//!   └─────────────────────────────────┘      │   state: Mutex<SlotState>  │◀── JoinHandle<T>
//!                                            │     output, waker, detached│
//!                                            └────────────────────────────┘
//! ```
//!
//! * [`TaskId`] names a slot of the table *and* the generation of the task in
//!   it, so a stale id (from a waker that outlived its task) never reaches the
//!   task that reused the slot. See `task/table.rs`.
//! * The `Header` (`task/header.rs`) is the part of a task that other threads
//!   may touch: what a waker wakes, with the "already queued" and "abort
//!   requested" flags.
//! * The `JoinSlot` (`task/join.rs`) holds the header and the task's
//!   outcome, in one allocation; the [`JoinHandle`] reads the outcome.

pub(crate) mod header;
pub(crate) mod join;
mod join_set;
pub(crate) mod table;
mod yield_now;

pub use join::{AbortHandle, JoinError, JoinHandle};
pub use join_set::{JoinNext, JoinSet};
pub use yield_now::{YieldNow, yield_now};

pub use crate::runtime::spawn;

/// The name of a task: which slot of the task table it lives in, and which
/// occupant of that slot it is.
///
/// Slots are reused as soon as a task finishes (that is what keeps the table
/// small and its indices cache-friendly), so an index alone is ambiguous: a
/// waker kept by some other task could name a slot that now holds a stranger.
/// The generation removes the ambiguity. Every insertion takes a fresh
/// generation, so `TaskId { index: 3, generation: 17 }` and
/// `TaskId { index: 3, generation: 18 }` are different tasks, and a lookup
/// with the older one finds nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskId {
    /// The slab key of the task's slot.
    pub(crate) index: u32,
    /// Which occupant of the slot this is.
    pub(crate) generation: u32,
}

impl TaskId {
    /// Packs the id into one word, so it can live in an atomic.
    pub(crate) fn to_u64(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    /// The inverse of [`TaskId::to_u64`].
    pub(crate) fn from_u64(word: u64) -> TaskId {
        TaskId {
            index: word as u32,
            generation: (word >> 32) as u32,
        }
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "task {}.{}", self.index, self.generation)
    }
}
