//! Spawning and joining: values come back, handles are what users expect.

mod common;

use std::rc::Rc;

use evloop::{JoinHandle, Runtime};

#[test]
fn hundred_thousand_tasks_complete_with_their_values() {
    // Scaled down under miri, which interprets every step.
    const TASKS: u64 = if cfg!(miri) { 1_000 } else { 100_000 };
    let rt = Runtime::new().expect("runtime");
    let sum = rt.block_on(async {
        let handles: Vec<JoinHandle<u64>> = (0..TASKS)
            .map(|i| evloop::spawn(async move { i * 2 }))
            .collect();
        let mut sum = 0;
        for (i, handle) in handles.into_iter().enumerate() {
            let value = handle.await.expect("task does not fail");
            assert_eq!(
                value,
                i as u64 * 2,
                "handle {i} returned another task's value"
            );
            sum += value;
        }
        sum
    });
    assert_eq!(sum, (TASKS - 1) * TASKS);
    assert_eq!(rt.metrics().live_tasks, 0, "finished tasks leave the table");
}

#[test]
fn tasks_need_not_be_send() {
    let rt = Runtime::new().expect("runtime");
    let shared = Rc::new(5);
    let inner = shared.clone();
    let value = rt.block_on(async move { evloop::spawn(async move { *inner + 1 }).await });
    assert_eq!(value.expect("no panic"), 6);
    assert_eq!(
        Rc::strong_count(&shared),
        1,
        "the task's future was dropped"
    );
}

#[test]
fn runtime_spawn_runs_on_next_block_on() {
    let rt = Runtime::new().expect("runtime");
    let handle = rt.spawn(async { "spawned before block_on" });
    assert!(!handle.is_finished());
    assert_eq!(
        rt.block_on(handle).expect("no panic"),
        "spawned before block_on"
    );
}

#[test]
fn free_block_on_runs_a_future() {
    assert_eq!(evloop::block_on(async { 7 }), 7);
}

#[test]
fn yield_now_lets_others_run_in_between() {
    let rt = Runtime::new().expect("runtime");
    let order = rt.block_on(async {
        let log = Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut handles = Vec::new();
        for id in 0..3 {
            let log = log.clone();
            handles.push(evloop::spawn(async move {
                for step in 0..2 {
                    log.borrow_mut().push((id, step));
                    evloop::yield_now().await;
                }
            }));
        }
        for handle in handles {
            handle.await.expect("no panic");
        }
        Rc::try_unwrap(log).expect("tasks are gone").into_inner()
    });
    assert_eq!(order, vec![(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]);
}

#[test]
fn is_finished_reports_completion() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let handle = evloop::spawn(async {});
        assert!(!handle.is_finished());
        evloop::yield_now().await;
        assert!(handle.is_finished());
        handle.await.expect("no panic");
    });
}

#[test]
#[should_panic(expected = "outside of a runtime")]
fn spawn_outside_a_runtime_panics_clearly() {
    drop(evloop::spawn(async {}));
}

#[test]
#[should_panic(expected = "cannot start a runtime from within a runtime")]
fn nested_block_on_panics_clearly() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        evloop::block_on(async {});
    });
}

#[test]
fn builder_with_tiny_event_capacity_still_delivers_every_event() {
    let rt = Runtime::builder()
        .event_capacity(1)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut pairs = Vec::new();
        let mut readers = Vec::new();
        for _ in 0..20 {
            let (a, b) = common::async_pair();
            readers.push(evloop::spawn(async move {
                let mut buf = [0u8; 8];
                a.read_with(|io| std::io::Read::read(&mut &*io, &mut buf))
                    .await
            }));
            pairs.push(b);
        }
        evloop::yield_now().await;
        for b in &mut pairs {
            std::io::Write::write_all(b, b"x").expect("write");
        }
        for reader in readers {
            assert_eq!(reader.await.expect("no panic").expect("read"), 1);
        }
    });
}

/// Compile-time checks of which types cross threads.
#[allow(dead_code)]
fn auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    fn unpin<T: Unpin>() {}
    send_sync::<evloop::Handle>();
    send_sync::<std::task::Waker>();
    send::<JoinHandle<u32>>();
    unpin::<JoinHandle<Rc<u32>>>();
    send_sync::<evloop::JoinError>();
    send_sync::<evloop::task::AbortHandle>();
}

/// Records the thread it is dropped on.
struct ThreadRecorder(std::sync::Arc<std::sync::Mutex<Vec<std::thread::ThreadId>>>);

impl Drop for ThreadRecorder {
    fn drop(&mut self) {
        self.0
            .lock()
            .expect("lock")
            .push(std::thread::current().id());
    }
}

#[test]
fn a_detached_tasks_output_is_dropped_at_completion_on_the_loop_thread() {
    let drops = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let rt = Runtime::new().expect("runtime");
    let recorder = drops.clone();
    let stale_waker = rt.block_on(async move {
        let (tx, rx) = std::sync::mpsc::channel();
        drop(evloop::spawn(std::future::poll_fn(move |cx| {
            tx.send(cx.waker().clone()).expect("receiver alive");
            // A !Send output.
            std::task::Poll::Ready((Rc::new(()), ThreadRecorder(recorder.clone())))
        })));
        evloop::yield_now().await;
        rx.recv().expect("the task ran")
    });
    assert_eq!(
        *drops.lock().expect("lock"),
        vec![std::thread::current().id()]
    );
    // The last reference to the task, dropped on another thread, holds no output.
    std::thread::spawn(move || drop(stale_waker))
        .join()
        .expect("thread");
    drop(rt);
    assert_eq!(
        drops.lock().expect("lock").len(),
        1,
        "output dropped exactly once"
    );
}

#[test]
fn dropping_a_handle_after_completion_drops_the_output_then() {
    let drops = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let rt = Runtime::new().expect("runtime");
    let recorder = drops.clone();
    rt.block_on(async move {
        let handle = evloop::spawn(async move { ThreadRecorder(recorder) });
        evloop::yield_now().await;
        assert!(handle.is_finished());
        assert!(
            drops.lock().expect("lock").is_empty(),
            "kept for the handle"
        );
        drop(handle);
        assert_eq!(drops.lock().expect("lock").len(), 1);
    });
}
