//! JoinSet: try_join_next, join_all, shutdown, detach_all, abort_all,
//! spawn_blocking, and len/is_empty agreeing with what is left.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use evloop::task::JoinSet;

mod sync_support;
use sync_support::{settle, within};

#[test]
fn try_join_next_never_waits_and_len_counts_what_is_left() {
    evloop::block_on(async {
        let mut set = JoinSet::new();
        assert!(set.try_join_next().is_none());
        set.spawn(async { 1 });
        set.spawn(async {
            evloop::time::sleep(Duration::from_secs(60)).await;
            2
        });
        assert_eq!(set.len(), 2);
        assert!(set.try_join_next().is_none(), "nothing has run yet");
        settle(3).await;
        assert_eq!(set.len(), 2, "a finished, unjoined task still counts");
        assert_eq!(set.try_join_next().map(|r| r.expect("ok")), Some(1));
        assert_eq!(set.len(), 1);
        assert!(
            set.try_join_next().is_none(),
            "the sleeper is still running"
        );
        set.abort_all();
        let last = within(10, set.join_next()).await.expect("one left");
        assert!(last.expect_err("aborted").is_cancelled());
        assert!(set.is_empty());
        assert_eq!(set.len(), 0);
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn join_all_returns_every_value_in_completion_order() {
    evloop::block_on(async {
        let mut set = JoinSet::new();
        for n in [3u32, 1, 2] {
            set.spawn(async move {
                for _ in 0..n {
                    evloop::yield_now().await;
                }
                n
            });
        }
        assert_eq!(set.join_all().await, [1, 2, 3]);
    });
}

#[test]
#[should_panic(expected = "boom")]
fn join_all_resumes_a_tasks_panic() {
    evloop::block_on(async {
        let mut set = JoinSet::new();
        set.spawn(async { 1 });
        set.spawn(async { panic!("boom") });
        let _ = set.join_all().await;
    });
}

#[test]
fn shutdown_aborts_and_waits_for_every_task() {
    evloop::block_on(async {
        let dropped = Arc::new(AtomicUsize::new(0));
        struct OnDrop(Arc<AtomicUsize>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let mut set = JoinSet::new();
        for _ in 0..3 {
            let guard = OnDrop(dropped.clone());
            set.spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
        }
        settle(2).await;
        within(20, set.shutdown()).await;
        assert!(set.is_empty());
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            3,
            "every task's future was dropped"
        );
        set.spawn(async {}); // the set is reusable
        assert_eq!(set.len(), 1);
    });
}

#[test]
fn detach_all_lets_the_tasks_run_on() {
    evloop::block_on(async {
        let done = Arc::new(AtomicUsize::new(0));
        let mut set = JoinSet::new();
        for _ in 0..3 {
            let done = done.clone();
            set.spawn(async move {
                evloop::yield_now().await;
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        set.detach_all();
        assert!(set.is_empty());
        drop(set); // aborts nothing: the tasks are no longer members
        settle(5).await;
        assert_eq!(done.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn spawn_blocking_members_are_joined_like_tasks() {
    evloop::block_on(async {
        let mut set = JoinSet::new();
        for n in 0..4u64 {
            set.spawn_blocking(move || {
                std::thread::sleep(Duration::from_millis(5 * n));
                n
            });
        }
        set.spawn(async { 100 });
        let mut got = evloop::time::timeout(Duration::from_secs(20), set.join_all())
            .await
            .expect("in time");
        got.sort();
        assert_eq!(got, [0, 1, 2, 3, 100]);
    });
}
