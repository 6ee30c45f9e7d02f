//! Waiting for a future on a thread that is not running a loop.
//!
//! `blocking_send` and `blocking_recv` let plain `std::thread`s talk to
//! async tasks. They need the smallest executor there is: poll the future
//! with a waker that unparks this thread, and `thread::park` until woken.
//! `park` may return spuriously; that only costs an extra poll.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// A waker that unparks one thread.
struct ThreadWaker {
    /// The thread blocked in [`block_on`].
    thread: Thread,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.thread.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.thread.unpark();
    }
}

/// Runs `future` to completion on this thread, parking it while pending.
///
/// # Panics
/// Inside a runtime: blocking there would freeze every task of the loop,
/// possibly the very task that would wake us.
pub(crate) fn block_on<F: Future>(what: &str, future: F) -> F::Output {
    let in_runtime = crate::runtime::context::with_core(|_| ()).is_some();
    assert!(
        !in_runtime,
        "{what} called inside a runtime: it would block the loop; use the async version"
    );
    let waker = Waker::from(Arc::new(ThreadWaker {
        thread: thread::current(),
    }));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}
