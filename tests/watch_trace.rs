//! The loop trace: a Chrome trace-event file that is valid JSON, with one
//! slice per phase per turn, task polls named by their spawn lines, pool
//! jobs on their own tracks; and the one-line-per-turn stderr form.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

/// A scratch file path unique to this test process.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("evloop-{}-{name}", std::process::id()))
}

/// Exercises every phase: timers, spawns, yields, a pool job, a remote
/// spawn. Returns the line of the one spawn it names.
async fn workload() -> u32 {
    let line = line!() + 1;
    let sleeper = evloop::spawn(async { evloop::time::sleep(Duration::from_millis(5)).await });
    for _ in 0..3 {
        evloop::yield_now().await;
    }
    let handle = evloop::Handle::current();
    std::thread::spawn(move || drop(handle.spawn(async {})))
        .join()
        .expect("thread");
    evloop::spawn_blocking(|| std::thread::sleep(Duration::from_millis(2)))
        .await
        .expect("no panic");
    sleeper.await.expect("no panic");
    line
}

/// The events of the trace file at `path`, which must parse as JSON.
fn events(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("the trace file exists");
    let json: Value = serde_json::from_str(&text).expect("the trace is valid JSON");
    json["traceEvents"]
        .as_array()
        .expect("a traceEvents array")
        .clone()
}

/// Timestamps are rounded to the nanosecond, each on its own.
const EPS: f64 = 0.002;

/// A complete slice: (name, tid, start, end) in microseconds.
fn slice(event: &Value) -> (String, u64, f64, f64) {
    let ts = event["ts"].as_f64().expect("ts");
    let dur = event["dur"].as_f64().expect("dur");
    assert!(dur >= 0.0);
    (
        event["name"].as_str().expect("name").to_owned(),
        event["tid"].as_u64().expect("tid"),
        ts,
        ts + dur,
    )
}

#[test]
fn the_trace_file_is_valid_json_with_one_slice_per_phase_per_turn() {
    let path = scratch("trace.json");
    let rt = evloop::Runtime::builder()
        .trace_file(&path)
        .build()
        .expect("runtime");
    let line = rt.block_on(workload());
    let turns = rt.metrics().turns;
    drop(rt); // closes the JSON
    let events = events(&path);
    std::fs::remove_file(&path).expect("cleanup");

    for event in &events {
        let ph = event["ph"].as_str().expect("ph");
        assert!(
            ph == "X" || ph == "M",
            "only complete and metadata events: {event}"
        );
    }
    let slices: Vec<_> = events
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(slice)
        .collect();
    let turn_slices: Vec<_> = slices.iter().filter(|s| s.0 == "turn").collect();
    assert_eq!(turn_slices.len() as u64, turns, "one turn slice per turn");
    for (_, tid, start, end) in &turn_slices {
        let inside = |name: &str| {
            slices
                .iter()
                .filter(|s| s.0 == name && s.1 == *tid && s.2 >= start - EPS && s.3 <= end + EPS)
                .count()
        };
        for phase in ["timers", "run tasks", "injection queue"] {
            assert_eq!(inside(phase), 1, "one {phase} slice per turn");
        }
        // A turn that hands over to the block_on future skips phases 4-5.
        assert!(inside("timeout") <= 1);
        assert_eq!(inside("timeout"), inside("epoll_wait"));
    }
    let polls = slices
        .iter()
        .filter(|s| s.0.contains(&format!("watch_trace.rs:{line}:")))
        .count();
    assert!(
        polls >= 2,
        "the sleeper's polls are named by its spawn line"
    );
    let pool_jobs = slices
        .iter()
        .filter(|s| s.1 >= 100 && s.0.contains("watch_trace.rs"))
        .count();
    assert_eq!(pool_jobs, 1, "the pool job has its own track");
    let waits: Vec<_> = events
        .iter()
        .filter(|e| e["name"] == "epoll_wait")
        .collect();
    assert!(!waits.is_empty());
    assert!(waits.iter().all(|e| e["args"]["events"].is_u64()));
}

#[test]
fn an_uncreatable_trace_file_is_a_clear_error() {
    let path = scratch("no-such-dir/trace.json");
    let error = evloop::Runtime::builder()
        .trace_file(&path)
        .build()
        .expect_err("the directory does not exist");
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    assert!(error.to_string().contains("no-such-dir"), "{error}");
}

/// Not a test by itself: the workload of the child-process tests.
#[test]
#[ignore = "run by the other tests in a child process"]
fn child_runs_the_workload() {
    evloop::block_on(workload());
}

fn run_child(env: &[(&str, &str)]) -> String {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([
            "child_runs_the_workload",
            "--exact",
            "--ignored",
            "--nocapture",
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

#[test]
fn evloop_trace_stderr_prints_one_line_per_turn() {
    let stderr = run_child(&[("EVLOOP_TRACE", "stderr")]);
    let lines: Vec<_> = stderr.lines().collect();
    assert!(lines.len() >= 3, "{stderr}");
    for (n, line) in lines.iter().enumerate() {
        assert!(
            line.starts_with(&format!("evloop turn {}: timers ", n + 1)),
            "{line}"
        );
        assert!(line.contains(" | epoll_wait "), "{line}");
    }
}

#[test]
fn evloop_trace_path_writes_json_and_nothing_to_stderr() {
    let path = scratch("child-trace.json");
    let stderr = run_child(&[("EVLOOP_TRACE", path.to_str().expect("utf-8 path"))]);
    assert_eq!(stderr, "");
    let events = events(&path);
    std::fs::remove_file(&path).expect("cleanup");
    assert!(events.iter().any(|e| e["name"] == "turn"));
}
