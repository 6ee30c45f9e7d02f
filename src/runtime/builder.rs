//! `Builder`: a runtime's settings, chosen before it starts.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::Runtime;
use super::core::Core;
use super::handle::Shared;
use crate::blocking::Pool;
use crate::reactor::{Reactor, WAKER_TOKEN};

/// The default limit on blocking-pool threads, as in tokio; the environment
/// variable `EVLOOP_BLOCKING_THREADS` overrides it (as `UV_THREADPOOL_SIZE`
/// does libuv's).
pub const DEFAULT_MAX_BLOCKING_THREADS: usize = 512;

/// How long an idle blocking-pool thread waits for work before it exits.
pub const DEFAULT_BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Configures and builds a [`Runtime`].
///
/// ```
/// let rt = evloop::Runtime::builder()
///     .event_capacity(256)
///     .max_blocking_threads(8)
///     .build()?;
/// assert_eq!(rt.block_on(async { 6 * 7 }), 42);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    /// How many events one `epoll_wait` may return.
    event_capacity: usize,
    /// The most threads the blocking pool may run at once.
    max_blocking_threads: usize,
    /// How long an idle pool thread lingers.
    blocking_keep_alive: Duration,
    /// Whether file reads first try the page cache on the loop's thread.
    inline_file_reads: bool,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// The default settings.
    pub fn new() -> Builder {
        let max_blocking_threads = std::env::var("EVLOOP_BLOCKING_THREADS")
            .ok()
            .and_then(|value| value.trim().parse().ok())
            .filter(|&n: &usize| n > 0)
            .unwrap_or(DEFAULT_MAX_BLOCKING_THREADS);
        Builder {
            event_capacity: 1024,
            max_blocking_threads,
            blocking_keep_alive: DEFAULT_BLOCKING_KEEP_ALIVE,
            inline_file_reads: true,
        }
    }

    /// How many readiness events one `epoll_wait` may return (default 1024).
    /// More are not lost, only delivered by the next call.
    pub fn event_capacity(mut self, capacity: usize) -> Builder {
        self.event_capacity = capacity.max(1);
        self
    }

    /// The most blocking-pool threads (default 512, or
    /// `EVLOOP_BLOCKING_THREADS`). Threads start on demand.
    pub fn max_blocking_threads(mut self, threads: usize) -> Builder {
        self.max_blocking_threads = threads.max(1);
        self
    }

    /// How long an idle blocking-pool thread waits before exiting
    /// (default 10 s).
    pub fn blocking_keep_alive(mut self, keep_alive: Duration) -> Builder {
        self.blocking_keep_alive = keep_alive;
        self
    }

    /// Whether file reads ([`crate::fs::File`]'s `AsyncRead` and
    /// [`crate::fs::File::read_at`], [`crate::fs::read`],
    /// [`crate::fs::read_to_string`]) first copy what
    /// the page cache holds on the loop's own thread, going to the blocking
    /// pool only for what would wait for the disk (default `true`). It is
    /// Linux's `preadv2(RWF_NOWAIT)`; elsewhere, or on kernels without it,
    /// every read takes the pool whatever this says. `false` sends every
    /// read to the pool, as libuv and tokio do.
    pub fn inline_file_reads(mut self, inline: bool) -> Builder {
        self.inline_file_reads = inline;
        self
    }

    /// Creates the runtime: an epoll instance, its eventfd waker and an
    /// (empty) blocking pool. No thread is started.
    pub fn build(self) -> io::Result<Runtime> {
        let reactor = Reactor::new(self.event_capacity)?;
        let unparker = mio::Waker::new(reactor.registry(), WAKER_TOKEN)?;
        let registry = reactor.registry().try_clone()?;
        let (sender, receiver) = crossbeam_channel::unbounded();
        let pool = Pool::new(self.max_blocking_threads, self.blocking_keep_alive);
        let mut shared = Shared::new(sender, unparker, registry, pool);
        shared.inline_file_reads = self.inline_file_reads;
        let shared = Arc::new(shared);
        Ok(Runtime::from_core(Core::new(shared, receiver, reactor)))
    }
}
