//! The elastic pool: threads started on demand, retired when idle.
//!
//! # Who runs a new job
//!
//! Jobs wait in one crossbeam channel (a multi-consumer queue); every pool
//! thread loops on `recv_timeout(keep_alive)`. When a job is sent, one of
//! three things is true:
//!
//! 1. a thread is idle, blocked in `recv`: the channel hands it the job;
//! 2. every thread is busy but the pool is below `max_threads`: start one;
//! 3. the pool is full: the job waits in the channel until a thread is free
//!    (libuv's fixed pool does only this, with `UV_THREADPOOL_SIZE` threads).
//!
//! `spawn` tells these apart with two numbers: the jobs waiting in the
//! channel and the threads waiting in `recv` (`idle`, an atomic the threads
//! keep themselves). More jobs than idle threads means case 2 or 3. The
//! count is a snapshot, and a thread may be between `recv` and its
//! `idle` update, so it can be off by one for an instant. Too few idle
//! threads counted: one thread too many starts, and retires after the
//! keep-alive. Too many (a thread took its job but still counts as idle):
//! `spawn` starts no thread, so the thread itself, once it has updated
//! `idle`, looks at the queue and starts one if jobs wait and nobody is
//! idle (`cover_for_me`). One of the two always sees the other's update.
//!
//! # Retiring, and why it takes the lock
//!
//! A thread whose `recv_timeout` expires wants to exit. It must not leave a
//! job behind: `spawn` may have just sent one, counting on this thread. So
//! sending (in `spawn`) and retiring both happen under the `state` lock, and
//! a retiring thread first checks that the channel is empty. Either the job
//! was sent before (the thread sees it and stays) or after (`spawn` sees one
//! thread fewer and starts another).
//!
//! # Spinning before sleeping
//!
//! A job that reads 4 KiB from the page cache takes about a microsecond.
//! The loop that sent it has nothing else to do, so it would go to sleep in
//! `epoll_wait`, and the job's result would have to wake it: an eventfd
//! write, a context switch, and on a virtual machine an interrupt to an
//! idle virtual CPU, together tens of microseconds, ten times the job. So
//! right before sleeping, the loop asks the pool ([`Pool::spin_for_results`])
//! and, if jobs are in flight, watches its injection queue for up to
//! [`SPIN`] (20 µs) first, yielding its CPU between looks in case the pool
//! thread is waiting for it (measured under load: 28 µs per 4 KiB read
//! with a pure spin, 11 µs with the yield, against tokio's 13 to 16 µs).
//! Spinning is only worth it while the pool is busy with short jobs, so the
//! loop spins only if the pool has sent or delivered a job since the loop
//! last asked: a single hour-long job costs one 20 µs spin, not one per
//! loop turn.
//!
//! # Shutdown
//!
//! `Runtime::drop` calls [`Pool::shutdown`] after every task is gone. It
//! drops the only `Sender`, so each thread's `recv` drains what is queued and
//! then reports "disconnected"; a queued job that is not mandatory is skipped
//! (its handle reports cancellation), a mandatory one (a file write) still
//! runs. Then `shutdown` joins every thread: when it returns, the jobs that
//! were running have finished and no pool thread is left.

use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::job::{BlockingJob, Job};
use crate::runtime::watch::PoolWatch;
use crate::task::JoinHandle;
use crate::task::join::JoinSlot;

/// The name pool threads carry (visible in `top -H` and `/proc/*/task/*/comm`).
pub(crate) const THREAD_NAME: &str = "evloop-blocking";

/// How long the loop spins for a job's result before it sleeps; see the
/// module docs. 20 µs covers a page-cache read and its hand-offs with room
/// to spare (measured: 10 µs already catches nearly all 4 KiB reads).
const SPIN: Duration = Duration::from_micros(20);

/// The blocking thread pool of one runtime. See the module docs.
pub(crate) struct Pool {
    /// Everything the pool threads share with the pool.
    inner: Arc<Inner>,
}

