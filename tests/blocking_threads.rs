//! The pool's threads: started on demand, reused, retired when idle, all
//! gone after the runtime is dropped.
//!
//! One test function in this binary, because it counts the process's
//! threads named `evloop-blocking` (from `/proc/self/task`), and a second
//! test running in parallel would add its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Live threads of this process named like pool threads.
fn pool_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("Linux /proc")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "evloop-blocking")
        .count()
}

/// Waits (bounded) for the pool-thread count to reach `want`.
fn wait_for_pool_threads(want: usize, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let now = pool_threads();
        if now == want || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn pool_threads_are_started_on_demand_reused_and_retired() {
    idle_runtime_holds_no_pool_threads();
    sequential_jobs_reuse_threads();
    idle_threads_exit_after_keep_alive();
    dropping_the_runtime_waits_for_running_jobs_and_leaks_no_thread();
}

fn idle_runtime_holds_no_pool_threads() {
    let rt = evloop::Runtime::new().expect("runtime");
    rt.block_on(evloop::yield_now());
    assert_eq!(pool_threads(), 0, "no job, no pool thread");
}

fn sequential_jobs_reuse_threads() {
    let rt = evloop::Runtime::new().expect("runtime");
    let peak = rt.block_on(async {
        let mut peak = 0;
        for i in 0..10_000u32 {
            assert_eq!(evloop::spawn_blocking(move || i).await.expect("ok"), i);
            if i % 500 == 0 {
                peak = peak.max(pool_threads());
            }
        }
        peak
    });
    let threads = pool_threads();
    assert!(
        peak <= 4 && threads <= 4,
        "10,000 sequential jobs used {threads} threads (peak {peak})"
    );
    drop(rt);
    assert_eq!(pool_threads(), 0, "dropping the runtime joins its threads");
}

fn idle_threads_exit_after_keep_alive() {
    let rt = evloop::Runtime::builder()
        .blocking_keep_alive(Duration::from_millis(100))
        .build()
        .expect("runtime");
    rt.block_on(async {
        let handles: Vec<_> = (0..4)
            .map(|_| evloop::spawn_blocking(|| std::thread::sleep(Duration::from_millis(50))))
            .collect();
        for handle in handles {
            handle.await.expect("ok");
        }
    });
    assert!(pool_threads() >= 2, "the pool grew for concurrent jobs");
    let left = wait_for_pool_threads(0, Duration::from_secs(5));
    assert_eq!(left, 0, "idle threads outlived the keep-alive");
    // The pool grows again afterwards.
    assert_eq!(
        rt.block_on(async { evloop::spawn_blocking(|| 3).await })
            .expect("ok"),
        3
    );
}

fn dropping_the_runtime_waits_for_running_jobs_and_leaks_no_thread() {
    let rt = evloop::Runtime::builder()
        .max_blocking_threads(3)
        .build()
        .expect("runtime");
    let finished = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..23)
        .map(|_| {
            let (started, finished) = (started.clone(), finished.clone());
            rt.handle().spawn_blocking(move || {
                started.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(300));
                finished.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    while started.load(Ordering::SeqCst) < 3 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let dropping = Instant::now();
    drop(rt);
    let took = dropping.elapsed();
    assert_eq!(
        finished.load(Ordering::SeqCst),
        3,
        "the drop returned before the running jobs finished"
    );
    assert!(took < Duration::from_secs(3), "the drop took {took:?}");
    assert_eq!(pool_threads(), 0, "a pool thread outlived its runtime");
    let outcomes: Vec<_> = handles
        .into_iter()
        .map(futures::executor::block_on)
        .collect();
    let done = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    let cancelled = outcomes
        .iter()
        .filter(|outcome| outcome.as_ref().is_err_and(|e| e.is_cancelled()))
        .count();
    assert_eq!(
        (done, cancelled),
        (3, 20),
        "queued jobs are skipped at shutdown"
    );
}
