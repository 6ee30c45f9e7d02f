//! Dropping a runtime drops every task's future exactly once, and hangs on
//! nothing.

mod common;

use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use common::{DropCounter, Never, with_watchdog};
use evloop::Runtime;

#[test]
fn dropping_the_runtime_drops_every_task_once() {
    let drops = with_watchdog(Duration::from_secs(20), || {
        let drops = DropCounter::new();
        let rt = Runtime::new().expect("runtime");
        // Tasks that never ran.
        for _ in 0..100 {
            let guard = drops.guard();
            drop(rt.spawn(async move {
                let _guard = guard;
                Never.await;
            }));
        }
        // Tasks parked after running, some on I/O.
        rt.block_on(async {
            for i in 0..100 {
                let guard = drops.guard();
                drop(evloop::spawn(async move {
                    let _guard = guard;
                    if i % 2 == 0 {
                        let (reader, writer) = common::async_pair();
                        let mut buf = [0u8; 1];
                        let _ = reader
                            .read_with(|io| std::io::Read::read(&mut &*io, &mut buf))
                            .await;
                        drop(writer);
                    }
                    Never.await;
                }));
            }
            evloop::yield_now().await;
        });
        drop(rt);
        drops.drops()
    });
    assert_eq!(drops, 200);
}

#[test]
fn tasks_holding_each_others_handles_and_wakers_are_dropped_once() {
    let drops = with_watchdog(Duration::from_secs(20), || {
        let drops = DropCounter::new();
        let rt = Runtime::new().expect("runtime");
        let waker_box: Rc<RefCell<Option<Waker>>> = Rc::default();
        rt.block_on(async {
            // B parks and publishes its waker.
            let (b_guard, wb) = (drops.guard(), waker_box.clone());
            let b = evloop::spawn(async move {
                let _guard = b_guard;
                poll_fn(|cx| {
                    *wb.borrow_mut() = Some(cx.waker().clone());
                    Poll::<()>::Pending
                })
                .await;
            });
            evloop::yield_now().await;
            // A holds B's handle and B's waker, and waits on B.
            let (a_guard, b_waker) = (drops.guard(), waker_box.borrow_mut().take());
            let a = evloop::spawn(async move {
                let _guard = a_guard;
                let _b_waker = b_waker;
                let _ = b.await;
            });
            // C holds A's handle.
            let c_guard = drops.guard();
            drop(evloop::spawn(async move {
                let _guard = c_guard;
                let _ = a.await;
            }));
            evloop::yield_now().await;
        });
        drop(rt);
        drops.drops()
    });
    assert_eq!(drops, 3);
}

#[test]
fn a_destructor_that_spawns_during_shutdown_does_not_hang_or_leak() {
    struct SpawnOnDrop(DropCounter);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let guard = self.0.guard();
            drop(evloop::spawn(async move {
                let _guard = guard;
                Never.await;
            }));
        }
    }
    let drops = with_watchdog(Duration::from_secs(20), || {
        let drops = DropCounter::new();
        let rt = Runtime::new().expect("runtime");
        let on_drop = SpawnOnDrop(drops.clone());
        drop(rt.spawn(async move {
            let _on_drop = on_drop;
            Never.await;
        }));
        rt.block_on(evloop::yield_now());
        drop(rt);
        drops.drops()
    });
    assert_eq!(drops, 1, "the task spawned while dropping was dropped too");
}

#[test]
fn a_handle_outliving_its_runtime_reports_cancelled() {
    let rt = Runtime::new().expect("runtime");
    let handle = rt.spawn(async {
        Never.await;
        5
    });
    drop(rt);
    assert!(handle.is_finished());
    let other = Runtime::new().expect("runtime");
    assert!(
        other
            .block_on(handle)
            .expect_err("cancelled")
            .is_cancelled()
    );
}

#[test]
fn a_panicking_destructor_does_not_stop_the_shutdown() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("destructor panics");
        }
    }
    let drops = DropCounter::new();
    let rt = Runtime::new().expect("runtime");
    drop(rt.spawn(async {
        let _bad = PanicOnDrop;
        Never.await;
    }));
    let guard = drops.guard();
    drop(rt.spawn(async move {
        let _guard = guard;
        Never.await;
    }));
    rt.block_on(evloop::yield_now());
    drop(rt);
    assert_eq!(drops.drops(), 1);
}

#[test]
fn blocking_job_spawning_at_shutdown_does_not_hang() {
    let outcome = with_watchdog(Duration::from_secs(20), || {
        let rt = Runtime::new().expect("runtime");
        let handle = rt.handle();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (outcome_tx, outcome_rx) = std::sync::mpsc::channel();
        drop(rt.handle().spawn_blocking(move || {
            started_tx.send(()).expect("test waits");
            // Still running when the runtime is dropped: the drop waits for
            // this job, and this job waits for what it spawns.
            std::thread::sleep(Duration::from_millis(100));
            let task = handle.spawn(async { 5 });
            let _ =
                outcome_tx.send(futures::executor::block_on(task).map_err(|e| e.is_cancelled()));
        }));
        started_rx.recv().expect("the job started");
        drop(rt);
        outcome_rx.recv().expect("the job finished")
    });
    assert_eq!(
        outcome,
        Err(true),
        "refused at shutdown: the handle says cancelled"
    );
}

/// A value whose destructor panics.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("destructor of a refused spawn");
    }
}

#[test]
fn panicking_drop_of_a_refused_remote_spawn_does_not_escape_runtime_drop() {
    let rt = Runtime::new().expect("runtime");
    let handle = rt.handle();
    // Spawned from another thread and queued; the loop never runs again, so
    // the shutdown refuses it and drops it.
    let task = std::thread::spawn(move || {
        let bomb = PanicsOnDrop;
        handle.spawn(async move {
            let _bomb = bomb;
        })
    })
    .join()
    .expect("spawning thread");
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(rt)));
    assert!(
        dropped.is_ok(),
        "a task's destructor panic escaped Runtime::drop"
    );
    assert!(task.is_finished());
    let other = Runtime::new().expect("runtime");
    let error = other.block_on(task).expect_err("never ran");
    assert!(error.is_panic() || error.is_cancelled());
}

#[test]
fn runtime_dropped_inside_another_runtimes_task_shuts_down_as_itself() {
    use std::cell::Cell;
    /// Spawns on "the current runtime" when dropped, and reports whether
    /// that spawn ever ran.
    struct SpawnOnDrop(Rc<Cell<bool>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let ran = self.0.clone();
            drop(evloop::spawn(async move { ran.set(true) }));
        }
    }
    let outer = Runtime::new().expect("outer runtime");
    let ran = Rc::new(Cell::new(false));
    let spawn_ran = ran.clone();
    outer.block_on(async move {
        let inner = Runtime::new().expect("inner runtime");
        let on_drop = SpawnOnDrop(spawn_ran);
        drop(inner.spawn(async move {
            let _on_drop = on_drop;
            Never.await;
        }));
        // The inner runtime is shutting down: its task's destructor spawns
        // onto *it* (refused), not onto the loop that happens to run us.
        drop(inner);
        for _ in 0..5 {
            evloop::yield_now().await;
        }
    });
    assert!(
        !ran.get(),
        "the destructor's spawn landed on the outer runtime"
    );
    assert_eq!(outer.metrics().live_tasks, 0);
}
