//! The runtime: an event loop you can hand futures to.
//!
//! A [`Runtime`] is one event loop on one thread (see `runtime/core.rs` for what one
//! turn of it does). `block_on` runs the loop on the calling thread until the
//! future you pass completes; tasks spawned meanwhile run alongside it.
//! Tasks need not be `Send`: nothing of the loop leaves its thread.
//!
//! Multi-core programs run one runtime per thread (the model of libuv, of
//! uvicorn's `--workers`, of glommio and monoio), usually each with its own
//! `SO_REUSEPORT` listener; they talk through [`Handle`]s and the channels
//! of [`crate::sync`], which work across threads.

pub(crate) mod builder;
pub(crate) mod context;
pub(crate) mod core;
pub(crate) mod handle;
pub(crate) mod watch;

use std::future::Future;
use std::panic::Location;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub use builder::Builder;
pub use core::BUDGET;
pub use handle::Handle;
pub use watch::{
    DEFAULT_SLOW_POLL_THRESHOLD, Dump, SlowPoll, SlowPollKind, TaskInfo, TaskState, TraceTarget,
    dump_on_signal,
};

use self::core::{Core, MainWaker};
use self::watch::PollOf;
use crate::task::JoinHandle;

/// An event loop. See the module docs.
///
/// ```
/// let rt = evloop::Runtime::new()?;
/// let answer = rt.block_on(async {
///     let task = evloop::spawn(async { 40 });
///     task.await.expect("the task does not panic") + 2
/// });
/// assert_eq!(answer, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    /// The loop's state, shared with the thread-local context while it runs.
    core: Rc<Core>,
}

/// Counters a program (or a test) can read to see what the loop did.
///
/// Counts are totals since the runtime was built; sample them twice and
/// subtract to get rates. Events per `epoll_wait` is `os_events / os_polls`.
/// `busy_time + idle_time` is the time spent inside `block_on`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Task polls so far.
    pub tasks_polled: u64,
    /// Calls to the OS poller (`epoll_wait`) so far.
    pub os_polls: u64,
    /// eventfd writes made to wake the sleeping loop from other threads.
    pub unpark_writes: u64,
    /// Tasks spawned and not yet finished.
    pub live_tasks: usize,
    /// I/O sources registered with the reactor.
    pub io_sources: usize,
    /// Timers registered in the wheel (polled sleeps not yet fired or dropped).
    pub timers: usize,
    /// Turns of the loop (each: timers, tasks, injection queue, poll).
    pub turns: u64,
    /// Time inside `block_on` not spent sleeping in `epoll_wait`: running
    /// tasks, timers and the loop's own bookkeeping.
    pub busy_time: Duration,
    /// Time spent asleep in `epoll_wait` (calls with a non-zero timeout)
    /// waiting for events, timers or remote wakes.
    pub idle_time: Duration,
    /// The longest single poll of a task or of the `block_on` future, as
    /// far as anyone measured: every poll while the trace is on; polls the
    /// slow-poll detector reported while it is on (to within a tenth of
    /// its threshold); zero when both are off (a clock read per poll is
    /// not free).
    pub longest_poll: Duration,
    /// Tasks spawned onto the loop (locally or through a `Handle`), counted
    /// when they enter the task table.
    pub tasks_spawned: u64,
    /// Tasks that left the table: completed, panicked or aborted
    /// (`tasks_spawned - live_tasks`).
    pub tasks_finished: u64,
    /// Messages taken from the injection queue: remote wakes, remote
    /// spawns, remote drops of sockets and timers, dump requests.
    pub injected: u64,
    /// Events returned by `epoll_wait`, summed (the eventfd's included).
    pub os_events: u64,
    /// Timers that fired (woke their task).
    pub timers_fired: u64,
    /// Blocking-pool threads alive now.
    pub blocking_threads: usize,
    /// Blocking-pool threads waiting for a job now.
    pub blocking_idle: usize,
    /// Blocking-pool jobs queued and not yet taken by a thread.
    pub blocking_queued: usize,
    /// Blocking-pool jobs finished (run, or skipped at shutdown or abort).
    pub blocking_jobs_done: u64,
}

