//! The task dump: every live task, where it came from, what it is doing.
//!
//! A server that "hangs" usually has tasks parked on something that will
//! never happen: a channel nobody sends on, a lock nobody releases, a socket
//! the peer forgot. aiomonitor's `ps` and tokio-console answer "what is
//! everyone waiting for?" by listing the tasks; [`crate::Runtime::dump`]
//! does the same, from the task table the loop keeps anyway:
//!
//! ```text
//! task 0.0  scheduled  polls 0   never polled  src/main.rs:12:5
//! task 1.1  waiting    polls 3   1.2s ago      src/server.rs:40:17
//! task 2.5  running    polls 9   0ns ago       src/main.rs:30:9
//! ```
//!
//! # From another thread
//!
//! The task table belongs to the loop's thread. [`crate::Handle::dump`]
//! therefore asks the loop: on the loop's own thread it answers at once,
//! from anywhere else it sends a request through the injection queue (like a
//! remote wake) and returns a future, [`Dump`], that resolves when the loop
//! has answered at its next turn. A loop stuck in a blocking call cannot
//! answer; that is what the slow-poll detector is for.
//!
//! "Time since the last poll" is measured from the start of the turn in
//! which that poll happened, to the millisecond: the loop reads the clock
//! once per turn, not once per poll, and a poll only stores that turn's
//! millisecond count (a `u32`) in the task's slot.

use std::future::Future;
use std::io;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::sync::oneshot;
use crate::task::TaskId;
use crate::task::table::Task;

/// What a live task is doing, as far as the loop knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Woken (or new) and in the run queue: it will be polled soon.
    Scheduled,
    /// Parked on a waker: waiting for I/O, a timer, a channel, a lock...
    Waiting,
    /// Being polled right now (the dump was taken from inside it).
    Running,
}

/// One line of a task dump.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// The line that spawned it.
    pub spawned_at: &'static Location<'static>,
    /// What it is doing.
    pub state: TaskState,
    /// How many times the loop has polled it.
    pub polls: u64,
    /// How long ago its last poll's turn began, to the millisecond; `None`
    /// if never polled.
    pub since_last_poll: Option<Duration>,
}

impl std::fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            TaskState::Scheduled => "scheduled",
            TaskState::Waiting => "waiting",
            TaskState::Running => "running",
        };
        let since = match self.since_last_poll {
            Some(since) => format!("{since:.1?} ago"),
            None => "never polled".to_owned(),
        };
        write!(
            f,
            "{:<12} {state:<9} polls {:<6} {since:<14} {}",
            format!("{}", self.id),
            self.polls,
            self.spawned_at
        )
    }
}

/// The dump line of the task `id` in `task`'s slot, at `now_millis` on
/// the loop's watch clock (see `Task::last_poll`).
pub(crate) fn task_info(id: TaskId, task: &mut Task, now_millis: u32) -> TaskInfo {
    // Through `Pin<&mut>`, never `&` over the future: see `RawTask::header`.
    let state = match &mut task.future {
        None => TaskState::Running,
        Some(future) => {
            if future.as_mut().header().is_scheduled() {
                TaskState::Scheduled
            } else {
                TaskState::Waiting
            }
        }
    };
    TaskInfo {
        id,
        spawned_at: task.spawned_at,
        state,
        polls: u64::from(task.polls),
        since_last_poll: (task.last_poll != 0)
            .then(|| Duration::from_millis(u64::from(now_millis.saturating_sub(task.last_poll)))),
    }
}

/// A dump request on its way to the loop: where the answer goes.
pub(crate) type DumpRequest = oneshot::Sender<Vec<TaskInfo>>;

/// The future of [`crate::Handle::dump`]: the loop's answer.
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Dump {
    /// The answer, or the loop's own list when asked on its thread.
    inner: DumpInner,
}

#[derive(Debug)]
enum DumpInner {
    /// Answered at once (asked on the loop's thread).
    Ready(Option<Vec<TaskInfo>>),
    /// Asked through the injection queue.
    Asked(oneshot::Receiver<Vec<TaskInfo>>),
}

impl Dump {
    pub(crate) fn ready(tasks: Vec<TaskInfo>) -> Dump {
        Dump {
            inner: DumpInner::Ready(Some(tasks)),
        }
    }

    pub(crate) fn asked(answer: oneshot::Receiver<Vec<TaskInfo>>) -> Dump {
        Dump {
            inner: DumpInner::Asked(answer),
        }
    }
}

impl Future for Dump {
    type Output = io::Result<Vec<TaskInfo>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.inner {
            DumpInner::Ready(tasks) => Poll::Ready(Ok(tasks.take().unwrap_or_default())),
            DumpInner::Asked(answer) => Pin::new(answer).poll(cx).map(|answer| {
                answer.map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::NotConnected,
                        "evloop: the runtime is gone, or stopped before answering the dump",
                    )
                })
            }),
        }
    }
}

/// Prints the task dump of the current runtime to stderr each time the
/// process receives `kind`: aiomonitor's `ps`, without a console. Opt in
/// with `SIGUSR1`, then ask a running server what it is doing with
/// `kill -USR1 <pid>`:
///
/// ```no_run
/// use evloop::signal::SignalKind;
/// evloop::block_on(async {
///     let _dumper = evloop::runtime::dump_on_signal(SignalKind::user_defined1())?;
///     // ... the program ...
/// # Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// The dump is taken by a task of this loop (it shows up in its own dump,
/// as running, named by the line that called this function); abort the
/// returned handle to stop listening. Installing the listener makes the
/// signal news for evloop instead of its default action (see
/// [`crate::signal`]).
///
/// # Errors
/// Outside of a runtime, or if the signal cannot be listened for (see
/// [`crate::signal::signal`]).
#[track_caller]
pub fn dump_on_signal(kind: crate::signal::SignalKind) -> io::Result<crate::JoinHandle<()>> {
    let at = Location::caller();
    let mut signal = crate::signal::signal(kind)?;
    let dumper = async move {
        while signal.recv().await.is_some() {
            let Ok(tasks) = crate::Handle::current().dump().await else {
                return;
            };
            let mut text = format!("evloop: task dump, {} live task(s)\n", tasks.len());
            for task in tasks {
                text.push_str(&format!("{task}\n"));
            }
            eprint!("{text}");
        }
    };
    crate::runtime::context::with_core(|core| core.spawn_at(dumper, at)).ok_or_else(|| {
        io::Error::other("evloop::runtime::dump_on_signal called outside of a runtime")
    })
}
