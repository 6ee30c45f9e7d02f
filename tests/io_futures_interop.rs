//! evloop's streams with the futures crate's I/O combinators.

mod common;

use common::{XorShift, spawn_echo_server};
use evloop::net::{TcpListener, TcpStream};
use futures::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[test]
fn futures_io_copy_moves_every_byte() {
    evloop::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut payload = vec![0; 3 * 1024 * 1024 + 17];
        XorShift(11).fill(&mut payload);
        let sent = payload.clone();
        let sender = evloop::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            futures::io::copy(&mut &sent[..], &mut stream)
                .await
                .expect("copy out");
            stream.close().await.expect("close");
        });
        let (stream, _) = listener.accept().await.expect("accept");
        let mut received = futures::io::Cursor::new(Vec::new());
        let n = futures::io::copy(stream, &mut received)
            .await
            .expect("copy in");
        sender.await.expect("sender");
        assert_eq!(n as usize, payload.len());
        assert!(received.into_inner() == payload);
    });
}

#[test]
fn futures_split_reads_and_writes_concurrently() {
    evloop::block_on(async {
        let addr = spawn_echo_server().await;
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (mut reader, mut writer) = stream.split();
        let mut payload = vec![0; 2 * 1024 * 1024];
        XorShift(5).fill(&mut payload);
        let sent = payload.clone();
        let write = evloop::spawn(async move {
            writer.write_all(&sent).await.expect("write");
            writer.close().await.expect("close");
        });
        let mut echoed = Vec::new();
        reader.read_to_end(&mut echoed).await.expect("read");
        write.await.expect("writer");
        assert!(echoed == payload);
    });
}

#[test]
fn a_shared_reference_reads_and_writes() {
    // `&TcpStream` implements the traits: one task, two directions, no split.
    evloop::block_on(async {
        let addr = spawn_echo_server().await;
        let stream = TcpStream::connect(addr).await.expect("connect");
        (&stream).write_all(b"by reference").await.expect("write");
        let mut buf = [0; 12];
        (&stream).read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"by reference");
    });
}

#[test]
fn evloop_write_all_reports_write_zero() {
    use evloop::io::AsyncWriteExt;
    struct Full;
    impl futures::io::AsyncWrite for Full {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::task::Poll::Ready(Ok(0))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }
    evloop::block_on(async {
        // Named in full: the futures crate's extension traits are in scope too.
        let error = AsyncWriteExt::write_all(&mut Full, b"x")
            .await
            .expect_err("accepts nothing");
        assert_eq!(error.kind(), std::io::ErrorKind::WriteZero);
        let n = AsyncWriteExt::write(&mut Full, b"")
            .await
            .expect("empty write");
        assert_eq!(n, 0);
        AsyncWriteExt::flush(&mut Full).await.expect("flush");
    });
}

#[test]
fn evloop_read_to_end_keeps_partial_data_on_error_and_drop() {
    use evloop::io::AsyncReadExt;
    // Yields "abc", then an error.
    struct Flaky(u8);
    impl futures::io::AsyncRead for Flaky {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.0 += 1;
            std::task::Poll::Ready(match self.0 {
                1 => {
                    buf[..3].copy_from_slice(b"abc");
                    Ok(3)
                }
                _ => Err(std::io::ErrorKind::Other.into()),
            })
        }
    }
    evloop::block_on(async {
        let mut buf = b"0".to_vec();
        AsyncReadExt::read_to_end(&mut Flaky(0), &mut buf)
            .await
            .expect_err("second read fails");
        assert_eq!(buf, b"0abc", "no zeroed room is left behind");
    });
}
