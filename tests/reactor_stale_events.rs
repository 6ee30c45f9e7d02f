//! Events for a dropped source must not reach the source that reuses its
//! slot: the reactor's tokens carry a generation.
//!
//! To get an event delivered with a stale token, source A is registered
//! through a `mio::event::Source` whose `deregister` does nothing: after A's
//! `Async` is dropped, the kernel still reports A's readiness under A's old
//! token. Source B, registered next, takes the freed slot (slab reuses the
//! last freed index) with a new generation. A's events must not wake B.

use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Wake, Waker};

use evloop::reactor::Async;
use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// Registers a raw fd, and "forgets" to deregister it.
struct LeakyRegistration(RawFd);

impl Source for LeakyRegistration {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> std::io::Result<()> {
        SourceFd(&self.0).register(registry, token, interest)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> std::io::Result<()> {
        SourceFd(&self.0).reregister(registry, token, interest)
    }

    fn deregister(&mut self, _: &Registry) -> std::io::Result<()> {
        Ok(())
    }
}

/// Counts its wakes.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

async fn turns(n: usize) {
    for _ in 0..n {
        evloop::yield_now().await;
    }
}

#[test]
fn events_for_a_dropped_source_do_not_wake_its_successor() {
    let rt = evloop::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (a, mut a_peer) = std::os::unix::net::UnixStream::pair().expect("pair");
        a.set_nonblocking(true).expect("nonblocking");
        let source_a = Async::new(LeakyRegistration(a.as_raw_fd())).expect("register a");
        drop(source_a); // slot freed; the kernel registration stays

        let (b, mut b_peer) = mio::net::UnixStream::pair().expect("pair");
        let source_b = Async::new(b).expect("register b");
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 16];
        // B has nothing to read: its reader parks our counting waker.
        let poll = source_b.poll_read_with(&mut cx, |mut s| std::io::Read::read(&mut s, &mut buf));
        assert!(poll.is_pending());

        a_peer.write_all(b"for a").expect("write a");
        turns(5).await; // several epoll_waits: A's event arrives, stale
        assert_eq!(counter.0.load(Ordering::SeqCst), 0, "a stale event woke B");

        b_peer.write_all(b"for b").expect("write b");
        turns(5).await;
        assert_eq!(counter.0.load(Ordering::SeqCst), 1, "B's own event wakes B");
        drop(a);
    });
}
