//! Unit tests of the timing wheel, driven with a fake clock.

use std::sync::{Arc, Mutex};
use std::task::Wake;

use super::*;

/// A waker that records its timer's number when woken.
struct Recorder {
    /// The timer's number.
    id: usize,
    /// Where fired numbers go.
    log: Arc<Mutex<Vec<usize>>>,
}

impl Wake for Recorder {
    fn wake(self: Arc<Self>) {
        self.log.lock().expect("not poisoned").push(self.id);
    }
}

/// A wheel with a fake clock and a log of fired timers.
struct Harness {
    /// The wheel under test.
    wheel: Wheel,
    /// Its tick 0, for building fake clock readings.
    start: Instant,
    /// Timers fired so far, by number.
    log: Arc<Mutex<Vec<usize>>>,
}

impl Harness {
    fn new() -> Harness {
        let start = Instant::now();
        Harness {
            wheel: Wheel::new(start),
            start,
            log: Arc::default(),
        }
    }

    fn at(&self, millis: u64) -> Instant {
        self.start + Duration::from_millis(millis)
    }

    fn insert(&mut self, id: usize, deadline: Instant) -> TimerKey {
        let waker = Waker::from(Arc::new(Recorder {
            id,
            log: self.log.clone(),
        }));
        self.wheel.insert(deadline, waker)
    }

    /// Runs `fire_due` at `now` and returns the ids fired, in firing order.
    fn fire(&mut self, now: Instant) -> Vec<usize> {
        let mut wakers = Vec::new();
        self.wheel.fire_due(now, &mut wakers);
        wakers.into_iter().for_each(Waker::wake);
        std::mem::take(&mut *self.log.lock().expect("not poisoned"))
    }
}

#[test]
fn fires_at_its_deadline_and_not_a_tick_before() {
    let mut h = Harness::new();
    h.insert(1, h.at(10));
    assert!(h.fire(h.at(9)).is_empty());
    assert!(h.fire(h.at(10) - Duration::from_nanos(1)).is_empty());
    assert_eq!(h.fire(h.at(10)), [1]);
    assert_eq!(h.wheel.len(), 0);
}

#[test]
fn a_deadline_between_ticks_is_rounded_up() {
    let mut h = Harness::new();
    h.insert(1, h.at(9) + Duration::from_micros(500));
    assert!(h.fire(h.at(9) + Duration::from_micros(900)).is_empty());
    assert_eq!(h.fire(h.at(10)), [1]);
}

#[test]
fn a_past_deadline_fires_at_the_next_turn() {
    let mut h = Harness::new();
    assert!(h.fire(h.at(50)).is_empty());
    h.insert(1, h.at(20));
    assert_eq!(h.wheel.next_deadline(), Some(h.at(50)));
    assert_eq!(h.fire(h.at(50)), [1]);
}

#[test]
fn next_deadline_is_exact_within_64_ms_and_never_late_beyond() {
    let mut h = Harness::new();
    assert_eq!(h.wheel.next_deadline(), None);
    h.insert(1, h.at(5_000));
    let next = h.wheel.next_deadline().expect("a timer is pending");
    assert!(next <= h.at(5_000));
    h.insert(2, h.at(40));
    assert_eq!(h.wheel.next_deadline(), Some(h.at(40)));
}

#[test]
fn a_far_timer_cascades_down_and_fires_on_time() {
    let mut h = Harness::new();
    let deadline = 3 * 64 * 64 * 64 + 12_345; // level 3
    h.insert(1, h.at(deadline));
    // Follow the wheel from one expiration to the next, as the loop does.
    let mut wakeups = 0;
    loop {
        let next = h.wheel.next_deadline().expect("still pending");
        assert!(next <= h.at(deadline), "woke the loop too late");
        wakeups += 1;
        if !h.fire(next).is_empty() {
            assert_eq!(next, h.at(deadline));
            break;
        }
    }
    assert!(wakeups <= 4 + 1, "{wakeups} wakeups: one per level at most");
}

