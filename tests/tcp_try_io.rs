//! Non-waiting I/O on streams: `try_read`/`try_write` (and vectored),
//! `readable`/`writable`/`ready`, `peek`, and vectored `AsyncWrite`.

mod common;

use std::io::{ErrorKind, IoSlice, IoSliceMut};
use std::time::Duration;

use evloop::io::{AsyncReadExt, AsyncWriteExt, Interest};
use evloop::net::{TcpListener, TcpStream, UnixStream};
use evloop::time::timeout;

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr"))
        .await
        .expect("connect");
    let (server, _) = listener.accept().await.expect("accept");
    (client, server)
}

#[test]
fn try_read_would_block_then_readable_waits_for_data_then_try_read_works() {
    common::with_watchdog(Duration::from_secs(20), || {
        evloop::block_on(async {
            let (client, server) = tcp_pair().await;
            let mut buf = [0; 16];
            let e = server.try_read(&mut buf).expect_err("nothing sent yet");
            assert_eq!(e.kind(), ErrorKind::WouldBlock);
            // The WouldBlock cleared the readiness: readable() really waits.
            let waited = timeout(Duration::from_millis(100), server.readable()).await;
            assert!(
                waited.is_err(),
                "readable() must wait while nothing is there"
            );
            let writer = evloop::spawn(async move {
                evloop::time::sleep(Duration::from_millis(20)).await;
                assert_eq!(client.try_write(b"hello").expect("room"), 5);
                client
            });
            server.readable().await.expect("readable");
            let n = server.try_read(&mut buf).expect("data is there");
            assert_eq!(&buf[..n], b"hello");
            let e = server.try_read(&mut buf).expect_err("drained");
            assert_eq!(e.kind(), ErrorKind::WouldBlock);
            drop(writer.await.expect("writer"));
            server.readable().await.expect("end of stream is readable");
            assert_eq!(server.try_read(&mut buf).expect("eof"), 0);
        })
    });
}

#[test]
fn vectored_try_io_moves_several_buffers_in_one_call() {
    evloop::block_on(async {
        let (client, server) = tcp_pair().await;
        let n = client
            .try_write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cde")])
            .expect("room");
        assert_eq!(n, 5);
        server.readable().await.expect("readable");
        let (mut a, mut b) = ([0; 3], [0; 8]);
        let mut got = 0;
        while got < 5 {
            match server.try_read_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)])
            {
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    server.readable().await.expect("readable")
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!((&a, &b[..2]), (b"abc", &b"de"[..]));
    });
}

#[test]
fn write_vectored_goes_out_in_one_sendmsg_through_async_write() {
    evloop::block_on(async {
        let (mut client, mut server) = tcp_pair().await;
        let bufs = [
            IoSlice::new(b"one "),
            IoSlice::new(b"two "),
            IoSlice::new(b"three"),
        ];
        let n = std::future::poll_fn(|cx| {
            futures::io::AsyncWrite::poll_write_vectored(std::pin::Pin::new(&mut client), cx, &bufs)
        })
        .await
        .expect("write");
        assert_eq!(n, 13, "every buffer taken by one call");
        client.close().await.expect("close");
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.expect("read");
        assert_eq!(got, b"one two three");
    });
}

