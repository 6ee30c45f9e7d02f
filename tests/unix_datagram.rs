//! `UnixDatagram`: paths, pairs, non-waiting send/recv, and waiting.

use std::io::ErrorKind;
use std::time::Duration;

use evloop::net::UnixDatagram;
use evloop::time::timeout;

fn temp_path(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("evloop-{name}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn send_to_a_path_and_recv_from_with_the_senders_address() {
    evloop::block_on(async {
        let (server_path, client_path) = (temp_path("dg-server"), temp_path("dg-client"));
        let server = UnixDatagram::bind(&server_path).expect("bind");
        let client = UnixDatagram::bind(&client_path).expect("bind");
        client.send_to(b"ping", &server_path).await.expect("send");
        let mut buf = [0; 16];
        let (n, from) = server.recv_from(&mut buf).await.expect("recv");
        assert_eq!(&buf[..n], b"ping");
        assert_eq!(from.as_pathname(), Some(client_path.as_path()));
        server
            .send_to(b"pong", from.as_pathname().expect("named"))
            .await
            .expect("reply");
        assert_eq!(client.recv(&mut buf).await.expect("recv"), 4);
        let e = UnixDatagram::bind(&server_path).expect_err("the file exists");
        assert_eq!(e.kind(), ErrorKind::AddrInUse);
        std::fs::remove_file(server_path).expect("rm");
        std::fs::remove_file(client_path).expect("rm");
    });
}

#[test]
fn try_recv_would_block_until_a_datagram_and_boundaries_are_kept() {
    evloop::block_on(async {
        let (a, b) = UnixDatagram::pair().expect("pair");
        let mut buf = [0; 16];
        assert_eq!(
            b.try_recv(&mut buf).map_err(|e| e.kind()),
            Err(ErrorKind::WouldBlock)
        );
        assert!(
            timeout(Duration::from_millis(50), b.readable())
                .await
                .is_err()
        );
        a.try_send(b"one").expect("send");
        a.send(b"two!").await.expect("send");
        b.readable().await.expect("readable");
        assert_eq!(b.peek(&mut buf).await.expect("peek"), 3);
        assert_eq!(b.try_recv(&mut buf).expect("one"), 3);
        let (n, _) = b.try_recv_from(&mut buf).expect("two");
        assert_eq!(&buf[..n], b"two!");
        assert_eq!(
            b.try_recv(&mut buf).map_err(|e| e.kind()),
            Err(ErrorKind::WouldBlock)
        );
    });
}

#[test]
fn a_full_peer_queue_makes_try_send_would_block_and_send_wait() {
    common_watchdog(|| {
        evloop::block_on(async {
            let (a, b) = UnixDatagram::pair().expect("pair");
            let mut sent = 0;
            loop {
                match a.try_send(&[0; 1024]) {
                    Ok(_) => sent += 1,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            assert!(sent > 0);
            assert!(
                timeout(Duration::from_millis(50), a.writable())
                    .await
                    .is_err()
            );
            // The kernel wakes writers once half the send buffer is free:
            // drain the queue (as a real receiver would).
            let mut buf = [0; 1024];
            for _ in 0..sent {
                b.recv(&mut buf).await.expect("recv");
            }
            timeout(Duration::from_secs(5), a.send(b"after"))
                .await
                .expect("room again")
                .expect("send");
        })
    });
}

#[test]
fn connect_unbound_and_into_std() {
    evloop::block_on(async {
        let path = temp_path("dg-connect");
        let server = UnixDatagram::bind(&path).expect("bind");
        let client = UnixDatagram::unbound().expect("unbound");
        client.connect(&path).expect("connect");
        assert_eq!(
            client.peer_addr().expect("peer").as_pathname(),
            Some(path.as_path())
        );
        client.send(b"x").await.expect("send");
        let server =
            UnixDatagram::from_std(server.into_std().expect("into_std")).expect("from_std");
        let mut buf = [0; 4];
        assert_eq!(server.recv(&mut buf).await.expect("recv"), 1);
        let e = UnixDatagram::unbound()
            .expect("unbound")
            .connect(temp_path("dg-nobody"))
            .expect_err("no file");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        std::fs::remove_file(path).expect("rm");
    });
}

fn common_watchdog(f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("finished in time");
}
