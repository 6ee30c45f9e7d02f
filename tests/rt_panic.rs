//! A panicking task is reported through its handle; the loop goes on.

use evloop::Runtime;

#[test]
fn panicking_task_reports_through_its_handle_and_the_loop_goes_on() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let survivor = evloop::spawn(async {
            for _ in 0..10 {
                evloop::yield_now().await;
            }
            "still running"
        });
        let bad = evloop::spawn(async {
            evloop::yield_now().await;
            panic!("boom in a task");
        });
        let error = bad.await.expect_err("the task panicked");
        assert!(error.is_panic());
        assert!(!error.is_cancelled());
        assert_eq!(error.to_string(), "task panicked");
        assert!(format!("{error:?}").contains("boom in a task"));
        let payload = error.into_panic();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom in a task"));
        assert_eq!(
            survivor.await.expect("other tasks keep running"),
            "still running"
        );
    });
    // The runtime stays usable.
    assert_eq!(
        rt.block_on(async { evloop::spawn(async { 1 }).await.expect("ok") }),
        1
    );
}

#[test]
fn many_panics_do_not_leak_tasks() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let handles: Vec<_> = (0..if cfg!(miri) { 100 } else { 1_000 })
            .map(|i| {
                evloop::spawn(async move {
                    if i % 2 == 0 {
                        panic!("even");
                    }
                    i
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            match handle.await {
                Ok(value) => assert_eq!(value, i),
                Err(error) => assert!(i % 2 == 0 && error.is_panic()),
            }
        }
    });
    assert_eq!(rt.metrics().live_tasks, 0);
}

#[test]
#[should_panic(expected = "main future panics")]
fn a_panic_in_the_block_on_future_propagates() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async { panic!("main future panics") });
}

/// A value whose destructor panics.
struct PanicsOnDrop(&'static str);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

#[test]
fn dropping_a_handle_whose_output_panics_on_drop_does_not_panic() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let handle = evloop::spawn(async { PanicsOnDrop("output dropped with its handle") });
        while !handle.is_finished() {
            evloop::yield_now().await;
        }
        // The output is stored in the handle's slot: dropping the handle
        // drops it, and the panic stays inside.
        drop(handle);
        assert_eq!(evloop::spawn(async { 7 }).await.expect("loop fine"), 7);
    });
}

#[test]
fn detached_task_output_panicking_on_drop_is_contained_and_its_slot_freed() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        drop(evloop::spawn(async {
            evloop::yield_now().await;
            PanicsOnDrop("output of a detached task")
        }));
        for _ in 0..5 {
            evloop::yield_now().await;
        }
        assert_eq!(evloop::spawn(async { 7 }).await.expect("loop fine"), 7);
    });
    assert_eq!(
        rt.metrics().live_tasks,
        0,
        "the finished task's slot is free"
    );
}
