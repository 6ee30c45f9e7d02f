//! A job: one closure on its way to a pool thread, and its way back.
//!
//! The pool's channel carries `Box<dyn Job>`: any closure, with any return
//! type, erased to one type. A job is *run* by a pool thread and *delivers*
//! its outcome when it is dropped. Putting the delivery in `Drop` gives one
//! guarantee for free: whatever happens to a job (it runs, it is skipped at
//! shutdown, it is dropped unread with the channel) its `JoinHandle` gets an
//! outcome and never waits forever.
//!
//! ```text
//!   loop thread                        pool thread
//!   ───────────                        ───────────
//!   spawn(f) ── Box<dyn Job> ──chan──▶ job.run(shutting_down)
//!                                        f() under catch_unwind
//!   JoinHandle ◀── slot.complete ◀──── drop(job): deliver the outcome
//!      (a remote wake of the task that awaits it)
//! ```

use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use crate::task::JoinError;
use crate::task::join::{JoinSlot, drop_contained};

/// What a pool thread can do with a job.
pub(crate) trait Job: Send {
    /// Runs the closure, unless the job was aborted before it started or
    /// (for jobs that are not mandatory) the pool is shutting down: then the
    /// closure is dropped unrun. The outcome is kept for the drop.
    fn run(&mut self, shutting_down: bool);

    /// Where the job was spawned (for the queue-wait alarm and the trace).
    fn spawned_at(&self) -> &'static Location<'static>;

    /// When the job was queued, if the pool is watched (queue-wait alarm).
    fn queued_at(&self) -> Option<Instant>;
}

/// A closure `F` whose result `R` goes to a `JoinSlot<R>`.
pub(crate) struct BlockingJob<F, R> {
    /// The closure, until it runs (or is skipped).
    f: Option<F>,
    /// The result, between the run and the delivery.
    outcome: Option<Result<R, JoinError>>,
    /// Where the outcome goes; its header tells whether abort() was called.
    slot: Arc<JoinSlot<R>>,
    /// Runs even when the pool shuts down before it started. File writes
    /// are mandatory: a write that `poll_write` has reported as accepted
    /// must reach the file even if the runtime is dropped right after.
    mandatory: bool,
    /// When the job entered the queue; only read when the pool is watched,
    /// so only set then (a clock read per job is not free).
    queued_at: Option<Instant>,
}

impl<F, R> BlockingJob<F, R> {
    pub(crate) fn new(f: F, slot: Arc<JoinSlot<R>>, mandatory: bool) -> BlockingJob<F, R> {
        BlockingJob {
            f: Some(f),
            outcome: None,
            slot,
            mandatory,
            queued_at: None,
        }
    }

    /// Records when the job was queued.
    pub(crate) fn queued_at(mut self, at: Option<Instant>) -> BlockingJob<F, R> {
        self.queued_at = at;
        self
    }
}

impl<F, R> Job for BlockingJob<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    fn run(&mut self, shutting_down: bool) {
        let Some(f) = self.f.take() else { return };
        let skip = self.slot.header.is_cancelled() || (shutting_down && !self.mandatory);
        self.outcome = Some(if skip {
            // Dropping an unrun closure runs its captures' destructors, which
            // may panic too: that must not kill the pool thread either.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(f)));
            Err(JoinError::cancelled())
        } else {
            catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::panic)
        });
    }

    fn spawned_at(&self) -> &'static Location<'static> {
        self.slot.header.spawned_at()
    }

    fn queued_at(&self) -> Option<Instant> {
        self.queued_at
    }
}

impl<F, R> Drop for BlockingJob<F, R> {
    fn drop(&mut self) {
        // Never run (dropped with the channel, or the pool refused it on
        // the spawner's thread): the closure's captures are dropped here,
        // and a panic of theirs must neither fail the spawn nor skip the
        // delivery below.
        drop_contained(self.f.take());
        // Report cancellation rather than leave the handle waiting.
        let outcome = self
            .outcome
            .take()
            .unwrap_or_else(|| Err(JoinError::cancelled()));
        self.slot.complete(outcome);
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    fn slot<R>() -> Arc<JoinSlot<R>> {
        Arc::new(JoinSlot::new(None))
    }

    fn take<R>(slot: &Arc<JoinSlot<R>>) -> Result<R, JoinError> {
        let mut handle = std::pin::pin!(crate::task::JoinHandle::new(slot.clone()));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match handle.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(outcome) => outcome,
            std::task::Poll::Pending => panic!("the job delivered nothing"),
        }
    }

    #[test]
    fn run_then_drop_delivers_the_value() {
        let slot = slot();
        let mut job = BlockingJob::new(|| 7, slot.clone(), false);
        job.run(false);
        drop(job);
        assert_eq!(take(&slot).expect("ran"), 7);
    }

    #[test]
    fn dropped_unrun_job_reports_cancelled() {
        let slot = slot::<u8>();
        drop(BlockingJob::new(|| 1, slot.clone(), true));
        assert!(take(&slot).expect_err("never ran").is_cancelled());
    }

    #[test]
    fn shutdown_skips_only_non_mandatory_jobs() {
        let optional = slot();
        let mut job = BlockingJob::new(|| 1, optional.clone(), false);
        job.run(true);
        drop(job);
        assert!(take(&optional).expect_err("skipped").is_cancelled());

        let mandatory = slot();
        let mut job = BlockingJob::new(|| 2, mandatory.clone(), true);
        job.run(true);
        drop(job);
        assert_eq!(take(&mandatory).expect("mandatory jobs run"), 2);
    }

    #[test]
    fn aborted_job_is_skipped() {
        let slot = slot();
        // Kept alive: a dropped handle detaches, and the outcome is discarded.
        let handle = crate::task::JoinHandle::new(slot.clone());
        handle.abort();
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        let mut job = BlockingJob::new(
            move || flag.store(true, std::sync::atomic::Ordering::SeqCst),
            slot.clone(),
            true,
        );
        job.run(false);
        drop(job);
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        assert!(take(&slot).expect_err("aborted").is_cancelled());
        drop(handle);
    }

    #[test]
    fn panic_is_caught_and_reported() {
        let slot = slot::<()>();
        let mut job = BlockingJob::new(|| panic!("boom"), slot.clone(), false);
        job.run(false);
        drop(job);
        assert!(take(&slot).expect_err("panicked").is_panic());
    }
}
