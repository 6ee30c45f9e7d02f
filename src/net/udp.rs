//! `UdpSocket`: datagrams.
//!
//! UDP has no connection and no stream: each `send_to` is one datagram,
//! each `recv_from` returns one (cut to the buffer's size if it is too
//! small). "Connecting" a UDP socket only fixes its default peer, so that
//! `send` and `recv` can leave out the address and datagrams from anyone
//! else are dropped by the kernel.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

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

    /// Receives one datagram from the connected peer if one is queued,
    /// never waiting: `WouldBlock` if none (await `readable()`).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read_with(|socket| socket.recv(buf))
    }

    /// Receives one queued datagram and its sender, never waiting.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_read_with(|socket| socket.recv_from(buf))
    }

    /// Sends one datagram to the connected peer if the send buffer has
    /// room, never waiting: `WouldBlock` if not (await `writable()`).
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write_with(|socket| socket.send(buf))
    }

    /// Sends one datagram to `target`, never waiting.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_write_with(|socket| socket.send_to(buf, target))
    }

    /// Receives the next datagram from the connected peer without taking
    /// it off the queue; waits until one is there.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.read_with(|socket| socket.peek(buf)).await
    }

    /// Receives the next datagram and its sender without taking it off
    /// the queue; waits until one is there.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.read_with(|socket| socket.peek_from(buf)).await
    }

    /// Whether `SO_BROADCAST` is set.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Sets `SO_BROADCAST`: whether datagrams may go to a broadcast address.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// The IP time-to-live of the datagrams this socket sends.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets the IP time-to-live of the datagrams this socket sends.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// Whether multicast datagrams this socket sends loop back to local
    /// sockets (IPv4).
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_LOOP`.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v4(on)
    }

    /// The time-to-live of multicast datagrams (IPv4; 1 by default: they
    /// stay on the local network).
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.get_ref().multicast_ttl_v4()
    }

    /// Sets `IP_MULTICAST_TTL`.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// Whether multicast datagrams loop back (IPv6).
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v6()
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v6(on)
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with
    /// address `interface` (`UNSPECIFIED` lets the kernel choose).
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(&multiaddr, &interface)
    }

    /// Leaves a group joined with [`UdpSocket::join_multicast_v4`].
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(&multiaddr, &interface)
    }

    /// Joins the IPv6 multicast group `multiaddr` on the interface with
    /// index `interface` (0 lets the kernel choose).
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves a group joined with [`UdpSocket::join_multicast_v6`].
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(multiaddr, interface)
    }

    /// Takes the socket's pending error (`SO_ERROR`), such as an ICMP
    /// "port unreachable" for an earlier datagram.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Deregisters the socket and gives back the std socket, still in
    /// non-blocking mode (as tokio's).
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        let socket = self.io.into_inner()?;
        Ok(std::net::UdpSocket::from(std::os::fd::OwnedFd::from(
            socket,
        )))
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

impl_readiness!(UdpSocket);
