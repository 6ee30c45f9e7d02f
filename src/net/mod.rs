//! Async sockets: TCP, UDP and Unix domain sockets on the reactor.
//!
//! # The shape of every socket type here
//!
//! Each type is a thin shell: the mio socket (non-blocking, close-on-exec)
//! inside an [`Async`](crate::reactor::Async), which registers it once with
//! the current loop. Every operation is then the same three lines:
//!
//! ```text
//!   self.io.read_with(|socket| socket.accept())   // or read, recv, send ...
//!     1. readiness cached as "ready"?  no  → park the waker, Pending
//!     2. try the syscall               ok  → done
//!     3. WouldBlock?                   yes → clear the readiness, go to 1
//! ```
//!
//! so the readers of this module can concentrate on what is particular to
//! each socket: how a non-blocking `connect` completes ([`TcpStream::connect`]),
//! what to do when the process runs out of file descriptors
//! ([`TcpListener::accept`], and `accept.rs`), why a write must never raise
//! `SIGPIPE` (`sys.rs`).
//!
//! # Names are resolved on the loop thread
//!
//! `bind` and `connect` take `impl ToSocketAddrs`, like std's, and resolve
//! with std's resolver. For IP literals (`"127.0.0.1:7000"`, a
//! `SocketAddr`) that is a parse, but a host name (`"localhost:7000"`) asks
//! the system resolver, which may block the whole loop while it waits for
//! DNS. Resolve names on the blocking pool first if that matters to you.
//!
//! # The futures ecosystem
//!
//! Streams implement [`futures_io::AsyncRead`] and [`futures_io::AsyncWrite`]
//! (re-exported as [`crate::io::AsyncRead`] and [`crate::io::AsyncWrite`]), so
//! `futures::io::copy`, `BufReader`, `split` and friends work on them. Closing
//! a stream through `AsyncWrite::poll_close` shuts down its write side.

/// `futures_io::AsyncRead` and `AsyncWrite` for a stream type and for a
/// shared reference to it (`&TcpStream` reads and writes too, as
/// `&std::net::TcpStream` does). The type needs `poll_recv`, `poll_send`
/// and `shutdown` taking `&self`. A socket has no user-space buffer, so
/// flushing is a no-op; closing shuts down the write side and the peer reads
/// end of stream.
macro_rules! impl_stream_io {
    ($stream:ty) => {
        impl_stream_io!(@one $stream);
        impl_stream_io!(@one &$stream);
    };
    (@one $ty:ty) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_recv(cx, buf)
            }
        }

        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_send(cx, buf)
            }

            /// One `sendmsg` for all the buffers (a `writev`), not one
            /// write per buffer.
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_send_vectored(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.shutdown(std::net::Shutdown::Write))
            }
        }
    };
}

/// Waiting for readiness without an operation, for every socket type with
/// an `io: Async<_>` field: `readable`, `writable`, `ready(Interest)` and
/// their `poll_*` forms, as tokio's sockets have them.
macro_rules! impl_readiness {
    ($ty:ty) => {
        impl $ty {
            /// Waits until the socket is readable (or closed, or in error).
            /// Readiness is a hint: follow it with `try_read` (or
            /// `try_recv`), which may still say `WouldBlock`; that clears
            /// the readiness, so the next `readable()` waits again.
            pub async fn readable(&self) -> std::io::Result<()> {
                self.io.readable().await
            }

            /// Waits until the socket is writable; the twin of `readable`.
            pub async fn writable(&self) -> std::io::Result<()> {
                self.io.writable().await
            }

            /// Waits until any direction in `interest` is ready and returns
            /// what was reported ready (the conditions `interest` covers).
            pub async fn ready(
                &self,
                interest: $crate::io::Interest,
            ) -> std::io::Result<$crate::io::Ready> {
                std::future::poll_fn(|cx| self.io.poll_ready_for(cx, interest)).await
            }

            /// The poll form of `readable`, for hand-written futures. Only
            /// the waker of the latest call is kept per task direction, as
            /// with tokio's `poll_read_ready`.
            pub fn poll_read_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io.poll_read_ready(cx)
            }

            /// The poll form of `writable`.
            pub fn poll_write_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io.poll_write_ready(cx)
            }
        }
    };
}

