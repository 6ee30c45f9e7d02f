//! "Which loop am I on?": the thread-local current runtime.
//!
//! `evloop::spawn`, `TcpStream::connect`, `sleep` and a waker's fast path
//! all need the loop they run on, without it being passed to them. Like
//! tokio and smol, evloop keeps it in a thread-local, set while
//! `Runtime::block_on` runs and restored when it returns.
//!
//! The thread-local holds an `Rc<Core>`: the loop's state is single-threaded
//! and never leaves its thread. Anything that may be on another thread (a
//! waker, a `Handle`) holds the `Arc<Shared>` instead and compares it with the
//! current core's to know whether it is at home.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use super::core::Core;
use super::handle::{Injected, Shared};
use crate::task::TaskId;

thread_local! {
    /// The loop running on this thread, if any.
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// Runs `f` with the current loop, or returns `None` outside any runtime.
pub(crate) fn with_core<R>(f: impl FnOnce(&Rc<Core>) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| current.borrow().as_ref().map(f))
        .ok()
        .flatten()
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
        let mut current = current.borrow_mut();
        assert!(
            current.is_none(),
            "evloop: cannot start a runtime from within a runtime; \
             this would block the current loop (spawn the work instead)"
        );
        *current = Some(core);
    });
    EnterGuard { _private: () }
}

/// Clears the current loop when dropped; see [`enter`].
pub(crate) struct EnterGuard {
    /// Only `enter` makes these.
    _private: (),
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // Take it out first, then drop it outside the borrow: dropping the
        // last `Rc<Core>` runs arbitrary destructors.
        let core = CURRENT.with(|current| current.borrow_mut().take());
        drop(core);
    }
}
