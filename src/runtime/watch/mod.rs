//! Watching the loop: what it does, and who is holding it up.
//!
//! # The commonest event-loop bug
//!
//! A loop runs one task at a time, each until its next `.await`. A task that
//! calls something that blocks (a `std::thread::sleep`, a `std::fs` read, a
//! large `serde` parse, a synchronous logging call in Python's case) stops
//! every other task for that long: timers fire late, sockets go unread, and
//! nothing in the program says why. asyncio's debug mode names the culprit
//! ("Executing <Task ...> took 0.105 seconds"); evloop does the same.
//!
//! # What this module offers
//!
//! * The **slow-poll detector** ([`crate::Builder::slow_poll_threshold`], or
//!   `EVLOOP_DEBUG=1` for asyncio's 100 ms): a poll of a task, or of the
//!   `block_on` future, that takes longer than the threshold is reported
//!   once, with the task's id and the line that spawned it ([`SlowPoll`]).
//!   The same switch reports blocking-pool jobs that waited longer than a
//!   threshold in the pool's queue: the pool was saturated.
//! * **Counters** every loop keeps anyway (turns, busy and idle time, tasks
//!   spawned, injected messages, OS events, timers fired), read through
//!   [`crate::RuntimeMetrics`].
//! * The **loop trace** (`EVLOOP_TRACE=stderr` or `EVLOOP_TRACE=path.json`,
//!   or [`crate::Builder::trace`]): one line per turn, or a Chrome
//!   trace-event file that Perfetto draws as a timeline; see `trace.rs`.
//! * The **task dump** ([`crate::Runtime::dump`], [`crate::Handle::dump`]):
//!   every live task, where it was spawned, and what it is doing; see
//!   `dump.rs`.
//!
//! # What it costs
//!
//! Nothing that is off may cost anything per poll. Phase 3 asks the
//! [`Watch`] for this turn's [`Watcher`] once per turn and runs a copy of
//! its loop compiled for that watcher (loop unswitching, by generics): the
//! unwatched copy is the plain loop, without a branch of the watch in it.
//! The counters are plain
//! `Cell` increments, paid per turn or per spawn, not per poll, and the idle
//! time costs two clock reads only on turns where the loop really sleeps
//! (an `epoll_wait` with a non-zero timeout, itself a syscall and a context
//! switch). Even the detector reads no clock per poll: a watchdog thread
//! times the polls from outside (see `watchdog.rs`). Only the trace, which
//! writes every poll to a file anyway, reads the clock around each one.

mod dump;
mod trace;
mod watchdog;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use dump::{Dump, TaskInfo, TaskState, dump_on_signal};
pub(crate) use dump::{DumpRequest, task_info};
pub use trace::TraceTarget;
pub(crate) use trace::{ChromeTrace, Phase, TurnTrace};

use crate::task::TaskId;
use watchdog::Watchdog;

/// asyncio's debug-mode threshold (`loop.slow_callback_duration`), used when
/// `EVLOOP_DEBUG=1` switches the detector on.
pub const DEFAULT_SLOW_POLL_THRESHOLD: Duration = Duration::from_millis(100);

/// What a [`SlowPoll`] report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowPollKind {
    /// One poll of a spawned task took too long: the loop was blocked.
    Task,
    /// One poll of the future passed to `block_on` took too long.
    BlockOn,
    /// A blocking-pool job waited too long in the pool's queue before a
    /// thread took it: every pool thread was busy.
    QueueWait,
}

/// One report of the slow-poll detector. See the module docs.
///
/// A poll's `duration` is measured by a watchdog thread (see
/// `runtime/watch/watchdog.rs`): it is never more than the poll took, and
/// less by at most a tenth of the threshold. A queue wait is exact.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SlowPoll {
    /// Whether a task poll, a `block_on` poll or a pool job's queue wait.
    pub kind: SlowPollKind,
    /// The task, for [`SlowPollKind::Task`].
    pub task: Option<TaskId>,
    /// Where the task or job was spawned (or where `block_on` was called).
    pub spawned_at: &'static Location<'static>,
    /// How long the poll took, or how long the job waited.
    pub duration: Duration,
}

