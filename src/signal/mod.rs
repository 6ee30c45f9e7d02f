//! Unix signals as async streams: `ctrl_c()`, `signal(SignalKind)`.
//!
//! # Why a signal cannot simply wake a task
//!
//! A signal handler interrupts whatever a thread was doing, between any two
//! instructions: in the middle of `malloc`, holding a lock, half-way through
//! pushing onto a run queue. So a handler may only do *async-signal-safe*
//! work (POSIX lists the calls): no allocation, no lock, no `Waker::wake`
//! (which may lock, allocate or run arbitrary code). It cannot touch the
//! event loop at all.
//!
//! # The self-pipe trick
//!
//! What a handler *can* do is store to an atomic and call `write(2)`. The
//! classic answer (D. J. Bernstein's, used by libuv, tokio and every event
//! loop since) turns the signal into I/O, which the loop already knows how
//! to wait for:
//!
//! ```text
//!   kernel delivers SIGTERM to some thread
//!     └─ handler: GENERATIONS[SIGTERM] += 1; write(each pipe, 1 byte)   (safe)
//!   every listener has its pipe's read end registered with its loop's epoll
//!     └─ epoll_wait returns: readable → the listener's task is woken
//!          └─ task: read the pipe empty; GENERATIONS[SIGTERM] changed? → deliver
//! ```
//!
//! The byte is only a doorbell; the news is in the per-signal counters.
//! A listener remembers the count it last saw and reports one delivery
//! whenever the count moved. So:
//!
//! - **Bursts coalesce**: a thousand signals between two looks are one
//!   delivery (as the kernel itself merges a pending standard signal), and
//!   the pipe filling up (`write` fails with `EAGAIN`) loses nothing: the
//!   bytes already in it ring the bell, and the counters are exact.
//! - **The last one is never lost**: the count is incremented *before* the
//!   byte is written, so any listener woken by the byte sees the count of
//!   that signal.
//! - **Everyone hears it**: each listener has a pipe of its own,
//!   registered with its own loop, and the handler writes a byte to every
//!   listener's pipe. Two loops on two threads, or two listeners in one
//!   loop, all see every delivery. (One pipe shared by everyone does not
//!   work: epoll re-checks readiness when `epoll_wait` collects an event,
//!   so a loop that empties the pipe first makes the others miss theirs.
//!   See `signal/registry.rs`.)
//!
//! # What installing a listener does to the process
//!
//! Signal dispositions are process-wide. The first listener for a signal
//! installs evloop's handler (`sigaction`, with `SA_RESTART` so that slow
//! system calls elsewhere are restarted rather than failing with `EINTR`),
//! once per signal per process, and it stays installed: from then on,
//! SIGINT no longer kills the process, it is news for whoever listens. A
//! handler that was installed before (by another library) is kept and
//! called after ours. SIGKILL and SIGSTOP cannot be caught; SIGSEGV,
//! SIGBUS, SIGILL and SIGFPE are refused: they report a fault in the very
//! instruction that raised them, and a handler that returns re-runs it.
//!
//! ```
//! use evloop::signal::{SignalKind, signal};
//!
//! evloop::block_on(async {
//!     let mut hangups = signal(SignalKind::hangup())?;
//!     // SAFETY: `kill` with our own pid and a valid signal number.
//!     unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
//!     hangups.recv().await; // the delivery, through the self-pipe
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod registry;

use std::future::poll_fn;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::reactor::Async;

/// A kind of signal, named as tokio names them; see [`signal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// Any signal by number (`libc::SIGUSR1` and so on). Validated when
    /// [`signal`] is called.
    pub const fn from_raw(signum: i32) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal's number.
    pub const fn as_raw_value(&self) -> i32 {
        self.0
    }

    /// SIGINT: Ctrl-C at the terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// SIGTERM: the polite "please exit" of `kill`, systemd, Kubernetes.
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// SIGHUP: the terminal went away; daemons read it as "reload".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// SIGQUIT: Ctrl-\ at the terminal.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// SIGUSR1, for the program's own use.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// SIGUSR2, for the program's own use.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// SIGCHLD: a child process stopped or exited.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// SIGPIPE: a write to a pipe or socket with no reader.
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// SIGALRM: an `alarm(2)` timer expired.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// The signal number as an index into the registry, or why not.
    fn index(self) -> io::Result<usize> {
        let forbidden = [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
        ];
        if forbidden.contains(&self.0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("signal {} cannot be listened for", self.0),
            ));
        }
        match usize::try_from(self.0) {
            Ok(index) if (1..registry::MAX_SIGNAL).contains(&index) => Ok(index),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a signal number", self.0),
            )),
        }
    }
}

