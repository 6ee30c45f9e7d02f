//! Blocking pool (interim: replaced by the elastic pool of issue 5).

use std::sync::Arc;
use std::time::Duration;

use crate::task::JoinHandle;
use crate::task::join::JoinSlot;

/// The blocking thread pool of one runtime.
pub(crate) struct Pool {
    /// Most threads.
    _max_threads: usize,
    /// Idle time before a thread exits.
    _keep_alive: Duration,
}

impl Pool {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> Pool {
        Pool {
            _max_threads: max_threads,
            _keep_alive: keep_alive,
        }
    }

    pub(crate) fn spawn<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let slot = Arc::new(JoinSlot::new(None));
        let done = slot.clone();
        std::thread::spawn(move || done.complete(Ok(f())));
        JoinHandle::new(slot)
    }

    pub(crate) fn shutdown(&self) {}
}
