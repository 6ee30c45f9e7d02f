//! `Async<S>`: a mio source registered with the current loop.
//!
//! This is the bridge between a non-blocking OS handle and a future. It owns
//! the handle and its [`IoToken`], and offers one operation, in two flavours
//! (read and write): *run this non-blocking syscall; if it would block, wake
//! me when it is worth trying again*. Every socket type in [`crate::net`] is
//! an `Async` of the matching mio type plus the usual methods.
//!
//! `Async<S>` is `Send` when `S` is: the readiness state lives in the loop's
//! reactor, which the methods reach through the thread's current runtime. A
//! source used on a thread whose loop is not the one it was registered with
//! gets an error, not a silent hang.

use std::future::poll_fn;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use mio::event::Source;

use super::{Direction, IoToken, Reactor};
use crate::runtime::context;
use crate::runtime::handle::{Injected, Shared};

/// A non-blocking I/O handle registered with an evloop reactor.
pub struct Async<S: Source> {
    /// The handle; `None` only after `into_inner` took it.
    io: Option<S>,
    /// Its slot in the reactor.
    token: IoToken,
    /// The loop it is registered with: used to check that it is polled
    /// there, and to release its slot when it is dropped elsewhere.
    shared: Arc<Shared>,
}

fn outside_runtime() -> io::Error {
    io::Error::other("evloop: I/O used outside of a runtime (call it inside Runtime::block_on)")
}

fn wrong_loop() -> io::Error {
    io::Error::other("evloop: I/O object used on a different loop than the one that created it")
}

impl<S: Source> Async<S> {
    /// Registers `io` (which must already be in non-blocking mode) with the
    /// current thread's loop.
    pub fn new(mut io: S) -> io::Result<Async<S>> {
        context::with_core(|core| {
            let token = core.reactor.borrow_mut().register(&mut io)?;
            Ok(Async {
                io: Some(io),
                token,
                shared: core.shared.clone(),
            })
        })
        .unwrap_or_else(|| Err(outside_runtime()))
    }

    /// The wrapped handle.
    pub fn get_ref(&self) -> &S {
        self.io.as_ref().expect("Async used after into_inner")
    }

    /// Deregisters the handle and gives it back.
    pub fn into_inner(mut self) -> io::Result<S> {
        let mut io = self.io.take().expect("Async used after into_inner");
        self.shared.registry.deregister(&mut io)?;
        Ok(io)
    }

    fn with_reactor<R>(&self, f: impl FnOnce(&mut Reactor) -> R) -> io::Result<R> {
        context::with_core(|core| {
            if Arc::ptr_eq(&core.shared, &self.shared) {
                Ok(f(&mut core.reactor.borrow_mut()))
            } else {
                Err(wrong_loop())
            }
        })
        .unwrap_or_else(|| Err(outside_runtime()))
    }

    /// Runs `op` until it does not return `WouldBlock`. If `drained` says
    /// a successful result proves the readiness stale (a short read or
    /// write on a stream socket), the readiness is cleared then too.
    fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        loop {
            let tick = match self.with_reactor(|r| r.poll_ready(self.token, dir, cx))? {
                Poll::Ready(tick) => tick,
                Poll::Pending => return Poll::Pending,
            };
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Stale readiness: clear it; the next turn of this loop
                    // parks our waker (or retries, if an event came since).
                    self.with_reactor(|r| r.clear_readiness(self.token, dir, tick))?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(value) if drained(&value) => {
                    self.with_reactor(|r| r.clear_readiness(self.token, dir, tick))?;
                    return Poll::Ready(Ok(value));
                }
                result => return Poll::Ready(result),
            }
        }
    }

    /// A `read`/`recv` on a *stream* socket into a buffer of `len` bytes.
    ///
    /// Like [`Async::poll_read_with`], plus one shortcut: a read that
    /// returned fewer bytes than asked (but not 0, end of stream) emptied
    /// the kernel's receive buffer, so the readiness is cleared right away
    /// instead of being proved stale by one more `read` that would fail
    /// with `WouldBlock`. Any byte that arrives later raises a new edge.
    /// Not for datagram sockets: a short datagram says nothing about the
    /// queue behind it. See `docs/07-edge-triggered.md`.
    pub(crate) fn poll_read_stream(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        op: impl FnMut(&S) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_io(cx, Direction::Read, op, |&n| n > 0 && n < len)
    }

    /// The write-side twin of [`Async::poll_read_stream`]: a short write
    /// filled the send buffer, so the next one would be `WouldBlock`.
    pub(crate) fn poll_write_stream(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        op: impl FnMut(&S) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_io(cx, Direction::Write, op, |&n| n < len)
    }

    /// Runs a non-blocking read-side operation (read, accept, recv) until it
    /// does not return `WouldBlock`, parking `cx` in between.
    pub fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, Direction::Read, op, |_| false)
    }

    /// The write-side twin of [`Async::poll_read_with`] (write, send, connect).
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, Direction::Write, op, |_| false)
    }

    /// Awaits a read-side operation; see [`Async::poll_read_with`].
    pub async fn read_with<R>(&self, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.poll_read_with(cx, &mut op)).await
    }

    /// Awaits a write-side operation; see [`Async::poll_write_with`].
    pub async fn write_with<R>(&self, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.poll_write_with(cx, &mut op)).await
    }

    /// Waits until the source is reported writable (or closed, or in error).
    /// Readiness is a hint: the next write may still return `WouldBlock`.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| {
            self.with_reactor(|r| r.poll_ready(self.token, Direction::Write, cx).map(|_| ()))?
                .map(Ok)
        })
        .await
    }

    /// Waits until the source is reported readable (or closed, or in error).
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| {
            self.with_reactor(|r| r.poll_ready(self.token, Direction::Read, cx).map(|_| ()))?
                .map(Ok)
        })
        .await
    }
}

