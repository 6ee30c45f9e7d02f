//! `bind_reuseport` and `try_accept`: sharing a port, refusing to share a
//! port bound without the option, and draining an accept queue.

use std::io::ErrorKind;

use evloop::net::{TcpListener, TcpStream};

#[test]
fn reuseport_listeners_share_a_port_and_each_has_its_own_queue() {
    evloop::block_on(async {
        let first = TcpListener::bind_reuseport("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = first.local_addr().expect("addr");
        let second = TcpListener::bind_reuseport(addr)
            .await
            .expect("the same port");
        let mut clients = Vec::new();
        for _ in 0..32 {
            clients.push(TcpStream::connect(addr).await.expect("connect"));
        }
        let mut counts = [0usize; 2];
        for (count, listener) in counts.iter_mut().zip([&first, &second]) {
            while listener.try_accept().is_ok() {
                *count += 1;
            }
        }
        assert_eq!(
            counts[0] + counts[1],
            32,
            "every connection is in one queue"
        );
        assert!(
            counts.iter().all(|&n| n > 0),
            "the kernel spread them: {counts:?}"
        );
    });
}

#[test]
fn a_port_bound_without_reuseport_cannot_be_joined() {
    evloop::block_on(async {
        let plain = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = plain.local_addr().expect("addr");
        let error = TcpListener::bind_reuseport(addr).await.expect_err("taken");
        assert_eq!(error.kind(), ErrorKind::AddrInUse);
    });
}

#[test]
fn try_accept_on_an_empty_queue_would_block() {
    evloop::block_on(async {
        let listener = TcpListener::bind_reuseport("127.0.0.1:0")
            .await
            .expect("bind");
        let error = listener.try_accept().expect_err("nothing queued");
        assert_eq!(error.kind(), ErrorKind::WouldBlock);
        // And accept still waits and works afterwards.
        let addr = listener.local_addr().expect("addr");
        let _client = TcpStream::connect(addr).await.expect("connect");
        listener.accept().await.expect("accepted");
    });
}