#[test]
fn cancel_removes_the_timer_and_a_stale_key_is_ignored() {
    let mut h = Harness::new();
    let a = h.insert(1, h.at(10));
    let b = h.insert(2, h.at(10));
    assert!(h.wheel.cancel(a).is_some());
    assert!(h.wheel.cancel(a).is_none(), "cancelled twice");
    assert_eq!(h.fire(h.at(10)), [2]);
    assert!(h.wheel.cancel(b).is_none(), "fired, then cancelled");
    // The freed slot is reused; the old key must not reach the new entry.
    let c = h.insert(3, h.at(20));
    let d = h.insert(4, h.at(20));
    let mut reused = [c.index, d.index];
    reused.sort_unstable();
    assert_eq!(reused, [a.index.min(b.index), a.index.max(b.index)]);
    for stale in [a, b] {
        assert!(h.wheel.cancel(stale).is_none());
        assert!(!h.wheel.reset(stale, h.at(30)));
        assert!(h.wheel.set_waker(stale, Waker::noop()).is_err());
    }
    let mut fired = h.fire(h.at(20));
    fired.sort_unstable();
    assert_eq!(fired, [3, 4]);
}

#[test]
fn cancelling_the_last_timer_of_a_slot_clears_its_bit() {
    let mut h = Harness::new();
    let a = h.insert(1, h.at(10));
    h.insert(2, h.at(30));
    h.wheel.cancel(a);
    assert_eq!(h.wheel.next_deadline(), Some(h.at(30)));
}

#[test]
fn reset_later_fires_at_the_new_deadline_only() {
    let mut h = Harness::new();
    let key = h.insert(1, h.at(10));
    assert!(h.wheel.reset(key, h.at(500)));
    assert!(h.fire(h.at(10)).is_empty(), "fired at the old deadline");
    assert!(h.fire(h.at(499)).is_empty());
    assert_eq!(h.fire(h.at(500)), [1]);
}

#[test]
fn reset_earlier_fires_at_the_new_deadline() {
    let mut h = Harness::new();
    let key = h.insert(1, h.at(5_000));
    assert!(h.wheel.reset(key, h.at(7)));
    assert_eq!(h.wheel.next_deadline(), Some(h.at(7)));
    assert!(h.fire(h.at(6)).is_empty());
    assert_eq!(h.fire(h.at(7)), [1]);
}

#[test]
fn reset_into_the_past_fires_at_the_next_turn() {
    let mut h = Harness::new();
    let key = h.insert(1, h.at(100));
    assert!(h.fire(h.at(50)).is_empty());
    assert!(h.wheel.reset(key, h.at(10)));
    assert_eq!(h.fire(h.at(50)), [1]);
}

#[test]
fn set_waker_replaces_only_a_different_waker() {
    let mut h = Harness::new();
    let key = h.insert(1, h.at(10));
    let other = Waker::from(Arc::new(Recorder {
        id: 2,
        log: h.log.clone(),
    }));
    let replaced = h.wheel.set_waker(key, &other).expect("pending");
    assert!(replaced.is_some());
    let again = h.wheel.set_waker(key, &other.clone()).expect("pending");
    assert!(again.is_none(), "the same waker is kept, not cloned");
    assert_eq!(h.fire(h.at(10)), [2], "the new waker is the one woken");
}

/// Also a regression test: the far timer's top-level slot was hidden behind
/// the slot `elapsed` is in, which the near-infinite one kept re-occupying.
#[test]
fn distant_and_unrepresentable_deadlines_do_not_overflow() {
    // A timer beyond the wheel's span is re-filed once per turn of the top
    // level (2.2 years), so firing the far one walks ~FAR/2.2 rounds: a
    // blink natively, minutes under miri, which gets a nearer "far".
    const FAR: u64 = if cfg!(miri) { 200 } else { 1_000_000 };
    let mut h = Harness::new();
    let years = |n: u64| Duration::from_secs(n * 365 * 86_400);
    h.insert(1, h.start + years(30)); // beyond the wheel's 2.2-year span
    h.insert(2, h.start + years(FAR));
    let mut now = h.start;
    for _ in 0..40 {
        now = h.wheel.next_deadline().expect("pending").max(now);
        assert!(h.fire(now).is_empty(), "fired decades early");
        if now > h.start + years(20) {
            break;
        }
    }
    assert_eq!(h.wheel.len(), 2);
    assert_eq!(h.fire(h.start + years(31)), [1]);
    // A clock read near the end of time must not overflow either.
    let fired = h.fire(h.start + years(2 * FAR));
    assert_eq!(fired, [2]);
}

