//! Writing to a Unix stream whose peer is gone is an `EPIPE` error, not a
//! SIGPIPE: std's `UnixStream` writes with plain `write(2)`, evloop's with
//! `send(MSG_NOSIGNAL)`. This binary restores SIGPIPE's default action, so
//! a signal would kill it and fail the test.

use std::io::ErrorKind;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::UnixStream;

#[test]
fn writing_to_a_closed_peer_is_broken_pipe_and_the_loop_goes_on() {
    // SAFETY: SIG_DFL installs no handler code; it only changes delivery.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR);
    evloop::block_on(async {
        let (mut a, b) = UnixStream::pair().expect("pair");
        drop(b);
        let error = a.write_all(b"anyone?").await.expect_err("peer gone");
        assert_eq!(error.kind(), ErrorKind::BrokenPipe);
        // Through the write half too.
        let (c, d) = UnixStream::pair().expect("pair");
        let (mut read, mut write) = c.into_split();
        drop(d);
        assert_eq!(
            write.write_all(b"x").await.expect_err("gone").kind(),
            ErrorKind::BrokenPipe
        );
        let mut buf = [0; 1];
        assert_eq!(read.read(&mut buf).await.expect("eof"), 0);
        // The loop is fine.
        let (mut e, mut f) = UnixStream::pair().expect("pair");
        e.write_all(b"!").await.expect("write");
        f.read_exact(&mut buf).await.expect("read");
    });
}
