//! The task dump lists exactly the live tasks, with where each was spawned
//! and what it is doing.

use std::time::Duration;

use evloop::runtime::{TaskInfo, TaskState};

/// The dump line of the task spawned at `line` of this file.
fn at_line(dump: &[TaskInfo], line: u32) -> &TaskInfo {
    let found: Vec<_> = dump
        .iter()
        .filter(|t| t.spawned_at.line() == line)
        .collect();
    assert_eq!(found.len(), 1, "one task from line {line}: {dump:#?}");
    assert!(found[0].spawned_at.file().ends_with("watch_dump.rs"));
    found[0]
}

#[test]
fn dump_lists_the_live_tasks_with_locations_and_states() {
    let rt = evloop::Runtime::new().expect("runtime");
    let (tx, rx) = evloop::sync::oneshot::channel::<()>();
    let waiting_line = line!() + 1;
    let waiting = rt.spawn(async move { rx.await.is_ok() });
    let done_line = line!() + 1;
    let done = rt.spawn(async { 1 });

    // Before the loop ran: both new, scheduled, never polled.
    let dump = rt.dump();
    assert_eq!(dump.len(), 2);
    for line in [waiting_line, done_line] {
        let info = at_line(&dump, line);
        assert_eq!(info.state, TaskState::Scheduled);
        assert_eq!(info.polls, 0);
        assert_eq!(info.since_last_poll, None);
    }

    let (inner_line, dump) = rt.block_on(async {
        assert_eq!(done.await.expect("no panic"), 1);
        let inner_line = line!() + 1;
        let inner = evloop::spawn(async { evloop::Handle::current().dump().await });
        let dump = inner.await.expect("no panic").expect("the loop answers");
        (inner_line, dump)
    });
    // The finished task is gone; the waiting one waits; the asker runs.
    assert_eq!(dump.len(), 2, "{dump:#?}");
    let info = at_line(&dump, waiting_line);
    assert_eq!(info.state, TaskState::Waiting);
    assert_eq!(info.polls, 1);
    assert!(info.since_last_poll.is_some());
    assert_eq!(at_line(&dump, inner_line).state, TaskState::Running);

    // Woken but not yet run: scheduled again.
    tx.send(()).expect("the task listens");
    let dump = rt.dump();
    assert_eq!(dump.len(), 1);
    assert_eq!(at_line(&dump, waiting_line).state, TaskState::Scheduled);
    assert!(rt.block_on(waiting).expect("no panic"));
    assert!(rt.dump().is_empty());
}

#[test]
fn handle_spawn_and_join_set_record_their_callers() {
    let rt = evloop::Runtime::new().expect("runtime");
    let handle = rt.handle();
    let remote_line = line!() + 1;
    let remote = std::thread::spawn(move || handle.spawn(std::future::pending::<()>()))
        .join()
        .expect("thread");
    let dump = rt.block_on(async {
        let mut set = evloop::task::JoinSet::new();
        let set_line = line!() + 1;
        set.spawn(std::future::pending::<()>());
        evloop::yield_now().await;
        let dump = evloop::Handle::current().dump().await.expect("answered");
        at_line(&dump, set_line);
        dump
    });
    at_line(&dump, remote_line);
    drop(remote);
}

#[test]
fn another_thread_gets_the_dump_through_the_injection_queue() {
    let rt = evloop::Runtime::new().expect("runtime");
    let handle = rt.handle();
    let line = line!() + 1;
    let _parked = rt.spawn(std::future::pending::<()>());
    let asker = std::thread::spawn(move || evloop::block_on(handle.dump()));
    rt.block_on(async {
        // Keep the loop turning until the other thread has its answer.
        while !asker.is_finished() {
            evloop::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let dump = asker.join().expect("thread").expect("the loop answered");
    assert_eq!(dump.len(), 1);
    // Waiting, or still scheduled if the request beat its first poll.
    assert_ne!(at_line(&dump, line).state, TaskState::Running);
}

#[test]
fn dump_of_a_dropped_runtime_is_an_error() {
    let rt = evloop::Runtime::new().expect("runtime");
    let handle = rt.handle();
    drop(rt);
    let error = evloop::block_on(handle.dump()).expect_err("nobody answers");
    assert_eq!(error.kind(), std::io::ErrorKind::NotConnected);
}

#[test]
fn dump_on_signal_outside_a_runtime_is_an_error() {
    let error = evloop::runtime::dump_on_signal(evloop::signal::SignalKind::user_defined1())
        .expect_err("no runtime");
    assert!(
        error.to_string().contains("outside of a runtime"),
        "{error}"
    );
}

/// Not a test by itself: a process that dumps its tasks on SIGUSR1, then
/// sends itself one.
#[test]
#[ignore = "run by dump_on_sigusr1_prints_the_tasks in a child process"]
fn child_dumps_on_sigusr1() {
    evloop::block_on(async {
        let dumper = evloop::runtime::dump_on_signal(evloop::signal::SignalKind::user_defined1())
            .expect("listening");
        let line = line!() + 1;
        let parked = evloop::spawn(std::future::pending::<()>());
        println!("parked at line {line}");
        evloop::yield_now().await;
        // SAFETY: raising a signal whose handler evloop installed above.
        assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
        evloop::time::sleep(Duration::from_millis(200)).await;
        parked.abort();
        dumper.abort();
    });
}

#[test]
fn dump_on_sigusr1_prints_the_tasks() {
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "child_dumps_on_sigusr1",
            "--exact",
            "--ignored",
            "--nocapture",
            "-q",
        ])
        .env_remove("EVLOOP_DEBUG")
        .env_remove("EVLOOP_TRACE")
        .output()
        .expect("the child runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("parked at line "))
        .expect("the child names its line");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("evloop: task dump, 2 live task(s)\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("watch_dump.rs:{line}:")),
        "{stderr}"
    );
    assert!(stderr.contains("running"), "the dumper itself: {stderr}");
}
