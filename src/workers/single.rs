//! One worker, run on the calling thread.
//!
//! With `count(1)` there is nothing to spread over cores, and a second
//! thread would cost the one worker something on every request: once a
//! process has ever had two threads, glibc takes its multi-threaded paths
//! for good (each `recv`, `send` and `epoll_wait` wrapper enters and leaves
//! asynchronous-cancellation mode around the system call, and `free` looks
//! up the arena a block came from). Under callgrind that was about 190
//! instructions per `GET /` of `examples/http_echo.rs`, some 3%.
//!
//! So a single worker runs where `start_server` was called, and the
//! supervisor's duties move into the worker's own loop: the loop's main
//! future polls the worker's future and, when woken for them, the signals,
//! the shutdown and the drain deadline, as the supervisor would. The
//! contract is the same as with N threads. A panic escaping the worker
//! function unwinds out of `block_on`; the runtime is then dropped (which
//! cancels the tasks the worker left running) and the worker started again
//! on a fresh one, within the same restart budget. A signal that arrives
//! in the instant between the two runtimes is not heard.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::Poll;

use super::supervisor::{Event, listen, may_restart, panic_message, poll_watch};
use super::{Worker, Workers, affinity};
use crate::time::sleep;

/// What the worker's loop saw on one wake.
enum Turn {
    /// The worker function returned.
    Done(io::Result<()>),
    /// A signal, the shutdown beginning, or the deadline.
    Event(Event),
}

/// Runs the one worker on this thread to the end; see
/// `Workers::start_server`.
pub(super) fn run<F, Fut>(config: Workers, worker_fn: F) -> io::Result<()>
where
    F: Fn(Worker) -> Fut,
    Fut: Future<Output = io::Result<()>>,
{
    if config.pin_to_cores
        && let Err(error) = affinity::pin_current_thread(0)
    {
        eprintln!("evloop: worker 0 runs unpinned: {error}");
    }
    let mut restarts = VecDeque::new();
    loop {
        let runtime = crate::Runtime::new()?;
        let life = catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(one_life(&config, &worker_fn))
        }));
        // Dropping the runtime cancels the tasks the worker left running.
        drop(runtime);
        let message = match life {
            Ok(result) => return result,
            Err(payload) => panic_message(&*payload),
        };
        let panicked = || io::Error::other(format!("evloop: worker 0 panicked: {message}"));
        if config.shutdown.is_triggered() {
            eprintln!("evloop: worker 0 panicked while shutting down: {message}");
            return Err(panicked());
        }
        if !may_restart(&mut restarts, config.max_restarts_per_minute, 0, &message) {
            return Err(panicked());
        }
    }
}

/// One life of the worker: its future, watched as the supervisor watches
/// worker threads, until it returns or the drain is cut short.
async fn one_life<F, Fut>(config: &Workers, worker_fn: &F) -> io::Result<()>
where
    F: Fn(Worker) -> Fut,
    Fut: Future<Output = io::Result<()>>,
{
    let mut signals = listen()?;
    let shutdown = &config.shutdown;
    let mut work = pin!(worker_fn(Worker {
        index: 0,
        shutdown: shutdown.clone(),
    }));
    let mut began = Some(shutdown.wait());
    let mut deadline = None;
    loop {
        let turn = poll_fn(|cx| {
            if let Poll::Ready(result) = work.as_mut().poll(cx) {
                return Poll::Ready(Turn::Done(result));
            }
            poll_watch(cx, &mut signals, &mut began, &mut deadline).map(Turn::Event)
        })
        .await;
        match turn {
            Turn::Done(Ok(())) => return Ok(()),
            Turn::Done(Err(error)) => {
                eprintln!("evloop: worker 0 failed: {error}");
                return Err(io::Error::other(format!(
                    "evloop: worker 0 failed: {error}"
                )));
            }
            Turn::Event(Event::Signal) if !shutdown.is_triggered() => {
                eprintln!("evloop: shutting down gracefully (signal again to stop at once)");
                shutdown.trigger();
            }
            Turn::Event(Event::Signal) => {
                return Err(stop_now(io::ErrorKind::Interrupted, "a second signal"));
            }
            Turn::Event(Event::ShutdownBegan) => {
                began = None;
                deadline = Some(Box::pin(sleep(config.drain_timeout)));
            }
            Turn::Event(Event::Deadline) => {
                return Err(stop_now(io::ErrorKind::TimedOut, "the drain deadline"));
            }
            // Exits come from worker threads; there are none here.
            Turn::Event(Event::Exit(_)) => {}
        }
    }
}

/// The error of a drain cut short (returning it drops the worker's future,
/// and `run` then its runtime).
fn stop_now(kind: io::ErrorKind, why: &'static str) -> io::Error {
    eprintln!("evloop: {why}: cancelling the work of 1 worker(s)");
    io::Error::new(kind, format!("evloop: the drain was cut short by {why}"))
}
