//! `TcpStream`: a TCP connection.
//!
//! # How a non-blocking connect completes
//!
//! A non-blocking `connect(2)` returns at once (`EINPROGRESS`) and the
//! handshake goes on in the kernel. When it ends, the socket becomes
//! *writable*, whether it succeeded or not; the verdict is in the socket's
//! pending error (`SO_ERROR`): none means connected, `ECONNREFUSED` means no
//! one listens there. So `connect` is one write-side operation, "if there
//! is an error, return it; if we have a peer, done; else `WouldBlock`", and
//! the reactor's usual machinery waits for the writable edge.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::AsFd;
use std::task::{Context, Poll};

use super::split::{self, OwnedReadHalf, OwnedWriteHalf};
use super::sys;
use crate::reactor::Async;

/// A TCP connection. Read and write it through
/// [`AsyncReadExt`](crate::io::AsyncReadExt) and
/// [`AsyncWriteExt`](crate::io::AsyncWriteExt), or any `futures-io` adapter.
///
/// `&TcpStream` implements the traits too, so one task can read while
/// another writes through a shared reference; [`TcpStream::into_split`]
/// gives owned halves for two tasks that outlive the borrow. Several tasks
/// may even read (or write) at once: readiness wakes every one of them.
/// `poll_read` has no drop point, so the waker of a task that stops
/// reading stays parked until the next readiness event (one per task).
#[derive(Debug)]
pub struct TcpStream {
    /// The connected socket, registered with the loop.
    io: Async<mio::net::TcpStream>,
}

/// Is the connection made? A write-side operation; see the module docs.
pub(super) fn connected(
    take_error: io::Result<Option<io::Error>>,
    peer: io::Result<impl Sized>,
) -> io::Result<()> {
    if let Some(error) = take_error? {
        return Err(error);
    }
    match peer {
        Ok(_) => Ok(()),
        // Still handshaking: wait for the next writable edge.
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Err(io::ErrorKind::WouldBlock.into()),
        Err(e) => Err(e),
    }
}

impl TcpStream {
    /// Connects to `addr`, trying each address it resolves to in turn.
    ///
    /// Nobody listening gives [`io::ErrorKind::ConnectionRefused`]. See the
    /// [module docs](super) on name resolution.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        super::try_each(addr, |addr| async move {
            // Non-blocking and close-on-exec from the start (mio's socket()).
            let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
            stream.wait_connected().await?;
            Ok(stream)
        })
        .await
    }

    /// Waits for a non-blocking `connect` to finish; see the module docs.
    pub(super) async fn wait_connected(&self) -> io::Result<()> {
        self.io
            .write_with(|socket| connected(socket.take_error(), socket.peer_addr()))
            .await
    }

    /// Wraps a connected std stream, switching it to non-blocking mode.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))
    }

    pub(super) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Async::new(stream)?,
        })
    }

    /// The address of the other end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The address of this end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Turns Nagle's algorithm off (`true`) or on: with it off, small
    /// writes leave at once instead of waiting to be merged.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Receives into `buf` without taking the bytes off the receive queue:
    /// the next read returns them again. Waits until something is there.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.read_with(|socket| socket.peek(buf)).await
    }

    /// The poll form of [`TcpStream::peek`].
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_read_with(cx, |socket| socket.peek(buf))
    }

    /// `SO_LINGER`: how long `close` may keep unsent data going. `None` is
    /// the default (the kernel sends it in the background); `Some(ZERO)`
    /// makes a drop reset the connection at once.
    pub fn linger(&self) -> io::Result<Option<std::time::Duration>> {
        socket2::SockRef::from(self.io.get_ref()).linger()
    }

    /// Sets `SO_LINGER`; see [`TcpStream::linger`]. Note that a non-zero
    /// linger makes the `close` in `drop` block the loop thread until the
    /// data is sent or the time is up, as in tokio.
    pub fn set_linger(&self, linger: Option<std::time::Duration>) -> io::Result<()> {
        socket2::SockRef::from(self.io.get_ref()).set_linger(linger)
    }

    /// The IP time-to-live of the packets this socket sends.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets the IP time-to-live of the packets this socket sends.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Deregisters the stream and gives back the std stream, still in
    /// non-blocking mode (as tokio's; `set_nonblocking(false)` if needed).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        let socket = self.io.into_inner()?;
        Ok(std::net::TcpStream::from(std::os::fd::OwnedFd::from(
            socket,
        )))
    }

    /// Shuts down the read side, the write side (the peer reads end of
    /// stream) or both. The socket stays open until dropped. After the peer
    /// reset the connection there is nothing to shut down: `Ok(())`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        super::shutdown_result(self.io.get_ref().shutdown(how))
    }

    /// Splits the stream into a read half and a write half that can move to
    /// different tasks. Dropping the write half shuts down the write side.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::split(self)
    }

    /// A read, for both `AsyncRead` impls and the read half.
    pub(super) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.io
            .poll_read_stream(cx, len, |mut socket| socket.read(buf))
    }

    /// A write, for both `AsyncWrite` impls and the write half. Writing to
    /// a reset connection is an error (`EPIPE`, `ECONNRESET`), never a
    /// `SIGPIPE`.
    pub(super) fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_write_stream(cx, buf.len(), |socket| sys::send(socket.as_fd(), buf))
    }
}

impl split::Split for TcpStream {}

impl split::private::Duplex for TcpStream {
    fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        TcpStream::poll_recv(self, cx, buf)
    }

    fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        TcpStream::poll_send(self, cx, buf)
    }

    fn poll_send_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        TcpStream::poll_send_vectored(self, cx, bufs)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        TcpStream::shutdown(self, how)
    }
}

impl std::os::fd::AsFd for TcpStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl_stream_io!(TcpStream);
impl_readiness!(TcpStream);
impl_stream_try!(TcpStream);