impl fmt::Display for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.spawned_at;
        let took = self.duration;
        match (self.kind, self.task) {
            (SlowPollKind::Task, Some(id)) => write!(
                f,
                "evloop: {id} (spawned at {at}) took {took:.1?} in one poll; \
                 the loop ran nothing else meanwhile (blocking call? use spawn_blocking)"
            ),
            (SlowPollKind::Task, None) | (SlowPollKind::BlockOn, _) => write!(
                f,
                "evloop: the block_on future (at {at}) took {took:.1?} in one poll; \
                 the loop ran nothing else meanwhile (blocking call? use spawn_blocking)"
            ),
            (SlowPollKind::QueueWait, _) => write!(
                f,
                "evloop: blocking job (spawned at {at}) waited {took:.1?} in the pool queue; \
                 every pool thread was busy (see Builder::max_blocking_threads)"
            ),
        }
    }
}

/// A callback set with [`crate::Builder::on_slow_poll`].
pub(crate) type SlowPollCallback = Arc<dyn Fn(&SlowPoll) + Send + Sync>;

/// Where reports go: a callback, or one line on stderr.
#[derive(Clone)]
pub(crate) struct Reporter(Option<SlowPollCallback>);

impl Reporter {
    fn report(&self, slow: &SlowPoll) {
        match &self.0 {
            Some(callback) => callback(slow),
            None => eprintln!("{slow}"),
        }
    }
}

/// The watch settings of a [`crate::Builder`].
#[derive(Clone, Default)]
pub(crate) struct WatchConfig {
    /// Report task polls longer than this.
    pub(crate) slow_poll: Option<Duration>,
    /// Report pool jobs that waited in the queue longer than this.
    pub(crate) queue_wait: Option<Duration>,
    /// Where reports go.
    pub(crate) reporter: Option<SlowPollCallback>,
    /// Where the loop trace goes, if anywhere.
    pub(crate) trace: Option<TraceTarget>,
}

impl fmt::Debug for WatchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchConfig")
            .field("slow_poll", &self.slow_poll)
            .field("queue_wait", &self.queue_wait)
            .field("callback", &self.reporter.is_some())
            .field("trace", &self.trace)
            .finish()
    }
}

impl WatchConfig {
    /// The settings the environment asks for: `EVLOOP_DEBUG=1` switches
    /// the detector on at 100 ms, `EVLOOP_TRACE` names a trace target.
    pub(crate) fn from_env() -> WatchConfig {
        let debug = std::env::var("EVLOOP_DEBUG")
            .map(|value| !matches!(value.trim(), "" | "0" | "false"))
            .unwrap_or(false);
        let threshold = debug.then_some(DEFAULT_SLOW_POLL_THRESHOLD);
        WatchConfig {
            slow_poll: threshold,
            queue_wait: threshold,
            reporter: None,
            trace: std::env::var_os("EVLOOP_TRACE").and_then(|v| TraceTarget::parse(&v)),
        }
    }

    /// Opens the trace (if any) and splits the settings between the loop
    /// and its blocking pool.
    pub(crate) fn start(&self) -> io::Result<(Watch, Option<PoolWatch>)> {
        let reporter = Reporter(self.reporter.clone());
        let trace = match &self.trace {
            Some(target) => Some(TurnTrace::open(target)?),
            None => None,
        };
        let chrome = trace.as_ref().and_then(TurnTrace::chrome);
        let pool = (self.queue_wait.is_some() || chrome.is_some()).then(|| PoolWatch {
            queue_wait: self.queue_wait,
            reporter: reporter.clone(),
            chrome: chrome.clone(),
        });
        let watchdog = self.slow_poll.map(Watchdog::start).transpose()?;
        let polls = match (watchdog, trace.is_some()) {
            (None, false) => Polls::Off,
            (Some(watchdog), false) => Polls::Detector(watchdog),
            (watchdog, true) => Polls::Traced(watchdog),
        };
        let active = (!matches!(polls, Polls::Off)).then(|| {
            Box::new(Active {
                reporter,
                trace: trace.map(RefCell::new),
            })
        });
        let mut watch = Watch::new(active);
        watch.polls = polls;
        Ok((watch, pool))
    }
}

