//! [`Interest`] and [`Ready`]: which directions of a socket a task cares
//! about, and which of them the OS last reported ready.
//!
//! A socket has two independent halves. A task that only reads asks for
//! [`Interest::READABLE`]; a protocol that must notice either event (a
//! proxy that reads when bytes come and writes when there is room) asks for
//! `Interest::READABLE | Interest::WRITABLE` and learns from the [`Ready`]
//! it gets back which one happened. The names and the bit-set shape are
//! tokio's, so code written against `tokio::io::{Interest, Ready}` reads
//! the same here.
//!
//! A `Ready` is a *hint*, as all readiness is in evloop (see
//! [`crate::reactor`]): the next `try_read` may still say `WouldBlock`, and
//! that `WouldBlock` is what clears the cached readiness, so that the next
//! wait really waits.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// The directions a task wants to wait for: readable, writable, or both.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(
    /// `Ready::READABLE`'s and `Ready::WRITABLE`'s bits.
    u8,
);

impl Interest {
    /// Interest in reading (and accepting, and receiving).
    pub const READABLE: Interest = Interest(Ready::READABLE.0);
    /// Interest in writing (and sending).
    pub const WRITABLE: Interest = Interest(Ready::WRITABLE.0);

    /// Whether the interest includes reading.
    pub const fn is_readable(self) -> bool {
        self.0 & Ready::READABLE.0 != 0
    }

    /// Whether the interest includes writing.
    pub const fn is_writable(self) -> bool {
        self.0 & Ready::WRITABLE.0 != 0
    }

    /// Both interests together (a `const` form of `|`).
    #[must_use]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }
}

impl BitOr for Interest {
    type Output = Interest;
    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

impl BitOrAssign for Interest {
    fn bitor_assign(&mut self, other: Interest) {
        *self = self.add(other);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => f.write_str("READABLE | WRITABLE"),
            (true, false) => f.write_str("READABLE"),
            (false, true) => f.write_str("WRITABLE"),
            (false, false) => f.write_str("(none)"),
        }
    }
}

/// The readiness the OS reported for a socket, as returned by `ready()`.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready(
    /// One bit per condition; see the constants.
    u8,
);

impl Ready {
    /// Nothing is ready.
    pub const EMPTY: Ready = Ready(0);
    /// A read would not block (data, end of stream, or an error is there).
    pub const READABLE: Ready = Ready(1);
    /// A write would not block.
    pub const WRITABLE: Ready = Ready(2);
    /// The peer closed its write side: reads will see end of stream.
    pub const READ_CLOSED: Ready = Ready(4);
    /// Our write side is closed: writes will fail.
    pub const WRITE_CLOSED: Ready = Ready(8);
    /// An error is pending on the socket (`SO_ERROR`).
    pub const ERROR: Ready = Ready(16);
    /// Every condition.
    pub const ALL: Ready = Ready(31);

    /// Whether nothing is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether reading is worth trying (readable, read-closed or error).
    pub const fn is_readable(self) -> bool {
        self.0 & (Ready::READABLE.0 | Ready::READ_CLOSED.0 | Ready::ERROR.0) != 0
    }

    /// Whether writing is worth trying (writable, write-closed or error).
    pub const fn is_writable(self) -> bool {
        self.0 & (Ready::WRITABLE.0 | Ready::WRITE_CLOSED.0 | Ready::ERROR.0) != 0
    }

    /// Whether the read side was reported closed.
    pub const fn is_read_closed(self) -> bool {
        self.0 & Ready::READ_CLOSED.0 != 0
    }

    /// Whether the write side was reported closed.
    pub const fn is_write_closed(self) -> bool {
        self.0 & Ready::WRITE_CLOSED.0 != 0
    }

    /// Whether an error was reported.
    pub const fn is_error(self) -> bool {
        self.0 & Ready::ERROR.0 != 0
    }

    /// The conditions that matter to `interest`: the read-side ones for
    /// `READABLE`, the write-side ones for `WRITABLE`, and errors for both.
    pub(crate) const fn intersect(self, interest: Interest) -> Ready {
        let mut mask = Ready::ERROR.0;
        if interest.is_readable() {
            mask |= Ready::READABLE.0 | Ready::READ_CLOSED.0;
        }
        if interest.is_writable() {
            mask |= Ready::WRITABLE.0 | Ready::WRITE_CLOSED.0;
        }
        Ready(self.0 & mask)
    }
}

impl BitOr for Ready {
    type Output = Ready;
    fn bitor(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready")
            .field("is_readable", &self.is_readable())
            .field("is_writable", &self.is_writable())
            .field("is_read_closed", &self.is_read_closed())
            .field("is_write_closed", &self.is_write_closed())
            .field("is_error", &self.is_error())
            .finish()
    }
}
