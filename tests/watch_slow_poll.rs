//! The slow-poll detector and the pool's queue-wait alarm: a blocking poll
//! is reported once, with the line that spawned the task; a fast one never.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evloop::runtime::{SlowPoll, SlowPollKind};

/// A runtime whose reports land in the returned list.
fn watched_runtime(
    threshold: Duration,
    pool_threads: usize,
) -> (evloop::Runtime, Arc<Mutex<Vec<SlowPoll>>>) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = reports.clone();
    let rt = evloop::Runtime::builder()
        .slow_poll_threshold(threshold)
        .max_blocking_threads(pool_threads)
        .on_slow_poll(move |slow| sink.lock().expect("not poisoned").push(slow.clone()))
        .build()
        .expect("runtime");
    (rt, reports)
}

#[test]
fn a_blocking_poll_is_reported_once_with_its_spawn_line() {
    let (rt, reports) = watched_runtime(Duration::from_millis(50), 4);
    let line = rt.block_on(async {
        let fast: Vec<_> = (0..100)
            .map(|_| evloop::spawn(async { evloop::yield_now().await }))
            .collect();
        let line = line!() + 1;
        let slow = evloop::spawn(async { std::thread::sleep(Duration::from_millis(120)) });
        for task in fast {
            task.await.expect("no panic");
        }
        slow.await.expect("no panic");
        line
    });
    let reports = reports.lock().expect("not poisoned");
    assert_eq!(
        reports.len(),
        1,
        "one report, for the slow task only: {reports:?}"
    );
    let report = &reports[0];
    assert_eq!(report.kind, SlowPollKind::Task);
    assert!(report.task.is_some());
    assert!(report.spawned_at.file().ends_with("watch_slow_poll.rs"));
    assert_eq!(report.spawned_at.line(), line);
    assert!(report.duration >= Duration::from_millis(100), "{report:?}");
    let text = report.to_string();
    assert!(
        text.contains(&format!("watch_slow_poll.rs:{line}")),
        "{text}"
    );
}

