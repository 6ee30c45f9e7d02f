//! `Builder`: a runtime's settings, chosen before it starts.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::Runtime;
use super::core::Core;
use super::handle::Shared;
use super::watch::{SlowPoll, TraceTarget, WatchConfig};
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
    /// The slow-poll detector, queue-wait alarm and loop trace settings.
    watch: WatchConfig,
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
            watch: WatchConfig::from_env(),
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

    /// Reports every poll of a task (or of the `block_on` future) that
    /// takes longer than `threshold`, and every blocking-pool job that
    /// waited longer than `threshold` in the pool's queue: once each, with
    /// the task id and the line that spawned it, as one line on stderr (or
    /// to [`Builder::on_slow_poll`]). `EVLOOP_DEBUG=1` sets 100 ms, asyncio's
    /// debug default. A watchdog thread times the polls (see
    /// `runtime/watch/watchdog.rs`): the loop itself reads no clock per
    /// poll, and the durations reported are short by at most a tenth of the
    /// threshold.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = evloop::Runtime::builder()
    ///     .slow_poll_threshold(Duration::from_millis(50))
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Builder {
        self.watch.slow_poll = Some(threshold);
        self.watch.queue_wait = Some(threshold);
        self
    }

    /// Sets the queue-wait alarm alone: blocking-pool jobs that waited in
    /// the queue longer than `threshold` are reported ([`SlowPoll`] with
    /// kind `QueueWait`). `slow_poll_threshold` sets it too.
    pub fn pool_queue_wait_threshold(mut self, threshold: Duration) -> Builder {
        self.watch.queue_wait = Some(threshold);
        self
    }

    /// Sends slow-poll and queue-wait reports to `callback` instead of
    /// stderr. It runs on the loop's thread for polls, on a pool thread
    /// for queue waits; it must not block.
    pub fn on_slow_poll(mut self, callback: impl Fn(&SlowPoll) + Send + Sync + 'static) -> Builder {
        self.watch.reporter = Some(Arc::new(callback));
        self
    }

    /// Traces every turn of the loop: [`TraceTarget::Stderr`] prints one
    /// line per turn, [`TraceTarget::File`] writes a Chrome trace-event
    /// JSON file for Perfetto. `EVLOOP_TRACE=stderr` or
    /// `EVLOOP_TRACE=path.json` does the same without a rebuild.
    pub fn trace(mut self, target: TraceTarget) -> Builder {
        self.watch.trace = Some(target);
        self
    }

    /// Shorthand for `trace(TraceTarget::File(path))`.
    pub fn trace_file(self, path: impl Into<PathBuf>) -> Builder {
        self.trace(TraceTarget::File(path.into()))
    }

    /// Creates the runtime: an epoll instance, its eventfd waker and an
    /// (empty) blocking pool. No thread is started.
    ///
    /// # Errors
    /// If the OS refuses the epoll instance or the eventfd, or the trace
    /// file cannot be created (the error names the path).
    pub fn build(self) -> io::Result<Runtime> {
        let (watch, pool_watch) = self.watch.start()?;
        let reactor = Reactor::new(self.event_capacity)?;
        let unparker = mio::Waker::new(reactor.registry(), WAKER_TOKEN)?;
        let registry = reactor.registry().try_clone()?;
        let (sender, receiver) = crossbeam_channel::unbounded();
        let pool =
            Pool::new(self.max_blocking_threads, self.blocking_keep_alive).watched(pool_watch);
        let mut shared = Shared::new(sender, unparker, registry, pool);
        shared.inline_file_reads = self.inline_file_reads;
        let shared = Arc::new(shared);
        let mut core = Core::new(shared, receiver, reactor);
        core.watch = watch;
        Ok(Runtime::from_core(core))
    }
}
