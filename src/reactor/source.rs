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

use super::{Direction, IoToken, Reactor, WaitKey};
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
    ///
    /// `key` is `Some` for a future of ours that removes its waker when
    /// dropped ([`Wait`]), `None` for a `poll_*` method.
    fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut key: Option<&mut WaitKey>,
        mut op: impl FnMut(&S) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        loop {
            let key = key.as_deref_mut();
            if self
                .with_reactor(|r| r.poll_ready(self.token, dir, cx, key))?
                .is_pending()
            {
                return Poll::Pending;
            }
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Stale readiness: clear it; the next round of this
                    // loop parks our waker.
                    self.with_reactor(|r| r.clear_readiness(self.token, dir))?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(value) if drained(&value) => {
                    self.with_reactor(|r| r.clear_readiness(self.token, dir))?;
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
        self.poll_io(cx, Direction::Read, None, op, |&n| n > 0 && n < len)
    }

    /// The write-side twin of [`Async::poll_read_stream`]: a short write
    /// filled the send buffer, so the next one would be `WouldBlock`.
    pub(crate) fn poll_write_stream(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        op: impl FnMut(&S) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_io(cx, Direction::Write, None, op, |&n| n < len)
    }

    /// Runs a non-blocking read-side operation (read, accept, recv) until it
    /// does not return `WouldBlock`, parking `cx` in between.
    ///
    /// A `poll_*` method has no way to learn that its caller stopped
    /// waiting, so the waker it parks stays until the next readiness event
    /// (one entry per task however often it polls; see [`crate::reactor`]).
    /// Any number of tasks may poll at once: readiness wakes them all.
    /// Prefer [`Async::read_with`] in `async` code: its future takes its
    /// waker back when dropped.
    pub fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, Direction::Read, None, op, |_| false)
    }

    /// The write-side twin of [`Async::poll_read_with`] (write, send, connect).
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, Direction::Write, None, op, |_| false)
    }

    /// Awaits a read-side operation; see [`Async::poll_read_with`]. Any
    /// number of tasks may await this on one source at once; dropping the
    /// future (a timeout, an abort) removes its waker.
    pub async fn read_with<R>(&self, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        let mut wait = Wait::new(self, Direction::Read);
        poll_fn(|cx| {
            let key = Some(&mut wait.key);
            self.poll_io(cx, Direction::Read, key, &mut op, |_| false)
        })
        .await
    }

    /// Awaits a write-side operation; see [`Async::read_with`].
    pub async fn write_with<R>(&self, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        let mut wait = Wait::new(self, Direction::Write);
        poll_fn(|cx| {
            let key = Some(&mut wait.key);
            self.poll_io(cx, Direction::Write, key, &mut op, |_| false)
        })
        .await
    }

    /// Waits until the source is reported writable (or closed, or in error).
    /// Readiness is a hint: the next write may still return `WouldBlock`.
    /// Any number of tasks may wait at once; dropping the future removes
    /// its waker.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Direction::Write).await
    }

    /// Waits until the source is reported readable (or closed, or in error).
    /// See [`Async::writable`].
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Direction::Read).await
    }

    async fn ready(&self, dir: Direction) -> io::Result<()> {
        let mut wait = Wait::new(self, dir);
        let token = self.token;
        poll_fn(|cx| {
            match self.with_reactor(|r| r.poll_ready(token, dir, cx, Some(&mut wait.key))) {
                Ok(ready) => ready.map(|_| Ok(())),
                Err(error) => Poll::Ready(Err(error)),
            }
        })
        .await
    }
}

/// A waiting future's claim on its waker's entry: dropped with the future
/// (it lives in the `async fn`'s state), it removes that entry if the
/// future was cancelled while parked. See `waiters.rs`.
struct Wait<'a, S: Source> {
    /// The source waited on.
    source: &'a Async<S>,
    /// The direction waited for.
    dir: Direction,
    /// The entry's key, and whether there may be an entry.
    key: WaitKey,
}