#[test]
fn a_burst_of_timers_gives_its_memory_back_once_gone() {
    // Well over what the wheel keeps; smaller under miri, which interprets
    // every step.
    const BURST: usize = if cfg!(miri) {
        2 * RETAINED_CAPACITY
    } else {
        100_000
    };
    let mut h = Harness::new();
    let keys: Vec<_> = (0..BURST).map(|i| h.insert(i, h.at(1_000))).collect();
    assert!(h.wheel.entries.capacity() >= BURST);
    for key in keys {
        h.wheel.cancel(key);
    }
    assert_eq!(h.wheel.len(), 0);
    assert!(
        h.wheel.entries.capacity() >= BURST,
        "kept until the turn ends"
    );
    h.fire(h.at(1));
    assert!(h.wheel.entries.capacity() <= RETAINED_CAPACITY);
}

#[test]
fn level_and_slot_of_a_deadline() {
    assert_eq!(list_for(0, 0), DUE);
    assert_eq!(list_for(0, 1), 1);
    assert_eq!(list_for(0, 63), 63);
    assert_eq!(list_for(0, 64), SLOTS + 1);
    assert_eq!(list_for(60, 70), SLOTS + 1, "crosses into the next block");
    assert_eq!(level_for(0, 64 * 64), 2);
    assert_eq!(level_for(0, SPAN - 1), 5);
    assert_eq!(level_for(0, u64::MAX), 5);
}

/// xorshift64*: a reproducible random stream without a dependency.
fn rng(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut state = seed;
    move |bound| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound
    }
}

/// Random inserts, resets and cancels against a model: every timer fires at
/// the first `fire_due` whose `now` is at or after its deadline.
#[test]
fn random_operations_match_a_model() {
    let mut h = Harness::new();
    let mut random = rng(0x9e37_79b9_7f4a_7c15);
    // The model: id -> (key, deadline) of every pending timer.
    let mut pending = std::collections::HashMap::new();
    let mut now = h.start;
    let operations = if cfg!(miri) { 500 } else { 20_000usize };
    for id in 0..operations {
        let deadline = now + Duration::from_micros(random(300_000_000));
        match random(10) {
            0 if !pending.is_empty() => {
                let victim = *pending.keys().next().expect("not empty");
                let (key, _) = pending.remove(&victim).expect("present");
                assert!(h.wheel.cancel(key).is_some());
            }
            1 if !pending.is_empty() => {
                let target = *pending.keys().next().expect("not empty");
                let entry: &mut (TimerKey, Instant) = pending.get_mut(&target).expect("present");
                assert!(h.wheel.reset(entry.0, deadline));
                entry.1 = deadline;
            }
            _ => {
                let key = h.insert(id, deadline);
                pending.insert(id, (key, deadline));
            }
        }
        if id % 7 == 0 {
            // Whole ticks, so that `deadline <= now` is exactly the wheel's rule.
            now += Duration::from_millis(random(20_000));
            let mut fired = h.fire(now);
            fired.sort_unstable();
            let mut due: Vec<_> = pending
                .iter()
                .filter(|(_, (_, deadline))| *deadline <= now)
                .map(|(&id, _)| id)
                .collect();
            due.sort_unstable();
            assert_eq!(fired, due, "at {:?}", now - h.start);
            for id in &due {
                pending.remove(id);
            }
        }
    }
    assert_eq!(h.wheel.len(), pending.len());
}