#[test]
fn fast_tasks_are_never_reported() {
    let (rt, reports) = watched_runtime(Duration::from_millis(100), 4);
    rt.block_on(async {
        let tasks: Vec<_> = (0..1_000)
            .map(|i| {
                evloop::spawn(async move {
                    evloop::time::sleep(Duration::from_millis(i % 5)).await;
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("no panic");
        }
    });
    assert!(reports.lock().expect("not poisoned").is_empty());
    assert!(rt.metrics().longest_poll < Duration::from_millis(100));
}

#[test]
fn many_short_polls_of_one_task_are_not_one_slow_poll() {
    // One task polled again and again (it yields after 2 ms of work each
    // time) for longer than the threshold in all: every poll has its own
    // number, so the watchdog never sees one poll run for a threshold.
    let (rt, reports) = watched_runtime(Duration::from_millis(50), 4);
    rt.block_on(async {
        let busy = evloop::spawn(async {
            for _ in 0..60 {
                let started = std::time::Instant::now();
                while started.elapsed() < Duration::from_millis(2) {
                    std::hint::spin_loop();
                }
                evloop::yield_now().await;
            }
        });
        busy.await.expect("no panic");
    });
    assert!(
        reports.lock().expect("not poisoned").is_empty(),
        "{:?}",
        reports.lock().expect("not poisoned")
    );
}

#[test]
fn the_detector_and_the_trace_together_report_a_slow_poll_once() {
    let dir = std::env::temp_dir().join(format!("evloop-slow-traced-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("trace.json");
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = reports.clone();
    let rt = evloop::Runtime::builder()
        .slow_poll_threshold(Duration::from_millis(50))
        .on_slow_poll(move |slow| sink.lock().expect("not poisoned").push(slow.clone()))
        .trace_file(&path)
        .build()
        .expect("runtime");
    let line = rt.block_on(async {
        let line = line!() + 1;
        let slow = evloop::spawn(async { std::thread::sleep(Duration::from_millis(120)) });
        slow.await.expect("no panic");
        line
    });
    drop(rt);
    let reports = reports.lock().expect("not poisoned");
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].kind, SlowPollKind::Task);
    assert_eq!(reports[0].spawned_at.line(), line);
    assert!(reports[0].duration >= Duration::from_millis(100));
    let trace = std::fs::read_to_string(&path).expect("the trace was written");
    assert!(trace.contains(&format!("watch_slow_poll.rs:{line}")));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn a_blocking_block_on_future_is_reported_with_its_line() {
    let (rt, reports) = watched_runtime(Duration::from_millis(50), 4);
    let line = line!() + 1;
    rt.block_on(async { std::thread::sleep(Duration::from_millis(120)) });
    let reports = reports.lock().expect("not poisoned");
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].kind, SlowPollKind::BlockOn);
    assert_eq!(reports[0].task, None);
    assert_eq!(reports[0].spawned_at.line(), line);
}

#[test]
fn a_saturated_pool_sounds_the_queue_wait_alarm() {
    let (rt, reports) = watched_runtime(Duration::from_millis(50), 1);
    let line = rt.block_on(async {
        let (started_tx, started) = std::sync::mpsc::channel();
        let long = evloop::spawn_blocking(move || {
            started_tx.send(()).expect("the test waits");
            std::thread::sleep(Duration::from_millis(200));
        });
        started.recv().expect("the long job starts");
        let line = line!() + 1;
        let queued = evloop::spawn_blocking(|| 7);
        long.await.expect("no panic");
        assert_eq!(queued.await.expect("no panic"), 7);
        line
    });
    let reports = reports.lock().expect("not poisoned");
    let waits: Vec<_> = reports
        .iter()
        .filter(|r| r.kind == SlowPollKind::QueueWait)
        .collect();
    assert_eq!(waits.len(), 1, "only the job that queued: {reports:?}");
    assert_eq!(waits[0].spawned_at.line(), line);
    assert!(waits[0].spawned_at.file().ends_with("watch_slow_poll.rs"));
    assert!(waits[0].duration >= Duration::from_millis(100));
}

/// Runs `child` of this test binary in a fresh process with `env` set
/// (and the watch variables otherwise cleared); returns its stderr.
fn run_child(child: &str, env: &[(&str, &str)]) -> String {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([
            child,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env_remove("EVLOOP_DEBUG")
        .env_remove("EVLOOP_TRACE");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("the child runs");
    assert!(output.status.success(), "child failed: {output:?}");
    String::from_utf8(output.stderr).expect("utf-8")
}

/// Not a test by itself: the workload of the two child-process tests.
#[test]
#[ignore = "run by the other tests in a child process"]
fn child_blocks_the_loop_once() {
    evloop::block_on(async {
        let line = line!() + 1;
        let slow = evloop::spawn(async { std::thread::sleep(Duration::from_millis(150)) });
        println!("spawn line {line}");
        let fast = evloop::spawn(async { evloop::time::sleep(Duration::from_millis(5)).await });
        slow.await.expect("no panic");
        fast.await.expect("no panic");
        evloop::spawn_blocking(|| 1).await.expect("no panic");
    });
}

#[test]
fn evloop_debug_prints_one_line_naming_the_spawn() {
    let stderr = run_child("child_blocks_the_loop_once", &[("EVLOOP_DEBUG", "1")]);
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("evloop: task "), "{stderr}");
    assert!(lines[0].contains("watch_slow_poll.rs:"), "{stderr}");
    assert!(lines[0].contains("in one poll"), "{stderr}");
}

#[test]
fn nothing_is_printed_when_nothing_is_enabled() {
    let stderr = run_child("child_blocks_the_loop_once", &[]);
    assert_eq!(stderr, "", "stderr must stay empty");
    let stderr = run_child("child_blocks_the_loop_once", &[("EVLOOP_DEBUG", "0")]);
    assert_eq!(stderr, "", "EVLOOP_DEBUG=0 is off");
}
