//! The task table: a slab of task slots named by generation-tagged ids.
//!
//! A [`slab::Slab`] is a `Vec` with a free list: inserting reuses the most
//! recently freed slot, so a loop that runs a steady number of tasks keeps
//! using the same few cache lines, and a slot's key is a plain index: no
//! hashing, no pointer chasing.
//!
//! Reuse has one trap, the ABA problem of slab keys. Task A lives in slot 3,
//! finishes, and B moves into slot 3. A waker for A that somebody kept now
//! says "wake slot 3", and B gets polled for an event that was never its own.
//! (For B that is merely a spurious poll; for a table of I/O sources it would
//! be a lost or misdirected event.) So every occupant of a slot gets a fresh
//! *generation*, the id names both, and [`TaskTable::get_mut`] with a stale
//! id finds nothing.

use std::panic::Location;
use std::pin::Pin;
use std::task::Waker;

use slab::Slab;

use super::TaskId;
use super::join::RawTask;

/// A task's future, erased to one type so that the table can hold any task.
pub(crate) type BoxFuture = Pin<Box<dyn RawTask>>;

/// One slot of the table.
pub(crate) struct Task {
    /// Which occupant of the slot this is; see the module docs.
    generation: u32,
    /// How many times the loop has polled the task (for the task dump);
    /// it sits in what would be padding after `generation`.
    pub(crate) polls: u32,
    /// The future. `None` while the loop is polling it: the loop takes it out
    /// of the table for the poll, so that the task may spawn (and so insert
    /// into the table) without a double borrow.
    pub(crate) future: Option<BoxFuture>,
    /// A `Waker` made once, at spawn, and lent to every poll:
    /// cloning it per poll would cost two atomic operations each time.
    /// `None` while the loop is polling the task, like `future`.
    pub(crate) waker: Option<Waker>,
    /// Where the task was spawned, kept here too so that the task dump can
    /// name a task while its future is out of the table being polled.
    pub(crate) spawned_at: &'static Location<'static>,
    /// When the turn of the task's last poll began, in milliseconds on the
    /// loop's watch clock plus one; 0 before the first poll (for the task
    /// dump: a `u32` store per poll, where an `Instant` would be two).
    pub(crate) last_poll: u32,
}

/// All the tasks of one loop. See the module docs.
#[derive(Default)]
pub(crate) struct TaskTable {
    /// The slots.
    slab: Slab<Task>,
    /// The generation the next inserted task gets. It only ever grows
    /// (wrapping after 2^32 insertions), so no two live ids are equal.
    next_generation: u32,
}

impl TaskTable {
    /// Stores a task, tells its header its id, and returns the id.
    pub(crate) fn insert(&mut self, mut future: BoxFuture, waker: Waker) -> TaskId {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1);
        let entry = self.slab.vacant_entry();
        let index = u32::try_from(entry.key()).expect("more than 2^32 live tasks");
        let id = TaskId { index, generation };
        future.as_mut().header().set_id(id);
        let spawned_at = future.as_mut().header().spawned_at();
        entry.insert(Task {
            generation,
            polls: 0,
            future: Some(future),
            waker: Some(waker),
            spawned_at,
            last_poll: 0,
        });
        id
    }

    /// The task named by `id`, or `None` if it has finished (its slot may
    /// since hold another task: the generation tells them apart).
    pub(crate) fn get_mut(&mut self, id: TaskId) -> Option<&mut Task> {
        self.slab
            .get_mut(id.index as usize)
            .filter(|task| task.generation == id.generation)
    }

    /// Frees the slot of `id`, returning what it held.
    pub(crate) fn remove(&mut self, id: TaskId) -> Option<Task> {
        self.get_mut(id)?;
        Some(self.slab.remove(id.index as usize))
    }

    /// Empties the table, handing back every task (used at shutdown).
    pub(crate) fn drain(&mut self) -> Vec<Task> {
        self.slab.drain().collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    /// Every live task with its id (for the task dump).
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (TaskId, &mut Task)> {
        self.slab.iter_mut().map(|(index, task)| {
            let index = u32::try_from(index).expect("insert keeps indices below 2^32");
            let id = TaskId {
                index,
                generation: task.generation,
            };
            (id, task)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Arc;

    use crate::task::join::{JoinSlot, TaskFuture};

    /// A finished-looking task: a future and the waker of its slot.
    fn task() -> (BoxFuture, Waker) {
        let slot = Arc::new(JoinSlot::<()>::new(None));
        (
            Box::pin(TaskFuture::new(async {}, slot.clone())),
            Waker::from(slot),
        )
    }

    #[test]
    fn stale_id_finds_nothing_after_slot_reuse() {
        let mut table = TaskTable::default();
        let a = {
            let (f, w) = task();
            table.insert(f, w)
        };
        assert!(table.remove(a).is_some());
        let b = {
            let (f, w) = task();
            table.insert(f, w)
        };
        assert_eq!(a.index, b.index, "the slab reuses the freed slot");
        assert_ne!(a, b);
        assert!(
            table.get_mut(a).is_none(),
            "stale id must not reach the new task"
        );
        assert!(table.remove(a).is_none());
        assert!(table.get_mut(b).is_some());
    }

    #[test]
    fn ids_round_trip_through_a_word() {
        let id = TaskId {
            index: 0xdead_beef,
            generation: 0x1234_5678,
        };
        assert_eq!(TaskId::from_u64(id.to_u64()), id);
    }

    #[test]
    fn drain_empties_the_table() {
        let mut table = TaskTable::default();
        for _ in 0..10 {
            {
                let (f, w) = task();
                table.insert(f, w)
            };
        }
        assert_eq!(table.drain().len(), 10);
        assert_eq!(table.len(), 0);
    }
}