impl Runtime {
    /// A runtime with the default settings; see [`Builder`].
    pub fn new() -> std::io::Result<Runtime> {
        Builder::new().build()
    }

    /// A builder for a runtime with other settings.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_core(core: Core) -> Runtime {
        Runtime {
            core: Rc::new(core),
        }
    }

    /// Runs the loop on this thread until `future` completes, and returns its
    /// output. `future` need not be `Send` or `'static`.
    ///
    /// # Panics
    /// If called from inside a runtime (it would block that loop), if the OS
    /// poller fails (only on resource exhaustion of the epoll instance), or
    /// if `future` panics (the panic propagates; spawned tasks' panics do not).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let at = Location::caller();
        let _enter = context::enter(self.core.clone());
        let _running = Running::start(&self.core);
        let main = Arc::new(MainWaker::new(self.core.shared.clone()));
        let waker = Waker::from(main.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if main.take_woken() {
                self.core.note_main_poll();
                let poll = |f: &mut Pin<&mut F>| f.as_mut().poll(&mut cx);
                let who = |_: &mut Pin<&mut F>| PollOf {
                    task: None,
                    spawned_at: at,
                };
                let number = self.core.main_polls.get();
                let poll = self.core.watch.poll(number, &mut future, poll, who);
                if let Poll::Ready(output) = poll {
                    return output;
                }
                main.note_pending();
            }
            if let Err(error) = self.core.turn(&main) {
                panic!("evloop: the OS poller failed: {error}");
            }
        }
    }

    /// Spawns a task onto this runtime. It runs while (any) `block_on` of
    /// this runtime runs. The future need not be `Send`.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        self.core.spawn(future)
    }

    /// Lists the live tasks: id, spawn location, state, polls so far and
    /// time since the last poll; in task-table order. From a task of this
    /// runtime the calling task shows as [`TaskState::Running`]. See
    /// `examples/inspect.rs`, and [`Handle::dump`] for other threads.
    ///
    /// ```
    /// let rt = evloop::Runtime::new()?;
    /// let task = rt.spawn(std::future::pending::<()>());
    /// let dump = rt.dump();
    /// assert_eq!(dump.len(), 1);
    /// assert_eq!(dump[0].spawned_at.line(), line!() - 3);
    /// assert_eq!(dump[0].state, evloop::runtime::TaskState::Scheduled);
    /// # drop(task);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn dump(&self) -> Vec<TaskInfo> {
        self.core.dump()
    }

    /// A thread-safe handle to this runtime.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.core.shared.clone(),
        }
    }

    /// What the loop has done so far.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.core.metrics()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Make this loop current so that destructors of tasks (which may
        // drop sockets, timers, or spawn) find it, even when we are inside
        // a task of another loop (a runtime dropped in a task): that loop is
        // current again once our tasks are gone.
        let enter = context::enter_for_shutdown(self.core.clone());
        self.core.shutdown();
        drop(enter);
        self.core.shared.blocking.shutdown();
        self.core.watch.finish();
    }
}

/// Counts the time a `block_on` runs the loop, even if it unwinds.
struct Running<'a>(&'a Core);

impl<'a> Running<'a> {
    fn start(core: &'a Core) -> Running<'a> {
        core.watch.enter();
        Running(core)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.watch.exit();
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("metrics", &self.metrics())
            .finish()
    }
}

/// Spawns a task on the current thread's loop. The future need not be
/// `Send`.
///
/// # Panics
/// Outside of a runtime (there is no loop to run the task).
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    let at = Location::caller();
    context::with_core(move |core| core.spawn_at(future, at)).unwrap_or_else(|| {
        panic!(
            "evloop::spawn called outside of a runtime: \
                 call it inside Runtime::block_on, or use Runtime::spawn / Handle::spawn"
        )
    })
}

/// Runs `future` to completion on a fresh runtime, then drops the runtime
/// (and with it every task still running).
///
/// # Panics
/// If the runtime cannot be created (the OS refused an epoll instance or an
/// eventfd), or from inside another runtime.
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    Runtime::new()
        .expect("evloop::block_on: creating the runtime failed")
        .block_on(future)
}
