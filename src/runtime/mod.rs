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

use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

pub use builder::Builder;
pub use core::BUDGET;
pub use handle::Handle;

use self::core::{Core, MainWaker};
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
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter(self.core.clone());
        let main = Arc::new(MainWaker::new(self.core.shared.clone()));
        let waker = Waker::from(main.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if main.take_woken() {
                self.core.note_main_poll();
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
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
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        self.core.spawn(future)
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
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    context::with_core(move |core| core.spawn(future)).unwrap_or_else(|| {
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
pub fn block_on<F: Future>(future: F) -> F::Output {
    Runtime::new()
        .expect("evloop::block_on: creating the runtime failed")
        .block_on(future)
}
