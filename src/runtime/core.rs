//! The loop itself: one thread's tasks, run queue, reactor and timers, and
//! the function that turns it once.
//!
//! # One turn of the loop
//!
//! ```text
//!        ┌──────────────────────────────────────────────┐
//!        ▼                                              │
//!  1. update `now`; fire due timers (wake their tasks)  │
//!  2. drain the injection queue (remote wakes, remote   │
//!     spawns, blocking-pool results)                    │
//!  3. run ready tasks, at most BUDGET of them           │
//!  4. timeout = 0 if work is ready, else until the      │
//!     next timer, else forever                          │
//!  5. epoll_wait(timeout); wake the tasks of each event ┘
//! ```
//!
//! Timers, then the work that is ready, then poll for I/O: the shape of
//! libuv's `uv_run` (whose own list of phases is longer; see
//! `docs/04-the-loop-turn.md`). The injection queue is drained *before*
//! the tasks run, so that a task another thread woke before this turn runs
//! in this turn, not one turn (and one `epoll_wait`) later. These
//! properties fall out of the order:
//!
//! * **No starvation.** Phase 3 stops once [`BUDGET`] polls have been made
//!   since the loop last went to the OS, even if tasks are still ready (a
//!   task that wakes itself forever always is). The loop then goes through
//!   phases 4 and 5 with a zero timeout, so timers fire and I/O is read at
//!   least once every `BUDGET` polls.
//! * **Remote wakes are not late.** A wake sent from another thread before
//!   the turn began is in the queue by phase 2, so the woken task runs in
//!   phase 3 of the same turn, before the `block_on` future is polled again.
//! * **The `block_on` future first.** When a task wakes the future passed to
//!   `block_on` and the budget is not spent, the turn ends after phase 3:
//!   that future is polled at once instead of after an `epoll_wait(0)`.
//! * **No busy waiting.** When nothing is ready, phase 5 sleeps in the kernel
//!   until an event, the next timer, or a remote wake (see
//!   [`super::handle`]).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::handle::{Injected, Shared};
use super::watch::{Phase, PollOf, TaskInfo, Watch, Watcher, Watching, task_info};
use crate::reactor::Reactor;
use crate::task::TaskId;
use crate::task::join::{JoinHandle, JoinSlot, TaskFuture};
use crate::task::table::{BoxFuture, TaskTable};
use crate::time::Wheel;

/// How many tasks phase 3 polls before the loop checks timers and the OS
/// again. tokio's current-thread scheduler checks every 61 polls; 128 keeps
/// the `epoll_wait(0)` that a busy loop pays per budget well under 1% of the
/// run time of trivial tasks while bounding I/O latency behind a busy loop
/// to 128 task polls.
pub const BUDGET: usize = 128;

/// Where the count of `block_on` polls starts: the top bit set, so the
/// slow-poll detector never mistakes one for a task poll with the same
/// count (see `runtime/watch/watchdog.rs`).
const MAIN_POLLS: u64 = 1 << 63;

/// One event loop's state. Owned by its `Runtime`, reachable from its thread
/// through [`super::context`]; never shared with another thread.
pub(crate) struct Core {
    /// The part of the loop other threads can reach.
    pub(crate) shared: Arc<Shared>,
    /// Every live task of this loop.
    tasks: RefCell<TaskTable>,
    /// Ids of tasks to poll, in wake order. An id may be stale (its task
    /// finished since it was queued): the table lookup filters those out.
    run_queue: RefCell<VecDeque<TaskId>>,
    /// The receiving end of the injection queue.
    inject: Receiver<Injected>,
    /// The I/O driver.
    pub(crate) reactor: RefCell<Reactor>,
    /// The timer driver.
    pub(crate) timers: RefCell<Wheel>,
    /// The time at the start of this turn: one clock read per turn.
    now: Cell<Instant>,
    /// Scratch buffer for wakers collected under a borrow and woken after it.
    wake_buffer: RefCell<Vec<Waker>>,
    /// Set while the runtime is being dropped.
    shutting_down: Cell<bool>,
    /// How many task polls the loop has made (for metrics, and the number
    /// of the running poll for the slow-poll detector).
    tasks_polled: Cell<u64>,
    /// How many polls of `block_on` futures the loop has made, from
    /// `MAIN_POLLS` up: the detector's numbers for them, never equal to
    /// a task poll's.
    pub(crate) main_polls: Cell<u64>,
    /// How many times the loop has called `epoll_wait` (for metrics).
    os_polls: Cell<u64>,
    /// Polls (tasks and the `block_on` future) since the last `epoll_wait`:
    /// the loop may skip going to the OS only while this is under `BUDGET`.
    polls_since_os: Cell<usize>,
    /// Counters, and the slow-poll detector and trace when they are on
    /// (see `runtime/watch/`).
    pub(crate) watch: Watch,
}