/// The non-waiting operations of a stream socket (`try_read`, `try_write`
/// and their vectored forms) and the vectored write the `AsyncWrite` impls
/// use. The socket's mio type must implement `Read` for `&Self`.
macro_rules! impl_stream_try {
    ($ty:ty) => {
        impl $ty {
            /// Reads what is already received into `buf`, never waiting:
            /// `Ok(0)` is end of stream (or an empty `buf`), and
            /// `WouldBlock` means nothing is there yet; await `readable()`
            /// and try again.
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                use std::io::Read;
                self.io.try_read_with(|mut socket| socket.read(buf))
            }

            /// `try_read` into several buffers in one `readv`.
            pub fn try_read_vectored(
                &self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                use std::io::Read;
                self.io
                    .try_read_with(|mut socket| socket.read_vectored(bufs))
            }

            /// Writes what fits in the send buffer now, never waiting:
            /// `WouldBlock` means the buffer is full; await `writable()`.
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                use std::os::fd::AsFd;
                self.io
                    .try_write_with(|socket| super::sys::send(socket.as_fd(), buf))
            }

            /// `try_write` of several buffers in one `sendmsg` (a `writev`).
            pub fn try_write_vectored(
                &self,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::io::Result<usize> {
                use std::os::fd::AsFd;
                self.io
                    .try_write_with(|socket| super::sys::send_vectored(socket.as_fd(), bufs))
            }

            /// A vectored write, for both `AsyncWrite` impls and the write
            /// half: one `sendmsg` for all the buffers.
            pub(super) fn poll_send_vectored(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                use std::os::fd::AsFd;
                let len = bufs
                    .iter()
                    .take(super::sys::MAX_IOVECS)
                    .map(|buf| buf.len())
                    .sum();
                self.io.poll_write_stream(cx, len, |socket| {
                    super::sys::send_vectored(socket.as_fd(), bufs)
                })
            }
        }
    };
}

mod accept;
mod split;
mod sys;
mod tcp_listener;
mod tcp_socket;
mod tcp_stream;
mod udp;
mod unix;
mod unix_datagram;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError, Split};
pub use tcp_listener::TcpListener;
pub use tcp_socket::TcpSocket;
pub use tcp_stream::TcpStream;
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};
pub use unix_datagram::UnixDatagram;

/// The result of `shutdown(2)` on a stream, with `NotConnected` counted as
/// done: the kernel says that when the peer has reset the connection, and
/// a connection that is gone has nothing left to shut down (tokio does the
/// same). Closing a stream after a reset is then not an error for the
/// stream, its `close()`, or its write half.
fn shutdown_result(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        result => result,
    }
}

/// The addresses `addr` names, in the resolver's order; an error if none.
fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to no socket address",
        ));
    }
    Ok(addrs)
}

/// Tries `f` on each address in turn; the first success, or the last error.
async fn try_each<T, F, Fut>(addr: impl ToSocketAddrs, mut f: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut last_error = None;
    for addr in resolve(addr)? {
        match f(addr).await {
            Ok(value) => return Ok(value),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.expect("resolve returns at least one address"))
}

// Every socket type may be moved to (and dropped on) another thread, and
// shared by reference: a compile-time check, as async-executor does.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<TcpListener>();
    send_sync::<TcpStream>();
    send_sync::<UdpSocket>();
    send_sync::<UnixListener>();
    send_sync::<UnixStream>();
    send_sync::<UnixDatagram>();
    send_sync::<TcpSocket>();
    send_sync::<OwnedReadHalf>();
    send_sync::<OwnedWriteHalf>();
};
