//! The hierarchical timing wheel: O(1) insert, cancel and reset.
//!
//! # A clock face with hands at several speeds
//!
//! Time is counted in *ticks* of one millisecond since the wheel started.
//! Level 0 is a ring of 64 slots, one per tick. Level 1 is a ring of 64
//! slots of 64 ticks each, level 2 of 64 × 64 ticks each, and so on for six
//! levels, which covers 64^6 ms ≈ 2.2 years. A timer goes in the level of
//! the highest 6-bit digit in which its deadline tick differs from the
//! current tick (`level_for`). So level 0 holds exactly the timers due in
//! the current aligned block of 64 ticks, not "the next 64 ms": at tick 62
//! a timer due at tick 67 goes to level 1 and cascades to level 0 at tick
//! 64, which costs the loop one extra wake-up there.
//!
//! ```text
//!  level 2 │  ·  │  ·  │ ▓▓  │  ·  │ ...   64 slots × 4096 ms
//!  level 1 │  ·  │ ▓▓  │  ·  │  ·  │ ...   64 slots ×   64 ms
//!  level 0 │ ▓▓  │  ·  │  ·  │ ▓▓  │ ...   64 slots ×    1 ms
//!             ▲ now
//! ```
//!
//! When the clock reaches a level-0 slot, its timers fire. When it reaches
//! the start of a slot at a higher level, that slot's timers *cascade*: each
//! is filed again, relative to the new time, in a lower level (eventually in
//! level 0). A timer moves down at most five times in its life, so firing is
//! O(1) amortised, and inserting or cancelling is a push onto or an unlink
//! from a doubly linked list: O(1), whatever the number of timers.
//!
//! This is the scheme of Varghese & Lauck, "Hashed and Hierarchical Timing
//! Wheels: Data Structures for the Efficient Implementation of a Timer
//! Facility" (SOSP 1987), in the 64-slot, bitmap-indexed layout of tokio's
//! `runtime/time/wheel`. A heap (what libuv and asyncio use) costs
//! O(log n) per insert and cancel instead; see `docs/05-timers.md`.
//!
//! # Storage
//!
//! Entries live in a [`Slab`], named by a generation-tagged [`TimerKey`]
//! exactly like tasks in the task table, and are linked into their slot's
//! list by slab index (`prev`/`next`), so no entry is ever allocated on its
//! own. A `u64` bitmap per level says which slots are occupied, so finding
//! the next expiration is a rotate and a count of trailing zeros.
//!
//! # Never early
//!
//! A deadline is turned into a tick by rounding *up*, and the clock by
//! rounding *down*: an entry fires when `floor(now) >= ceil(deadline)`,
//! which implies `now >= deadline`.
//!
//! # Cheap resets
//!
//! An idle timeout is reset on every read, almost always to a *later*
//! deadline. Such a reset only overwrites the entry's `deadline`, without
//! even turning it into a tick: the entry stays filed under its old
//! (earlier) tick, and when the wheel reaches it, it sees the deadline moved
//! and files it again instead of firing it. Only a reset to an *earlier*
//! tick unlinks and relinks the entry.

use std::task::Waker;
use std::time::{Duration, Instant};

use slab::Slab;

/// Bits of the tick that index one level: 64 slots.
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Levels of the wheel: 64^6 ms ≈ 2.2 years before the top level wraps.
const LEVELS: usize = 6;
/// The ticks the whole wheel spans.
const SPAN: u64 = 1 << (SLOT_BITS * LEVELS as u32);
/// The list of entries already due when they were filed; fired next turn.
const DUE: usize = LEVELS * SLOTS;
/// Slot lists plus the due list.
const LISTS: usize = DUE + 1;
/// "No entry" in the intrusive lists.
const NIL: u32 = u32::MAX;
/// An empty slab with more room than this is freed (see `give_back_memory`).
const RETAINED_CAPACITY: usize = 4096;

/// Names a timer entry: its slab index and which occupant of that slot it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    /// The slab key of the entry.
    index: u32,
    /// Tells this entry apart from earlier and later occupants of the slot.
    generation: u32,
}

/// Returned by [`Wheel::set_waker`] for an entry that has already fired.
#[derive(Debug)]
pub(crate) struct Fired;

/// One pending timer.
struct Entry {
    /// Which occupant of its slab slot this is; see [`TimerKey`].
    generation: u32,
    /// The list it is on: `level * SLOTS + slot`, or `DUE`.
    list: u16,
    /// Previous entry on the same list, or `NIL`.
    prev: u32,
    /// Next entry on the same list, or `NIL`.
    next: u32,
    /// The tick this entry was filed under: the wheel reaches its slot no
    /// later than this tick.
    filed: u64,
    /// The deadline; its tick may be later than `filed` (a lazy reset).
    deadline: Instant,
    /// Woken when the entry fires.
    waker: Waker,
}

