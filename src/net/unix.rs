//! `UnixListener` and `UnixStream`: stream sockets named by a file path.
//!
//! They have the shape of their TCP twins, and differ where the kernel does:
//!
//! * A Unix `connect(2)` has no handshake on the wire. It succeeds at once,
//!   or, when the listener's backlog is full, fails with `EAGAIN`, and no
//!   readiness event will say when to retry. `connect` then finishes the
//!   job with a blocking `connect` on the blocking pool, which waits in the
//!   kernel until the listener makes room.
//! * Writing to a closed peer raises `SIGPIPE` just as with TCP, and std's
//!   `UnixStream` writes with plain `write(2)`, so evloop sends with
//!   `MSG_NOSIGNAL` (see `sys.rs`).
//! * The socket file stays behind after the listener is closed: remove it
//!   before binding the same path again.

use std::io::{self, Read};
use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

use socket2::{Domain, SockAddr, Socket, Type};

use super::accept::Reserve;
use super::split::{self, OwnedReadHalf, OwnedWriteHalf};
use super::sys;
use crate::reactor::Async;
use crate::runtime::context;

/// A connected socket2 socket as a std stream (same descriptor).
fn socket_to_std(socket: Socket) -> std::os::unix::net::UnixStream {
    std::os::unix::net::UnixStream::from(OwnedFd::from(socket))
}

/// A Unix domain socket listening for connections.
///
/// ```
/// evloop::block_on(async {
///     let path = std::env::temp_dir().join(format!("evloop-doc-{}.sock", std::process::id()));
///     let _ = std::fs::remove_file(&path);
///     let listener = evloop::net::UnixListener::bind(&path)?;
///     let _client = evloop::net::UnixStream::connect(&path).await?;
///     let (_server_side, _addr) = listener.accept().await?;
///     std::fs::remove_file(&path)
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UnixListener {
    /// The listening socket, registered with the loop.
    io: Async<mio::net::UnixListener>,
    /// The spare descriptor for running out of descriptors; see `accept.rs`.
    reserve: Reserve,
}

impl UnixListener {
    /// Creates the socket file at `path` and listens on it. Fails with
    /// `AddrInUse` if the file exists. On Linux a path starting with a NUL
    /// byte (`"\0name"`) binds a name in the abstract namespace instead: no
    /// file, and the name goes away with the socket.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let socket = super::tcp_listener::listen(Domain::UNIX, &SockAddr::unix(path)?)?;
        let listener = std::os::unix::net::UnixListener::from(OwnedFd::from(socket));
        UnixListener::from_mio(mio::net::UnixListener::from_std(listener))
    }

    /// Wraps a std listener, switching it to non-blocking mode.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        UnixListener::from_mio(mio::net::UnixListener::from_std(listener))
    }

    fn from_mio(listener: mio::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: Async::new(listener)?,
            reserve: Reserve::new(),
        })
    }

    /// Waits for a connection and accepts it; as
    /// [`TcpListener::accept`](super::TcpListener::accept), including the
    /// handling of running out of descriptors.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = self
            .io
            .read_with(|listener| self.reserve.accept(|| listener.accept()))
            .await?;
        Ok((UnixStream::from_mio(stream)?, addr))
    }

    /// Deregisters the listener and gives back the std listener, still in
    /// non-blocking mode.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        let socket = self.io.into_inner()?;
        Ok(std::os::unix::net::UnixListener::from(OwnedFd::from(
            socket,
        )))
    }

    /// The path the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

/// A connected Unix domain stream socket; the twin of
/// [`TcpStream`](super::TcpStream).
#[derive(Debug)]
pub struct UnixStream {
    /// The connected socket, registered with the loop.
    io: Async<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`. Nobody listening there gives
    /// `ConnectionRefused` (a stale socket file) or `NotFound` (no file).
    ///
    /// On Linux a path starting with a NUL byte (`"\0name"`) names a
    /// socket in the abstract namespace, which has no file, as for
    /// [`UnixListener::bind`].
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        // socket2's address, not std's: std refuses a NUL byte in a path,
        // and so the abstract names `bind` accepts.
        let addr = SockAddr::unix(path)?;
        // socket2 creates sockets with SOCK_CLOEXEC.
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        match socket.connect(&addr) {
            Ok(()) => {}
            // What mio's `connect` accepts too: the connection completes
            // later, and the writable edge says when.
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return UnixStream::connect_blocking(addr).await;
            }
            Err(e) => return Err(e),
        }
        let stream = UnixStream::from_mio(mio::net::UnixStream::from_std(socket_to_std(socket)))?;
        stream
            .io
            .write_with(|socket| {
                super::tcp_stream::connected(socket.take_error(), socket.peer_addr())
            })
            .await?;
        Ok(stream)
    }

    /// The full-backlog path of `connect`; see the module docs.
    async fn connect_blocking(addr: SockAddr) -> io::Result<UnixStream> {
        let job = move || {
            let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
            socket.connect(&addr)?;
            Ok::<_, io::Error>(socket_to_std(socket))
        };
        let handle = context::with_core(|core| core.shared.blocking.spawn(job))
            .ok_or_else(|| io::Error::other("evloop: UnixStream::connect outside of a runtime"))?;
        let stream = handle
            .await
            .map_err(|e| io::Error::other(e.to_string()))??;
        UnixStream::from_std(stream)
    }

    /// A pair of connected sockets (`socketpair(2)`).
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    /// Wraps a connected std stream, switching it to non-blocking mode.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::from_mio(mio::net::UnixStream::from_std(stream))
    }

    fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: Async::new(stream)?,
        })
    }

    /// The address of the other end (unnamed for a client socket).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The address of this end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Receives into `buf` without taking the bytes off the receive queue;
    /// waits until something is there. (tokio's `UnixStream` has no
    /// `peek`; evloop's has, as its `TcpStream` does.)
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .read_with(|socket| sys::peek(socket.as_fd(), buf))
            .await
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Deregisters the stream and gives back the std stream, still in
    /// non-blocking mode.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        let socket = self.io.into_inner()?;
        Ok(std::os::unix::net::UnixStream::from(OwnedFd::from(socket)))
    }

    /// Shuts down the read side, the write side, or both; `Ok(())` if the
    /// connection is gone already, as for [`TcpStream::shutdown`](super::TcpStream::shutdown).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        super::shutdown_result(self.io.get_ref().shutdown(how))
    }

    /// Splits the stream into owned halves; see
    /// [`TcpStream::into_split`](super::TcpStream::into_split).
    pub fn into_split(self) -> (OwnedReadHalf<UnixStream>, OwnedWriteHalf<UnixStream>) {
        split::split(self)
    }

    fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.io
            .poll_read_stream(cx, len, |mut socket| socket.read(buf))
    }

    fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_write_stream(cx, buf.len(), |socket| sys::send(socket.as_fd(), buf))
    }
}

impl split::Split for UnixStream {}

impl split::private::Duplex for UnixStream {
    fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        UnixStream::poll_recv(self, cx, buf)
    }

    fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        UnixStream::poll_send(self, cx, buf)
    }

    fn poll_send_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        UnixStream::poll_send_vectored(self, cx, bufs)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        UnixStream::shutdown(self, how)
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl_stream_io!(UnixStream);
impl_readiness!(UnixStream);
impl_stream_try!(UnixStream);