/// Listens for deliveries of one signal on the current loop. A stream:
/// each item is "the signal arrived at least once since the last item".
///
/// Made by [`signal`]. Dropping it stops listening (the handler stays
/// installed; see the module docs).
#[derive(Debug)]
pub struct Signal {
    /// Which signal, as an index into the registry's counters.
    index: usize,
    /// The counter's value at the last delivery we reported.
    seen: u64,
    /// Our own descriptor of our self-pipe's read end, on this loop.
    pipe: Async<mio::unix::pipe::Receiver>,
    /// Our pipe's place in the handler's table; declared after `pipe` so
    /// that the descriptor is closed before the slot is reused.
    _slot: registry::Slot,
}

/// Starts listening for `kind` on the current loop.
///
/// Deliveries from the moment of this call on are reported; earlier ones
/// are not. Errors: a number that is not a catchable signal
/// (`InvalidInput`), a call outside a runtime, or `sigaction` failing.
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let index = kind.index()?;
    if crate::Handle::try_current().is_none() {
        // Checked before the handler is installed: no loop, no listener.
        return Err(io::Error::other(
            "evloop: signal() called outside of a runtime (call it inside Runtime::block_on)",
        ));
    }
    // Read the counter *before* the handler is installed and our pipe is
    // live. A delivery after this line is counted above `seen` (so it is
    // reported) or, before the handler is in place, takes the signal's
    // previous action. Read after, a delivery in between would be counted
    // in `seen` and swallowed: handled, yet reported to nobody.
    let seen = registry::generation(index);
    let (slot, fd): (registry::Slot, OwnedFd) = registry::listen(kind.0)?;
    let receiver = mio::unix::pipe::Receiver::from(fd);
    Ok(Signal {
        index,
        seen,
        pipe: Async::new(receiver)?,
        _slot: slot,
    })
}

/// Waits for the next SIGINT (Ctrl-C).
///
/// The handler is installed when the future is first polled: a Ctrl-C
/// before that is not seen. To be sure of catching one, create a
/// [`Signal`] for [`SignalKind::interrupt`] early and await its `recv`.
pub async fn ctrl_c() -> io::Result<()> {
    let mut interrupts = signal(SignalKind::interrupt())?;
    interrupts.recv().await;
    Ok(())
}

impl Signal {
    /// Waits for the next delivery. Always `Some(())`: a signal stream never
    /// ends (the `Option` keeps the shape of tokio's and of channels).
    /// Cancel-safe: a delivery that arrives while nobody awaits is reported
    /// by the next call.
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The poll form of [`Signal::recv`].
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        loop {
            let now = registry::generation(self.index);
            if now != self.seen {
                self.seen = now;
                return Poll::Ready(Some(()));
            }
            // Nothing new: wait for the doorbell, emptying the pipe as we go.
            match self.pipe.poll_read_with(cx, drain) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => continue,
                // The pipe is ours and never closed: an error means the
                // loop cannot watch it any more. End the stream rather
                // than spin.
                Poll::Ready(Err(_)) => return Poll::Ready(None),
            }
        }
    }
}

/// Reads the pipe until it is empty. `WouldBlock` if it already was, so
/// that the caller parks until the next byte.
fn drain(mut pipe: &mio::unix::pipe::Receiver) -> io::Result<()> {
    let mut buf = [0u8; 64];
    let mut read_any = false;
    loop {
        match pipe.read(&mut buf) {
            // The write end is never closed: end of stream means the
            // descriptor is not what we think it is.
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => read_any = true,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && read_any => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

impl futures_core::Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::task::Poll;

    use super::{SignalKind, registry, signal};

    /// A signal delivered while `signal()` runs, after the handler is
    /// installed, is reported: it must not vanish between the handler's
    /// count and the listener's first look at it.
    #[test]
    #[cfg_attr(miri, ignore = "miri does not deliver signals")]
    fn a_delivery_while_signal_is_set_up_is_reported() {
        let rt = crate::Runtime::new().expect("runtime");
        rt.block_on(async {
            registry::tests::AFTER_LISTEN.with(|hook| {
                hook.set(Some(|| {
                    // SAFETY: raise(3) sends the signal to this thread; our
                    // handler is installed, so it runs and returns.
                    let raised = unsafe { libc::raise(libc::SIGUSR2) };
                    assert_eq!(raised, 0);
                }));
            });
            let mut signals = signal(SignalKind::user_defined2()).expect("listener");
            let first = poll_fn(|cx| Poll::Ready(signals.poll_recv(cx))).await;
            assert_eq!(first, Poll::Ready(Some(())), "the delivery was lost");
            // Reported once: nothing more is pending.
            let second = poll_fn(|cx| Poll::Ready(signals.poll_recv(cx))).await;
            assert_eq!(second, Poll::Pending);
        });
    }
}