/// The next slot the wheel must process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expiration {
    /// The slot's list index.
    list: usize,
    /// The tick at which the slot is due.
    deadline: u64,
}

/// The timer driver of one loop. See the module docs.
pub(crate) struct Wheel {
    /// Tick 0.
    start: Instant,
    /// Ticks processed so far: every entry due at or before it has fired.
    elapsed: u64,
    /// The entries.
    entries: Slab<Entry>,
    /// The generation the next entry gets.
    next_generation: u32,
    /// Head of each slot's list (and of the due list), or `NIL`.
    heads: [u32; LISTS],
    /// Per level, a bit per non-empty slot.
    occupied: [u64; LEVELS],
}

impl Wheel {
    pub(crate) fn new(start: Instant) -> Wheel {
        Wheel {
            start,
            elapsed: 0,
            entries: Slab::new(),
            next_generation: 0,
            heads: [NIL; LISTS],
            occupied: [0; LEVELS],
        }
    }

    /// Pending timers.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Registers a timer for `deadline`, to wake `waker`. A deadline at or
    /// before the last processed tick fires at the next `fire_due`.
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let when = tick_ceil(self.start, deadline);
        let generation = self.next_generation;
        self.next_generation = generation.wrapping_add(1);
        let index = self.entries.insert(Entry {
            generation,
            list: 0,
            prev: NIL,
            next: NIL,
            filed: when,
            deadline,
            waker,
        });
        let index = u32::try_from(index)
            .ok()
            .filter(|&index| index != NIL)
            .expect("evloop: more than 2^32 - 1 pending timers");
        self.file(index, when);
        TimerKey { index, generation }
    }

    /// Removes a pending timer, handing back its waker (to be dropped after
    /// the caller's borrow ends). `None` if it fired or was cancelled.
    pub(crate) fn cancel(&mut self, key: TimerKey) -> Option<Waker> {
        self.entry_mut(key)?;
        self.unlink(key.index);
        Some(self.entries.remove(key.index as usize).waker)
    }

    /// Moves a pending timer to `deadline`. `false` if it already fired (or
    /// was cancelled): the caller must register anew.
    pub(crate) fn reset(&mut self, key: TimerKey, deadline: Instant) -> bool {
        let start = self.start;
        let Some(entry) = self.entry_mut(key) else {
            return false;
        };
        let later = deadline >= entry.deadline;
        entry.deadline = deadline;
        if later {
            return true; // the common case, and no tick arithmetic
        }
        let when = tick_ceil(start, deadline);
        if when < entry.filed {
            // Earlier than the slot it sits in: move it.
            self.unlink(key.index);
            self.file(key.index, when);
        }
        true
    }

    /// Makes a pending timer wake `waker`. Returns the waker it replaced, if
    /// any (to be dropped after the caller's borrow ends), or [`Fired`].
    pub(crate) fn set_waker(
        &mut self,
        key: TimerKey,
        waker: &Waker,
    ) -> Result<Option<Waker>, Fired> {
        let entry = self.entry_mut(key).ok_or(Fired)?;
        if entry.waker.will_wake(waker) {
            return Ok(None);
        }
        Ok(Some(std::mem::replace(&mut entry.waker, waker.clone())))
    }

    /// Fires every timer due at `now`, pushing its waker onto `wakers`. The
    /// caller wakes them after releasing its borrow of the wheel.
    pub(crate) fn fire_due(&mut self, now: Instant, wakers: &mut Vec<Waker>) {
        let now_tick = tick_floor(self.start, now);
        if self.heads[DUE] != NIL {
            self.process(DUE, wakers);
        }
        while let Some(expiration) = self.next_expiration()
            && expiration.deadline <= now_tick
        {
            self.elapsed = expiration.deadline;
            self.process(expiration.list, wakers);
        }
        self.elapsed = self.elapsed.max(now_tick);
        self.give_back_memory();
    }

    /// When the wheel next has work: the loop may sleep until then. Exact
    /// when the next timer is in level 0 (due in the current aligned block
    /// of 64 ticks); otherwise the start of the slot that must cascade first;
    /// `None` if no timer is pending or the next one is beyond what an
    /// `Instant` can express.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let tick = if self.heads[DUE] != NIL {
            self.elapsed
        } else {
            self.next_expiration()?.deadline
        };
        self.start.checked_add(Duration::from_millis(tick))
    }

    /// The entry named by `key`, if it is still pending.
    fn entry_mut(&mut self, key: TimerKey) -> Option<&mut Entry> {
        self.entries
            .get_mut(key.index as usize)
            .filter(|entry| entry.generation == key.generation)
    }

    /// Takes a slot's whole list and fires or re-files each entry. Taking it
    /// first matters: at the top level an entry may be re-filed into the
    /// very slot being processed.
    fn process(&mut self, list: usize, wakers: &mut Vec<Waker>) {
        let mut index = std::mem::replace(&mut self.heads[list], NIL);
        if list < DUE {
            self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
        }
        while index != NIL {
            let entry = &self.entries[index as usize];
            let next = entry.next;
            let when = tick_ceil(self.start, entry.deadline);
            if when <= self.elapsed {
                wakers.push(self.entries.remove(index as usize).waker);
            } else {
                self.file(index, when);
            }
            index = next;
        }
    }

    /// Links entry `index` into the list for tick `when`.
    fn file(&mut self, index: u32, when: u64) {
        let entry = &mut self.entries[index as usize];
        entry.filed = when;
        let list = list_for(self.elapsed, when);
        let head = self.heads[list];
        entry.list = list as u16;
        entry.prev = NIL;
        entry.next = head;
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
        self.heads[list] = index;
        if list < DUE {
            self.occupied[list / SLOTS] |= 1 << (list % SLOTS);
        }
    }

    /// Unlinks entry `index` from its list.
    fn unlink(&mut self, index: u32) {
        let entry = &self.entries[index as usize];
        let (list, prev, next) = (usize::from(entry.list), entry.prev, entry.next);
        if prev == NIL {
            self.heads[list] = next;
            if next == NIL && list < DUE {
                self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
            }
        } else {
            self.entries[prev as usize].next = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
    }

    /// The earliest occupied slot. A lower level is always due before a
    /// higher one: its entries share every higher digit with `elapsed`.
    fn next_expiration(&self) -> Option<Expiration> {
        let level = self.occupied.iter().position(|&bits| bits != 0)?;
        let shift = SLOT_BITS * level as u32;
        let now_slot = ((self.elapsed >> shift) % SLOTS as u64) as u32;
        let occupied = self.occupied[level].rotate_right(now_slot);
        // Bit 0 is the slot `elapsed` is in. Only at the top level can it be
        // occupied, by entries a whole turn of the ring ahead: it comes last.
        let ahead = if occupied & 1 != 0 && occupied != 1 {
            (occupied & !1).trailing_zeros()
        } else {
            occupied.trailing_zeros()
        };
        let slot = u64::from((now_slot + ahead) % SLOTS as u32);
        let slot_range = 1u64 << shift;
        let level_range = slot_range << SLOT_BITS;
        let level_start = self.elapsed & !(level_range - 1);
        let mut deadline = level_start + slot * slot_range;
        if deadline <= self.elapsed {
            // Only at the top level, whose slots form a ring: the slot comes
            // round again one full turn later.
            deadline += level_range;
        }
        Some(Expiration {
            list: level * SLOTS + slot as usize,
            deadline,
        })
    }

    /// A large slab left empty (a burst of timers, all gone) is freed: a
    /// slab never shrinks by itself, and keys cannot be moved to compact it.
    /// `fire_due` calls this once per loop turn, not `cancel` on every
    /// removal: a task that sets and drops a batch of timers within one turn
    /// keeps its slab instead of freeing and regrowing it each time.
    fn give_back_memory(&mut self) {
        if self.entries.is_empty() && self.entries.capacity() > RETAINED_CAPACITY {
            self.entries = Slab::new();
        }
    }
}