/// The part of the pool each of its threads holds.
struct Inner {
    /// Counts and thread handles; also serialises `spawn` against retiring.
    state: Mutex<State>,
    /// The consuming end of the job queue, cloned into every thread (and
    /// kept here to read the queue's length).
    receiver: Receiver<Box<dyn Job>>,
    /// Threads blocked in `recv`, waiting for a job.
    idle: AtomicUsize,
    /// Jobs sent and not yet delivered (queued or running).
    in_flight: AtomicUsize,
    /// Counts sends and deliveries: it changes whenever the pool does
    /// something the loop may be waiting for.
    activity: AtomicUsize,
    /// `activity` when the loop last asked to spin; written by the loop only.
    activity_seen: AtomicUsize,
    /// Set by `shutdown`: queued jobs that are not mandatory are skipped.
    shutting_down: AtomicBool,
    /// The most threads the pool may have.
    max_threads: usize,
    /// How long a thread waits for a job before it exits.
    keep_alive: Duration,
    /// Jobs run (or skipped) and delivered, for the metrics.
    completed: AtomicU64,
    /// The queue-wait alarm and the trace, when the runtime is watched.
    watch: Option<PoolWatch>,
}

/// What `spawn`, retiring threads and `shutdown` change together.
struct State {
    /// The producing end of the queue; `None` once the pool is shut down.
    sender: Option<Sender<Box<dyn Job>>>,
    /// Live pool threads, by a pool-local number, so that `shutdown` can
    /// join them.
    workers: HashMap<usize, thread::JoinHandle<()>>,
    /// The number the next thread gets.
    next_worker: usize,
    /// The last thread that retired, joined by the next one to retire (or by
    /// `shutdown`): a thread cannot join itself, and this way at most one
    /// finished thread is ever left unjoined.
    retired: Option<thread::JoinHandle<()>>,
}

