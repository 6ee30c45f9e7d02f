//! The supervisor: starts the worker threads, hears the signals, enforces
//! the drain deadline and restarts workers that panicked.
//!
//! It is itself a small evloop loop on the thread that called
//! `start_server`. Everything it waits for arrives as an event of that
//! loop: a signal (the self-pipe), a worker's exit (a message on a channel,
//! sent by the worker thread as its last act), the shutdown beginning (a
//! [`Wait`](super::Wait)), the deadline (a timer).

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Shutdown, Wait, Worker, Workers, affinity};
use crate::future::{Either, select};
use crate::signal::{Signal, SignalKind, signal};
use crate::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use crate::time::{Sleep, sleep};

/// How a worker's thread ended.
enum Outcome {
    /// The worker function returned `Ok`.
    Finished,
    /// It returned an error (or its runtime could not be built).
    Failed(io::Error),
    /// It panicked; the panic's message.
    Panicked(String),
    /// It was still running at the deadline or the second signal.
    Cancelled,
}

/// A worker thread's last message to the supervisor.
pub(super) struct Exit {
    /// Which worker.
    index: usize,
    /// How it ended.
    outcome: Outcome,
}

/// What every worker thread shares.
struct Common<F> {
    /// The user's worker function.
    worker_fn: F,
    /// The graceful shutdown (first signal).
    shutdown: Shutdown,
    /// The hard stop (second signal, or the deadline).
    cancel: Shutdown,
    /// Pin worker i to a core.
    pin_to_cores: bool,
    /// Where a worker thread reports its end.
    exits: UnboundedSender<Exit>,
}

/// What woke the supervisor.
pub(super) enum Event {
    /// SIGINT or SIGTERM.
    Signal,
    /// The shutdown began (by a signal, or by `Shutdown::trigger`).
    ShutdownBegan,
    /// The drain deadline passed.
    Deadline,
    /// A worker thread ended.
    Exit(Exit),
}

/// Runs the workers to the end; see `Workers::start_server`.
pub(super) fn run<F, Fut>(config: Workers, worker_fn: F) -> io::Result<()>
where
    F: Fn(Worker) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<()>> + 'static,
{
    if config.count == 1 {
        // No second thread: see `single.rs`.
        return super::single::run(config, worker_fn);
    }
    let runtime = crate::Runtime::builder().max_blocking_threads(1).build()?;
    runtime.block_on(async {
        // Listen before any worker starts: a signal from then on is ours.
        let signals = listen()?;
        let (exits, receiver) = unbounded_channel();
        let common = Arc::new(Common {
            worker_fn,
            shutdown: config.shutdown.clone(),
            cancel: Shutdown::new(),
            pin_to_cores: config.pin_to_cores,
            exits,
        });
        let mut supervisor = Supervisor {
            config,
            signals,
            receiver,
            threads: Vec::new(),
            restarts: Vec::new(),
            live: 0,
            failures: Vec::new(),
            stopped_by: None,
        };
        for index in 0..supervisor.config.count {
            supervisor.restarts.push(VecDeque::new());
            if let Err(error) = supervisor.start(index, &common) {
                // Stop the workers already running, then report.
                eprintln!("evloop: worker {index} could not start: {error}");
                supervisor
                    .failures
                    .push(format!("worker {index} could not start: {error}"));
                common.shutdown.trigger();
                common.cancel.trigger();
                break;
            }
        }
        supervisor.supervise(&common).await
    })
}

