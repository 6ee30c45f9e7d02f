//! Getting a task's result back: `JoinHandle`, `JoinError`, `AbortHandle`.
//!
//! A spawned task runs on its own; the [`JoinHandle`] is a future that waits
//! for it to end and yields one of three outcomes:
//!
//! * `Ok(value)`: the task's future returned `value`;
//! * `Err(e)` with `e.is_panic()`: the future panicked. The loop caught the
//!   panic (`catch_unwind`) and went on; the payload is in the error;
//! * `Err(e)` with `e.is_cancelled()`: the task was aborted, or its runtime
//!   was dropped, before it finished. Its future was dropped.
//!
//! The outcome travels through a [`JoinSlot`]: a small mutex-protected cell
//! the task writes once and the handle reads once. Whoever arrives second
//! does the work: the task wakes a handle that is already waiting, the handle
//! takes an outcome that is already there.
//!
//! Dropping a `JoinHandle` *detaches* the task: it keeps running, its output
//! is dropped when it ends. That is tokio's rule, and asyncio's for a task
//! whose reference you drop (minus asyncio's garbage collection surprise).

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use super::header::{HasHeader, Header};
use crate::runtime::handle::Shared;

/// Why a task produced no value.
#[derive(thiserror::Error)]
#[error("{}", match .repr { Repr::Cancelled => "task was cancelled", Repr::Panic(_) => "task panicked" })]
pub struct JoinError {
    /// Which of the two ways it ended.
    repr: Repr,
}

enum Repr {
    Cancelled,
    /// The payload sits in a mutex only to make `JoinError: Sync` (error
    /// types travel through `Box<dyn Error + Send + Sync>`); it is never
    /// contended.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(Mutex::new(payload)),
        }
    }

    /// The task was aborted (or its runtime shut down) before it finished.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task's future panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, to re-raise with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    /// If the error is a cancellation, not a panic.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .unwrap_or_else(|_| panic!("JoinError::into_panic called on a cancellation"))
    }

    /// The panic payload, or the error itself if it is a cancellation.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => {
                Ok(payload.into_inner().unwrap_or_else(PoisonError::into_inner))
            }
            Repr::Cancelled => Err(self),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(payload) => {
                let payload = payload.lock().unwrap_or_else(PoisonError::into_inner);
                let message = payload
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("<non-string payload>");
                write!(f, "JoinError::Panic({message:?})")
            }
        }
    }
}

/// A task's shared half: its [`Header`] (the waker's target) and the slot
/// where its outcome waits for its `JoinHandle`. One allocation per task.
///
/// # Thread safety
///
/// `JoinSlot<T>` is `Send + Sync` whatever `T` is, because wakers and abort
/// handles (which must be `Send + Sync`) point at it, and any thread may
/// hold one and drop the last reference. The argument, in full:
///
/// 1. **What in a slot is not always thread-safe.** The header is atomics
///    and an `Arc<Shared>`; the handle's waker is a `Waker`; a panic payload
///    is `Send`. The only field that may be `!Send` or `!Sync` is the
///    stored output `T`. So the question is only: which threads may touch,
///    move or drop a `T`?
/// 2. **Who reaches the output at all.** A `Waker` and an `AbortHandle`
///    only ever touch the header. The output is written by `complete`,
///    which runs where the task produces it (its own loop's thread; for a
///    blocking job a pool thread, and then `R: Send` is required; for a
///    `Handle::spawn`, `F::Output: Send` is required). It is taken or
///    dropped by the `JoinHandle`, on the thread that holds the handle. All
///    of these go through the mutex, so there are no data races on it.
/// 3. **The invariant: an output is stored only while its `JoinHandle` is
///    alive.** `complete` stores the output only if the handle is not
///    `detached`; otherwise it drops it at once, on the producing thread.
///    The handle's `Drop` sets `detached` and takes out any stored output,
///    under the same lock, and drops it on the handle's thread. A handle
///    that returned the outcome has taken it already.
/// 4. **The handle's strong `Arc` closes the last gap.** Dropping the last
///    `Arc<JoinSlot>` drops whatever output is still stored, on whichever
///    thread that is: perhaps a thread that only held a waker. But while an
///    output is stored, the handle is alive (3), and it holds a strong
///    `Arc`, so that last `Arc` cannot be a waker's. A handle that is
///    forgotten (`mem::forget`) never releases its `Arc`: the slot, and the
///    output in it, leak, which is safe; no other thread drops the output.
/// 5. **The handle only travels as far as `T` may.** `JoinHandle<T>` is
///    `Send` only if `T: Send` (its `PhantomData<Box<T>>`), so "the
///    handle's thread" in (2) and (3) is either the producing thread or a
///    thread that `T: Send` allows. A shared `&JoinHandle` reaches no `T`
///    (taking the output needs `Pin<&mut JoinHandle>`).
///
/// So a `T` is only ever touched by the thread that produced it or by one
/// that legitimately holds the handle, never by whichever thread happens
/// to drop the last waker.
pub(crate) struct JoinSlot<T> {
    /// Flags and the loop to wake: what a waker or an abort touches.
    pub(crate) header: Header,
    /// The outcome and the handle's waker.
    state: Mutex<SlotState<T>>,
}

