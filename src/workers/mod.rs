//! Workers: one event loop per core, each with its own listener, and a
//! graceful shutdown for all of them.
//!
//! # Thread-per-core
//!
//! An evloop [`Runtime`](crate::Runtime) is one loop on one thread. To use
//! every core, a server runs N loops on N threads and runs the *same* async
//! worker function on each. Each worker binds its own listener with
//! [`TcpListener::bind_reuseport`](crate::net::TcpListener::bind_reuseport):
//! the kernel spreads new connections over the listeners of the port, and a
//! connection then lives its whole life on the loop that accepted it. No
//! run queue, no lock and no wakeup is shared between the workers on the
//! request path. It is the model of libuv and uvloop servers, of glommio
//! and monoio, and of these, which readers may know:
//!
//! - aiotools' `start_server(worker_main, num_workers=N)`: N event loops,
//!   each running `worker_main` with its index, SIGINT/SIGTERM stopping them
//!   all; [`start_server`] is named after it.
//! - uvicorn `--workers N`: N processes serving one port.
//!
//! # The life of a worker
//!
//! ```text
//!   start_server ─┬─ thread "evloop-worker-0": Runtime, worker_fn(Worker{0}) ─┐
//!                 ├─ thread "evloop-worker-1": Runtime, worker_fn(Worker{1}) ─┤
//!                 │   ...                                                    │
//!                 └─ this thread: the supervisor loop                        │
//!                     SIGINT/SIGTERM (1st) → Shutdown::trigger → workers drain
//!                     2nd signal, or drain_timeout → cancel what remains     │
//!                     a worker panicked → report, restart (bounded)  ◀───────┘
//!                     all workers done → return
//! ```
//!
//! A worker is done when its future returns. On [`Shutdown`] it should stop
//! accepting, drain what the kernel already queued on its listener
//! ([`TcpListener::try_accept`](crate::net::TcpListener::try_accept) until
//! `WouldBlock`: with `SO_REUSEPORT`, a listener closed with connections in
//! its queue resets them), let its connections finish, and return. Tasks it
//! leaves running when it returns are cancelled with its runtime; so is
//! everything, the worker future included, once the drain deadline passes
//! or a second signal arrives.
//!
//! One worker (`count(1)`) gets no thread of its own: it runs on the thread
//! that called `start_server`, whose loop also does the supervisor's work,
//! so that a one-worker server stays a single-threaded process (glibc's
//! system-call wrappers and `free` take cheaper paths in one).
//!
//! A panic that escapes the worker function (a spawned task's panic is
//! already contained by its `JoinHandle`) ends that worker's loop only: it
//! is reported on stderr with the worker's index and the worker is started
//! again, at most `max_restarts_per_minute` times a minute. The other
//! workers never notice. An `Err` returned by a worker is reported and not
//! retried.
//!
//! ```
//! use evloop::io::{AsyncReadExt, AsyncWriteExt};
//! use evloop::net::TcpListener;
//! use evloop::workers::{Shutdown, Workers};
//!
//! // A free port for the example (a real server names its own).
//! let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
//! let shutdown = Shutdown::new();
//! let client = std::thread::spawn({
//!     let shutdown = shutdown.clone();
//!     move || {
//!         use std::io::{Read, Write};
//!         let mut stream = loop {
//!             match std::net::TcpStream::connect(addr) {
//!                 Ok(stream) => break stream,
//!                 Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
//!             }
//!         };
//!         let mut index = [0u8; 1];
//!         stream.read_exact(&mut index).expect("a worker greets us");
//!         shutdown.trigger(); // what SIGINT or SIGTERM would do
//!         index[0]
//!     }
//! });
//! Workers::new()
//!     .count(2)
//!     .with_shutdown(shutdown)
//!     .start_server(move |worker| async move {
//!         let listener = TcpListener::bind_reuseport(addr).await?;
//!         let mut stop = worker.shutdown().wait();
//!         loop {
//!             use evloop::future::{Either, select};
//!             match select(&mut stop, listener.accept()).await {
//!                 Either::Left(()) => return Ok(()), // (a real server drains here)
//!                 Either::Right(accepted) => {
//!                     let (mut stream, _) = accepted?;
//!                     stream.write_all(&[worker.index() as u8]).await?;
//!                 }
//!             }
//!         }
//!     })?;
//! assert!(client.join().expect("the client does not panic") < 2);
//! # Ok::<(), std::io::Error>(())
//! ```

mod affinity;
mod shutdown;
mod single;
mod supervisor;

use std::future::Future;
use std::io;
use std::num::NonZeroUsize;
use std::time::Duration;

pub use shutdown::{Shutdown, Wait};

