//! Connecting: refused ports, several candidate addresses, misuse.

mod common;

use std::io::ErrorKind;
use std::net::SocketAddr;

use evloop::net::{TcpListener, TcpStream};

/// An address on which nothing listens: a port we bound, then released.
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

#[test]
fn connect_to_a_closed_port_is_connection_refused() {
    evloop::block_on(async {
        let error = TcpStream::connect(closed_port())
            .await
            .expect_err("nothing listens");
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn connect_tries_each_address_in_turn() {
    evloop::block_on(async {
        let addr = common::spawn_echo_server().await;
        let candidates = [closed_port(), addr];
        let stream = TcpStream::connect(&candidates[..])
            .await
            .expect("second works");
        assert_eq!(stream.peer_addr().expect("peer"), addr);
        let all_closed = [closed_port(), closed_port()];
        let error = TcpStream::connect(&all_closed[..]).await.expect_err("none");
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "the last error");
    });
}

#[test]
fn an_empty_address_list_is_invalid_input() {
    evloop::block_on(async {
        let none: &[SocketAddr] = &[];
        let error = TcpStream::connect(none).await.expect_err("no address");
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        let error = TcpListener::bind(none).await.expect_err("no address");
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn binding_a_port_in_use_is_addr_in_use() {
    evloop::block_on(async {
        let first = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = first.local_addr().expect("addr");
        let error = TcpListener::bind(addr).await.expect_err("taken");
        assert_eq!(error.kind(), ErrorKind::AddrInUse);
    });
}

#[test]
fn from_std_accepts_and_connects() {
    evloop::block_on(async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = std_listener.local_addr().expect("addr");
        let listener = TcpListener::from_std(std_listener).expect("from_std");
        let std_client = std::net::TcpStream::connect(addr).expect("connect");
        let client = TcpStream::from_std(std_client).expect("from_std");
        let (server_side, peer) = listener.accept().await.expect("accept");
        assert_eq!(peer, client.local_addr().expect("local"));
        assert_eq!(server_side.peer_addr().expect("peer"), peer);
    });
}

#[test]
fn sockets_outside_a_runtime_are_an_error_not_a_panic() {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let error = TcpListener::from_std(std_listener).expect_err("no runtime");
    assert!(
        error.to_string().contains("outside of a runtime"),
        "{error}"
    );
}
