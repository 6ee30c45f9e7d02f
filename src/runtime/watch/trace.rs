//! The loop trace: each turn, phase by phase, as text or as a timeline.
//!
//! A turn is five phases (timers, ready tasks, the injection queue, the
//! timeout, `epoll_wait`; see `runtime/core.rs`). The trace times each one
//! and writes the turn when the next begins (or when the runtime drops):
//!
//! * `EVLOOP_TRACE=stderr`: one line per turn, the counts and the time of
//!   each phase:
//!
//!   ```text
//!   evloop turn 7: timers 1 (2.1µs) | tasks 3 polled (41.0µs) | injected 0 (0.3µs) | timeout 0ns (0.2µs) | epoll_wait 1 events (3.3µs)
//!   ```
//!
//! * `EVLOOP_TRACE=trace.json`: the Chrome trace-event format, which
//!   Perfetto (ui.perfetto.dev) and `chrome://tracing` draw as a timeline.
//!   Every phase is a complete (`"ph":"X"`) slice inside a `turn` slice on
//!   the loop's track; every task poll is a slice inside `run tasks`, named
//!   by the line that spawned the task; every blocking-pool job is a slice
//!   on its pool thread's own track; `epoll_wait` carries its timeout and
//!   the number of events it returned.
//!
//! The file is written as the program runs, through a `BufWriter`, so the
//! trace costs a fixed amount of memory however long the run. The JSON is
//! closed (`]}`) when the runtime is dropped, which a normal exit does; a
//! process killed before that leaves a file without its last two bytes,
//! which Perfetto still opens. When one process builds several runtimes
//! with the same target, the first writes `trace.json`, the next
//! `trace.1.json`, and so on.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::task::TaskId;

/// Where the loop trace goes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceTarget {
    /// One line per turn on stderr (`EVLOOP_TRACE=stderr`).
    Stderr,
    /// A Chrome trace-event JSON file (`EVLOOP_TRACE=path.json`).
    File(PathBuf),
}

impl TraceTarget {
    /// Reads an `EVLOOP_TRACE` value: `stderr`, or a file path; empty means
    /// no trace.
    pub(crate) fn parse(value: &OsStr) -> Option<TraceTarget> {
        match value.to_str().map(str::trim) {
            Some("") => None,
            Some("stderr") => Some(TraceTarget::Stderr),
            _ => Some(TraceTarget::File(PathBuf::from(value))),
        }
    }
}

/// The phases of a turn, in the order of `runtime/core.rs`'s diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// 1: fire due timers.
    Timers = 0,
    /// Run ready tasks.
    Tasks = 1,
    /// Drain the injection queue.
    Inject = 2,
    /// Compute the `epoll_wait` timeout.
    Timeout = 3,
    /// `epoll_wait` and the wakes of its events.
    Poll = 4,
}

/// Slice names, by phase.
const PHASE_NAMES: [&str; 5] = [
    "timers",
    "run tasks",
    "injection queue",
    "timeout",
    "epoll_wait",
];

/// Cumulative counts; a turn's counts are the difference of two of these.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Totals {
    /// Timers fired so far.
    pub(crate) timers_fired: u64,
    /// Injected messages so far.
    pub(crate) injected: u64,
    /// `epoll_wait` events so far.
    pub(crate) events: u64,
}

/// The turn being recorded.
struct Turn {
    /// The turn's number (1 for the first).
    number: u64,
    /// When phase 1 began.
    start: Instant,
    /// Where the next phase begins: the end of the last one.
    mark: Instant,
    /// Each phase's start and end, once it ran this turn. A phase reached
    /// twice (the injection queue is also drained at shutdown) keeps its
    /// first run.
    phases: [Option<(Instant, Instant)>; 5],
    /// Counts at the turn's start, and as of its last phase.
    base: Totals,
    /// Counts as of the last phase that ended.
    last: Totals,
    /// Task polls made this turn.
    polled: u64,
    /// The `epoll_wait` timeout, once phase 4 computed it.
    timeout: Option<Option<Duration>>,
}

/// Where finished turns go.
enum Sink {
    /// One line each on stderr.
    Stderr,
    /// Slices in a Chrome trace (shared with the pool threads).
    Chrome(Arc<Mutex<ChromeTrace>>),
}

/// The loop side of the trace: records a turn, writes it when it ends.
pub(crate) struct TurnTrace {
    /// Where turns go.
    sink: Sink,
    /// The turn being recorded; `None` before the first and after `finish`.
    turn: Option<Turn>,
}

impl TurnTrace {
    /// Opens `target` (creating the file).
    pub(crate) fn open(target: &TraceTarget) -> io::Result<TurnTrace> {
        let sink = match target {
            TraceTarget::Stderr => Sink::Stderr,
            TraceTarget::File(path) => {
                Sink::Chrome(Arc::new(Mutex::new(ChromeTrace::create(path)?)))
            }
        };
        Ok(TurnTrace { sink, turn: None })
    }