impl<'a, S: Source> Wait<'a, S> {
    fn new(source: &'a Async<S>, dir: Direction) -> Wait<'a, S> {
        Wait {
            source,
            dir,
            key: WaitKey::default(),
        }
    }
}

impl<S: Source> Drop for Wait<'_, S> {
    fn drop(&mut self) {
        if !self.key.parked {
            return; // never parked, or readiness took the entry already
        }
        let token = self.source.token;
        let waker = context::with_core(|core| {
            if !Arc::ptr_eq(&core.shared, &self.source.shared) {
                return None;
            }
            // Busy only if dropped from inside the reactor; the entry then
            // stays until the next event, which wakes it harmlessly.
            let mut reactor = core.reactor.try_borrow_mut().ok()?;
            reactor.remove_waiter(token, self.dir, &self.key)
        })
        .flatten();
        // Dropped after the borrow: a waker's drop may run any code.
        drop(waker);
    }
}

impl<S: Source> Drop for Async<S> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            // Any thread may deregister: the registry is a dup of the epoll fd.
            let _ = self.shared.registry.deregister(&mut io);
        }
        let token = self.token;
        let released: Option<Vec<Waker>> = context::with_core(|core| {
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
            Some(wakers) => wakers.into_iter().for_each(Waker::wake),
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
        self.with_reactor(|r| {
            r.poll_ready(self.token, Direction::Read, cx, None)
                .map(|_| ())
        })?
        .map(Ok)
    }

    /// The write-side twin of [`Async::poll_read_ready`].
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with_reactor(|r| {
            r.poll_ready(self.token, Direction::Write, cx, None)
                .map(|_| ())
        })?
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
                    let _ = r.poll_ready(self.token, dir, cx, None);
                }
            }
            Poll::Pending
        })?;
        bits.map(Ok)
    }

    /// Runs a read-side `op` once, never waiting. A `WouldBlock` clears the
    /// cached read readiness, so that the
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
        loop {
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // No event can be recorded between the syscall and this
                    // clear: the reactor only polls in phase 5 of the turn.
                    self.with_reactor(|r| r.clear_readiness(self.token, dir))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;

    /// Polls `future` once; true if it is still pending.
    async fn poll_once(future: impl Future) -> bool {
        let mut future = pin!(future);
        poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx).is_pending())).await
    }

    #[test]
    // A TCP listener: miri's isolation has no sockets. The waiter set
    // itself is checked under miri by the tests in `waiters.rs`.
    #[cfg_attr(miri, ignore)]
    fn cancelled_accepts_leave_no_waker_behind() {
        crate::block_on(async {
            let std = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            std.set_nonblocking(true).expect("non-blocking");
            let listener = Async::new(mio::net::TcpListener::from_std(std)).expect("register");
            let count = |listener: &Async<mio::net::TcpListener>| {
                listener
                    .with_reactor(|r| r.waiter_count(listener.token, Direction::Read))
                    .expect("on its loop")
            };
            for _ in 0..10_000 {
                let accept = listener.read_with(|l| l.accept());
                assert!(poll_once(accept).await, "nobody connects");
            }
            assert_eq!(count(&listener), 0, "every dropped accept took its waker");

            // A waiter still parked keeps its entry; the cancelled ones go.
            let mut kept = pin!(listener.read_with(|l| l.accept()));
            assert!(poll_once(kept.as_mut()).await);
            for _ in 0..100 {
                assert!(poll_once(listener.readable()).await);
            }
            assert_eq!(count(&listener), 1);

            // `poll_*` callers have no drop point: one entry per task.
            for _ in 0..100 {
                let polled = poll_fn(|cx| Poll::Ready(listener.poll_read_with(cx, |l| l.accept())));
                assert!(polled.await.is_pending());
            }
            assert_eq!(count(&listener), 2);
        });
    }
}
