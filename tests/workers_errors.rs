//! `start_server`'s errors: bad settings, a call from inside a runtime, and
//! worker functions that fail; and a run whose workers simply finish.

use std::io::ErrorKind;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use evloop::workers::{Shutdown, Workers};

#[test]
fn zero_workers_is_invalid_input() {
    let error = Workers::new()
        .count(0)
        .start_server(|_worker| async { Ok(()) })
        .expect_err("no workers");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
}

#[test]
fn start_server_inside_a_runtime_is_an_error() {
    let error = evloop::block_on(async {
        Workers::new()
            .count(1)
            .start_server(|_worker| async { Ok(()) })
    })
    .expect_err("it would block the loop");
    assert!(error.to_string().contains("outside a runtime"), "{error}");
}

#[test]
fn workers_that_finish_end_the_run_with_ok() {
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    Workers::new()
        .count(3)
        .start_server(move |worker| {
            let counter = counter.clone();
            async move {
                assert!(worker.index() < 3);
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .expect("clean");
    assert_eq!(ran.load(Ordering::SeqCst), 3);
}

#[test]
fn a_worker_error_is_reported_and_the_others_run_on() {
    let shutdown = Shutdown::new();
    let error = Workers::new()
        .count(2)
        .with_shutdown(shutdown.clone())
        .start_server(move |worker| {
            let shutdown = worker.shutdown();
            async move {
                if worker.index() == 0 {
                    return Err(std::io::Error::other("no database"));
                }
                // Worker 1 is still running after worker 0 failed; it
                // stops only when the program shuts down.
                evloop::time::sleep(std::time::Duration::from_millis(100)).await;
                assert!(!shutdown.is_triggered());
                shutdown.trigger();
                shutdown.wait().await;
                Ok(())
            }
        })
        .expect_err("worker 0 failed");
    assert!(
        error.to_string().contains("worker 0 failed: no database"),
        "{error}"
    );
    assert!(shutdown.is_triggered());
}

#[test]
fn a_programmatic_shutdown_drains_like_a_signal() {
    let shutdown = Shutdown::new();
    let trigger = shutdown.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        trigger.trigger();
    });
    Workers::new()
        .count(2)
        .with_shutdown(shutdown)
        .start_server(|worker| async move {
            worker.shutdown().wait().await;
            Ok(())
        })
        .expect("a clean drain");
}

#[cfg(target_os = "linux")]
#[test]
fn pinned_workers_each_run_on_one_cpu() {
    let cpus = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = cpus.clone();
    Workers::new()
        .count(2)
        .pin_to_cores(true)
        .start_server(move |_worker| {
            let seen = seen.clone();
            async move {
                // SAFETY: an all-zero cpu_set_t is the empty set; pid 0 is
                // this thread, and the set is valid for its size.
                let allowed = unsafe {
                    let mut set: libc::cpu_set_t = std::mem::zeroed();
                    let size = std::mem::size_of::<libc::cpu_set_t>();
                    assert_eq!(libc::sched_getaffinity(0, size, &mut set), 0);
                    libc::CPU_COUNT(&set)
                };
                seen.lock().expect("lock").push(allowed);
                Ok(())
            }
        })
        .expect("clean");
    assert_eq!(*cpus.lock().expect("lock"), vec![1, 1]);
}

#[test]
fn a_single_worker_runs_on_the_calling_thread() {
    // One worker needs no thread of its own: the process stays
    // single-threaded, which glibc rewards on every system call.
    let caller = std::thread::current().id();
    Workers::new()
        .count(1)
        .start_server(move |_worker| {
            let here = std::thread::current().id();
            async move {
                if here == caller {
                    Ok(())
                } else {
                    Err(std::io::Error::other("the worker got a thread of its own"))
                }
            }
        })
        .expect("the worker ran on the caller's thread");
}

#[test]
fn a_single_workers_error_is_the_runs_error() {
    let error = Workers::new()
        .count(1)
        .start_server(|_worker| async { Err(std::io::Error::other("no database")) })
        .expect_err("the worker failed");
    assert!(
        error.to_string().contains("worker 0 failed: no database"),
        "{error}"
    );
}