/// Ticks from `start` to `deadline`, rounded up (saturating).
fn tick_ceil(start: Instant, deadline: Instant) -> u64 {
    let since = deadline.saturating_duration_since(start);
    let millis = u64::from(since.subsec_nanos().div_ceil(1_000_000));
    since.as_secs().saturating_mul(1000).saturating_add(millis)
}

/// Ticks from `start` to `now`, rounded down.
fn tick_floor(start: Instant, now: Instant) -> u64 {
    let since = now.saturating_duration_since(start);
    let millis = u64::from(since.subsec_millis());
    since.as_secs().saturating_mul(1000).saturating_add(millis)
}

/// The list for a timer due at tick `when`, seen from tick `elapsed`.
fn list_for(elapsed: u64, when: u64) -> usize {
    if when <= elapsed {
        return DUE;
    }
    let level = level_for(elapsed, when);
    let slot = (when >> (SLOT_BITS * level as u32)) % SLOTS as u64;
    level * SLOTS + slot as usize
}

/// The level of the highest 6-bit digit in which `when` differs from
/// `elapsed`; deadlines beyond the wheel's span go to the top level, whose
/// ring they go round until they come within range.
fn level_for(elapsed: u64, when: u64) -> usize {
    let differing = (elapsed ^ when) | (SLOTS as u64 - 1);
    if differing >= SPAN {
        return LEVELS - 1;
    }
    differing.ilog2() as usize / SLOT_BITS as usize
}

#[cfg(test)]
#[path = "wheel_tests.rs"]
mod tests;