/// What is on when someone watches: the detector and/or the trace.
struct Active {
    /// Where reports go.
    reporter: Reporter,
    /// The turn being traced, and where finished turns go.
    trace: Option<RefCell<TurnTrace>>,
}

/// How one poll is watched. Phase 3 is compiled once for each kind
/// (`Core::run_ready_tasks` matches on [`Watching`] once per turn), so with
/// nothing on, the loop's hot path carries no trace of the watch at all.
pub(crate) trait Watcher {
    /// Runs `poll` on `state` (one poll of a task, or of a `block_on`
    /// future). `number` tells this poll from the one before it: the
    /// loop's count of task polls (or of `block_on` polls) serves. `who`
    /// names the poll, and is only called when needed (a report, or the
    /// trace), so the hot path never builds its answer.
    fn poll<S: ?Sized, R>(
        &self,
        number: u64,
        state: &mut S,
        poll: impl FnOnce(&mut S) -> R,
        who: impl FnOnce(&mut S) -> PollOf,
    ) -> R;
}

/// This turn's watcher, as [`Watch::watcher`] found it.
pub(crate) enum Watching<'a> {
    Off(Unwatched),
    Detector(Detected<'a>),
    Traced(TracedPolls<'a>),
}

/// Nothing watches polls: a poll is just the poll.
pub(crate) struct Unwatched;

impl Watcher for Unwatched {
    #[inline(always)]
    fn poll<S: ?Sized, R>(
        &self,
        _: u64,
        state: &mut S,
        poll: impl FnOnce(&mut S) -> R,
        _: impl FnOnce(&mut S) -> PollOf,
    ) -> R {
        poll(state)
    }
}

/// The slow-poll detector alone: a store before the poll, a load and a
/// compare after it; no clock (see `watchdog.rs`).
pub(crate) struct Detected<'a> {
    watch: &'a Watch,
    watchdog: &'a Watchdog,
}

impl Watcher for Detected<'_> {
    #[inline(always)]
    fn poll<S: ?Sized, R>(
        &self,
        number: u64,
        state: &mut S,
        poll: impl FnOnce(&mut S) -> R,
        who: impl FnOnce(&mut S) -> PollOf,
    ) -> R {
        self.watchdog.poll_begin(number);
        let output = poll(state);
        if let Some(took) = self.watchdog.poll_end(number) {
            self.watch.report_slow(who(state), took);
        }
        output
    }
}

/// The trace is on (and the detector too, if it is): every poll is timed
/// with the clock and written to the trace.
pub(crate) struct TracedPolls<'a>(&'a Watch);

impl Watcher for TracedPolls<'_> {
    #[inline(always)]
    fn poll<S: ?Sized, R>(
        &self,
        number: u64,
        state: &mut S,
        poll: impl FnOnce(&mut S) -> R,
        who: impl FnOnce(&mut S) -> PollOf,
    ) -> R {
        self.0.poll_traced(number, state, poll, who)
    }
}

/// What a watched poll was of: a task, or (`task: None`) a `block_on`
/// future; and where it was spawned or called.
pub(crate) struct PollOf {
    pub(crate) task: Option<TaskId>,
    pub(crate) spawned_at: &'static Location<'static>,
}