/// The supervisor's state while the workers run.
struct Supervisor {
    /// The settings.
    config: Workers,
    /// SIGINT and SIGTERM listeners.
    signals: [Signal; 2],
    /// Worker exits.
    receiver: UnboundedReceiver<Exit>,
    /// Every worker thread started, to join at the end.
    threads: Vec<JoinHandle<()>>,
    /// Per worker, when it was restarted within the last minute.
    restarts: Vec<VecDeque<Instant>>,
    /// Workers running now.
    live: usize,
    /// What went wrong, one line per failure, for the final error.
    failures: Vec<String>,
    /// Why the drain was cut short, if it was.
    stopped_by: Option<(io::ErrorKind, &'static str)>,
}

impl Supervisor {
    /// Starts worker `index` on a new thread.
    fn start<F, Fut>(&mut self, index: usize, common: &Arc<Common<F>>) -> io::Result<()>
    where
        F: Fn(Worker) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<()>> + 'static,
    {
        let common = common.clone();
        let thread = std::thread::Builder::new()
            .name(format!("evloop-worker-{index}"))
            .spawn(move || {
                if common.pin_to_cores
                    && let Err(error) = affinity::pin_current_thread(index)
                {
                    eprintln!("evloop: worker {index} runs unpinned: {error}");
                }
                let outcome = catch_unwind(AssertUnwindSafe(|| run_worker(index, &common)))
                    .unwrap_or_else(|payload| Outcome::Panicked(panic_message(&*payload)));
                // The supervisor may be gone only if it already returned.
                let _ = common.exits.send(Exit { index, outcome });
            })?;
        self.threads.push(thread);
        self.live += 1;
        Ok(())
    }

    /// Waits for events until every worker has stopped.
    async fn supervise<F, Fut>(mut self, common: &Arc<Common<F>>) -> io::Result<()>
    where
        F: Fn(Worker) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<()>> + 'static,
    {
        let mut began: Option<Wait> = Some(common.shutdown.wait());
        let mut deadline: Option<Pin<Box<Sleep>>> = None;
        while self.live > 0 {
            match self.next_event(&mut began, &mut deadline).await {
                Event::Signal if !common.shutdown.is_triggered() => {
                    eprintln!("evloop: shutting down gracefully (signal again to stop at once)");
                    common.shutdown.trigger();
                }
                Event::Signal => {
                    self.stop_now(common, io::ErrorKind::Interrupted, "a second signal");
                }
                Event::ShutdownBegan => {
                    began = None;
                    deadline = Some(Box::pin(sleep(self.config.drain_timeout)));
                }
                Event::Deadline => {
                    deadline = None;
                    self.stop_now(common, io::ErrorKind::TimedOut, "the drain deadline");
                }
                Event::Exit(exit) => {
                    self.live -= 1;
                    self.ended(exit, common);
                }
            }
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join(); // each has sent its exit: it is ending
        }
        self.result()
    }

    /// The next thing that happened.
    async fn next_event(
        &mut self,
        began: &mut Option<Wait>,
        deadline: &mut Option<Pin<Box<Sleep>>>,
    ) -> Event {
        poll_fn(|cx| {
            if let Poll::Ready(Some(exit)) = self.receiver.poll_recv(cx) {
                return Poll::Ready(Event::Exit(exit));
            }
            poll_watch(cx, &mut self.signals, began, deadline)
        })
        .await
    }

    /// Cancels every worker still running.
    fn stop_now<F>(&mut self, common: &Common<F>, kind: io::ErrorKind, why: &'static str) {
        if self.stopped_by.is_none() {
            eprintln!(
                "evloop: {why}: cancelling the work of {} worker(s)",
                self.live
            );
            self.stopped_by = Some((kind, why));
        }
        common.shutdown.trigger();
        common.cancel.trigger();
    }

    /// Reports how a worker ended, and restarts it if it panicked in time.
    fn ended<F, Fut>(&mut self, exit: Exit, common: &Arc<Common<F>>)
    where
        F: Fn(Worker) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<()>> + 'static,
    {
        let index = exit.index;
        match exit.outcome {
            Outcome::Finished | Outcome::Cancelled => {}
            Outcome::Failed(error) => {
                eprintln!("evloop: worker {index} failed: {error}");
                self.failures
                    .push(format!("worker {index} failed: {error}"));
            }
            Outcome::Panicked(message) => {
                if common.shutdown.is_triggered() {
                    eprintln!("evloop: worker {index} panicked while shutting down: {message}");
                    self.failures
                        .push(format!("worker {index} panicked: {message}"));
                    return;
                }
                let limit = self.config.max_restarts_per_minute;
                if !may_restart(&mut self.restarts[index], limit, index, &message) {
                    self.failures
                        .push(format!("worker {index} panicked: {message}"));
                    return;
                }
                if let Err(error) = self.start(index, common) {
                    eprintln!("evloop: worker {index} could not be restarted: {error}");
                    self.failures
                        .push(format!("worker {index} not restarted: {error}"));
                }
            }
        }
    }