/// The waker of the future passed to `block_on`, which is not a task: the
/// loop polls it whenever this flag is set.
pub(crate) struct MainWaker {
    /// Set by a wake; the loop clears it before polling the future.
    woken: AtomicBool,
    /// The future woke itself during its last poll (it yielded).
    yielded: AtomicBool,
    /// The loop to wake when the wake comes from another thread.
    shared: Arc<Shared>,
}

impl MainWaker {
    pub(crate) fn new(shared: Arc<Shared>) -> MainWaker {
        MainWaker {
            woken: AtomicBool::new(true),
            yielded: AtomicBool::new(false),
            shared,
        }
    }

    /// True (once) if the main future should be polled.
    pub(crate) fn take_woken(&self) -> bool {
        self.woken.swap(false, Ordering::SeqCst)
    }

    /// Called right after a `Pending` poll of the main future: a wake that
    /// is already there came from the future itself.
    pub(crate) fn note_pending(&self) {
        let woke_itself = self.woken.load(Ordering::SeqCst);
        self.yielded.store(woke_itself, Ordering::Relaxed);
    }
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        // A no-op unless the loop sleeps, which it never does while running
        // on this thread: so a local wake makes no syscall.
        self.shared.unpark();
    }
}

impl Core {
    pub(crate) fn new(shared: Arc<Shared>, inject: Receiver<Injected>, reactor: Reactor) -> Core {
        let now = Instant::now();
        Core {
            shared,
            tasks: RefCell::default(),
            run_queue: RefCell::new(VecDeque::with_capacity(BUDGET)),
            inject,
            reactor: RefCell::new(reactor),
            timers: RefCell::new(Wheel::new(now)),
            now: Cell::new(now),
            wake_buffer: RefCell::default(),
            shutting_down: Cell::new(false),
            tasks_polled: Cell::new(0),
            main_polls: Cell::new(MAIN_POLLS),
            os_polls: Cell::new(0),
            polls_since_os: Cell::new(0),
            watch: Watch::off(),
        }
    }

    /// The time this turn started.
    #[allow(dead_code)] // read by the timers
    pub(crate) fn now(&self) -> Instant {
        self.now.get()
    }

    /// Queues a task id (a local wake).
    pub(crate) fn push_ready(&self, id: TaskId) {
        self.run_queue.borrow_mut().push_back(id);
    }