    /// The Chrome trace, for the pool threads.
    pub(crate) fn chrome(&self) -> Option<Arc<Mutex<ChromeTrace>>> {
        match &self.sink {
            Sink::Chrome(chrome) => Some(chrome.clone()),
            Sink::Stderr => None,
        }
    }

    /// A new turn starts at `now`; the previous one is written.
    pub(crate) fn begin(&mut self, now: Instant, number: u64, totals: Totals) {
        self.write_turn();
        self.turn = Some(Turn {
            number,
            start: now,
            mark: now,
            phases: [None; 5],
            base: totals,
            last: totals,
            polled: 0,
            timeout: None,
        });
    }

    /// `phase` ended at `now`.
    pub(crate) fn phase_end(&mut self, phase: Phase, now: Instant, totals: Totals) {
        let Some(turn) = &mut self.turn else { return };
        let slot = &mut turn.phases[phase as usize];
        if slot.is_none() {
            *slot = Some((turn.mark, now));
            turn.mark = now;
            turn.last = totals;
        }
    }

    /// Phase 4 chose this `epoll_wait` timeout.
    pub(crate) fn set_timeout(&mut self, timeout: Option<Duration>) {
        if let Some(turn) = &mut self.turn {
            turn.timeout = Some(timeout);
        }
    }

    /// A task (or the `block_on` future, `task == None`) was polled.
    pub(crate) fn poll(
        &mut self,
        task: Option<TaskId>,
        at: &'static Location<'static>,
        start: Instant,
        end: Instant,
    ) {
        if let Some(turn) = &mut self.turn
            && task.is_some()
        {
            turn.polled += 1;
        }
        if let Sink::Chrome(chrome) = &self.sink {
            let args = match task {
                Some(id) => format!(r#"{{"task":"{}.{}"}}"#, id.index, id.generation),
                None => r#"{"task":"block_on"}"#.to_owned(),
            };
            lock(chrome).slice(&at.to_string(), LOOP_TID, start, end, &args);
        }
    }

    /// Writes the last turn and closes the trace.
    pub(crate) fn finish(&mut self) {
        self.write_turn();
        if let Sink::Chrome(chrome) = &self.sink {
            lock(chrome).close();
        }
    }

    fn write_turn(&mut self) {
        let Some(turn) = self.turn.take() else { return };
        match &self.sink {
            Sink::Stderr => eprintln!("{}", turn_line(&turn)),
            Sink::Chrome(chrome) => {
                let mut chrome = lock(chrome);
                let end = turn.phases.iter().flatten().map(|p| p.1).max();
                let end = end.unwrap_or(turn.mark);
                let args = format!(
                    r#"{{"turn":{},"timers_fired":{},"tasks_polled":{},"injected":{},"events":{}}}"#,
                    turn.number,
                    turn.last.timers_fired - turn.base.timers_fired,
                    turn.polled,
                    turn.last.injected - turn.base.injected,
                    turn.last.events - turn.base.events,
                );
                chrome.slice("turn", LOOP_TID, turn.start, end, &args);
                for (phase, span) in turn.phases.iter().enumerate() {
                    let Some((start, end)) = span else { continue };
                    let args = if phase == Phase::Poll as usize {
                        format!(
                            r#"{{"timeout_ms":{},"events":{}}}"#,
                            timeout_json(turn.timeout.flatten()),
                            turn.last.events - turn.base.events
                        )
                    } else {
                        "{}".to_owned()
                    };
                    chrome.slice(PHASE_NAMES[phase], LOOP_TID, *start, *end, &args);
                }
            }
        }
    }
}

/// A timeout for JSON: milliseconds, or `null` for "forever".
fn timeout_json(timeout: Option<Duration>) -> String {
    timeout.map_or_else(
        || "null".to_owned(),
        |t| format!("{:.3}", t.as_secs_f64() * 1e3),
    )
}

/// The stderr line of one turn.
fn turn_line(turn: &Turn) -> String {
    let took = |phase: Phase| match turn.phases[phase as usize] {
        Some((start, end)) => format!("{:.1?}", end - start),
        None => "skipped".to_owned(),
    };
    let timeout = match turn.timeout {
        None => "-".to_owned(),
        Some(None) => "forever".to_owned(),
        Some(Some(t)) => format!("{t:?}"),
    };
    let mut line = format!("evloop turn {}: ", turn.number);
    let _ = write!(
        line,
        "timers {} ({}) | tasks {} polled ({}) | injected {} ({}) | timeout {} ({}) | epoll_wait {} events ({})",
        turn.last.timers_fired - turn.base.timers_fired,
        took(Phase::Timers),
        turn.polled,
        took(Phase::Tasks),
        turn.last.injected - turn.base.injected,
        took(Phase::Inject),
        timeout,
        took(Phase::Timeout),
        turn.last.events - turn.base.events,
        took(Phase::Poll),
    );
    line
}

fn lock(chrome: &Mutex<ChromeTrace>) -> std::sync::MutexGuard<'_, ChromeTrace> {
    // A panic while writing leaves at worst a half-written event.
    chrome.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The loop's track in the Chrome trace.
const LOOP_TID: u64 = 1;
/// Pool thread `n` gets track `POOL_TID + n`.
const POOL_TID: u64 = 100;

/// The trace paths this process has asked for: a path asked for again
/// gets a number.
static USED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A Chrome trace-event file, written as it goes. See the module docs.
pub(crate) struct ChromeTrace {
    /// The file; `None` once closed (or after a write error).
    out: Option<BufWriter<File>>,
    /// Time zero of the trace's timestamps.
    epoch: Instant,
    /// The process id, which Perfetto groups tracks by.
    pid: u32,
    /// Pool threads whose track has been named already.
    named: Vec<usize>,
}

impl ChromeTrace {
    fn create(path: &Path) -> io::Result<ChromeTrace> {
        let n = {
            let mut used = USED.lock().unwrap_or_else(PoisonError::into_inner);
            let n = used.iter().filter(|p| *p == path).count();
            used.push(path.to_owned());
            n
        };
        let path = numbered(path, n);
        let file = File::create(&path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("evloop: cannot create trace file {}: {e}", path.display()),
            )
        })?;
        let mut trace = ChromeTrace {
            out: Some(BufWriter::new(file)),
            epoch: Instant::now(),
            pid: std::process::id(),
            named: Vec::new(),
        };
        let pid = trace.pid;
        trace.write(format_args!(
            "{{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n\
             {{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{pid},\"tid\":{LOOP_TID},\"args\":{{\"name\":\"evloop\"}}}},\n\
             {{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{pid},\"tid\":{LOOP_TID},\"args\":{{\"name\":\"evloop loop\"}}}}"
        ));
        Ok(trace)
    }

    /// One complete slice.
    fn slice(&mut self, name: &str, tid: u64, start: Instant, end: Instant, args: &str) {
        let ts = start.saturating_duration_since(self.epoch).as_secs_f64() * 1e6;
        let dur = end.saturating_duration_since(start).as_secs_f64() * 1e6;
        let pid = self.pid;
        let name = escape(name);
        self.write(format_args!(
            ",\n{{\"name\":\"{name}\",\"ph\":\"X\",\"pid\":{pid},\"tid\":{tid},\"ts\":{ts:.3},\"dur\":{dur:.3},\"args\":{args}}}"
        ));
    }

    /// A blocking-pool job on pool thread `worker`.
    pub(crate) fn pool_job(
        &mut self,
        worker: usize,
        at: &'static Location<'static>,
        start: Instant,
        end: Instant,
    ) {
        let tid = POOL_TID + worker as u64;
        if !self.named.contains(&worker) {
            self.named.push(worker);
            let pid = self.pid;
            self.write(format_args!(
                ",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"name\":\"evloop-blocking #{worker}\"}}}}"
            ));
        }
        self.slice(&at.to_string(), tid, start, end, "{}");
    }

    /// Ends the JSON and flushes the file. Later events are dropped.
    fn close(&mut self) {
        self.write(format_args!("\n]}}\n"));
        if let Some(mut out) = self.out.take()
            && let Err(e) = out.flush()
        {
            eprintln!("evloop: writing the trace failed: {e}");
        }
    }

    fn write(&mut self, text: std::fmt::Arguments<'_>) {
        let Some(out) = &mut self.out else { return };
        if let Err(e) = out.write_fmt(text) {
            eprintln!("evloop: writing the trace failed, tracing stops: {e}");
            self.out = None;
        }
    }
}

