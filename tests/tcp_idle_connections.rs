//! 5,000 idle connections held at once cost nothing per turn: a new
//! connection still gets its echo promptly, and the idle ones still work.

mod common;

use std::time::{Duration, Instant};

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::TcpStream;

const IDLE: usize = 5_000;

/// Raises the soft descriptor limit to the hard one; false if even that is
/// too low for `needed` descriptors.
fn raise_fd_limit(needed: libc::rlim_t) -> bool {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `struct rlimit`.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    if limit.rlim_max < needed {
        return false;
    }
    limit.rlim_cur = limit.rlim_cur.max(needed);
    // SAFETY: as above; raising the soft limit up to the hard one is allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    true
}

async fn echo_once(stream: &mut TcpStream, message: &[u8]) {
    stream.write_all(message).await.expect("write");
    let mut buf = vec![0; message.len()];
    stream.read_exact(&mut buf).await.expect("read");
    assert_eq!(buf, message);
}

#[test]
fn five_thousand_idle_connections_and_a_new_one_echoes_promptly() {
    // Both ends of every connection live in this process.
    let needed = (2 * IDLE + 200) as libc::rlim_t;
    if !raise_fd_limit(needed) {
        eprintln!(
            "SKIPPED: the hard RLIMIT_NOFILE is below {needed}; raise it (ulimit -Hn) to run this test"
        );
        return;
    }
    let rt = evloop::Runtime::new().expect("runtime");
    rt.block_on(async {
        let addr = common::spawn_echo_server().await;
        let mut idle = Vec::with_capacity(IDLE);
        for _ in 0..IDLE {
            idle.push(TcpStream::connect(addr).await.expect("connect"));
        }
        // Let the server accept every one of them: listener + both ends.
        while rt.metrics().io_sources < 2 * IDLE + 1 {
            evloop::yield_now().await;
        }

        let started = Instant::now();
        let mut fresh = TcpStream::connect(addr).await.expect("connect");
        echo_once(&mut fresh, b"still responsive").await;
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(500),
            "a new connection took {took:?}"
        );

        for i in [0, IDLE / 2, IDLE - 1] {
            echo_once(&mut idle[i], format!("idle {i}").as_bytes()).await;
        }
    });
}