impl Pool {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> Pool {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let state = State {
            sender: Some(sender),
            workers: HashMap::new(),
            next_worker: 0,
            retired: None,
        };
        Pool {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                receiver,
                idle: AtomicUsize::new(0),
                in_flight: AtomicUsize::new(0),
                activity: AtomicUsize::new(0),
                activity_seen: AtomicUsize::new(0),
                shutting_down: AtomicBool::new(false),
                max_threads: max_threads.max(1),
                keep_alive,
                completed: AtomicU64::new(0),
                watch: None,
            }),
        }
    }

    /// The same pool, watched by `watch` (see `runtime/watch/`).
    pub(crate) fn watched(mut self, watch: Option<PoolWatch>) -> Pool {
        Arc::get_mut(&mut self.inner)
            .expect("a pool is watched before any thread shares it")
            .watch = watch;
        self
    }

    /// Copies the pool's counts into `metrics`.
    pub(crate) fn fill_metrics(&self, metrics: &mut crate::RuntimeMetrics) {
        metrics.blocking_threads = self.inner.lock().workers.len();
        metrics.blocking_idle = self.inner.idle.load(Ordering::SeqCst);
        metrics.blocking_queued = self.inner.receiver.len();
        metrics.blocking_jobs_done = self.inner.completed.load(Ordering::Relaxed);
    }

    /// Runs `f` on a pool thread; a queued `f` is skipped at shutdown.
    #[track_caller]
    pub(crate) fn spawn<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn_job(f, false, Location::caller())
    }

    /// As [`Pool::spawn`], for a job spawned at `at`.
    pub(crate) fn spawn_at<F, R>(&self, f: F, at: &'static Location<'static>) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn_job(f, false, at)
    }

    /// Runs `f` on a pool thread, even if the runtime shuts down first.
    #[track_caller]
    pub(crate) fn spawn_mandatory<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn_job(f, true, Location::caller())
    }

    fn spawn_job<F, R>(
        &self,
        f: F,
        mandatory: bool,
        at: &'static Location<'static>,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let slot = Arc::new(JoinSlot::spawned_at(None, at));
        let queued_at = self.inner.watch.as_ref().map(|_| Instant::now());
        let job = BlockingJob::new(f, slot.clone(), mandatory).queued_at(queued_at);
        let job: Box<dyn Job> = Box::new(job);
        // Jobs that cannot run are dropped (and so deliver "cancelled")
        // after the lock is released: delivering wakes a waker.
        let refused = self.send(job);
        drop(refused);
        JoinHandle::new(slot)
    }

    /// Queues `job` and starts a thread if no idle one will take it.
    /// Returns the jobs that can never run: `job` itself after shutdown,
    /// or the whole queue if the OS refuses the pool its first thread.
    fn send(&self, job: Box<dyn Job>) -> Vec<Box<dyn Job>> {
        let mut state = self.inner.lock();
        let Some(sender) = &state.sender else {
            return vec![job];
        };
        self.inner.in_flight.fetch_add(1, Ordering::SeqCst);
        self.inner.activity.fetch_add(1, Ordering::Relaxed);
        // Cannot fail: `inner.receiver` keeps the channel open.
        let _ = sender.send(job);
        if !self.inner.grow(&mut state) && state.workers.is_empty() {
            // The OS refused the pool its only thread: nothing would ever
            // run what is queued.
            let orphans: Vec<_> = self.inner.receiver.try_iter().collect();
            self.inner
                .in_flight
                .fetch_sub(orphans.len(), Ordering::SeqCst);
            return orphans;
        }
        Vec::new()
    }

    /// Called by the loop right before it would sleep in `epoll_wait`:
    /// spins for up to [`SPIN`] until `arrived()` (a result reached the
    /// loop), and says whether it did. See the module docs.
    pub(crate) fn spin_for_results(&self, arrived: impl Fn() -> bool) -> bool {
        if !self.worth_spinning() {
            return false;
        }
        let start = Instant::now();
        loop {
            for _ in 0..64 {
                if arrived() {
                    return true;
                }
                std::hint::spin_loop();
            }
            if self.inner.in_flight.load(Ordering::SeqCst) == 0 || start.elapsed() >= SPIN {
                return arrived();
            }
            // On a busy machine the pool thread may be waiting for this very
            // CPU: yielding lets it run instead of spinning against it.
            std::thread::yield_now();
        }
    }

    /// True if jobs are in flight and the pool sent or delivered one since
    /// the loop last asked.
    fn worth_spinning(&self) -> bool {
        let activity = self.inner.activity.load(Ordering::Relaxed);
        let changed = self.inner.activity_seen.swap(activity, Ordering::Relaxed) != activity;
        changed && self.inner.in_flight.load(Ordering::SeqCst) > 0
    }

    /// Stops the pool: queued jobs are skipped (mandatory ones run), and
    /// this returns once every pool thread has exited. Idempotent.
    pub(crate) fn shutdown(&self) {
        let threads: Vec<_> = {
            let mut state = self.inner.lock();
            self.inner.shutting_down.store(true, Ordering::SeqCst);
            state.sender = None;
            let retired = state.retired.take();
            state
                .workers
                .drain()
                .map(|(_, t)| t)
                .chain(retired)
                .collect()
        };
        let me = thread::current().id();
        for thread in threads {
            // A runtime dropped inside one of its own blocking jobs: that
            // thread exits when the job returns; it cannot wait for itself.
            if thread.thread().id() != me {
                // A pool thread cannot panic: jobs run under catch_unwind.
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // `Runtime::drop` has shut the pool down already; this covers a
        // `Shared` that outlives it and is dropped on some other thread.
        let mut state = self.inner.lock();
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        state.sender = None;
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No job runs under this lock, so a poisoned state is still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a thread if more jobs wait than threads are idle and the pool
    /// is below its limit; called with the state locked. Returns false only
    /// if a thread was needed and the OS refused it (then, with other
    /// threads alive, the job just waits its turn).
    fn grow(self: &Arc<Self>, state: &mut State) -> bool {
        let needed = self.receiver.len() > self.idle.load(Ordering::SeqCst)
            && state.workers.len() < self.max_threads;
        if !needed {
            return true;
        }
        let id = state.next_worker;
        state.next_worker += 1;
        let inner = self.clone();
        let started = thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || inner.work(id));
        match started {
            Ok(handle) => {
                state.workers.insert(id, handle);
                true
            }
            Err(_) => false,
        }
    }

    /// A pool thread's life: take jobs until idle for `keep_alive`, or until
    /// the pool shuts down.
    fn work(self: Arc<Self>, id: usize) {
        self.idle.fetch_add(1, Ordering::SeqCst);
        loop {
            let received = self.receiver.recv_timeout(self.keep_alive);
            self.idle.fetch_sub(1, Ordering::SeqCst);
            match received {
                Ok(mut job) => {
                    self.cover_for_me();
                    let started = self.job_taken(&*job);
                    job.run(self.shutting_down.load(Ordering::SeqCst));
                    self.job_ran(id, &*job, started);
                    // Count ourselves idle *before* delivering the outcome:
                    // the task it wakes often spawns the next job at once,
                    // and should find this thread rather than start another.
                    self.idle.fetch_add(1, Ordering::SeqCst);
                    // Delivery wakes a waker, which is foreign code.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(job)));
                    self.in_flight.fetch_sub(1, Ordering::SeqCst);
                    self.activity.fetch_add(1, Ordering::Relaxed);
                    self.completed.fetch_add(1, Ordering::Relaxed);
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self.retire(id) {
                        return;
                    }
                    self.idle.fetch_add(1, Ordering::SeqCst);
                }
                // Shut down and drained; `shutdown` joins us.
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// A pool thread took `job`: sound the queue-wait alarm if it waited
    /// too long; returns the start time if job runs are traced.
    fn job_taken(&self, job: &dyn Job) -> Option<Instant> {
        let watch = self.watch.as_ref()?;
        watch.job_taken(job.queued_at(), job.spawned_at());
        watch.traces_jobs().then(Instant::now)
    }

    /// Pool thread `worker` ran `job` from `started` (if traced) to now.
    fn job_ran(&self, worker: usize, job: &dyn Job, started: Option<Instant>) {
        if let (Some(watch), Some(started)) = (&self.watch, started) {
            watch.job_ran(worker, job.spawned_at(), started);
        }
    }

    /// Called by a thread that just took a job: if more jobs wait and no
    /// thread is idle, start one. `spawn` may have counted this thread as
    /// idle after it had taken its job (see the module docs); without this,
    /// a job could then wait behind a long one while the pool is below its
    /// limit.
    fn cover_for_me(self: &Arc<Self>) {
        if self.idle.load(Ordering::SeqCst) == 0 && !self.receiver.is_empty() {
            let mut state = self.lock();
            if state.sender.is_some() {
                // A refusal leaves the job to the next free thread (this one).
                self.grow(&mut state);
            }
        }
    }

    /// Leaves the pool unless a job arrived meanwhile. See the module docs.
    fn retire(&self, id: usize) -> bool {
        let previous = {
            let mut state = self.lock();
            if !self.receiver.is_empty() {
                return false;
            }
            // `None` if `shutdown` already took our handle: it joins us.
            let Some(me) = state.workers.remove(&id) else {
                return true;
            };
            state.retired.replace(me)
        };
        if let Some(previous) = previous {
            // It has left `work` already, or is about to.
            let _ = previous.join();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loop_spins_only_after_pool_activity() {
        let pool = Pool::new(2, Duration::from_secs(10));
        assert!(!pool.worth_spinning(), "nothing in flight");
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let long = pool.spawn(move || gate.recv().is_ok());
        assert!(pool.worth_spinning(), "a job was just sent");
        assert!(!pool.worth_spinning(), "a long job is worth one spin only");
        assert!(!pool.spin_for_results(|| false));
        let short = pool.spawn(|| 1);
        while !short.is_finished() {
            // On a busy machine the pool thread may be waiting for this very
            // CPU: yielding lets it run instead of spinning against it.
            std::thread::yield_now();
        }
        assert!(pool.worth_spinning(), "sends and deliveries count");
        release.send(()).expect("the long job waits");
        // Delivery comes first, then the count: wait for the count.
        while !long.is_finished() || pool.inner.in_flight.load(Ordering::SeqCst) > 0 {
            // On a busy machine the pool thread may be waiting for this very
            // CPU: yielding lets it run instead of spinning against it.
            std::thread::yield_now();
        }
        assert!(!pool.worth_spinning(), "nothing left in flight");
        pool.shutdown();
    }

    /// The idle-count race, staged: a job sits in the queue while every
    /// thread is busy and `spawn` started no thread for it (it counted a
    /// thread as idle that had in fact just taken a long job). The thread's
    /// own check must start one.
    #[test]
    fn a_busy_thread_starts_another_for_a_job_nobody_would_take() {
        let pool = Pool::new(2, Duration::from_secs(10));
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        let _long = pool.spawn(move || {
            started_tx.send(()).expect("the test waits");
            gate.recv().is_ok()
        });
        started.recv().expect("the long job starts");
        assert_eq!(pool.inner.lock().workers.len(), 1);
        assert_eq!(pool.inner.idle.load(Ordering::SeqCst), 0);
        // Queue a job the way `send` does, minus the growth decision.
        let slot = Arc::new(JoinSlot::new(None));
        let job: Box<dyn Job> = Box::new(BlockingJob::new(|| 5, slot.clone(), false));
        let sender = pool.inner.lock().sender.clone().expect("not shut down");
        pool.inner.in_flight.fetch_add(1, Ordering::SeqCst);
        sender.send(job).expect("open");
        drop(sender);
        pool.inner.cover_for_me();
        let short = JoinHandle::new(slot);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !short.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the job waited behind the long one"
            );
            std::thread::yield_now();
        }
        assert_eq!(pool.inner.lock().workers.len(), 2);
        release.send(()).expect("the long job waits");
        pool.shutdown();
    }
}
