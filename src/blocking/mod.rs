//! The blocking pool: where work that would stall the loop goes instead.
//!
//! # Why a loop needs threads
//!
//! An event loop is one thread running many tasks, each until its next
//! `.await`. A task that makes a call which *blocks* (reads a file, resolves
//! a name with `getaddrinfo`, compresses a megabyte, calls a synchronous
//! database driver) stops every other task of the loop for as long as the
//! call takes: no timer fires, no socket is read.
//!
//! For sockets the OS offers a way out, readiness (see [`crate::reactor`]):
//! "tell me when a read would not block". For regular files it does not.
//! A file is always "ready" to epoll (Linux refuses to even register one:
//! `EPERM`), yet a `read` of it may wait for the disk all the same. So
//! libuv, Node, uvloop, tokio and asyncio's `run_in_executor` all do the
//! same thing: hand the blocking call to a pool of threads and deliver the
//! result back to the loop when it is done.
//!
//! ```text
//!  loop thread                                   pool threads (0..=max)
//!  ───────────                                   ──────────────────────
//!  task: spawn_blocking(f) ──▶ [job][job][job] ──▶ thread 1: f()
//!        .await (parked)        crossbeam channel   thread 2: g()
//!                                                   ...
//!  inject queue ◀── Wake(task) ◀── JoinSlot::complete(f's result)
//!  (+ eventfd write if the loop sleeps)
//! ```
//!
//! # How evloop does it
//!
//! [`spawn_blocking`] wraps the closure in a job (see `job.rs`) and sends it
//! to this runtime's `Pool` (see `pool.rs`): an *elastic* pool, started
//! empty, that grows a thread when a job arrives and no thread is idle (up
//! to `Builder::max_blocking_threads`), and shrinks when a thread has had
//! nothing to do for `Builder::blocking_keep_alive`. An idle runtime holds
//! no pool threads at all. When the closure returns, its result lands in the
//! task's `JoinSlot`, which wakes the waiting task: a *remote wake*, through
//! the loop's injection queue (see [`crate::runtime`]'s `handle` module).
//!
//! [`crate::fs`] is built on the same pool: each file operation is one job,
//! except reads that the page cache can answer at once (see its docs).

mod job;
mod pool;

pub(crate) use pool::Pool;

use crate::runtime::context;
use crate::task::JoinHandle;

/// Runs a blocking closure on the current runtime's thread pool and returns
/// a handle to await its result.
///
/// Use it for any call that may block for more than a few microseconds: file
/// and directory operations (or use [`crate::fs`]), DNS lookups, CPU-heavy
/// work, synchronous libraries. It is asyncio's `loop.run_in_executor(None,
/// f)` and Starlette's `run_in_threadpool`.
///
/// ```
/// let rt = evloop::Runtime::new()?;
/// let sum = rt.block_on(async {
///     evloop::spawn_blocking(|| (1..=100u64).sum::<u64>()).await
/// });
/// assert_eq!(sum.expect("the closure does not panic"), 5050);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// * A closure that panics does not take its pool thread down: the handle
///   yields a `JoinError` whose `is_panic()` is true.
/// * [`JoinHandle::abort`] skips a job that has not started yet (its handle
///   then yields a cancelled `JoinError` once a pool thread reaches the job).
///   A job that has started cannot be interrupted, as in tokio: it runs to
///   the end and its handle yields its value.
/// * When the runtime is dropped, jobs still queued are skipped, and the drop
///   waits for the running ones to finish (a closure that never returns
///   makes the drop hang: the pool cannot kill a thread).
/// * At most `max_blocking_threads` closures run at once (default 512,
///   or the `EVLOOP_BLOCKING_THREADS` environment variable); more wait in a
///   queue. Threads are started on demand and exit after
///   `blocking_keep_alive` (default 10 s) without work.
///
/// # Panics
/// Outside of a runtime; use [`crate::Handle::spawn_blocking`] from other
/// threads.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let at = std::panic::Location::caller();
    context::with_core(|core| core.shared.blocking.spawn_at(f, at)).expect(
        "evloop::spawn_blocking called outside of a runtime: \
         call it inside Runtime::block_on, or use Handle::spawn_blocking",
    )
}
