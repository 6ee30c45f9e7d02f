//! The reactor: readiness events from the OS, turned into woken tasks.
//!
//! # What epoll gives you
//!
//! A socket is *ready* for reading when a `read` would not block: there are
//! bytes in its receive buffer, or the peer closed, or an error is pending.
//! `epoll` (Linux) and `kqueue` (BSD, macOS) let one thread ask "which of my
//! ten thousand sockets are ready?" in one system call. mio wraps both behind
//! [`mio::Poll`]; this module sits on mio and does the runtime's half of the
//! job: remember which task waits for which socket, and wake it.
//!
//! # Edge-triggered, registered once
//!
//! Every source is registered once, for reading *and* writing, in
//! edge-triggered mode (mio's only mode): the OS reports a *change* to
//! ready, not the state. So after an event the socket must be drained: read
//! until `WouldBlock`, or no further event may ever come. In return there is
//! no `epoll_ctl` per operation, as a level-triggered design that toggles
//! interest on and off would need.
//!
//! # Readiness is a hint
//!
//! Each source has an `IoSlot` with *cached readiness*: the bits the OS
//! reported and nobody has yet found stale. An I/O call looks at the cache;
//! if it says "ready" it tries the syscall, and only when the syscall says
//! `WouldBlock` does it clear the bit and park its waker. A fresh source
//! starts out ready in both directions, so the first call goes straight to
//! the syscall. Spurious events and spurious wakeups are harmless: the
//! syscall tells the truth, and a task that finds nothing simply parks again.
//! One shortcut (as in tokio): on a stream socket, a read or write that
//! moved fewer bytes than asked has itself proved the buffer empty (or
//! full), and clears the bit without the extra failing syscall; see
//! `Async::poll_read_stream`.
//!
//! # Tokens and generations
//!
//! mio hands back a [`mio::Token`] with each event. Ours packs a slab index
//! and a generation, exactly like a [`TaskId`](crate::task::TaskId): after a
//! socket is dropped, its slot may hold a new socket, and an event still in
//! flight for the old one must not wake the new one's tasks.

mod source;

pub use source::Async;

use std::io;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::event::Source;
use mio::{Events, Interest, Token};
use slab::Slab;

/// The token of the loop's own `mio::Waker`, which other threads use to
/// interrupt `epoll_wait`. Never a valid packed source token: the index half
/// of a real token is below `u32::MAX`.
pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);

// A token packs a 32-bit index and a 32-bit generation.
const _: () = assert!(usize::BITS >= 64, "evloop packs tokens into 64-bit words");

/// Which half of a source an operation uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// Readiness bits of an [`IoSlot`].
mod ready {
    pub(super) const READABLE: u8 = 1;
    pub(super) const WRITABLE: u8 = 2;
    pub(super) const READ_CLOSED: u8 = 4;
    pub(super) const WRITE_CLOSED: u8 = 8;
    pub(super) const ERROR: u8 = 16;
}

impl Direction {
    /// The bits that make an operation in this direction worth trying.
    fn mask(self) -> u8 {
        match self {
            Direction::Read => ready::READABLE | ready::READ_CLOSED | ready::ERROR,
            Direction::Write => ready::WRITABLE | ready::WRITE_CLOSED | ready::ERROR,
        }
    }

    /// The bit a `WouldBlock` proves stale. Closed and error bits stay: a
    /// closed socket stays closed.
    fn clearable(self) -> u8 {
        match self {
            Direction::Read => ready::READABLE,
            Direction::Write => ready::WRITABLE,
        }
    }
}

/// What the reactor knows about one registered source.
pub(crate) struct IoSlot {
    /// Which occupant of this slab slot it is; see the module docs.
    generation: u32,
    /// Cached readiness (the `ready` bits).
    readiness: u8,
    /// Bumped on every event, so a caller that saw readiness at tick `t` can
    /// tell whether a newer event arrived before it clears the bit.
    tick: u32,
    /// The task waiting to read (or accept, or receive), if any.
    reader: Option<Waker>,
    /// The task waiting to write (or connect, or send), if any.
    writer: Option<Waker>,
}

/// The name of a registered source: a slab index and a generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IoToken {
    index: u32,
    generation: u32,
}

impl IoToken {
    fn to_mio(self) -> Token {
        Token(((self.generation as usize) << 32) | self.index as usize)
    }

    fn from_mio(token: Token) -> IoToken {
        IoToken {
            index: token.0 as u32,
            generation: (token.0 >> 32) as u32,
        }
    }
}

/// The I/O driver of one loop: the `mio::Poll` and the table of sources.
pub(crate) struct Reactor {
    /// The OS's readiness queue (an epoll or kqueue fd).
    poll: mio::Poll,
    /// Reused buffer for the events of one `poll` call.
    events: Events,
    /// One slot per registered source.
    sources: Slab<IoSlot>,
    /// The generation of the next registered source.
    next_generation: u32,
}