// SAFETY: see "Thread safety" above: the only `T` inside is the stored
// output, which is never accessed or dropped by a thread that does not own
// the `JoinHandle` (itself `Send` only if `T: Send`) or produce the output;
// while it is stored the handle's strong `Arc` keeps the last drop of the
// slot away from other threads.
unsafe impl<T> Send for JoinSlot<T> {}
// SAFETY: as for `Send`; all shared access goes through the mutex.
unsafe impl<T> Sync for JoinSlot<T> {}

struct SlotState<T> {
    /// The outcome, until the handle takes it.
    output: Option<Result<T, JoinError>>,
    /// The waker of a handle that polled before the outcome arrived.
    waker: Option<Waker>,
    /// The handle is gone: an outcome delivered now is dropped at once.
    detached: bool,
}

impl<T> JoinSlot<T> {
    /// The shared half of a task of the loop behind `shared` (`None` for a
    /// blocking job, which no loop polls), spawned by our caller.
    #[cfg(test)]
    #[track_caller]
    pub(crate) fn new(shared: Option<Arc<Shared>>) -> JoinSlot<T> {
        JoinSlot::spawned_at(shared, std::panic::Location::caller())
    }

    /// As [`JoinSlot::new`], for a task spawned at `at`.
    pub(crate) fn spawned_at(
        shared: Option<Arc<Shared>>,
        at: &'static std::panic::Location<'static>,
    ) -> JoinSlot<T> {
        JoinSlot {
            header: Header::new(shared, at),
            state: Mutex::new(SlotState {
                output: None,
                waker: None,
                detached: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SlotState<T>> {
        // No code runs user callbacks under this lock, so poisoning can only
        // come from an allocation failure; the state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Delivers the outcome, once; later calls are ignored.
    pub(crate) fn complete(&self, outcome: Result<T, JoinError>) {
        let (waker, unwanted) = {
            let mut state = self.lock();
            if self.header.is_finished() {
                return;
            }
            self.header.set_finished();
            if state.detached {
                (None, Some(outcome))
            } else {
                state.output = Some(outcome);
                (state.waker.take(), None)
            }
        };
        // Both after the lock is released: the handle's task may run on
        // another thread, and an output's destructor may run any code. That
        // code may panic: nobody wants this output, so the panic has nobody
        // to go to either, and it must not unwind into the loop (it would
        // escape `block_on` and leave the finished task in the table).
        drop_contained(unwanted);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T: 'static> Wake for JoinSlot<T> {
    fn wake(self: Arc<Self>) {
        self.header.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.header.schedule();
    }
}

impl<T> HasHeader for JoinSlot<T> {
    fn header(&self) -> &Header {
        &self.header
    }
}

/// An owned permission to await a task's outcome. See the module docs.
///
/// `JoinHandle<T>` is `Send` when `T` is: a handle may be awaited on another
/// loop or thread than the one running its task.
#[must_use = "dropping a JoinHandle detaches the task; `drop(handle)` says that is intended"]
pub struct JoinHandle<T> {
    /// Where the outcome arrives.
    slot: Arc<JoinSlot<T>>,
    /// Set once the handle has returned the outcome: nothing is left for
    /// its `Drop` to do, so it skips the lock.
    returned: bool,
    /// Makes the handle `Send`/`Sync` only as far as `T` is (the slot itself
    /// always is); `Box` keeps it `Unpin`.
    _output: PhantomData<Box<T>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(slot: Arc<JoinSlot<T>>) -> JoinHandle<T> {
        JoinHandle {
            slot,
            returned: false,
            _output: PhantomData,
        }
    }

    /// Cancels the task: its future is dropped at the loop's next turn
    /// (wherever it is parked: I/O, a timer, a channel), and this handle
    /// then yields a `JoinError` that `is_cancelled()`. A task that has
    /// already finished keeps its outcome.
    pub fn abort(&self) {
        self.slot.header.cancel();
    }

    /// True once the task's outcome is available (its future returned,
    /// panicked or was dropped).
    pub fn is_finished(&self) -> bool {
        self.slot.header.is_finished()
    }

    /// A handle that can abort the task but not await it.
    pub fn abort_handle(&self) -> AbortHandle
    where
        T: 'static,
    {
        AbortHandle {
            task: self.slot.clone(),
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if self.returned {
            return;
        }
        let output = {
            let mut state = self.slot.lock();
            state.detached = true;
            state.waker = None;
            state.output.take()
        };
        // Dropped here, on the handle's thread, outside the lock. A panic in
        // the output's destructor stays here, as with tokio: dropping a
        // handle must not fail because of what the task returned.
        drop_contained(output);
    }
}

/// Drops `value`, catching a panic of its destructor. For values the user
/// never asked to see: a task's output nobody awaits, a future the runtime
/// refused.
pub(crate) fn drop_contained<T>(value: T) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.slot.lock();
        if let Some(outcome) = state.output.take() {
            drop(state);
            self.returned = true;
            return Poll::Ready(outcome);
        }
        assert!(
            !self.slot.header.is_finished(),
            "JoinHandle polled after it returned its outcome"
        );
        match &mut state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Aborts a task without owning its outcome (a [`JoinSet`] hands these out).
///
/// [`JoinSet`]: crate::task::JoinSet
#[derive(Clone)]
pub struct AbortHandle {
    /// The task's shared half, with its output type erased.
    task: Arc<dyn HasHeader>,
}

impl AbortHandle {
    /// See [`JoinHandle::abort`].
    pub fn abort(&self) {
        self.task.header().cancel();
    }

    /// See [`JoinHandle::is_finished`].
    pub fn is_finished(&self) -> bool {
        self.task.header().is_finished()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// The future the task table actually stores: the user's future plus the
/// delivery of its outcome.
///
/// It catches a panic of the inner future, so a panicking task ends with
/// `JoinError::is_panic()` instead of unwinding through the loop, and its
/// drop guard reports `is_cancelled()` if the future is dropped before it
/// finished (abort, runtime shutdown).
pub(crate) struct TaskFuture<F: Future> {
    /// The user's future. `ManuallyDrop` so that our `Drop` can drop it
    /// (in place) under `catch_unwind` and report a panic of its destructor.
    future: ManuallyDrop<F>,
    /// Delivers `Cancelled` if the task is dropped unfinished.
    guard: CancelOnDrop<F::Output>,
    /// `F` need not be `Unpin`; this struct is only ever used pinned.
    _pinned: PhantomData<std::marker::PhantomPinned>,
}

impl<F: Future> TaskFuture<F> {
    pub(crate) fn new(future: F, slot: Arc<JoinSlot<F::Output>>) -> TaskFuture<F> {
        TaskFuture {
            future: ManuallyDrop::new(future),
            guard: CancelOnDrop(slot),
            _pinned: PhantomData,
        }
    }
}

impl<F: Future> RawTask for TaskFuture<F> {
    fn header(self: Pin<&mut Self>) -> &Header {
        // SAFETY: nothing is moved; only the unpinned `guard` is reached.
        let this = unsafe { self.get_unchecked_mut() };
        &this.guard.0.header
    }

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `future` is structurally pinned: `TaskFuture` never moves it
        // out (its `Drop` drops it in place), and is itself only used pinned.
        // `guard` is not pinned and is only read through a shared reference.
        let (future, slot) = unsafe {
            let this = self.get_unchecked_mut();
            (Pin::new_unchecked(&mut *this.future), &this.guard.0)
        };
        let outcome = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(value)) => Ok(value),
            Err(payload) => Err(JoinError::panic(payload)),
        };
        slot.complete(outcome);
        Poll::Ready(())
    }
}

impl<F: Future> Drop for TaskFuture<F> {
    fn drop(&mut self) {
        // SAFETY: `future` is dropped in place (never moved, as pinning
        // requires) and never touched again: this is the last use of `self`
        // but for `guard`, which the compiler drops after us.
        let dropped = catch_unwind(AssertUnwindSafe(|| unsafe {
            ManuallyDrop::drop(&mut self.future)
        }));
        // A destructor that panics (typically while the task is aborted or
        // the runtime shuts down) is reported as the panic it is, with its
        // payload, as tokio does: "cancelled" would hide it. If the task had
        // already finished, `complete` ignores this.
        if let Err(payload) = dropped {
            self.guard.0.complete(Err(JoinError::panic(payload)));
        }
    }
}

/// What the task table stores: a future with its output type erased, that
/// can also show the loop its task's header.
pub(crate) trait RawTask {
    /// The task's flags (queued, cancelled, finished) and id.
    ///
    /// Takes the task pinned and mutably, like `poll`, rather than `&self`:
    /// a shared reference to the task would cover the user's future too, and
    /// between two polls that future may hold `&mut` borrows of its own
    /// fields (`sock.read(&mut buf).await`). Creating `&Self` over them is
    /// undefined behaviour under Rust's aliasing rules (miri's Stacked
    /// Borrows reports it); a `Pin<&mut Self>` of this `!Unpin` type asserts
    /// nothing about the bytes of the future, and only `guard` is read.
    fn header(self: Pin<&mut Self>) -> &Header;
    /// Polls the task's future, delivering its outcome when it completes.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
}

/// Reports `Cancelled` to the join slot unless an outcome was delivered.
struct CancelOnDrop<T>(Arc<JoinSlot<T>>);

impl<T> Drop for CancelOnDrop<T> {
    fn drop(&mut self) {
        self.0.complete(Err(JoinError::cancelled()));
    }
}
