//! A peer that resets its connection: the server's I/O fails with an error,
//! never a panic or a SIGPIPE, and the server goes on serving others.
//!
//! This test binary restores SIGPIPE's default action (kill the process),
//! which Rust's runtime normally sets to "ignore": if any write raised the
//! signal, the whole binary would die and the test fail.

mod common;

use std::io::Read;
use std::os::fd::AsRawFd;

use common::{XorShift, round_trip, spawn_echo_server};
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::TcpListener;

fn restore_default_sigpipe() {
    // SAFETY: setting a signal disposition to SIG_DFL installs no handler
    // code; it is async-signal-safe and affects only signal delivery.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR);
}

/// SO_LINGER with a zero timeout: close() sends RST instead of FIN.
fn set_linger_zero(fd: &impl AsRawFd) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `linger` is a valid `struct linger` that outlives the call,
    // and its size is passed as the option length.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt(SO_LINGER)");
}

#[test]
fn writing_to_a_reset_peer_is_an_error_and_the_server_keeps_serving() {
    restore_default_sigpipe();
    evloop::block_on(async {
        let echo_addr = spawn_echo_server().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(addr).expect("connect");
            let mut some = [0; 1000];
            stream.read_exact(&mut some).expect("the server writes");
            set_linger_zero(&stream);
            drop(stream); // RST
        });
        let (mut stream, _) = listener.accept().await.expect("accept");
        let chunk = vec![7u8; 64 * 1024];
        let mut written = 0usize;
        let error = loop {
            match stream.write_all(&chunk).await {
                Ok(()) => written += chunk.len(),
                Err(error) => break error,
            }
            assert!(written < 1 << 30, "a reset peer must stop the writes");
        };
        client.join().expect("client thread");
        assert!(
            matches!(
                error.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "unexpected error {error:?}"
        );
        // Writing again keeps failing (EPIPE), still without a signal.
        assert!(stream.write_all(b"more").await.is_err());

        // The rest of the server is unaffected.
        let mut payload = vec![0; 200_000];
        XorShift(3).fill(&mut payload);
        let echoed = round_trip(echo_addr, payload.clone()).await.expect("echo");
        assert!(echoed == payload);
    });
}

#[test]
fn reading_from_a_reset_peer_is_connection_reset() {
    restore_default_sigpipe();
    evloop::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = std::thread::spawn(move || {
            let stream = std::net::TcpStream::connect(addr).expect("connect");
            set_linger_zero(&stream);
            drop(stream);
        });
        let (mut stream, _) = listener.accept().await.expect("accept");
        client.join().expect("client thread");
        let mut buf = [0; 16];
        let error = stream.read(&mut buf).await.expect_err("reset");
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
    });
}

/// A server-side stream whose client has reset the connection, with the
/// reset already seen by a read.
async fn reset_stream(listener: &TcpListener) -> evloop::net::TcpStream {
    let addr = listener.local_addr().expect("addr");
    let client = std::thread::spawn(move || {
        let stream = std::net::TcpStream::connect(addr).expect("connect");
        set_linger_zero(&stream);
        drop(stream);
    });
    let (mut stream, _) = listener.accept().await.expect("accept");
    client.join().expect("client thread");
    let mut buf = [0; 16];
    let error = stream.read(&mut buf).await.expect_err("reset");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
    stream
}

#[test]
fn close_after_peer_reset_is_ok() {
    restore_default_sigpipe();
    evloop::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        // The stream: `close()` (AsyncWrite) and `shutdown()` itself.
        let mut stream = reset_stream(&listener).await;
        stream
            .close()
            .await
            .expect("closing a reset stream is done, not an error");
        stream
            .shutdown(std::net::Shutdown::Both)
            .expect("nothing left to shut down");
        // The write half of a split stream.
        let (_read, mut write) = reset_stream(&listener).await.into_split();
        write.close().await.expect("closing a reset write half");
    });
}
