//! Interim timer store; the hierarchical wheel replaces it.

use std::task::Waker;
use std::time::Instant;

/// Timer driver of one loop.
pub(crate) struct Wheel {
    /// When the wheel started.
    _start: Instant,
}

impl Wheel {
    pub(crate) fn new(start: Instant) -> Wheel {
        Wheel { _start: start }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        None
    }

    pub(crate) fn fire_due(&mut self, _now: Instant, _wakers: &mut Vec<Waker>) {}
}
