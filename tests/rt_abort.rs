//! abort() and detaching: futures are dropped exactly once.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::{DropCounter, Never};
use evloop::Runtime;

#[test]
fn abort_of_a_task_parked_on_io_drops_it_once_and_reports_cancelled() {
    let rt = Runtime::new().expect("runtime");
    let drops = DropCounter::new();
    let guard = drops.guard();
    rt.block_on(async move {
        let (reader, _writer) = common::async_pair();
        let handle = evloop::spawn(async move {
            let _guard = guard;
            let mut buf = [0u8; 1];
            // Nobody writes: this parks on the reactor forever.
            let _ = reader
                .read_with(|io| std::io::Read::read(&mut &*io, &mut buf))
                .await;
            unreachable!("nothing is ever written");
        });
        evloop::yield_now().await;
        evloop::yield_now().await;
        assert!(!handle.is_finished(), "the task is parked, not done");
        handle.abort();
        let error = handle.await.expect_err("aborted");
        assert!(error.is_cancelled());
        assert!(!error.is_panic());
        assert_eq!(error.to_string(), "task was cancelled");
    });
    assert_eq!(drops.drops(), 1, "future dropped exactly once");
    assert_eq!(rt.metrics().io_sources, 0, "the parked socket was released");
}

#[test]
fn abort_from_another_thread_cancels() {
    let rt = Runtime::new().expect("runtime");
    let drops = DropCounter::new();
    let guard = drops.guard();
    let handle = rt.spawn(async move {
        let _guard = guard;
        Never.await;
    });
    let abort = handle.abort_handle();
    let result = rt.block_on(async move {
        std::thread::spawn(move || abort.abort());
        handle.await
    });
    assert!(result.expect_err("aborted").is_cancelled());
    assert_eq!(drops.drops(), 1);
}

#[test]
fn abort_after_completion_keeps_the_value() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let handle = evloop::spawn(async { 9 });
        evloop::yield_now().await;
        assert!(handle.is_finished());
        handle.abort();
        assert_eq!(handle.await.expect("finished before the abort"), 9);
    });
}

#[test]
fn a_task_may_abort_itself() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let slot: Rc<Cell<Option<evloop::task::AbortHandle>>> = Rc::default();
        let inner = slot.clone();
        let handle = evloop::spawn(async move {
            evloop::yield_now().await;
            if let Some(me) = inner.take() {
                me.abort();
            }
            Never.await;
        });
        slot.set(Some(handle.abort_handle()));
        assert!(handle.await.expect_err("aborted").is_cancelled());
    });
}

#[test]
fn dropping_a_handle_detaches_the_task() {
    let rt = Runtime::new().expect("runtime");
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    rt.block_on(async move {
        drop(evloop::spawn(async move {
            evloop::yield_now().await;
            flag.set(true);
        }));
        for _ in 0..3 {
            evloop::yield_now().await;
        }
    });
    assert!(ran.get(), "a detached task still runs to completion");
}

#[test]
fn abort_of_a_task_whose_future_panics_on_drop_reports_the_panic() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("destructor of an aborted task");
        }
    }
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let handle = evloop::spawn(async {
            let _bomb = PanicsOnDrop;
            Never.await;
        });
        evloop::yield_now().await;
        handle.abort();
        let error = handle.await.expect_err("aborted");
        assert!(
            error.is_panic(),
            "the panic is reported, not hidden: {error:?}"
        );
        let payload = error.into_panic();
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"destructor of an aborted task")
        );
        assert_eq!(evloop::spawn(async { 1 }).await.expect("loop fine"), 1);
    });
}
