//! # evloop: an event loop you can read in an afternoon
//!
//! evloop is an async runtime for Rust built from scratch on mio's
//! epoll/kqueue readiness polling: one event loop per thread, a slab of
//! tasks named by generation-tagged ids, a timing wheel, async sockets, and a
//! libuv-style thread pool for files and other blocking work.
//!
//! ## The layers
//!
//! ```text
//!   your async code       spawn · block_on · JoinHandle · sleep · TcpStream
//!  ─────────────────────────────────────────────────────────────────────────
//!   runtime   Runtime/Core: the loop's turn (timers → inject → tasks → poll)
//!             ├── task      TaskTable (slab) · Header (waker) · JoinSlot
//!             ├── time      timing wheel (sleep, timeout, interval)
//!             ├── reactor   mio::Poll · IoSlot readiness · Async<S>
//!             └── blocking  thread pool (spawn_blocking, fs)
//!  ─────────────────────────────────────────────────────────────────────────
//!   mio        epoll (Linux) / kqueue (BSD, macOS) · eventfd waker
//!  ─────────────────────────────────────────────────────────────────────────
//!   the kernel
//! ```
//!
//! ## Reading order
//!
//! 1. [`reactor`]: what epoll gives you, and readiness as a hint.
//! 2. [`task`]: tasks, the task table and its generations, wakers, join handles.
//! 3. [`runtime`]: the loop's turn (`runtime/core.rs`), the thread-local
//!    context, and how other threads reach a sleeping loop (`runtime/handle.rs`).
//! 4. [`time`], then the I/O types and the blocking pool built on the above.
//! 5. [`signal`] and [`workers`]: signals through the self-pipe, and one
//!    loop per core with a graceful shutdown.
//!
//! `docs/` walks through the same path as a short book, which starts from a
//! whole event loop in one file, `examples/mini_loop.rs`
//! (`cargo run --example mini_loop`).
//!
//! ## A tour
//!
//! ```
//! let rt = evloop::Runtime::new()?;
//! rt.block_on(async {
//!     let a = evloop::spawn(async { 1 });
//!     let b = evloop::spawn(async {
//!         evloop::yield_now().await; // let the others run
//!         2
//!     });
//!     assert_eq!(a.await.expect("no panic") + b.await.expect("no panic"), 3);
//! });
//! # Ok::<(), std::io::Error>(())
//! ```
#![warn(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod blocking;
pub mod fs;
pub mod future;
#[cfg(feature = "http")]
pub mod http;
pub mod io;
pub mod net;
pub mod reactor;
pub mod runtime;
pub mod signal;
pub mod sync;
pub mod task;
pub mod time;
pub mod workers;

pub use blocking::spawn_blocking;
pub use runtime::{Builder, Handle, Runtime, RuntimeMetrics, block_on, spawn};
pub use task::{JoinError, JoinHandle, yield_now};

/// The book in `docs/`, compiled so that its examples stay true. Every
/// chapter `docs/NN-*.md` must be listed here (`tests/docs_book_compiled.rs`
/// checks it).
#[cfg(doctest)]
mod book {
    #[doc = include_str!("../README.md")]
    struct Readme;
    #[doc = include_str!("../docs/00-mini-loop.md")]
    struct MiniLoop;
    #[doc = include_str!("../docs/01-epoll.md")]
    struct Epoll;
    #[doc = include_str!("../docs/02-futures-and-wakers.md")]
    struct FuturesAndWakers;
    #[doc = include_str!("../docs/03-task-table.md")]
    struct TaskTable;
    #[doc = include_str!("../docs/04-the-loop-turn.md")]
    struct TheLoopTurn;
    #[doc = include_str!("../docs/05-timers.md")]
    struct Timers;
    #[doc = include_str!("../docs/06-one-read.md")]
    struct OneRead;
    #[doc = include_str!("../docs/07-edge-triggered.md")]
    struct EdgeTriggered;
    #[doc = include_str!("../docs/08-blocking-pool.md")]
    struct BlockingPool;
    #[doc = include_str!("../docs/09-sync.md")]
    struct Channels;
    #[doc = include_str!("../docs/life-of-a-task.md")]
    struct LifeOfATask;
    #[doc = include_str!("../docs/glossary.md")]
    struct Glossary;
    #[doc = include_str!("../docs/design.md")]
    struct Design;
    #[doc = include_str!("../docs/11-workers-and-signals.md")]
    struct WorkersAndSignals;
    #[cfg(feature = "http")]
    #[doc = include_str!("../docs/10-http.md")]
    struct Http;
    #[doc = include_str!("../docs/12-watching-the-loop.md")]
    struct WatchingTheLoop;
}
