//! `TcpListener`: accepting TCP connections.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsFd;
use std::task::{Context, Poll};

use socket2::{Domain, SockAddr, Socket, Type};

use super::accept::Reserve;
use super::tcp_stream::TcpStream;
use crate::reactor::Async;

/// The listen backlog: how many finished handshakes the kernel queues for
/// us. std and mio use 128, which a burst of a few hundred clients
/// overflows (the overflowing SYNs are dropped and retried a second later);
/// libuv's users (node) pass 511, nginx 511. Linux caps it at
/// `net.core.somaxconn` (4096 on current kernels).
const BACKLOG: i32 = 1024;

/// A TCP socket listening for connections.
///
/// ```
/// evloop::block_on(async {
///     let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let _client = evloop::net::TcpStream::connect(addr).await?;
///     let (_server_side, peer) = listener.accept().await?;
///     assert!(peer.ip().is_loopback());
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct TcpListener {
    /// The listening socket, registered with the loop.
    io: Async<mio::net::TcpListener>,
    /// The spare descriptor for running out of descriptors; see `accept.rs`.
    reserve: Reserve,
}

/// A non-blocking, close-on-exec listening socket bound to `addr`.
pub(super) fn listen(domain: Domain, addr: &SockAddr) -> io::Result<Socket> {
    listen_with(domain, addr, false)
}

/// [`listen`], optionally joining the port's `SO_REUSEPORT` group.
fn listen_with(domain: Domain, addr: &SockAddr, reuse_port: bool) -> io::Result<Socket> {
    // socket2 creates sockets with SOCK_CLOEXEC.
    let socket = Socket::new(domain, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    if domain != Domain::UNIX {
        // Rebinding a port whose old connections sit in TIME_WAIT.
        socket.set_reuse_address(true)?;
    }
    if reuse_port {
        super::sys::set_reuseport(socket.as_fd(), true)?;
    }
    socket.bind(addr)?;
    socket.listen(BACKLOG)?;
    Ok(socket)
}

impl TcpListener {
    /// Binds to `addr` (port 0 picks a free port) and starts listening.
    /// Several addresses are tried in turn; see the [module docs](super) on
    /// name resolution.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        super::try_each(addr, |addr| async move {
            let socket = listen(Domain::for_address(addr), &addr.into())?;
            TcpListener::from_mio(mio::net::TcpListener::from_std(socket.into()))
        })
        .await
    }

    /// Binds like [`TcpListener::bind`], but with `SO_REUSEPORT` (and
    /// `SO_REUSEADDR`) set before `bind`, so that several listeners, one
    /// per worker thread or process, can bind the same address and port.
    ///
    /// Each listener of such a group has its *own* accept queue, and the
    /// kernel spreads incoming connections over them (on Linux by a hash of
    /// the connection's addresses and ports): one loop per core, each
    /// accepting its own share, with no lock and no wakeup shared between
    /// them. The flip side: closing one listener resets the connections
    /// still queued on it, which is why a graceful shutdown drains the
    /// queue with [`TcpListener::try_accept`] first (see
    /// [`crate::workers`]). On Linux, every socket of a group must belong
    /// to the same user.
    ///
    /// ```
    /// use evloop::net::TcpListener;
    ///
    /// evloop::block_on(async {
    ///     let first = TcpListener::bind_reuseport("127.0.0.1:0").await?;
    ///     let addr = first.local_addr()?;
    ///     let second = TcpListener::bind_reuseport(addr).await?; // same port
    ///     assert_eq!(second.local_addr()?, addr);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind_reuseport(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        super::try_each(addr, |addr| async move {
            let socket = listen_with(Domain::for_address(addr), &addr.into(), true)?;
            TcpListener::from_mio(mio::net::TcpListener::from_std(socket.into()))
        })
        .await
    }

    /// Wraps a listener made by std (or socket2, for `SO_REUSEPORT` and
    /// friends). It is switched to non-blocking mode.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::from_mio(mio::net::TcpListener::from_std(listener))
    }

    pub(super) fn from_mio(listener: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: Async::new(listener)?,
            reserve: Reserve::new(),
        })
    }

    /// Waits for a connection and accepts it.
    ///
    /// The new socket is non-blocking and close-on-exec (mio uses
    /// `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)`). When the process is out of
    /// file descriptors, waiting connections are closed rather than left to
    /// spin the loop (see `accept.rs`): this keeps waiting instead of
    /// returning `EMFILE`.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// The poll form of [`TcpListener::accept`], for hand-written futures.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, addr) = std::task::ready!(
            self.io
                .poll_read_with(cx, |listener| self.reserve.accept(|| listener.accept()))
        )?;
        Poll::Ready(Ok((TcpStream::from_mio(stream)?, addr)))
    }

    /// Deregisters the listener and gives back the std listener, still in
    /// non-blocking mode (as tokio's).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        let socket = self.io.into_inner()?;
        Ok(std::net::TcpListener::from(std::os::fd::OwnedFd::from(
            socket,
        )))
    }

    /// The IP time-to-live of the accepted connections' packets.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets the IP time-to-live (inherited by accepted connections).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// Accepts a connection the kernel has already completed, without
    /// waiting: `WouldBlock` when the accept queue is empty.
    ///
    /// This is how a server drains its listener before closing it: stop
    /// awaiting [`TcpListener::accept`], then `try_accept` until
    /// `WouldBlock`, so that clients whose handshake finished before the
    /// shutdown are served rather than reset.
    ///
    /// ```
    /// use evloop::net::{TcpListener, TcpStream};
    ///
    /// evloop::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let _client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let mut queued = 0;
    ///     loop {
    ///         match listener.try_accept() {
    ///             Ok(_connection) => queued += 1,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
    ///             Err(e) => return Err(e),
    ///         }
    ///     }
    ///     assert_eq!(queued, 1);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        // A `WouldBlock` clears the cached readiness, so that a later
        // `accept().await` waits for a fresh connection instead of spinning.
        let (stream, addr) = self
            .io
            .try_read_with(|listener| self.reserve.accept(|| listener.accept()))?;
        Ok((TcpStream::from_mio(stream)?, addr))
    }

    /// The address the listener is bound to (with the real port if you
    /// asked for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl std::os::fd::AsFd for TcpListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
