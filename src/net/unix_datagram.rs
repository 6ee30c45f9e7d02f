//! `UnixDatagram`: datagrams between processes on one machine.
//!
//! A Unix datagram socket keeps message boundaries like UDP, but it is
//! addressed by a file path (or not at all: an unbound socket, or one end of
//! a `socketpair`), and it is reliable and ordered: the kernel never drops a
//! datagram, it makes the sender wait instead when the receiver's queue is
//! full. So unlike UDP, `send` really can wait here, for `writable`.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

use crate::reactor::Async;

/// A Unix domain datagram socket.
///
/// ```
/// evloop::block_on(async {
///     let (a, b) = evloop::net::UnixDatagram::pair()?;
///     a.send(b"hello").await?;
///     let mut buf = [0; 16];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"hello");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UnixDatagram {
    /// The socket, registered with the loop.
    io: Async<mio::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Creates the socket file at `path` and binds to it. Fails with
    /// `AddrInUse` if the file exists.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no path: it can send (to a path, or after
    /// `connect`), and receive replies only on a connected pair.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::unbound()?)
    }

    /// A pair of connected sockets (`socketpair(2)`).
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_mio(a)?, UnixDatagram::from_mio(b)?))
    }

    /// Wraps a std socket, switching it to non-blocking mode.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        UnixDatagram::from_mio(mio::net::UnixDatagram::from_std(socket))
    }

    fn from_mio(socket: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: Async::new(socket)?,
        })
    }

    /// Deregisters the socket and gives back the std socket, still in
    /// non-blocking mode.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        let socket = self.io.into_inner()?;
        Ok(std::os::unix::net::UnixDatagram::from(OwnedFd::from(
            socket,
        )))
    }

    /// Sets the default peer for `send` and `recv`. Never waits.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// Sends one datagram to the connected peer, waiting while the peer's
    /// queue is full.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.write_with(|socket| socket.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.read_with(|socket| socket.recv(buf)).await
    }

    /// Sends one datagram to the socket bound at `path`.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.io.write_with(|socket| socket.send_to(buf, path)).await
    }

    /// Receives one datagram and its sender's address.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.read_with(|socket| socket.recv_from(buf)).await
    }

    /// Receives the next datagram without taking it off the queue.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .read_with(|socket| super::sys::peek(socket.as_fd(), buf))
            .await
    }

    /// Sends to the connected peer if there is room now, never waiting.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write_with(|socket| socket.send(buf))
    }

    /// Sends to the socket at `path` if there is room now, never waiting.
    pub fn try_send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.io.try_write_with(|socket| socket.send_to(buf, path))
    }

    /// Receives a queued datagram, never waiting: `WouldBlock` if none.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read_with(|socket| socket.recv(buf))
    }

    /// Receives a queued datagram and its sender, never waiting.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_read_with(|socket| socket.recv_from(buf))
    }

    /// The address this socket is bound to (unnamed if unbound).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address (`NotConnected` if none).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down the read side, the write side, or both.
    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl_readiness!(UnixDatagram);
