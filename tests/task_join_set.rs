//! JoinSet: completion order, abort, drop aborts (futures dropped), panics.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use evloop::sync::oneshot;
use evloop::task::JoinSet;

mod sync_support;
use sync_support::settle;

/// Counts its own drops: proves that a task's future was dropped.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn join_next_yields_in_completion_order_not_spawn_order() {
    evloop::block_on(async {
        let mut set = JoinSet::new();
        let mut senders = Vec::new();
        for id in 0..4 {
            let (tx, rx) = oneshot::channel::<()>();
            senders.push(tx);
            set.spawn(async move {
                rx.await.expect("released");
                id
            });
        }
        assert_eq!(set.len(), 4);
        // Release the tasks in the order 2, 0, 3, 1.
        let mut senders: Vec<_> = senders.into_iter().map(Some).collect();
        let mut order = Vec::new();
        for id in [2, 0, 3, 1] {
            senders[id]
                .take()
                .expect("once")
                .send(())
                .expect("task waits");
            order.push(set.join_next().await.expect("not empty").expect("no panic"));
        }
        assert_eq!(order, [2, 0, 3, 1]);
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn results_finished_together_come_out_in_finishing_order() {
    evloop::block_on(async {
        let mut set = JoinSet::new();
        // Task i yields (3 - i) times: they finish in the order 3, 2, 1, 0.
        for i in 0..4usize {
            set.spawn(async move {
                for _ in 0..(3 - i) * 2 {
                    evloop::yield_now().await;
                }
                i
            });
        }
        settle(20).await; // all four finish before we look
        let mut order = Vec::new();
        while let Some(result) = set.join_next().await {
            order.push(result.expect("no panic"));
        }
        assert_eq!(order, [3, 2, 1, 0]);
    });
}

#[test]
fn dropping_the_set_aborts_the_remaining_tasks_and_drops_their_futures() {
    let dropped = Arc::new(AtomicUsize::new(0));
    evloop::block_on(async {
        let mut set = JoinSet::new();
        let mut keep_waiting = Vec::new(); // senders kept: the tasks wait forever
        for _ in 0..3 {
            let counter = DropCounter(dropped.clone());
            let (tx, rx) = oneshot::channel::<()>();
            keep_waiting.push(tx);
            set.spawn(async move {
                let _counter = counter;
                let _ = rx.await;
            });
        }
        let finished = DropCounter(dropped.clone());
        set.spawn(async move { drop(finished) });
        settle(3).await;
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "only the finished task");
        drop(set);
        settle(3).await;
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            4,
            "the waiting futures were dropped"
        );
        assert!(keep_waiting.iter().all(|tx| tx.is_closed()));
    });
}

#[test]
fn abort_all_reports_cancelled_and_keeps_finished_values() {
    evloop::block_on(async {
        let mut set = JoinSet::new();
        set.spawn(async { 7 });
        settle(2).await; // the first one finishes
        let (tx, rx) = oneshot::channel::<()>();
        set.spawn(async move {
            let _ = rx.await;
            8
        });
        set.abort_all();
        let mut values = Vec::new();
        let mut cancelled = 0;
        while let Some(result) = set.join_next().await {
            match result {
                Ok(v) => values.push(v),
                Err(e) if e.is_cancelled() => cancelled += 1,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!((values, cancelled), (vec![7], 1));
        drop(tx);
    });
}

#[test]
fn a_single_abort_handle_cancels_one_task() {
    evloop::block_on(async {
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = set.spawn(async move {
            let _ = rx.await;
            "ran"
        });
        set.spawn(async { "other" });
        handle.abort();
        let mut outcomes = Vec::new();
        while let Some(result) = set.join_next().await {
            outcomes.push(result.map_err(|e| e.is_cancelled()));
        }
        outcomes.sort();
        assert_eq!(outcomes, [Ok("other"), Err(true)]);
        assert!(handle.is_finished());
        drop(tx);
    });
}

#[test]
fn a_panicking_task_is_reported_and_the_others_go_on() {
    evloop::block_on(async {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("boom") });
        set.spawn(async { 1 });
        let mut ok = 0;
        let mut panics = 0;
        while let Some(result) = set.join_next().await {
            match result {
                Ok(_) => ok += 1,
                Err(e) if e.is_panic() => panics += 1,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!((ok, panics), (1, 1));
    });
}

#[test]
fn a_dropped_join_next_loses_no_result() {
    evloop::block_on(async {
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::channel::<()>();
        set.spawn(async move {
            rx.await.expect("released");
            5
        });
        {
            let mut next = Box::pin(set.join_next());
            assert!(futures::poll!(next.as_mut()).is_pending());
        }
        tx.send(()).expect("task waits");
        settle(2).await;
        assert_eq!(set.join_next().await.expect("one").expect("no panic"), 5);
    });
}