impl<S: Source> Drop for Async<S> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            // Any thread may deregister: the registry is a dup of the epoll fd.
            let _ = self.shared.registry.deregister(&mut io);
        }
        let token = self.token;
        let released: Option<[Option<Waker>; 2]> = context::with_core(|core| {
            if !Arc::ptr_eq(&core.shared, &self.shared) {
                return None;
            }
            let mut reactor = core.reactor.try_borrow_mut().ok()?;
            Some(reactor.release(token))
        })
        .flatten();
        match released {
            // Woken after the borrow is gone: a task parked on this source
            // (another half of a split stream, say) must get to see the error.
            Some(wakers) => wakers.into_iter().flatten().for_each(Waker::wake),
            None => self.shared.inject(Injected::ReleaseIo(token)),
        }
    }
}

impl<S: Source + std::fmt::Debug> std::fmt::Debug for Async<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Async").field("io", &self.io).finish()
    }
}

// Readiness on its own, and operations that never wait: the primitives of
// `readable()`, `ready(Interest)` and `try_read` on the socket types. Kept
// apart from the waiting operations above so that they read as one unit.
impl<S: Source> Async<S> {
    /// The poll form of [`Async::readable`]: `Ready` once the cached
    /// readiness says a read is worth trying, else parks `cx`.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with_reactor(|r| r.poll_ready(self.token, Direction::Read, cx).map(|_| ()))?
            .map(Ok)
    }

    /// The write-side twin of [`Async::poll_read_ready`].
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with_reactor(|r| r.poll_ready(self.token, Direction::Write, cx).map(|_| ()))?
            .map(Ok)
    }

    /// Waits until one of the directions in `interest` is ready and says
    /// which conditions are set (only those `interest` covers).
    pub fn poll_ready_for(
        &self,
        cx: &mut Context<'_>,
        interest: crate::io::Interest,
    ) -> Poll<io::Result<crate::io::Ready>> {
        use crate::io::Ready;
        let bits = self.with_reactor(|r| {
            // A released slot is "ready": the next syscall reports why.
            let cached = r
                .slot(self.token)
                .map_or(Ready::ALL, |s| ready_of(s.readiness));
            let now = cached.intersect(interest);
            let wanted = (interest.is_readable() && now.is_readable())
                || (interest.is_writable() && now.is_writable());
            if wanted {
                return Poll::Ready(now);
            }
            // Nothing yet: park in every direction asked for.
            for (dir, asked) in [
                (Direction::Read, interest.is_readable()),
                (Direction::Write, interest.is_writable()),
            ] {
                if asked {
                    let _ = r.poll_ready(self.token, dir, cx);
                }
            }
            Poll::Pending
        })?;
        bits.map(Ok)
    }

    /// Runs a read-side `op` once, never waiting. A `WouldBlock` clears the
    /// cached read readiness (unless an event came meanwhile), so that the
    /// next [`Async::readable`] waits for a fresh event.
    ///
    /// Unlike tokio, which answers `WouldBlock` without a syscall when its
    /// cache says "not ready", this always asks the kernel: bytes that
    /// arrived since the loop last polled are returned, not hidden.
    pub fn try_read_with<R>(&self, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        self.try_io(Direction::Read, op)
    }

    /// The write-side twin of [`Async::try_read_with`].
    pub fn try_write_with<R>(&self, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        self.try_io(Direction::Write, op)
    }

    fn try_io<R>(&self, dir: Direction, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        // The tick before the syscall: an event after it keeps the bit set.
        let tick = self.with_reactor(|r| r.slot(self.token).map(|slot| slot.tick))?;
        loop {
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Some(tick) = tick {
                        self.with_reactor(|r| r.clear_readiness(self.token, dir, tick))?;
                    }
                    return Err(e);
                }
                result => return result,
            }
        }
    }
}

/// The reactor's readiness bits as the public [`crate::io::Ready`].
fn ready_of(bits: u8) -> crate::io::Ready {
    use super::ready;
    use crate::io::Ready;
    [
        (ready::READABLE, Ready::READABLE),
        (ready::WRITABLE, Ready::WRITABLE),
        (ready::READ_CLOSED, Ready::READ_CLOSED),
        (ready::WRITE_CLOSED, Ready::WRITE_CLOSED),
        (ready::ERROR, Ready::ERROR),
    ]
    .into_iter()
    .filter(|(bit, _)| bits & bit != 0)
    .fold(Ready::EMPTY, |all, (_, one)| all | one)
}