/// How polls are watched: what [`Watch::watcher`] matches on.
enum Polls {
    /// Nothing watches polls: a poll pays for this one match.
    Off,
    /// The slow-poll detector alone: a store before the poll, a load and
    /// compare after it, no clock.
    Detector(Watchdog),
    /// The trace (with the detector, if it is on too): the clock is read
    /// around each poll.
    Traced(Option<Watchdog>),
}

/// The loop's watch: always-on counters, plus the optional detector and
/// trace. Loop-local, like the rest of `Core`.
pub(crate) struct Watch {
    /// Turns of the loop.
    turns: Cell<u64>,
    /// Tasks inserted into the task table.
    spawned: Cell<u64>,
    /// Messages taken from the injection queue.
    injected: Cell<u64>,
    /// Events returned by `epoll_wait`, summed.
    events: Cell<u64>,
    /// Timers fired.
    timers_fired: Cell<u64>,
    /// Time spent sleeping in `epoll_wait` with a non-zero timeout.
    idle: Cell<Duration>,
    /// Time spent inside finished `block_on` calls.
    ran: Cell<Duration>,
    /// When the running `block_on` call started, if one runs.
    entered: Cell<Option<Instant>>,
    /// The longest poll measured: by the trace, or reported slow.
    longest_poll: Cell<Duration>,
    /// `None` unless the detector or the trace is on.
    active: Option<Box<Active>>,
    /// What each poll pays for; holds the detector's watchdog, if it is
    /// on. Kept out of `active`'s box: it is read on every poll.
    polls: Polls,
    /// Time zero of the millisecond clock the task dump uses.
    epoch: Instant,
    /// `millis_since(epoch, start of this turn)`.
    turn_millis: Cell<u32>,
}

/// Milliseconds from `epoch` to `now`, plus one so that 0 can mean
/// "never"; saturates after 49 days.
fn millis_since(epoch: Instant, now: Instant) -> u32 {
    let millis = now.saturating_duration_since(epoch).as_millis();
    u32::try_from(millis.saturating_add(1)).unwrap_or(u32::MAX)
}

impl Watch {
    fn new(active: Option<Box<Active>>) -> Watch {
        Watch {
            turns: Cell::new(0),
            spawned: Cell::new(0),
            injected: Cell::new(0),
            events: Cell::new(0),
            timers_fired: Cell::new(0),
            idle: Cell::new(Duration::ZERO),
            ran: Cell::new(Duration::ZERO),
            entered: Cell::new(None),
            longest_poll: Cell::new(Duration::ZERO),
            active,
            polls: Polls::Off,
            epoch: Instant::now(),
            turn_millis: Cell::new(1),
        }
    }

    /// Counters only: nothing reported, nothing traced.
    pub(crate) fn off() -> Watch {
        Watch::new(None)
    }

    /// Phase 1 began at `now`: a new turn.
    pub(crate) fn turn_begin(&self, now: Instant) {
        self.turns.set(self.turns.get() + 1);
        self.turn_millis.set(millis_since(self.epoch, now));
        if let Some(trace) = self.trace() {
            trace
                .borrow_mut()
                .begin(now, self.turns.get(), self.totals());
        }
    }

    /// `n` timers fired in phase 1.
    pub(crate) fn timers_fired(&self, n: usize) {
        self.timers_fired.set(self.timers_fired.get() + n as u64);
    }

    /// `n` messages came through the injection queue.
    pub(crate) fn injected(&self, n: usize) {
        self.injected.set(self.injected.get() + n as u64);
    }

    /// A task entered the task table.
    pub(crate) fn spawned(&self) {
        self.spawned.set(self.spawned.get() + 1);
    }

    /// `phase` of this turn just ended (the trace's slice boundary).
    pub(crate) fn phase_end(&self, phase: Phase) {
        if let Some(trace) = self.trace() {
            trace
                .borrow_mut()
                .phase_end(phase, Instant::now(), self.totals());
        }
    }