/// The drain deadline unless set otherwise: uvicorn's and Kubernetes'
/// default grace period.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How many times a minute a panicking worker is restarted by default.
pub const DEFAULT_MAX_RESTARTS_PER_MINUTE: usize = 5;

/// What a worker function is given: who it is, and when to stop.
#[derive(Debug, Clone)]
pub struct Worker {
    /// Which worker: `0..count`, the same across restarts.
    index: usize,
    /// The shutdown every worker shares.
    shutdown: Shutdown,
}

impl Worker {
    /// The worker's index, `0..count` (a restarted worker keeps its index).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The shutdown shared by all workers: await
    /// [`Shutdown::wait`] to learn when to stop accepting.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }
}

/// Starts N workers and supervises them. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Workers {
    /// How many workers (threads, loops).
    count: usize,
    /// Pin worker i to the i-th CPU the process may use.
    pin_to_cores: bool,
    /// How long a drain may take before what remains is cancelled.
    drain_timeout: Duration,
    /// Restarts of one worker allowed within a minute.
    max_restarts_per_minute: usize,
    /// The shutdown the workers share (the caller may keep a clone).
    shutdown: Shutdown,
}

impl Default for Workers {
    fn default() -> Workers {
        Workers::new()
    }
}

impl Workers {
    /// As many workers as the process may use cores
    /// (`std::thread::available_parallelism`, 1 if unknown), not pinned,
    /// a 30 s drain deadline, 5 restarts a minute.
    pub fn new() -> Workers {
        Workers {
            count: std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
            pin_to_cores: false,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            max_restarts_per_minute: DEFAULT_MAX_RESTARTS_PER_MINUTE,
            shutdown: Shutdown::new(),
        }
    }

    /// How many workers to run (at least 1; 0 is an error at start). A
    /// single worker runs on the calling thread.
    pub fn count(mut self, count: usize) -> Workers {
        self.count = count;
        self
    }

    /// Pins worker i to the i-th CPU the process may run on (modulo their
    /// number), with `sched_setaffinity` on Linux; a no-op elsewhere. A
    /// failure to pin is reported on stderr and the worker runs unpinned.
    /// A single worker runs on the calling thread, which is then pinned.
    pub fn pin_to_cores(mut self, pin: bool) -> Workers {
        self.pin_to_cores = pin;
        self
    }

    /// How long the graceful drain may take (default 30 s) before the
    /// workers still running are cancelled.
    pub fn drain_timeout(mut self, timeout: Duration) -> Workers {
        self.drain_timeout = timeout;
        self
    }

    /// How many times within a minute one worker is restarted after a panic
    /// (default 5; 0 never restarts).
    pub fn max_restarts_per_minute(mut self, restarts: usize) -> Workers {
        self.max_restarts_per_minute = restarts;
        self
    }

    /// Uses `shutdown` as the workers' shared shutdown, so that the program
    /// can also begin the drain itself (`shutdown.trigger()`), as a signal
    /// would.
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Workers {
        self.shutdown = shutdown;
        self
    }

    /// Runs `worker_fn` on every worker and blocks until all have stopped.
    ///
    /// Each worker calls `worker_fn` on its own thread, inside its own
    /// runtime, so the future need not be `Send`. SIGINT and SIGTERM are
    /// handled from here on: the first begins the shutdown, a second one
    /// cancels what remains.
    ///
    /// Returns `Ok(())` when every worker returned `Ok` (after a clean
    /// drain, say). Cancelling is dropping: a worker stuck in a blocking
    /// (non-async) call cannot be cancelled, and is waited for. The signal
    /// handlers stay installed after this returns (see [`crate::signal`]):
    /// a later SIGINT no longer ends the process by itself. Errors: `count` is 0 (`InvalidInput`); called inside a
    /// runtime (this call blocks its thread); a worker returned an error or
    /// panicked past its restart budget; the drain was cut short by the
    /// deadline (`TimedOut`) or a second signal (`Interrupted`).
    pub fn start_server<F, Fut>(self, worker_fn: F) -> io::Result<()>
    where
        F: Fn(Worker) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<()>> + 'static,
    {
        if self.count == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "evloop: Workers::count must be at least 1",
            ));
        }
        if crate::Handle::try_current().is_some() {
            return Err(io::Error::other(
                "evloop: start_server blocks its thread; call it outside a runtime",
            ));
        }
        supervisor::run(self, worker_fn)
    }
}

/// [`Workers::start_server`] with the default settings: one worker per
/// core.
pub fn start_server<F, Fut>(worker_fn: F) -> io::Result<()>
where
    F: Fn(Worker) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<()>> + 'static,
{
    Workers::new().start_server(worker_fn)
}