impl Reactor {
    /// A reactor whose `poll` returns at most `event_capacity` events at once.
    pub(crate) fn new(event_capacity: usize) -> io::Result<Reactor> {
        Ok(Reactor {
            poll: mio::Poll::new()?,
            events: Events::with_capacity(event_capacity.max(1)),
            sources: Slab::new(),
            next_generation: 0,
        })
    }

    pub(crate) fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    /// Registers `source`, edge-triggered, for reading and writing.
    pub(crate) fn register(&mut self, source: &mut impl Source) -> io::Result<IoToken> {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1);
        let entry = self.sources.vacant_entry();
        let token = IoToken {
            index: u32::try_from(entry.key()).expect("more than 2^32 sources"),
            generation,
        };
        self.poll.registry().register(
            source,
            token.to_mio(),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        entry.insert(IoSlot {
            generation,
            readiness: ready::READABLE | ready::WRITABLE,
            tick: 0,
            reader: None,
            writer: None,
        });
        Ok(token)
    }

    /// Frees the slot of a source (already deregistered, or closed).
    /// Its parked wakers are returned so the caller can wake them outside
    /// any borrow: a task parked on a dropped source must not hang.
    pub(crate) fn release(&mut self, token: IoToken) -> [Option<Waker>; 2] {
        match self.slot(token) {
            Some(_) => {
                let slot = self.sources.remove(token.index as usize);
                [slot.reader, slot.writer]
            }
            None => [None, None],
        }
    }

    fn slot(&mut self, token: IoToken) -> Option<&mut IoSlot> {
        self.sources
            .get_mut(token.index as usize)
            .filter(|slot| slot.generation == token.generation)
    }

    /// Is the cached readiness for `dir` set? If so, returns the tick it was
    /// seen at; if not, parks `cx`'s waker and returns `Pending`.
    pub(crate) fn poll_ready(
        &mut self,
        token: IoToken,
        dir: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<u32> {
        let Some(slot) = self.slot(token) else {
            // A released source is "ready": the syscall will report the error.
            return Poll::Ready(0);
        };
        if slot.readiness & dir.mask() != 0 {
            return Poll::Ready(slot.tick);
        }
        let parked = match dir {
            Direction::Read => &mut slot.reader,
            Direction::Write => &mut slot.writer,
        };
        match parked {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            parked => *parked = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// A syscall returned `WouldBlock`: the readiness seen at `tick` was
    /// stale. Clear it, unless an event arrived since (then it is fresh).
    pub(crate) fn clear_readiness(&mut self, token: IoToken, dir: Direction, tick: u32) {
        if let Some(slot) = self.slot(token)
            && slot.tick == tick
        {
            slot.readiness &= !dir.clearable();
        }
    }

    /// Waits for events (at most `timeout`, forever if `None`), records them
    /// in the slots and pushes the wakers to wake onto `wakers`.
    ///
    /// The caller wakes them after releasing its borrow of the reactor:
    /// waking may run code that touches the reactor again.
    /// How many events the last `poll` returned (the eventfd's included):
    /// for the metrics and the loop trace.
    pub(crate) fn last_event_count(&self) -> usize {
        self.events.iter().count()
    }

    pub(crate) fn poll(
        &mut self,
        timeout: Option<Duration>,
        wakers: &mut Vec<Waker>,
    ) -> io::Result<()> {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            // A signal arrived: not an error, just an early return.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        for event in self.events.iter() {
            if event.token() == WAKER_TOKEN {
                // Only there to end the wait; the injection queue holds the news.
                continue;
            }
            let token = IoToken::from_mio(event.token());
            // A stale token: the source was dropped after the OS queued this.
            let Some(slot) = self
                .sources
                .get_mut(token.index as usize)
                .filter(|slot| slot.generation == token.generation)
            else {
                continue;
            };
            let mut bits = 0;
            if event.is_readable() {
                bits |= ready::READABLE;
            }
            if event.is_writable() {
                bits |= ready::WRITABLE;
            }
            if event.is_read_closed() {
                bits |= ready::READ_CLOSED;
            }
            if event.is_write_closed() {
                bits |= ready::WRITE_CLOSED;
            }
            if event.is_error() {
                bits |= ready::ERROR;
            }
            slot.readiness |= bits;
            slot.tick = slot.tick.wrapping_add(1);
            if bits & Direction::Read.mask() != 0
                && let Some(waker) = slot.reader.take()
            {
                wakers.push(waker);
            }
            if bits & Direction::Write.mask() != 0
                && let Some(waker) = slot.writer.take()
            {
                wakers.push(waker);
            }
        }
        Ok(())
    }

    /// How many sources are registered (for tests and metrics).
    pub(crate) fn len(&self) -> usize {
        self.sources.len()
    }
}
