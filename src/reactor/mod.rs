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
//! Clearing the bit cannot lose an event. Events are recorded only by
//! `Reactor::poll`, in the last phase of the loop's turn, never while a
//! task runs; so nothing can set the bit between the moment a task saw it
//! and the moment it clears it. Bytes that arrive meanwhile are a new edge,
//! which the kernel queues and the next `epoll_wait` reports, setting the
//! bit again. (See `docs/07-edge-triggered.md`.)
//!
//! # Every waiter is woken
//!
//! Any number of tasks may wait on one direction of one source: fifty
//! tasks accepting on a shared listener, two reading through `&TcpStream`,
//! a `recv_from` racing a timeout beside a task looping on `recv_from`.
//! Each direction keeps the wakers of all of them (`waiters.rs`: an inline
//! slot for the usual lone waiter, a list only for the second and later),
//! and an event wakes them all. A future of ours that is dropped while it
//! waits removes its own waker; `poll_*` callers, which have no drop point,
//! leave at most one waker per task until the next event.
//!
//! # Tokens and generations
//!
//! mio hands back a [`mio::Token`] with each event. Ours packs a slab index
//! and a generation, exactly like a [`TaskId`](crate::task::TaskId): after a
//! socket is dropped, its slot may hold a new socket, and an event still in
//! flight for the old one must not wake the new one's tasks.

mod source;
mod waiters;

pub use source::Async;
pub(crate) use waiters::WaitKey;
use waiters::Waiters;

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
    /// The tasks waiting to read (or accept, or receive).
    readers: Waiters,
    /// The tasks waiting to write (or connect, or send).
    writers: Waiters,
}

impl IoSlot {
    fn waiters(&mut self, dir: Direction) -> &mut Waiters {
        match dir {
            Direction::Read => &mut self.readers,
            Direction::Write => &mut self.writers,
        }
    }
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
    /// The next [`WaitKey`] to hand out; 0 means "no key", so it starts at 1.
    next_key: u64,
    /// Wakers pushed out of a full set of `poll_*` waiters, to wake with the
    /// next events (see `waiters.rs`); while there are any, `poll` does not
    /// sleep.
    evicted: Vec<Waker>,
}

impl Reactor {
    /// A reactor whose `poll` returns at most `event_capacity` events at once.
    pub(crate) fn new(event_capacity: usize) -> io::Result<Reactor> {
        Ok(Reactor {
            poll: mio::Poll::new()?,
            events: Events::with_capacity(event_capacity.max(1)),
            sources: Slab::new(),
            next_generation: 0,
            next_key: 1,
            evicted: Vec::new(),
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
            readers: Waiters::default(),
            writers: Waiters::default(),
        });
        Ok(token)
    }

    /// Frees the slot of a source (already deregistered, or closed).
    /// Its parked wakers, every one of them, are returned so the caller can
    /// wake them outside any borrow: a task parked on a dropped source must
    /// not hang.
    pub(crate) fn release(&mut self, token: IoToken) -> Vec<Waker> {
        let mut wakers = Vec::new();
        if self.slot(token).is_some() {
            let mut slot = self.sources.remove(token.index as usize);
            slot.readers.take_all(&mut wakers);
            slot.writers.take_all(&mut wakers);
        }
        wakers
    }

    fn slot(&mut self, token: IoToken) -> Option<&mut IoSlot> {
        self.sources
            .get_mut(token.index as usize)
            .filter(|slot| slot.generation == token.generation)
    }

    /// Is the cached readiness for `dir` set? If not, parks `cx`'s waker
    /// beside any others and returns `Pending`.
    ///
    /// `key` is `Some` for a future of our own that will remove its waker
    /// when dropped, `None` for a `poll_*` caller (see [`waiters`]).
    ///
    /// Not inlined, so that the small `with_reactor` closure that calls it
    /// is (measured: the other way round costs ~10% more instructions per
    /// echoed message).
    #[inline(never)]
    pub(crate) fn poll_ready(
        &mut self,
        token: IoToken,
        dir: Direction,
        cx: &mut Context<'_>,
        key: Option<&mut WaitKey>,
    ) -> Poll<()> {
        // Fields, not `self.slot()`: `next_key` and `evicted` are borrowed
        // beside the slot.
        let Some(slot) = self
            .sources
            .get_mut(token.index as usize)
            .filter(|slot| slot.generation == token.generation)
        else {
            // A released source is "ready": the syscall will report the error.
            return Poll::Ready(());
        };
        if slot.readiness & dir.mask() != 0 {
            // A ready direction has no waiters (readiness took them all),
            // so a future that parked before has no entry left.
            if let Some(key) = key {
                key.parked = false;
            }
            return Poll::Ready(());
        }
        let key = match key {
            None => 0,
            Some(key) => key.claim(&mut self.next_key),
        };
        // Wakers this pushes out (too many `poll_*` callers) cannot be woken
        // here, under the caller's borrow of the reactor: they wait in
        // `evicted` for the next `poll`, which does not sleep then.
        slot.waiters(dir).park(key, cx.waker(), &mut self.evicted);
        Poll::Pending
    }

    /// A future that parked under `key` is dropped: takes its waker back,
    /// so that cancelled waiters do not pile up. The caller drops the
    /// waker after its borrow of the reactor ends.
    pub(crate) fn remove_waiter(
        &mut self,
        token: IoToken,
        dir: Direction,
        key: &WaitKey,
    ) -> Option<Waker> {
        self.slot(token)?.waiters(dir).remove(key.key)
    }

    /// A syscall returned `WouldBlock` (or a short read or write proved the
    /// same): the cached readiness for `dir` is stale. Clear it.
    ///
    /// No event can have arrived between the caller seeing the bit and this
    /// call: events are recorded only by [`Reactor::poll`], on this thread,
    /// in a later phase of the turn. One that the kernel queued meanwhile
    /// is not lost either: the next `epoll_wait` reports it, and sets the bit
    /// again (see `docs/07-edge-triggered.md`).
    pub(crate) fn clear_readiness(&mut self, token: IoToken, dir: Direction) {
        if let Some(slot) = self.slot(token) {
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
        let timeout = match self.evicted.is_empty() {
            true => timeout,
            false => {
                wakers.append(&mut self.evicted);
                Some(Duration::ZERO)
            }
        };
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
            // Every waiter of a direction, not just one: see `waiters`.
            if bits & Direction::Read.mask() != 0 {
                slot.readers.take_all(wakers);
            }
            if bits & Direction::Write.mask() != 0 {
                slot.writers.take_all(wakers);
            }
        }
        Ok(())
    }

    /// How many wakers are parked on one direction of a source (for tests).
    #[cfg(test)]
    pub(crate) fn waiter_count(&mut self, token: IoToken, dir: Direction) -> usize {
        self.slot(token).map_or(0, |slot| slot.waiters(dir).len())
    }

    /// How many sources are registered (for tests and metrics).
    pub(crate) fn len(&self) -> usize {
        self.sources.len()
    }
}