#[test]
fn try_write_fills_the_buffer_then_would_block_then_writable_after_the_peer_reads() {
    common::with_watchdog(Duration::from_secs(30), || {
        evloop::block_on(async {
            let (client, mut server) = tcp_pair().await;
            let chunk = vec![7u8; 64 * 1024];
            let mut sent = 0usize;
            loop {
                match client.try_write(&chunk) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            assert!(sent > 0);
            let waited = timeout(Duration::from_millis(100), client.writable()).await;
            assert!(waited.is_err(), "writable() waits while the buffer is full");
            let reader = evloop::spawn(async move {
                let mut buf = vec![0; 64 * 1024];
                let mut total = 0;
                while total < sent {
                    total += server.read(&mut buf).await.expect("read");
                }
                total
            });
            timeout(Duration::from_secs(10), client.writable())
                .await
                .expect("room after the peer reads")
                .expect("writable");
            assert!(client.try_write(b"x").expect("room") == 1);
            assert!(reader.await.expect("reader") >= sent);
        })
    });
}

#[test]
fn ready_reports_the_directions_asked_for() {
    evloop::block_on(async {
        let (client, server) = tcp_pair().await;
        let ready = client.ready(Interest::WRITABLE).await.expect("ready");
        assert!(ready.is_writable() && !ready.is_readable());
        let mut buf = [0; 4];
        assert_eq!(
            server.try_read(&mut buf).map_err(|e| e.kind()),
            Err(ErrorKind::WouldBlock)
        );
        client.try_write(b"hi").expect("write");
        let ready = timeout(
            Duration::from_secs(5),
            server.ready(Interest::READABLE | Interest::WRITABLE),
        )
        .await
        .expect("in time")
        .expect("ready");
        assert!(ready.is_writable());
        let ready = server.ready(Interest::READABLE).await.expect("ready");
        assert!(ready.is_readable());
        drop(client);
        loop {
            match server.try_read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    let r = server.ready(Interest::READABLE).await.expect("ready");
                    assert!(r.is_readable());
                }
                Err(e) => panic!("{e}"),
            }
        }
        // Let the loop poll, so that the FIN's event reaches the cache.
        evloop::time::sleep(Duration::from_millis(50)).await;
        let r = server.ready(Interest::READABLE).await.expect("ready");
        assert!(r.is_read_closed(), "the peer's close is reported: {r:?}");
    });
}

#[test]
fn poll_read_ready_is_pending_until_data_arrives() {
    evloop::block_on(async {
        let (client, server) = tcp_pair().await;
        let mut buf = [0; 4];
        let _ = server.try_read(&mut buf);
        let mut polled_pending = false;
        std::future::poll_fn(|cx| {
            if !polled_pending {
                polled_pending = true;
                assert!(server.poll_read_ready(cx).is_pending());
                client.try_write(b"x").expect("write");
                return std::task::Poll::Pending;
            }
            server.poll_read_ready(cx)
        })
        .await
        .expect("ready");
        assert!(
            client
                .poll_write_ready(&mut std::task::Context::from_waker(std::task::Waker::noop()))
                .is_ready()
        );
    });
}

#[test]
fn peek_leaves_the_bytes_for_the_next_read() {
    evloop::block_on(async {
        let (mut client, mut server) = tcp_pair().await;
        client.write_all(b"peekaboo").await.expect("write");
        let mut buf = [0; 4];
        assert_eq!(server.peek(&mut buf).await.expect("peek"), 4);
        assert_eq!(&buf, b"peek");
        let mut all = [0; 8];
        server.read_exact(&mut all).await.expect("read");
        assert_eq!(&all, b"peekaboo");
    });
}

#[test]
fn unix_streams_have_the_same_non_waiting_io() {
    evloop::block_on(async {
        let (a, mut b) = UnixStream::pair().expect("pair");
        let mut buf = [0; 8];
        assert_eq!(
            a.try_read(&mut buf).map_err(|e| e.kind()),
            Err(ErrorKind::WouldBlock)
        );
        assert!(
            timeout(Duration::from_millis(50), a.readable())
                .await
                .is_err()
        );
        b.write_all(b"unix").await.expect("write");
        a.readable().await.expect("readable");
        assert_eq!(a.peek(&mut buf).await.expect("peek"), 4);
        assert_eq!(a.try_read(&mut buf).expect("read"), 4);
        assert_eq!(&buf[..4], b"unix");
        assert_eq!(
            a.try_write_vectored(&[IoSlice::new(b"x"), IoSlice::new(b"y")])
                .expect("w"),
            2
        );
        let mut two = [0; 2];
        b.read_exact(&mut two).await.expect("read");
        assert_eq!(&two, b"xy");
    });
}

#[test]
fn try_accept_would_block_clears_readiness_so_accept_waits_then_accepts() {
    evloop::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let e = listener
            .try_accept()
            .map(drop)
            .expect_err("nobody connected");
        assert_eq!(e.kind(), ErrorKind::WouldBlock);
        assert!(
            timeout(Duration::from_millis(50), listener.accept())
                .await
                .is_err(),
            "accept waits: nobody is there"
        );
        let addr = listener.local_addr().expect("addr");
        let client = evloop::spawn(async move { TcpStream::connect(addr).await.map(drop) });
        timeout(Duration::from_secs(10), listener.accept())
            .await
            .expect("accepted in time")
            .expect("accept");
        client.await.expect("no panic").expect("connected");
    });
}
