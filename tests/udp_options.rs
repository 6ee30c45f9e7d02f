//! UDP: non-waiting send/recv, peek, options, multicast, into_std.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use evloop::net::UdpSocket;
use evloop::time::timeout;

#[test]
fn try_recv_from_would_block_then_readable_then_receives() {
    evloop::block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let b = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let mut buf = [0; 16];
        assert_eq!(
            b.try_recv_from(&mut buf).map_err(|e| e.kind()),
            Err(ErrorKind::WouldBlock)
        );
        assert!(
            timeout(Duration::from_millis(50), b.readable())
                .await
                .is_err()
        );
        a.try_send_to(b"dgram", b.local_addr().expect("addr"))
            .expect("send");
        b.readable().await.expect("readable");
        let (n, from) = b.peek_from(&mut buf).await.expect("peek");
        assert_eq!(
            (&buf[..n], from),
            (&b"dgram"[..], a.local_addr().expect("addr"))
        );
        let (n, _) = b.try_recv_from(&mut buf).expect("still queued after peek");
        assert_eq!(&buf[..n], b"dgram");

        a.connect(b.local_addr().expect("addr"))
            .await
            .expect("connect");
        b.connect(a.local_addr().expect("addr"))
            .await
            .expect("connect");
        a.try_send(b"c").expect("send");
        b.readable().await.expect("readable");
        assert_eq!(b.peek(&mut buf).await.expect("peek"), 1);
        assert_eq!(b.try_recv(&mut buf).expect("recv"), 1);
        a.writable().await.expect("writable");
    });
}

#[test]
fn options_round_trip() {
    evloop::block_on(async {
        let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        assert!(!s.broadcast().expect("get"));
        s.set_broadcast(true).expect("set");
        assert!(s.broadcast().expect("get"));
        s.set_ttl(9).expect("ttl");
        assert_eq!(s.ttl().expect("ttl"), 9);
        s.set_multicast_ttl_v4(3).expect("mttl");
        assert_eq!(s.multicast_ttl_v4().expect("mttl"), 3);
        s.set_multicast_loop_v4(false).expect("loop");
        assert!(!s.multicast_loop_v4().expect("loop"));
        assert!(s.take_error().expect("take").is_none());
        let s = UdpSocket::from_std(s.into_std().expect("into_std")).expect("from_std");
        assert_eq!(s.ttl().expect("the same socket"), 9);
    });
}

#[test]
fn multicast_v4_join_receives_the_groups_datagrams_and_leave_twice_fails() {
    evloop::block_on(async {
        let group = Ipv4Addr::new(239, 255, 42, 99);
        let receiver = UdpSocket::bind("0.0.0.0:0").await.expect("bind");
        let port = receiver.local_addr().expect("addr").port();
        if let Err(e) = receiver.join_multicast_v4(group, Ipv4Addr::LOCALHOST) {
            // A host without multicast on loopback: nothing more to test.
            eprintln!("skipping: no multicast on loopback here: {e}");
            return;
        }
        let sender = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        sender.set_multicast_loop_v4(true).expect("loop");
        // Send out of loopback, where we joined.
        socket2::SockRef::from(&sender)
            .set_multicast_if_v4(&Ipv4Addr::LOCALHOST)
            .expect("multicast if");
        sender
            .send_to(b"to the group", (group, port))
            .await
            .expect("send");
        let mut buf = [0; 32];
        let (n, _) = timeout(Duration::from_secs(5), receiver.recv_from(&mut buf))
            .await
            .expect("the group's datagram arrives")
            .expect("recv");
        assert_eq!(&buf[..n], b"to the group");
        receiver
            .leave_multicast_v4(group, Ipv4Addr::LOCALHOST)
            .expect("leave");
        assert!(
            receiver
                .leave_multicast_v4(group, Ipv4Addr::LOCALHOST)
                .is_err(),
            "not a member any more"
        );
    });
}

#[test]
fn multicast_v6_join_of_a_non_multicast_address_is_an_error() {
    evloop::block_on(async {
        let Ok(s) = UdpSocket::bind("[::1]:0").await else {
            eprintln!("skipping: no IPv6 loopback");
            return;
        };
        let e = s
            .join_multicast_v6(&Ipv6Addr::LOCALHOST, 0)
            .expect_err("not a group");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        s.set_multicast_loop_v6(true).expect("loop");
        assert!(s.multicast_loop_v6().expect("loop"));
    });
}
