//! Notify: one waiter per `notify_one`, all current waiters for
//! `notify_waiters`, a stored permit, and cancellation passing it on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use evloop::sync::Notify;

mod sync_support;
use sync_support::{settle, within};

fn spawn_waiters(
    notify: &Arc<Notify>,
    woken: &Arc<AtomicUsize>,
    n: usize,
) -> Vec<evloop::JoinHandle<()>> {
    (0..n)
        .map(|_| {
            let (notify, woken) = (notify.clone(), woken.clone());
            evloop::spawn(async move {
                notify.notified().await;
                woken.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect()
}

#[test]
fn notify_one_wakes_exactly_one_waiter() {
    evloop::block_on(async {
        let notify = Arc::new(Notify::new());
        let woken = Arc::new(AtomicUsize::new(0));
        let tasks = spawn_waiters(&notify, &woken, 3);
        settle(3).await;
        notify.notify_one();
        settle(5).await;
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        notify.notify_one();
        notify.notify_one();
        for task in tasks {
            within(10, task).await.expect("no panic");
        }
        assert_eq!(woken.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn notify_waiters_wakes_all_current_waiters_and_stores_nothing() {
    evloop::block_on(async {
        let notify = Arc::new(Notify::new());
        let woken = Arc::new(AtomicUsize::new(0));
        let tasks = spawn_waiters(&notify, &woken, 4);
        settle(3).await;
        notify.notify_waiters();
        for task in tasks {
            within(10, task).await.expect("no panic");
        }
        assert_eq!(woken.load(Ordering::SeqCst), 4);
        // Nothing stored for a later waiter.
        let later = notify.notified();
        assert!(futures::FutureExt::now_or_never(later).is_none());
    });
}

#[test]
fn notify_waiters_reaches_a_future_created_before_it_but_not_yet_polled() {
    let notify = Notify::new();
    let created = notify.notified();
    notify.notify_waiters();
    assert_eq!(futures::FutureExt::now_or_never(created), Some(()));
}

#[test]
fn notify_one_before_anyone_waits_is_stored_once() {
    evloop::block_on(async {
        let notify = Notify::new();
        notify.notify_one();
        notify.notify_one(); // at most one permit is stored
        within(1, notify.notified()).await;
        assert!(futures::FutureExt::now_or_never(notify.notified()).is_none());
    });
}

#[test]
fn a_dropped_waiter_passes_its_notification_on() {
    evloop::block_on(async {
        let notify = Notify::new();
        let mut first = Box::pin(notify.notified());
        assert!(futures::poll!(first.as_mut()).is_pending());
        let mut second = Box::pin(notify.notified());
        assert!(futures::poll!(second.as_mut()).is_pending());
        notify.notify_one(); // handed to `first`
        drop(first);
        within(1, second).await;
        // And with nobody left, it is stored instead.
        let mut lone = Box::pin(notify.notified());
        assert!(futures::poll!(lone.as_mut()).is_pending());
        notify.notify_one();
        drop(lone);
        within(1, notify.notified()).await;
    });
}

#[test]
fn a_dropped_waiter_that_was_not_notified_changes_nothing() {
    evloop::block_on(async {
        let notify = Notify::new();
        let mut waiting = Box::pin(notify.notified());
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        drop(waiting);
        assert!(futures::FutureExt::now_or_never(notify.notified()).is_none());
    });
}

#[test]
fn notify_one_from_another_thread_wakes_the_loop() {
    let notify = Arc::new(Notify::new());
    let remote = notify.clone();
    evloop::block_on(async move {
        let thread = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            remote.notify_one();
        });
        notify.notified().await;
        thread.join().expect("thread ran");
    });
}
