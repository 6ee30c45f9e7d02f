//! watch: latest value, many receivers, changed/borrow_and_update, closing
//! from either side, send_modify/send_replace/subscribe, threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use evloop::sync::watch;

mod sync_support;
use sync_support::{settle, within};

#[test]
fn every_receiver_sees_the_latest_value_and_skips_the_ones_it_missed() {
    evloop::block_on(async {
        let (tx, mut rx) = watch::channel(0);
        let mut rx2 = rx.clone();
        assert!(!rx.has_changed().expect("open"));
        tx.send(1).expect("receivers alive");
        tx.send(2).expect("receivers alive");
        assert!(rx.has_changed().expect("open"));
        rx.changed().await.expect("open");
        assert_eq!(*rx.borrow(), 2, "only the latest is kept");
        assert!(!rx.has_changed().expect("open"), "changed() marked it seen");
        let seen = rx2.borrow_and_update();
        assert!(seen.has_changed());
        assert_eq!(*seen, 2);
        drop(seen);
        let mut waiting = Box::pin(rx2.changed());
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        tx.send(3).expect("alive");
        within(10, waiting).await.expect("open");
        assert_eq!(*rx2.borrow(), 3);
    });
}

#[test]
fn changed_wakes_several_waiting_tasks() {
    evloop::block_on(async {
        let (tx, rx) = watch::channel("init");
        let woken = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (mut rx, woken) = (rx.clone(), woken.clone());
                evloop::spawn(async move {
                    rx.changed().await.expect("open");
                    assert_eq!(*rx.borrow_and_update(), "go");
                    woken.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        settle(5).await;
        assert_eq!(woken.load(Ordering::SeqCst), 0);
        tx.send("go").expect("alive");
        for task in tasks {
            within(10, task).await.expect("no panic");
        }
        assert_eq!(woken.load(Ordering::SeqCst), 4);
    });
}

#[test]
fn dropping_the_sender_ends_changed_after_the_last_value_is_seen() {
    evloop::block_on(async {
        let (tx, mut rx) = watch::channel(1);
        tx.send(2).expect("alive");
        drop(tx);
        assert!(rx.has_changed().is_err(), "has_changed reports the close");
        rx.changed().await.expect("the unseen 2 comes first");
        assert_eq!(*rx.borrow(), 2);
        assert!(rx.changed().await.is_err(), "then the close");

        let (tx, mut rx) = watch::channel(());
        let waiter = evloop::spawn(async move { rx.changed().await });
        settle(3).await;
        drop(tx);
        assert!(within(10, waiter).await.expect("no panic").is_err());
    });
}

#[test]
fn with_no_receiver_send_fails_but_send_replace_and_subscribe_work() {
    evloop::block_on(async {
        let (tx, rx) = watch::channel(String::from("a"));
        assert_eq!(tx.receiver_count(), 1);
        let closed = evloop::spawn({
            let tx = tx.clone();
            async move { tx.closed().await }
        });
        settle(3).await;
        assert!(!closed.is_finished());
        drop(rx);
        within(10, closed).await.expect("no panic");
        assert!(tx.is_closed());
        let err = tx.send("b".into()).expect_err("nobody listens");
        assert_eq!(err.0, "b");
        assert_eq!(*tx.borrow(), "a", "a failed send stores nothing");
        assert_eq!(tx.send_replace("c".into()), "a");
        tx.send_modify(|s| s.push('!'));
        let mut late = tx.subscribe();
        assert_eq!(*late.borrow_and_update(), "c!");
        assert!(
            !late.has_changed().expect("open"),
            "a new receiver has seen the value"
        );
        assert!(!tx.send_if_modified(|_| false));
        assert!(
            !late.has_changed().expect("open"),
            "unmodified is no new version"
        );
        assert!(tx.send_if_modified(|s| {
            s.clear();
            true
        }));
        late.changed().await.expect("open");
        assert_eq!(*late.borrow(), "");
        assert_eq!(tx.sender_count(), 1);
    });
}

#[test]
fn wait_for_returns_the_first_value_that_satisfies_and_mark_changed_rearms() {
    evloop::block_on(async {
        let (tx, mut rx) = watch::channel(0u32);
        let producer = evloop::spawn(async move {
            for i in 1..=5 {
                evloop::time::sleep(Duration::from_millis(2)).await;
                tx.send(i).expect("alive");
            }
            tx
        });
        let at_least_three = *rx.wait_for(|v| *v >= 3).await.expect("open");
        assert!(at_least_three >= 3);
        let tx = producer.await.expect("no panic");
        rx.changed().await.ok();
        rx.mark_changed();
        within(5, rx.changed()).await.expect("rearmed");
        rx.mark_unchanged();
        assert!(!rx.has_changed().expect("open"));
        assert!(rx.same_channel(&tx.subscribe()));
    });
}

#[test]
fn a_sender_on_another_thread_wakes_the_loop() {
    evloop::block_on(async {
        let (tx, mut rx) = watch::channel(0);
        let thread = std::thread::spawn(move || {
            for i in 1..=100 {
                tx.send(i).expect("alive");
            }
        });
        let mut last = 0;
        while last < 100 {
            if evloop::time::timeout(Duration::from_secs(10), rx.changed())
                .await
                .expect("woken in time")
                .is_err()
            {
                break;
            }
            let now = *rx.borrow_and_update();
            assert!(now > last, "values only move forward");
            last = now;
        }
        assert_eq!(*rx.borrow(), 100);
        thread.join().expect("no panic");
    });
}