    /// Phase 5 is about to call `epoll_wait(timeout)`: returns the start
    /// time when it must be measured (a real sleep, or a trace).
    pub(crate) fn sleep_begin(&self, timeout: Option<Duration>) -> Option<Instant> {
        self.idle();
        if let Some(trace) = self.trace() {
            trace.borrow_mut().set_timeout(timeout);
        }
        (timeout != Some(Duration::ZERO) || self.trace().is_some()).then(Instant::now)
    }

    /// `epoll_wait` returned `events` events.
    pub(crate) fn sleep_end(&self, started: Option<Instant>, events: usize) {
        self.events.set(self.events.get() + events as u64);
        if let Some(started) = started {
            let now = Instant::now();
            self.idle.set(self.idle.get() + (now - started));
            if let Some(trace) = self.trace() {
                trace
                    .borrow_mut()
                    .phase_end(Phase::Poll, now, self.totals());
            }
        }
    }

    /// `block_on` starts running the loop.
    pub(crate) fn enter(&self) {
        self.entered.set(Some(Instant::now()));
    }

    /// `block_on` returns (or unwinds).
    pub(crate) fn exit(&self) {
        self.idle();
        if let Some(entered) = self.entered.take() {
            self.ran.set(self.ran.get() + entered.elapsed());
        }
    }

    /// The watcher for this turn's task polls: the loop matches on it once
    /// per turn and runs phase 3 with it (see `Core::run_ready_tasks`).
    pub(crate) fn watcher(&self) -> Watching<'_> {
        match &self.polls {
            Polls::Off => Watching::Off(Unwatched),
            Polls::Detector(watchdog) => Watching::Detector(Detected {
                watch: self,
                watchdog,
            }),
            Polls::Traced(_) => Watching::Traced(TracedPolls(self)),
        }
    }

    /// Runs one poll of a `block_on` future under whatever watches polls;
    /// see [`Watcher::poll`]. A match per poll: `block_on` polls are few.
    #[inline(always)]
    pub(crate) fn poll<S: ?Sized, R>(
        &self,
        number: u64,
        state: &mut S,
        poll: impl FnOnce(&mut S) -> R,
        who: impl FnOnce(&mut S) -> PollOf,
    ) -> R {
        if let Polls::Off = self.polls {
            return poll(state);
        }
        match self.watcher() {
            Watching::Off(w) => w.poll(number, state, poll, who),
            Watching::Detector(w) => w.poll(number, state, poll, who),
            Watching::Traced(w) => w.poll(number, state, poll, who),
        }
    }

    /// A poll while the trace is on: timed with the clock, written to the
    /// trace, and watched by the watchdog too if the detector is on.
    #[inline(never)]
    fn poll_traced<S: ?Sized, R>(
        &self,
        number: u64,
        state: &mut S,
        poll: impl FnOnce(&mut S) -> R,
        who: impl FnOnce(&mut S) -> PollOf,
    ) -> R {
        let watchdog = self.watchdog();
        if let Some(watchdog) = watchdog {
            watchdog.poll_begin(number);
        }
        let started = Instant::now();
        let output = poll(state);
        let now = Instant::now();
        let of = who(state);
        self.note_poll(now - started);
        if let Some(trace) = self.trace() {
            trace
                .borrow_mut()
                .poll(of.task, of.spawned_at, started, now);
        }
        if let Some(took) = watchdog.and_then(|w| w.poll_end(number)) {
            self.report_slow(of, took);
        }
        output
    }

    /// Reports a slow poll.
    #[cold]
    fn report_slow(&self, PollOf { task, spawned_at }: PollOf, took: Duration) {
        self.note_poll(took);
        let kind = match task {
            Some(_) => SlowPollKind::Task,
            None => SlowPollKind::BlockOn,
        };
        let Some(active) = self.active.as_deref() else {
            return;
        };
        active.reporter.report(&SlowPoll {
            kind,
            task,
            spawned_at,
            duration: took,
        });
    }

    /// The start of this turn on the watch clock, in milliseconds plus one
    /// (0 means "never"): what a task's slot records at each poll.
    #[inline]
    pub(crate) fn turn_millis(&self) -> u32 {
        self.turn_millis.get()
    }

    /// The watch clock now, in milliseconds plus one.
    pub(crate) fn millis_now(&self) -> u32 {
        millis_since(self.epoch, Instant::now())
    }

    fn note_poll(&self, took: Duration) {
        if took > self.longest_poll.get() {
            self.longest_poll.set(took);
        }
    }

    /// Nothing runs: the loop is about to sleep, or leaves `block_on`.
    fn idle(&self) {
        if let Some(watchdog) = self.watchdog() {
            watchdog.idle();
        }
    }

    /// The runtime is going away: write the last turn, close the trace,
    /// stop the watchdog.
    pub(crate) fn finish(&self) {
        if let Some(trace) = self.trace() {
            trace.borrow_mut().finish();
        }
        if let Some(watchdog) = self.watchdog() {
            watchdog.stop();
        }
    }

    /// Copies the counters into `metrics`.
    pub(crate) fn fill(&self, metrics: &mut crate::RuntimeMetrics) {
        let ran = self.ran.get() + self.entered.get().map_or(Duration::ZERO, |t| t.elapsed());
        metrics.turns = self.turns.get();
        metrics.idle_time = self.idle.get();
        metrics.busy_time = ran.saturating_sub(self.idle.get());
        metrics.longest_poll = self.longest_poll.get();
        metrics.tasks_spawned = self.spawned.get();
        metrics.tasks_finished = self.spawned.get() - metrics.live_tasks as u64;
        metrics.injected = self.injected.get();
        metrics.os_events = self.events.get();
        metrics.timers_fired = self.timers_fired.get();
    }

    fn watchdog(&self) -> Option<&Watchdog> {
        match &self.polls {
            Polls::Off => None,
            Polls::Detector(watchdog) => Some(watchdog),
            Polls::Traced(watchdog) => watchdog.as_ref(),
        }
    }

    fn trace(&self) -> Option<&RefCell<TurnTrace>> {
        self.active.as_ref()?.trace.as_ref()
    }

    /// The cumulative counts a turn's trace line is computed from.
    fn totals(&self) -> trace::Totals {
        trace::Totals {
            timers_fired: self.timers_fired.get(),
            injected: self.injected.get(),
            events: self.events.get(),
        }
    }
}

