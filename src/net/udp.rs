//! `UdpSocket`: datagrams.
//!
//! UDP has no connection and no stream: each `send_to` is one datagram,
//! each `recv_from` returns one (cut to the buffer's size if it is too
//! small). "Connecting" a UDP socket only fixes its default peer, so that
//! `send` and `recv` can leave out the address and datagrams from anyone
//! else are dropped by the kernel.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use crate::reactor::Async;

/// A UDP socket.
///
/// ```
/// evloop::block_on(async {
///     let a = evloop::net::UdpSocket::bind("127.0.0.1:0").await?;
///     let b = evloop::net::UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"hello", b.local_addr()?).await?;
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"hello"[..], a.local_addr()?));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    /// The socket, registered with the loop.
    io: Async<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` (port 0 picks a free port), trying each address it
    /// resolves to in turn.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        super::try_each(addr, |addr| async move {
            // Non-blocking and close-on-exec (mio's socket()).
            let socket = mio::net::UdpSocket::bind(addr)?;
            Ok(UdpSocket {
                io: Async::new(socket)?,
            })
        })
        .await
    }

    /// Wraps a std socket, switching it to non-blocking mode.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: Async::new(mio::net::UdpSocket::from_std(socket))?,
        })
    }

    /// Sends one datagram to `target` (the first address it resolves to);
    /// resolves to the number of bytes sent.
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = super::resolve(target)?[0];
        self.io
            .write_with(|socket| socket.send_to(buf, target))
            .await
    }

    /// Receives one datagram; resolves to its length and its sender.
    ///
    /// Any number of tasks may receive on one socket at once: each datagram
    /// goes to one of them, and a receive dropped early (a timeout) strands
    /// no other.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.read_with(|socket| socket.recv_from(buf)).await
    }

    /// Sets the default peer for [`UdpSocket::send`] and
    /// [`UdpSocket::recv`] (the first address `addr` resolves to that the
    /// kernel accepts). Datagrams from other addresses are then dropped.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        // connect(2) on UDP only records the peer: it never blocks.
        super::try_each(addr, |addr| async move { self.io.get_ref().connect(addr) }).await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// If an earlier datagram drew an ICMP "port unreachable", this (or
    /// `recv`) fails with [`io::ErrorKind::ConnectionRefused`].
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.write_with(|socket| socket.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.read_with(|socket| socket.recv(buf)).await
    }

    /// The address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address (`NotConnected` if none).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }
}

impl std::os::fd::AsFd for UdpSocket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
