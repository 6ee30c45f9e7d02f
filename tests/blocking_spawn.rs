//! spawn_blocking: values, panics, abort, the thread limit, other threads.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

fn runtime(threads: usize) -> evloop::Runtime {
    evloop::Runtime::builder()
        .max_blocking_threads(threads)
        .build()
        .expect("runtime")
}

#[test]
fn spawn_blocking_returns_the_closures_value() {
    let rt = runtime(4);
    let value = rt.block_on(async { evloop::spawn_blocking(|| vec![1, 2, 3]).await });
    assert_eq!(value.expect("no panic"), vec![1, 2, 3]);
}

#[test]
fn panicking_closure_gives_is_panic_and_the_thread_survives() {
    let rt = runtime(1);
    rt.block_on(async {
        let first = evloop::spawn_blocking(std::thread::current)
            .await
            .expect("ok");
        let error = evloop::spawn_blocking(|| -> u32 { panic!("boom") })
            .await
            .expect_err("the closure panicked");
        assert!(error.is_panic());
        assert_eq!(
            *error
                .into_panic()
                .downcast::<&str>()
                .expect("a &str payload"),
            "boom"
        );
        // One thread allowed: the same thread runs the next job.
        let after = evloop::spawn_blocking(std::thread::current)
            .await
            .expect("ok");
        assert_eq!(first.id(), after.id(), "the pool thread survived the panic");
        assert_eq!(evloop::spawn_blocking(|| 5).await.expect("ok"), 5);
    });
}

#[test]
fn abort_before_start_skips_the_job() {
    let rt = runtime(1);
    rt.block_on(async {
        let (release, gate) = mpsc::channel::<()>();
        let blocker = evloop::spawn_blocking(move || gate.recv().expect("released"));
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let queued = evloop::spawn_blocking(move || flag.store(true, Ordering::SeqCst));
        queued.abort();
        release.send(()).expect("blocker waits");
        blocker.await.expect("ok");
        let error = queued.await.expect_err("aborted before it started");
        assert!(error.is_cancelled());
        assert!(!ran.load(Ordering::SeqCst), "an aborted job must not run");
        // The pool goes on.
        assert_eq!(evloop::spawn_blocking(|| 1).await.expect("ok"), 1);
    });
}

#[test]
fn abort_after_start_lets_the_job_finish() {
    let rt = runtime(2);
    rt.block_on(async {
        let (started_tx, started) = mpsc::channel::<()>();
        let (release, gate) = mpsc::channel::<()>();
        let job = evloop::spawn_blocking(move || {
            started_tx.send(()).expect("test waits");
            gate.recv().expect("released");
            "done"
        });
        evloop::spawn_blocking(move || started.recv().expect("job starts"))
            .await
            .expect("ok");
        job.abort();
        release.send(()).expect("job waits");
        assert_eq!(job.await.expect("started jobs run to the end"), "done");
    });
}

#[test]
fn max_blocking_threads_bounds_concurrency() {
    let rt = runtime(3);
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let handles: Vec<_> = (0..24)
            .map(|i| {
                let (running, peak) = (running.clone(), peak.clone());
                evloop::spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.await.expect("ok"), i);
        }
    });
    let peak = peak.load(Ordering::SeqCst);
    assert!(peak <= 3, "{peak} jobs ran at once with a limit of 3");
    assert!(
        peak >= 2,
        "the pool should grow past one thread (peak {peak})"
    );
}

#[test]
fn handle_spawn_blocking_works_from_another_thread() {
    let rt = runtime(2);
    let handle = rt.handle();
    let job = std::thread::spawn(move || handle.spawn_blocking(|| 6 * 7))
        .join()
        .expect("thread");
    assert_eq!(rt.block_on(job).expect("ok"), 42);
}

#[test]
fn spawn_blocking_after_the_runtime_is_dropped_reports_cancelled() {
    let rt = runtime(2);
    let handle = rt.handle();
    drop(rt);
    let job = handle.spawn_blocking(|| 1);
    let error = futures::executor::block_on(job).expect_err("no pool any more");
    assert!(error.is_cancelled());
}

#[test]
fn spawn_blocking_outside_a_runtime_panics_clearly() {
    let panic = std::panic::catch_unwind(|| evloop::spawn_blocking(|| ())).expect_err("no runtime");
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .expect("a string message");
    assert!(message.contains("outside of a runtime"), "{message}");
}

#[test]
fn a_handle_can_be_awaited_on_another_thread() {
    let rt = runtime(2);
    let job = rt.handle().spawn_blocking(|| "far");
    let value = std::thread::spawn(move || futures::executor::block_on(job))
        .join()
        .expect("thread");
    assert_eq!(value.expect("ok"), "far");
}

#[test]
fn a_refused_job_whose_closure_panics_on_drop_does_not_panic_the_spawner() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("destructor of a closure that never ran");
        }
    }
    let rt = runtime(1);
    let handle = rt.handle();
    drop(rt);
    let bomb = PanicsOnDrop;
    // The pool is gone: the job is refused and its closure dropped unrun,
    // here; its destructor's panic is the job's business, not the caller's.
    let job = handle.spawn_blocking(move || {
        let _bomb = bomb;
    });
    let other = evloop::Runtime::new().expect("runtime");
    assert!(other.block_on(job).expect_err("never ran").is_cancelled());
}