/// What the blocking pool's threads watch: queue waits, and job slices for
/// the Chrome trace. Shared by the pool threads.
pub(crate) struct PoolWatch {
    /// Report jobs that waited in the queue longer than this.
    queue_wait: Option<Duration>,
    /// Where reports go.
    reporter: Reporter,
    /// The Chrome trace, where pool jobs get their own thread tracks.
    chrome: Option<Arc<std::sync::Mutex<ChromeTrace>>>,
}

impl PoolWatch {
    /// A pool thread took a job queued at `queued_at`.
    pub(crate) fn job_taken(
        &self,
        queued_at: Option<Instant>,
        spawned_at: &'static Location<'static>,
    ) {
        let (Some(limit), Some(queued_at)) = (self.queue_wait, queued_at) else {
            return;
        };
        let waited = queued_at.elapsed();
        if waited > limit {
            self.reporter.report(&SlowPoll {
                kind: SlowPollKind::QueueWait,
                task: None,
                spawned_at,
                duration: waited,
            });
        }
    }

    /// Whether job runs are traced (so worth timing).
    pub(crate) fn traces_jobs(&self) -> bool {
        self.chrome.is_some()
    }

    /// Pool thread `worker` ran a job from `started` to now.
    pub(crate) fn job_ran(
        &self,
        worker: usize,
        spawned_at: &'static Location<'static>,
        started: Instant,
    ) {
        if let Some(chrome) = &self.chrome {
            let end = Instant::now();
            let mut chrome = chrome
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            chrome.pool_job(worker, spawned_at, started, end);
        }
    }
}
