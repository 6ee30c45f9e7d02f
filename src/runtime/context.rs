//! "Which loop am I on?": the thread-local current runtime.
//!
//! `evloop::spawn`, `TcpStream::connect`, `sleep` and a waker's fast path
//! all need the loop they run on, without it being passed to them. Like
//! tokio and smol, evloop keeps it in a thread-local, set while
//! `Runtime::block_on` runs and restored when it returns.
//!
//! The thread-local holds a plain pointer to the loop's `Core`, which the
//! `EnterGuard` keeps alive (it owns an `Rc<Core>`) for as long as the
//! pointer is set. A pointer rather than an `Rc` in a `RefCell` because this
//! is on the hottest path there is (every local wake, every spawn, every
//! socket operation): a `Cell` of a pointer has no destructor, so reading
//! the thread-local is one load, with no lazy-initialisation or
//! destroyed-yet check and no borrow flag to update. The loop's state is
//! single-threaded and never leaves its thread. Anything that may be on another thread (a
//! waker, a `Handle`) holds the `Arc<Shared>` instead and compares it with the
//! current core's to know whether it is at home.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use super::core::Core;
use super::handle::{Injected, Shared};
use crate::task::TaskId;

thread_local! {
    /// The loop running on this thread, or null. Set and cleared only by
    /// `enter` and its guard, which owns the `Rc<Core>` it points to.
    static CURRENT: Cell<*const Core> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` with the current loop, or returns `None` outside any runtime.
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    let core = CURRENT.with(Cell::get);
    if core.is_null() {
        return None;
    }
    // SAFETY: a non-null `CURRENT` was set by `enter` from an `Rc<Core>`
    // that its `EnterGuard` owns and keeps alive until it nulls `CURRENT`
    // again. The guard lives in a frame below us on this thread's stack
    // (`block_on` or `Runtime::drop`), so it outlives this call, and the
    // reference cannot escape `f`.
    Some(f(unsafe { &*core }))
}

/// Queues task `id` of the loop behind `shared`.
///
/// On that loop's own thread this is a push onto its run queue: no lock, no
/// atomic read-modify-write, no syscall. Anywhere else, the id goes through the
/// loop's injection queue, which wakes the loop if it sleeps.
pub(crate) fn schedule(shared: &Arc<Shared>, id: TaskId) {
    let at_home = with_core(|core| {
        if Arc::ptr_eq(&core.shared, shared) {
            core.push_ready(id);
            true
        } else {
            false
        }
    });
    if at_home != Some(true) {
        shared.inject(Injected::Wake(id));
    }
}

/// Makes `core` the current loop until the guard is dropped.
///
/// # Panics
/// If a loop is already current: running a loop inside another's task would
/// block that loop for as long as the inner one runs.
pub(crate) fn enter(core: Rc<Core>) -> EnterGuard {
    CURRENT.with(|current| {
        assert!(
            current.get().is_null(),
            "evloop: cannot start a runtime from within a runtime; \
             this would block the current loop (spawn the work instead)"
        );
        current.set(Rc::as_ptr(&core));
    });
    EnterGuard { _core: core }
}

/// Makes `core` the current loop for its shutdown, whatever loop is
/// current now, until the guard is dropped; the guard then restores the
/// previous one.
///
/// A runtime dropped inside a task of another runtime on this thread must
/// still shut down as itself: its tasks' destructors that spawn, sleep or
/// drop sockets must reach *their* loop, not the one that runs the task
/// doing the drop.
pub(crate) fn enter_for_shutdown(core: Rc<Core>) -> ShutdownGuard {
    let previous = CURRENT.with(|current| current.replace(Rc::as_ptr(&core)));
    ShutdownGuard {
        previous,
        _core: core,
    }
}

/// Restores the loop that was current before [`enter_for_shutdown`].
pub(crate) struct ShutdownGuard {
    /// The loop to make current again, or null. Its own guard (an
    /// `EnterGuard` lower on this thread's stack) keeps it alive meanwhile.
    previous: *const Core,
    /// Keeps the loop being shut down alive while `CURRENT` points to it.
    _core: Rc<Core>,
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.previous));
    }
}

/// Clears the current loop when dropped; see [`enter`].
pub(crate) struct EnterGuard {
    /// Keeps the loop alive while `CURRENT` points to it (only ever dropped).
    _core: Rc<Core>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // Null the pointer first; `self._core` (maybe the last `Rc`) is
        // dropped after this function returns.
        CURRENT.with(|current| current.set(std::ptr::null()));
    }
}