    /// The value `start_server` returns.
    fn result(&self) -> io::Result<()> {
        if let Some((kind, why)) = self.stopped_by {
            return Err(io::Error::new(
                kind,
                format!("evloop: the drain was cut short by {why}"),
            ));
        }
        if !self.failures.is_empty() {
            return Err(io::Error::other(format!(
                "evloop: {}",
                self.failures.join("; ")
            )));
        }
        Ok(())
    }
}

/// What woke the supervisor, apart from a worker's exit: a signal, the
/// shutdown beginning, the deadline.
pub(super) fn poll_watch(
    cx: &mut std::task::Context<'_>,
    signals: &mut [Signal; 2],
    began: &mut Option<Wait>,
    deadline: &mut Option<Pin<Box<Sleep>>>,
) -> Poll<Event> {
    // Poll both, so that a SIGINT and a SIGTERM together count once.
    let [interrupt, terminate] = signals;
    let interrupted = interrupt.poll_recv(cx).is_ready();
    let terminated = terminate.poll_recv(cx).is_ready();
    if interrupted || terminated {
        return Poll::Ready(Event::Signal);
    }
    if let Some(wait) = began
        && Pin::new(wait).poll(cx).is_ready()
    {
        return Poll::Ready(Event::ShutdownBegan);
    }
    if let Some(sleep) = deadline
        && sleep.as_mut().poll(cx).is_ready()
    {
        return Poll::Ready(Event::Deadline);
    }
    Poll::Pending
}

/// SIGINT and SIGTERM, heard on the current loop.
pub(super) fn listen() -> io::Result<[Signal; 2]> {
    Ok([
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
    ])
}

/// Whether worker `index`, which panicked with `message`, may be started
/// again: fewer than `limit` restarts within the last minute (`recent`,
/// which records this one). Says which on stderr.
pub(super) fn may_restart(
    recent: &mut VecDeque<Instant>,
    limit: usize,
    index: usize,
    message: &str,
) -> bool {
    let now = Instant::now();
    while recent
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
    {
        recent.pop_front();
    }
    if recent.len() >= limit {
        eprintln!(
            "evloop: worker {index} panicked: {message}; not restarted \
             ({limit} restarts in the last minute)"
        );
        return false;
    }
    recent.push_back(now);
    let count = recent.len();
    eprintln!(
        "evloop: worker {index} panicked: {message}; restarting it \
         (restart {count} of {limit} this minute)"
    );
    true
}

/// Runs one worker on this thread: its own runtime, its future, until the
/// future ends or the hard stop cancels it.
fn run_worker<F, Fut>(index: usize, common: &Common<F>) -> Outcome
where
    F: Fn(Worker) -> Fut,
    Fut: Future<Output = io::Result<()>>,
{
    let runtime = match crate::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return Outcome::Failed(error),
    };
    let worker = Worker {
        index,
        shutdown: common.shutdown.clone(),
    };
    let cancel = common.cancel.wait();
    // The worker future is made here, on its own thread and loop.
    let outcome = runtime.block_on(async {
        match select(cancel, (common.worker_fn)(worker)).await {
            Either::Left(()) => Outcome::Cancelled,
            Either::Right(Ok(())) => Outcome::Finished,
            Either::Right(Err(error)) => Outcome::Failed(error),
        }
    });
    // Dropping the runtime cancels the tasks the worker left running.
    drop(runtime);
    outcome
}

/// The text of a panic payload (`panic!` with a literal or a format).
pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}
