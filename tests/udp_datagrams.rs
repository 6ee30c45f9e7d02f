//! UDP: datagram boundaries, connected sockets, ICMP errors, waiting.

use std::io::ErrorKind;

use evloop::net::UdpSocket;

#[test]
fn send_to_and_recv_from_keep_datagram_boundaries() {
    evloop::block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.expect("bind a");
        let b = UdpSocket::bind("127.0.0.1:0").await.expect("bind b");
        let b_addr = b.local_addr().expect("addr");
        for message in [&b"one"[..], b"two!", b""] {
            assert_eq!(
                a.send_to(message, b_addr).await.expect("send"),
                message.len()
            );
        }
        let mut buf = [0; 64];
        for message in [&b"one"[..], b"two!", b""] {
            let (n, from) = b.recv_from(&mut buf).await.expect("recv");
            assert_eq!(&buf[..n], message);
            assert_eq!(from, a.local_addr().expect("addr"));
        }
    });
}

#[test]
fn a_short_buffer_truncates_the_datagram() {
    evloop::block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let b = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        a.send_to(b"0123456789", b.local_addr().expect("addr"))
            .await
            .expect("send");
        a.send_to(b"next", b.local_addr().expect("addr"))
            .await
            .expect("send");
        let mut small = [0; 4];
        let (n, _) = b.recv_from(&mut small).await.expect("recv");
        assert_eq!(&small[..n], b"0123", "the rest of the datagram is lost");
        let (n, _) = b.recv_from(&mut small).await.expect("recv");
        assert_eq!(&small[..n], b"next");
    });
}

#[test]
fn recv_waits_for_a_datagram_from_another_task() {
    evloop::block_on(async {
        let server = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let echo = evloop::spawn(async move {
            let mut buf = [0; 1500];
            for _ in 0..1000 {
                let (n, from) = server.recv_from(&mut buf).await.expect("recv");
                server.send_to(&buf[..n], from).await.expect("send");
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        client.connect(addr).await.expect("connect");
        assert_eq!(client.peer_addr().expect("peer"), addr);
        let mut buf = [0; 1500];
        for i in 0..1000u32 {
            client.send(&i.to_le_bytes()).await.expect("send");
            let n = client.recv(&mut buf).await.expect("recv");
            assert_eq!(&buf[..n], &i.to_le_bytes());
        }
        echo.await.expect("echo task");
    });
}

#[test]
fn a_connected_socket_ignores_other_senders() {
    evloop::block_on(async {
        let peer = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let stranger = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        socket
            .connect(peer.local_addr().expect("addr"))
            .await
            .expect("connect");
        let addr = socket.local_addr().expect("addr");
        stranger.send_to(b"stranger", addr).await.expect("send");
        peer.send_to(b"peer", addr).await.expect("send");
        let mut buf = [0; 16];
        let n = socket.recv(&mut buf).await.expect("recv");
        assert_eq!(&buf[..n], b"peer");
    });
}

#[test]
fn sending_to_a_closed_port_reports_connection_refused() {
    evloop::block_on(async {
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let closed_addr = closed.local_addr().expect("addr");
        drop(closed);
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        socket.connect(closed_addr).await.expect("connect");
        socket
            .send(b"anyone?")
            .await
            .expect("the first send goes out");
        // The ICMP "port unreachable" comes back as a pending socket error,
        // which the next receive reports; it must not hang.
        let mut buf = [0; 16];
        let error = socket.recv(&mut buf).await.expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn an_unconnected_socket_has_no_peer() {
    evloop::block_on(async {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        assert_eq!(
            socket.peer_addr().expect_err("none").kind(),
            ErrorKind::NotConnected
        );
        let error = socket.send(b"where to?").await.expect_err("no peer");
        assert_eq!(error.raw_os_error(), Some(libc::EDESTADDRREQ), "{error:?}");
        let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let wrapped = UdpSocket::from_std(std_socket).expect("from_std");
        assert!(wrapped.local_addr().expect("addr").ip().is_loopback());
    });
}
