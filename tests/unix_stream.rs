//! Unix domain stream sockets: echo, half-close, halves, errors, and a
//! connect that meets a full backlog.

mod common;

use std::io::ErrorKind;
use std::path::PathBuf;

use common::{XorShift, echo};
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{UnixListener, UnixStream};

/// A per-test directory for socket files, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("evloop-unix-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn socket(&self) -> PathBuf {
        self.0.join("s.sock")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn spawn_unix_echo_server(listener: UnixListener) {
    let _detached = evloop::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            let _detached = evloop::spawn(async move {
                let _ = echo(stream).await;
            });
        }
    });
}

#[test]
fn many_clients_get_byte_exact_echoes() {
    let dir = TempDir::new("echo");
    let path = dir.socket();
    evloop::block_on(async {
        spawn_unix_echo_server(UnixListener::bind(&path).expect("bind"));
        let clients: Vec<_> = (0..50u64)
            .map(|i| {
                let path = path.clone();
                evloop::spawn(async move {
                    let mut payload = vec![0; 1 + (i as usize * 7919) % (300 * 1024)];
                    XorShift(i + 1).fill(&mut payload);
                    let stream = UnixStream::connect(&path).await.expect("connect");
                    let (mut read, mut write) = stream.into_split();
                    let sent = payload.clone();
                    let writer = evloop::spawn(async move {
                        write.write_all(&sent).await.expect("write");
                        write.close().await.expect("close");
                    });
                    let mut echoed = Vec::new();
                    read.read_to_end(&mut echoed).await.expect("read");
                    writer.await.expect("writer");
                    assert!(echoed == payload, "client {i}");
                })
            })
            .collect();
        for client in clients {
            client.await.expect("client");
        }
    });
}

#[test]
fn half_close_gets_the_whole_echo_then_eof() {
    let dir = TempDir::new("half-close");
    let path = dir.socket();
    evloop::block_on(async {
        spawn_unix_echo_server(UnixListener::bind(&path).expect("bind"));
        let mut stream = UnixStream::connect(&path).await.expect("connect");
        stream.write_all(b"half").await.expect("write");
        stream
            .shutdown(std::net::Shutdown::Write)
            .expect("shutdown");
        let mut echoed = Vec::new();
        stream.read_to_end(&mut echoed).await.expect("read");
        assert_eq!(echoed, b"half");
    });
}

#[test]
fn connecting_to_nothing_fails_cleanly() {
    let dir = TempDir::new("refused");
    let path = dir.socket();
    evloop::block_on(async {
        let error = UnixStream::connect(&path).await.expect_err("no file");
        assert_eq!(error.kind(), ErrorKind::NotFound);
        // A socket file whose listener is gone.
        drop(UnixListener::bind(&path).expect("bind"));
        let error = UnixStream::connect(&path).await.expect_err("stale file");
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
        // ... which also blocks binding the path again.
        let error = UnixListener::bind(&path).expect_err("file exists");
        assert_eq!(error.kind(), ErrorKind::AddrInUse);
    });
}

#[test]
fn a_full_backlog_makes_connect_wait_until_the_server_accepts() {
    let dir = TempDir::new("backlog");
    let path = dir.socket();
    // A listener with a backlog of 1, made with socket2.
    let socket =
        socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(&socket2::SockAddr::unix(&path).expect("addr"))
        .expect("bind");
    socket.listen(1).expect("listen");
    let std_listener = std::os::unix::net::UnixListener::from(std::os::fd::OwnedFd::from(socket));
    evloop::block_on(async {
        let listener = UnixListener::from_std(std_listener).expect("from_std");
        // Fill the queue (Linux queues backlog + 1).
        let mut queued = Vec::new();
        let late = loop {
            let path = path.clone();
            let connect = evloop::spawn(async move { UnixStream::connect(&path).await });
            for _ in 0..20 {
                evloop::yield_now().await;
            }
            if !connect.is_finished() {
                break connect;
            }
            queued.push(connect.await.expect("task").expect("connect"));
            assert!(queued.len() < 10, "the backlog never filled");
        };
        assert!(!queued.is_empty(), "Linux queues at least one connection");
        // The late connect waits (on the blocking pool) for room.
        std::thread::sleep(std::time::Duration::from_millis(50));
        for _ in 0..20 {
            evloop::yield_now().await;
        }
        assert!(
            !late.is_finished(),
            "connect must wait while the queue is full"
        );
        let mut accepted = Vec::new();
        for _ in 0..queued.len() + 1 {
            accepted.push(listener.accept().await.expect("accept").0);
        }
        let mut late = late.await.expect("task").expect("late connect succeeds");
        late.write_all(b"made it").await.expect("write");
        let mut buf = [0; 7];
        accepted
            .last_mut()
            .expect("accepted")
            .read_exact(&mut buf)
            .await
            .expect("read");
        assert_eq!(&buf, b"made it");
    });
}

#[test]
fn pair_and_from_std_talk() {
    evloop::block_on(async {
        let (mut a, mut b) = UnixStream::pair().expect("pair");
        a.write_all(b"ping").await.expect("write");
        let mut buf = [0; 4];
        b.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"ping");
        let (std_a, std_b) = std::os::unix::net::UnixStream::pair().expect("pair");
        let mut c = UnixStream::from_std(std_a).expect("from_std");
        let mut d = UnixStream::from_std(std_b).expect("from_std");
        c.close().await.expect("close");
        let mut rest = Vec::new();
        d.read_to_end(&mut rest).await.expect("eof");
        assert!(rest.is_empty());
        assert!(
            c.peer_addr().expect("peer").as_pathname().is_none(),
            "unnamed"
        );
    });
}

/// Linux abstract socket names start with a NUL byte and have no file.
#[cfg(target_os = "linux")]
#[test]
fn connect_to_an_abstract_name() {
    let name = format!("\0evloop-abstract-{}", std::process::id());
    evloop::block_on(async {
        let listener = UnixListener::bind(&name).expect("bind an abstract name");
        let server = evloop::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut buf = [0; 5];
            stream.read_exact(&mut buf).await.expect("read");
            stream.write_all(&buf).await.expect("write");
        });
        let mut client = UnixStream::connect(&name)
            .await
            .expect("connect to an abstract name");
        client.write_all(b"hello").await.expect("write");
        let mut buf = [0; 5];
        client.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"hello");
        server.await.expect("server task");
        // Nobody there: refused, not an invalid-input error.
        let nobody = format!("\0evloop-abstract-nobody-{}", std::process::id());
        let error = UnixStream::connect(&nobody)
            .await
            .expect_err("nobody listens");
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
    });
}