impl Drop for ChromeTrace {
    fn drop(&mut self) {
        if self.out.is_some() {
            self.close();
        }
    }
}

/// `trace.json` for the first runtime of a process, `trace.<n>.json` after.
fn numbered(path: &Path, n: usize) -> PathBuf {
    if n == 0 {
        return path.to_owned();
    }
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{n}"),
    };
    path.with_file_name(name)
}

/// Escapes a string for a JSON string literal.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_trace_files_get_a_number() {
        assert_eq!(numbered(Path::new("/t/a.json"), 0), Path::new("/t/a.json"));
        assert_eq!(
            numbered(Path::new("/t/a.json"), 2),
            Path::new("/t/a.2.json")
        );
        assert_eq!(numbered(Path::new("a"), 1), Path::new("a.1"));
    }

    #[test]
    fn names_are_escaped_for_json() {
        assert_eq!(escape(r#"C:\a "b""#), r#"C:\\a \"b\""#);
        assert_eq!(escape("a\nb"), "a\\u000ab");
    }

    #[test]
    fn env_values_pick_a_target() {
        assert_eq!(TraceTarget::parse(OsStr::new("")), None);
        assert_eq!(
            TraceTarget::parse(OsStr::new("stderr")),
            Some(TraceTarget::Stderr)
        );
        assert_eq!(
            TraceTarget::parse(OsStr::new("t.json")),
            Some(TraceTarget::File("t.json".into()))
        );
    }
}
