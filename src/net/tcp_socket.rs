//! `TcpSocket`: a TCP socket before it is a listener or a connection.
//!
//! `TcpListener::bind` and `TcpStream::connect` create, configure and use
//! the socket in one call, with evloop's choices of options. Some options
//! must be set *before* `bind`, `listen` or `connect` to have any effect:
//! `SO_REUSEPORT` (several listeners sharing one port), the buffer sizes
//! (the TCP window scale is fixed during the handshake), binding a client
//! to a chosen local address. `TcpSocket` is the socket in that state:
//! create it, set what you need, then turn it into a [`TcpListener`] with
//! [`TcpSocket::listen`] or a [`TcpStream`] with [`TcpSocket::connect`].
//! It is tokio's `TcpSocket`, on socket2.
//!
//! ```
//! evloop::block_on(async {
//!     let socket = evloop::net::TcpSocket::new_v4()?;
//!     socket.set_reuseaddr(true)?;
//!     socket.bind("127.0.0.1:0".parse().expect("an address"))?;
//!     let listener = socket.listen(128)?;
//!     let client = evloop::net::TcpSocket::new_v4()?;
//!     let _stream = client.connect(listener.local_addr()?).await?;
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};

use socket2::{Domain, Socket, Type};

use super::{TcpListener, TcpStream};

/// A TCP socket that is neither listening nor connected yet: create it, set
/// the options that only count before `bind`/`listen`/`connect`
/// (`SO_REUSEPORT`, buffer sizes, a client's local address), then make it a
/// [`TcpListener`] with [`TcpSocket::listen`] or a [`TcpStream`] with
/// [`TcpSocket::connect`]. tokio's `TcpSocket`, on socket2.
#[derive(Debug)]
pub struct TcpSocket {
    /// The socket: non-blocking and close-on-exec from creation.
    inner: Socket,
}

impl TcpSocket {
    /// A new IPv4 TCP socket. Needs no runtime until `listen`/`connect`.
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// A new IPv6 TCP socket.
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        // socket2 creates sockets with SOCK_CLOEXEC.
        let inner = Socket::new(domain, Type::STREAM, None)?;
        inner.set_nonblocking(true)?;
        Ok(TcpSocket { inner })
    }

    /// Sets `SO_REUSEADDR`: bind a port whose old connections are still in
    /// `TIME_WAIT`.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuseaddr)
    }

    /// Whether `SO_REUSEADDR` is set.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    /// Sets `SO_REUSEPORT`: several sockets, each with it set, may bind the
    /// same address, and the kernel spreads connections between them.
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        super::sys::set_reuseport(self.inner.as_fd(), reuseport)
    }

    /// Whether `SO_REUSEPORT` is set.
    pub fn reuseport(&self) -> io::Result<bool> {
        super::sys::reuseport(self.inner.as_fd())
    }

    /// Asks for a send buffer of `size` bytes (`SO_SNDBUF`). Linux doubles
    /// the value for its bookkeeping and clamps it, so the getter reports
    /// what the kernel chose, not what was asked.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(buffer_size(size)?)
    }

    /// The send buffer size the kernel uses.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner.send_buffer_size().map(saturate)
    }

    /// Asks for a receive buffer of `size` bytes (`SO_RCVBUF`); as
    /// [`TcpSocket::set_send_buffer_size`].
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(buffer_size(size)?)
    }

    /// The receive buffer size the kernel uses.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner.recv_buffer_size().map(saturate)
    }

    /// Sets `TCP_NODELAY` on the future connection.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.tcp_nodelay()
    }

    /// Sets `SO_LINGER`; see [`TcpStream::set_linger`].
    pub fn set_linger(&self, linger: Option<std::time::Duration>) -> io::Result<()> {
        self.inner.set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    pub fn linger(&self) -> io::Result<Option<std::time::Duration>> {
        self.inner.linger()
    }

    /// Binds to `addr`: the listening address, or a client's local address.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&addr.into())
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("a TCP socket with a non-IP address"))
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Starts listening, with a queue of at most `backlog` finished
    /// handshakes (the kernel caps it at `net.core.somaxconn`). Must be
    /// called inside a runtime: the listener registers with its loop.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self.inner.listen(backlog)?;
        TcpListener::from_mio(mio::net::TcpListener::from(OwnedFd::from(self.inner)))
    }

    /// Connects to `addr` and waits for the handshake to finish. Nobody
    /// listening gives [`io::ErrorKind::ConnectionRefused`].
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        match self.inner.connect(&addr.into()) {
            Ok(()) => {}
            // The handshake goes on in the kernel; see `TcpStream::connect`.
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let stream = TcpStream::from_mio(mio::net::TcpStream::from(OwnedFd::from(self.inner)))?;
        stream.wait_connected().await?;
        Ok(stream)
    }

    /// Wraps a std stream's socket (not yet connected, say, made with
    /// other means), switching it to non-blocking mode.
    pub fn from_std_stream(stream: std::net::TcpStream) -> TcpSocket {
        let inner = Socket::from(OwnedFd::from(stream));
        // Best effort, as tokio's: a socket that cannot be switched fails
        // later with a clear error from its first operation.
        let _ = inner.set_nonblocking(true);
        TcpSocket { inner }
    }
}

fn buffer_size(size: u32) -> io::Result<usize> {
    usize::try_from(size).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "buffer size"))
}

fn saturate(size: usize) -> u32 {
    u32::try_from(size).unwrap_or(u32::MAX)
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.inner.as_fd()
    }
}
