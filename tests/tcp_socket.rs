//! `TcpSocket` (options before bind/listen/connect), socket options,
//! `into_std`/`from_std`, and `reunite` of owned halves.

use std::io::ErrorKind;
use std::time::Duration;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpSocket, TcpStream, UnixStream};

#[test]
fn a_socket_configured_then_listening_accepts_a_configured_client() {
    evloop::block_on(async {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        socket.set_reuseport(true).expect("reuseport");
        socket.set_recv_buffer_size(64 * 1024).expect("rcvbuf");
        assert!(socket.reuseaddr().expect("get") && socket.reuseport().expect("get"));
        assert!(socket.recv_buffer_size().expect("get") >= 64 * 1024);
        socket
            .bind("127.0.0.1:0".parse().expect("addr"))
            .expect("bind");
        let addr = socket.local_addr().expect("addr");
        let listener = socket.listen(16).expect("listen");
        assert_eq!(listener.local_addr().expect("addr"), addr);

        let client = TcpSocket::new_v4().expect("socket");
        client.set_send_buffer_size(32 * 1024).expect("sndbuf");
        client.set_nodelay(true).expect("nodelay");
        assert!(client.send_buffer_size().expect("get") >= 32 * 1024);
        let mut stream = client.connect(addr).await.expect("connect");
        assert!(stream.nodelay().expect("nodelay"));
        let (mut server, _) = listener.accept().await.expect("accept");
        stream.write_all(b"hi").await.expect("write");
        let mut buf = [0; 2];
        server.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"hi");
    });
}

#[test]
fn two_reuseport_sockets_share_a_port_and_without_it_bind_fails() {
    evloop::block_on(async {
        let a = TcpSocket::new_v4().expect("socket");
        a.set_reuseport(true).expect("reuseport");
        a.bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
        let addr = a.local_addr().expect("addr");
        let _a = a.listen(8).expect("listen");
        let b = TcpSocket::new_v4().expect("socket");
        b.set_reuseport(true).expect("reuseport");
        b.bind(addr)
            .expect("a second SO_REUSEPORT socket binds the same port");
        let _b = b.listen(8).expect("listen");
        let c = TcpSocket::new_v4().expect("socket");
        let e = c
            .bind(addr)
            .expect_err("no SO_REUSEPORT: the port is taken");
        assert_eq!(e.kind(), ErrorKind::AddrInUse);
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    evloop::block_on(async {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr");
        let socket = TcpSocket::new_v4().expect("socket");
        let e = socket.connect(port).await.expect_err("nobody listens");
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
        let v6 = TcpSocket::new_v6().expect("socket");
        assert!(
            v6.bind("127.0.0.1:0".parse().expect("addr")).is_err(),
            "v4 address on a v6 socket"
        );
    });
}

#[test]
fn stream_options_round_trip() {
    evloop::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let stream = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        stream.set_ttl(42).expect("ttl");
        assert_eq!(stream.ttl().expect("ttl"), 42);
        assert_eq!(stream.linger().expect("linger"), None);
        stream
            .set_linger(Some(Duration::from_secs(1)))
            .expect("linger");
        assert_eq!(
            stream.linger().expect("linger"),
            Some(Duration::from_secs(1))
        );
        stream.set_nodelay(true).expect("nodelay");
        assert!(stream.nodelay().expect("nodelay"));
        listener.set_ttl(7).expect("ttl");
        assert_eq!(listener.ttl().expect("ttl"), 7);
        assert!(stream.take_error().expect("take").is_none());
    });
}

#[test]
fn into_std_and_back_keeps_the_connection() {
    evloop::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let listener =
            TcpListener::from_std(listener.into_std().expect("into_std")).expect("from_std");
        let client = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        let std_client = client.into_std().expect("into_std");
        let mut client = TcpStream::from_std(std_client).expect("from_std");
        client.write_all(b"still here").await.expect("write");
        let mut server =
            TcpStream::from_std(server.into_std().expect("into_std")).expect("from_std");
        let mut buf = [0; 10];
        server.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"still here");
        let (a, _b) = UnixStream::pair().expect("pair");
        let a = UnixStream::from_std(a.into_std().expect("into_std")).expect("from_std");
        drop(a);
    });
}

#[test]
fn reunite_gives_back_the_stream_and_does_not_shut_it_down() {
    evloop::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (mut server, _) = listener.accept().await.expect("accept");
        let (read, write) = client.into_split();
        let mut client = read.reunite(write).expect("same stream");
        client
            .write_all(b"whole")
            .await
            .expect("write after reunite");
        let mut buf = [0; 5];
        server.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"whole");
        let (read, write) = client.into_split();
        let client = write.reunite(read).expect("from the write side too");
        drop(client);
    });
}

#[test]
fn reunite_of_halves_from_different_streams_is_an_error_that_gives_them_back() {
    evloop::block_on(async {
        let (a, b) = UnixStream::pair().expect("pair");
        let (a_read, a_write) = a.into_split();
        let (b_read, b_write) = b.into_split();
        let err = a_read.reunite(b_write).expect_err("different streams");
        assert!(err.to_string().contains("not from the same"), "{err}");
        let evloop::net::ReuniteError(a_read, b_write) = err;
        a_read.reunite(a_write).expect("a's own halves");
        b_read.reunite(b_write).expect("b's own halves");
    });
}
