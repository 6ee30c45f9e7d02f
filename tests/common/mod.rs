//! Helpers shared by the integration tests (runtime and sockets).
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use evloop::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};

/// Counts how many times it was dropped.
#[derive(Clone, Default)]
pub struct DropCounter(pub Arc<AtomicUsize>);

impl DropCounter {
    pub fn new() -> DropCounter {
        DropCounter::default()
    }
    pub fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }
    pub fn drops(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Increments its counter once, when dropped.
pub struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future that is pending forever (and never asks to be woken).
pub struct Never;

impl Future for Never {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

/// Polls `cond` until it holds or `limit` passes; returns whether it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    cond()
}

/// Runs `f` on a thread and fails the test if it does not finish in `limit`
/// (a hang would otherwise hang the whole test binary).
pub fn with_watchdog<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("test did not finish within {limit:?} (hang?)"))
}

/// A pipe whose read end is registered with the current loop: reading from
/// `.0` parks on I/O until someone writes to `.1`.
///
/// A pipe rather than a socket pair so that the tests using it also run
/// under miri, whose socket pairs lack the `recv(2)` that std's `UnixStream`
/// reads with, and the `ioctl` of its `set_nonblocking`. Both ends are
/// non-blocking (mio's `pipe2(O_NONBLOCK)`); the tests' writes are tiny.
pub fn async_pair() -> (
    evloop::reactor::Async<mio::unix::pipe::Receiver>,
    mio::unix::pipe::Sender,
) {
    let (sender, receiver) = mio::unix::pipe::new().expect("pipe");
    (
        evloop::reactor::Async::new(receiver).expect("register"),
        sender,
    )
}

/// A connected pair of non-blocking Unix sockets registered with the current
/// loop, for tests that need both directions (a pipe has one). Not for miri
/// (see [`async_pair`]).
pub fn socket_pair() -> (
    evloop::reactor::Async<mio::net::UnixStream>,
    std::os::unix::net::UnixStream,
) {
    let (a, b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).expect("nonblocking");
    let a = mio::net::UnixStream::from_std(a);
    (evloop::reactor::Async::new(a).expect("register"), b)
}

// ---- sockets ----

/// A tiny xorshift64* generator: deterministic sizes and payloads from a seed.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// Echoes everything it reads until end of stream, then shuts down its
/// write side. Returns the number of bytes echoed.
pub async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> std::io::Result<u64> {
    let mut buf = vec![0; 64 * 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            stream.close().await?;
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

/// Binds 127.0.0.1:0 and spawns an echo server task on the current loop;
/// each connection gets its own task. Errors on a connection end only that
/// connection. Returns the address.
pub async fn spawn_echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let _detached = evloop::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            let _detached = evloop::spawn(async move {
                let _ = echo(stream).await;
            });
        }
    });
    addr
}

/// Sends `payload` on a fresh connection, half-closes, and returns
/// everything read back until end of stream. Writes and reads run in two
/// tasks, as they must for payloads larger than the socket buffers.
pub async fn round_trip(addr: std::net::SocketAddr, payload: Vec<u8>) -> std::io::Result<Vec<u8>> {
    let stream = TcpStream::connect(addr).await?;
    let (mut read, mut write) = stream.into_split();
    let writer = evloop::spawn(async move {
        write.write_all(&payload).await?;
        write.close().await
    });
    let mut echoed = Vec::new();
    read.read_to_end(&mut echoed).await?;
    writer.await.expect("writer task does not panic")?;
    Ok(echoed)
}