    /// Spawns a future on this loop.
    #[track_caller]
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        self.spawn_at(future, Location::caller())
    }

    /// Spawns a future on this loop, recording `at` as its spawn location.
    pub(crate) fn spawn_at<F>(
        &self,
        future: F,
        at: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let slot = Arc::new(JoinSlot::spawned_at(Some(self.shared.clone()), at));
        let waker = Waker::from(slot.clone());
        self.insert(Box::pin(TaskFuture::new(future, slot.clone())), waker);
        JoinHandle::new(slot)
    }

    /// Puts a task in the table and queues its first poll.
    pub(crate) fn insert(&self, mut future: BoxFuture, waker: Waker) {
        if self.shutting_down.get() {
            // The runtime is being dropped: the task would never run.
            // Dropping the future reports cancellation to its handle; a
            // panic of its destructor must not cut the shutdown short.
            drop_quietly(future);
            return;
        }
        future.as_mut().header().set_scheduled();
        self.watch.spawned();
        let id = self.tasks.borrow_mut().insert(future, waker);
        self.push_ready(id);
    }

    /// One turn of the loop. See the module docs.
    pub(crate) fn turn(&self, main: &MainWaker) -> io::Result<()> {
        self.fire_timers(); // 1
        self.drain_injected(); // 2
        self.run_ready_tasks(); // 3
        if self.main_goes_first(main) {
            return Ok(()); // the block_on future runs before phases 4 and 5
        }
        let timeout = self.poll_timeout(main); // 4
        self.poll_os(timeout) // 5
    }

    /// A task woke the `block_on` future: poll it at once rather than after
    /// an `epoll_wait(0)`, unless a whole budget of polls has passed since
    /// the loop last looked at the OS (then I/O and timers come first).
    ///
    /// Not when the future woke *itself* during its poll (`yield_now`): a
    /// future that yields asks to let everything else run first, I/O
    /// included, as it would with tokio.
    fn main_goes_first(&self, main: &MainWaker) -> bool {
        main.woken.load(Ordering::SeqCst)
            && !main.yielded.load(Ordering::Relaxed)
            && self.polls_since_os.get() < BUDGET
    }

    /// Counts a poll of the `block_on` future towards the OS budget.
    pub(crate) fn note_main_poll(&self) {
        self.main_polls.set(self.main_polls.get() + 1);
        self.polls_since_os.set(self.polls_since_os.get() + 1);
    }

    /// Phase 1: refresh the clock, wake the tasks whose timers are due.
    fn fire_timers(&self) {
        self.now.set(Instant::now());
        let mut wakers = self.wake_buffer.take();
        self.watch.turn_begin(self.now());
        self.timers.borrow_mut().fire_due(self.now(), &mut wakers);
        self.watch.timers_fired(wakers.len());
        wakers.drain(..).for_each(Waker::wake);
        self.wake_buffer.replace(wakers);
        self.watch.phase_end(Phase::Timers);
    }

    /// Phase 3: poll ready tasks, as many as the budget has left: at most
    /// `BUDGET` polls between two visits to the OS.
    ///
    /// Whether and how polls are watched is decided here, once per turn:
    /// the loop below is compiled once per kind of [`Watcher`], so the
    /// unwatched one is the plain loop, without even a branch per poll.
    fn run_ready_tasks(&self) {
        match self.watch.watcher() {
            Watching::Off(watcher) => self.run_ready_tasks_with(&watcher),
            Watching::Detector(watcher) => self.run_ready_tasks_with(&watcher),
            Watching::Traced(watcher) => self.run_ready_tasks_with(&watcher),
        }
        self.watch.phase_end(Phase::Tasks);
    }

    fn run_ready_tasks_with(&self, watcher: &impl Watcher) {
        for _ in self.polls_since_os.get()..BUDGET {
            let Some(id) = self.run_queue.borrow_mut().pop_front() else {
                break;
            };
            self.run_task(id, watcher);
        }
    }

    /// Polls one task, or drops it if it was aborted.
    fn run_task(&self, id: TaskId, watcher: &impl Watcher) {
        let (mut future, waker) = {
            let mut tasks = self.tasks.borrow_mut();
            // A stale id: the task finished (or its slot was reused) since.
            let Some(task) = tasks.get_mut(id) else {
                return;
            };
            // `None`: a duplicate entry for a task being polled right now.
            let Some(mut future) = task.future.take() else {
                return;
            };
            // From here on a wake queues the task again.
            future.as_mut().header().clear_scheduled();
            if future.as_mut().header().is_cancelled() {
                let task = tasks.remove(id);
                drop(tasks);
                drop(task);
                drop_quietly(future);
                return;
            }
            let waker = task
                .waker
                .take()
                .expect("a task's waker is home while it is");
            (future, waker)
        };
        let number = self.tasks_polled.get() + 1;
        self.tasks_polled.set(number);
        self.polls_since_os.set(self.polls_since_os.get() + 1);
        let mut cx = Context::from_waker(&waker);
        // `TaskFuture` catches panics of the user's future itself.
        let poll = |f: &mut BoxFuture| f.as_mut().poll(&mut cx).is_ready();
        let who = move |f: &mut BoxFuture| PollOf {
            task: Some(id),
            spawned_at: f.as_mut().header().spawned_at(),
        };
        let ready = watcher.poll(number, &mut future, poll, who);
        if ready {
            let task = self.tasks.borrow_mut().remove(id);
            drop((task, waker));
            drop_quietly(future);
        } else if let Some(task) = self.tasks.borrow_mut().get_mut(id) {
            task.future = Some(future);
            task.waker = Some(waker);
            task.polls = task.polls.wrapping_add(1);
            task.last_poll = self.watch.turn_millis();
        }
    }

    /// Phase 2: take in what other threads sent.
    fn drain_injected(&self) {
        let mut received = 0;
        while let Ok(message) = self.inject.try_recv() {
            received += 1;
            match message {
                Injected::Wake(id) => self.push_ready(id),
                Injected::Spawn(task) => self.insert(task.future, task.waker),
                Injected::ReleaseIo(token) => {
                    let wakers = self.reactor.borrow_mut().release(token);
                    wakers.into_iter().for_each(Waker::wake);
                }
                Injected::CancelTimer(key) => {
                    let waker = self.timers.borrow_mut().cancel(key);
                    drop(waker); // after the borrow: a waker's drop may run any code
                }
                Injected::Dump(answer) => {
                    let _ = answer.send(self.dump()); // the asker may have left
                }
            }
        }
        self.watch.injected(received);
        self.watch.phase_end(Phase::Inject);
    }

    /// Phase 4: how long phase 5 may sleep.
    fn poll_timeout(&self, main: &MainWaker) -> Option<Duration> {
        if !self.run_queue.borrow().is_empty() || main.woken.load(Ordering::SeqCst) {
            return Some(Duration::ZERO);
        }
        // A running pool job usually ends within microseconds: waiting for
        // its result is cheaper than sleeping and being woken.
        if self
            .shared
            .blocking
            .spin_for_results(|| !self.inject.is_empty())
        {
            return Some(Duration::ZERO);
        }
        // From here on, other threads write the eventfd to wake us. Announce
        // it *before* the last look at the queue; see `handle`'s module docs.
        self.shared.sleeping.store(true, Ordering::SeqCst);
        // Orders the store above before the queue's loads below; crossbeam
        // does not document the orderings of `is_empty`, so we do not lean
        // on them. Its twin is in `Shared::inject`.
        fence(Ordering::SeqCst);
        if !self.inject.is_empty() || main.woken.load(Ordering::SeqCst) {
            return Some(Duration::ZERO);
        }
        let next = self.timers.borrow().next_deadline()?;
        // mio rounds a timeout up to whole milliseconds, so the loop never
        // wakes before the deadline; the wheel checks it again anyway.
        Some(next.saturating_duration_since(Instant::now()))
    }

    /// Phase 5: wait for I/O events and wake the tasks they concern.
    fn poll_os(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.watch.phase_end(Phase::Timeout);
        self.os_polls.set(self.os_polls.get() + 1);
        self.polls_since_os.set(0);
        let mut wakers = self.wake_buffer.take();
        let slept = self.watch.sleep_begin(timeout);
        let result = self.reactor.borrow_mut().poll(timeout, &mut wakers);
        let events = self.reactor.borrow().last_event_count();
        self.watch.sleep_end(slept, events);
        self.shared.sleeping.store(false, Ordering::SeqCst);
        self.shared.notified.store(false, Ordering::SeqCst);
        wakers.drain(..).for_each(Waker::wake);
        self.wake_buffer.replace(wakers);
        result
    }

    /// Drops every task, exactly once, then everything still in flight.
    ///
    /// A task's destructor may wake, abort or drop other tasks and their
    /// sockets, or try to spawn, so this runs with this loop current (the
    /// caller enters it, even inside another loop's task). Spawns are
    /// refused from here on (`insert` drops the new future at once, and
    /// `Handle::spawn` from other threads no longer queues), so a second
    /// round only finds tasks that arrived through the injection queue
    /// before the refusal.
    pub(crate) fn shutdown(&self) {
        self.shutting_down.set(true);
        // Other threads' spawns are refused from here on, so the drains
        // below see every one that got in: none is queued after the last
        // drain, where nobody would run or drop it (a blocking job waiting
        // for such a task would hang the pool's shutdown, and with it ours).
        self.shared.refuse_spawns();
        loop {
            self.drain_injected();
            let tasks = self.tasks.borrow_mut().drain();
            if tasks.is_empty() {
                break;
            }
            for task in tasks {
                // `None` only for a task being polled, which cannot be the
                // case here: shutdown runs outside of any poll.
                if let Some(future) = task.future {
                    drop_quietly(future);
                }
            }
        }
        self.run_queue.borrow_mut().clear();
    }

    /// Names the poll being made right now (of a task or of the `block_on`
    /// future): it changes with every poll, since each one counts towards
    /// `polls_since_os` and each visit to the OS resets that count. The
    /// inline file reads use it to give each poll its own copy budget.
    pub(crate) fn poll_stamp(&self) -> (u64, usize) {
        (self.os_polls.get(), self.polls_since_os.get())
    }

    pub(crate) fn metrics(&self) -> crate::runtime::RuntimeMetrics {
        let mut metrics = crate::runtime::RuntimeMetrics {
            tasks_polled: self.tasks_polled.get(),
            os_polls: self.os_polls.get(),
            unpark_writes: self.shared.unpark_writes.load(Ordering::Relaxed),
            live_tasks: self.tasks.borrow().len(),
            io_sources: self.reactor.borrow().len(),
            timers: self.timers.borrow().len(),
            ..Default::default()
        };
        self.watch.fill(&mut metrics);
        self.shared.blocking.fill_metrics(&mut metrics);
        metrics
    }

    /// Every live task; see `runtime/watch/dump.rs`.
    pub(crate) fn dump(&self) -> Vec<TaskInfo> {
        let now = self.watch.millis_now();
        let mut tasks = self.tasks.borrow_mut();
        tasks
            .iter_mut()
            .map(|(id, task)| task_info(id, task, now))
            .collect()
    }
}

/// Drops a task's future; a panic in its destructor is caught, so that one
/// bad `Drop` cannot take the loop (or the runtime's shutdown) down with it.
fn drop_quietly(future: BoxFuture) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(future)));
}
