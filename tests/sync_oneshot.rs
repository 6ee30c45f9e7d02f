//! oneshot: delivery within a loop and across threads, and every way a
//! half can go away.

use evloop::sync::oneshot::{self, RecvError, TryRecvError};

mod sync_support;

/// Channels per race test; scaled down under miri, which interprets every
/// step.
const CHANNELS: usize = if cfg!(miri) { 300 } else { 20_000 };
use sync_support::within;

#[test]
fn value_sent_before_and_after_the_receiver_waits() {
    evloop::block_on(async {
        let (tx, rx) = oneshot::channel();
        tx.send(1).expect("receiver alive");
        assert_eq!(rx.await, Ok(1));

        let (tx, rx) = oneshot::channel();
        let task = evloop::spawn(rx);
        evloop::yield_now().await; // the receiver parks first
        tx.send(2).expect("receiver alive");
        assert_eq!(task.await.expect("no panic"), Ok(2));
    });
}

#[test]
fn dropped_sender_gives_recv_error() {
    evloop::block_on(async {
        let (tx, rx) = oneshot::channel::<u8>();
        let task = evloop::spawn(rx);
        evloop::yield_now().await;
        drop(tx);
        let error: RecvError = task.await.expect("no panic").expect_err("no value");
        assert_eq!(
            error.to_string(),
            "the oneshot channel closed without a value"
        );
    });
}

#[test]
fn dropped_or_closed_receiver_returns_the_value() {
    let (tx, rx) = oneshot::channel();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(String::from("back")), Err(String::from("back")));

    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert_eq!(tx.send(5), Err(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn try_recv_reports_empty_then_value() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(3).expect("receiver alive");
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn sender_on_another_thread_wakes_the_loop() {
    evloop::block_on(async {
        let (tx, rx) = oneshot::channel();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            tx.send(99).expect("receiver alive");
        });
        assert_eq!(rx.await, Ok(99));
        thread.join().expect("thread ran");
    });
}

#[test]
fn value_left_in_a_dropped_receiver_is_dropped() {
    use std::sync::Arc;
    let value = Arc::new(());
    let (tx, rx) = oneshot::channel();
    tx.send(value.clone()).expect("receiver alive");
    drop(rx);
    assert_eq!(Arc::strong_count(&value), 1, "the queued value was dropped");
}

#[test]
fn many_channels_raced_between_a_thread_and_a_loop_each_deliver_once() {
    // Receivers are polled while a thread sends or drops senders: the
    // lock-free state machine must neither lose a wake nor a value.
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..CHANNELS).map(|_| oneshot::channel()).unzip();
    let thread = std::thread::spawn(move || {
        for (i, tx) in senders.into_iter().enumerate() {
            if i % 3 == 0 {
                drop(tx);
            } else {
                tx.send(i).expect("receiver alive");
            }
        }
    });
    evloop::block_on(async move {
        for (i, rx) in receivers.into_iter().enumerate() {
            match rx.await {
                Ok(v) => assert_eq!(v, i),
                Err(_) => assert_eq!(i % 3, 0, "only dropped senders give errors"),
            }
        }
    });
    thread.join().expect("thread ran");
}

#[test]
fn a_receiver_polled_by_two_tasks_in_turn_wakes_the_latest() {
    evloop::block_on(async {
        let (tx, rx) = oneshot::channel();
        let mut rx = Box::pin(rx);
        // Polled once here (our waker) ...
        assert!(futures::poll!(rx.as_mut()).is_pending());
        // ... then moved into a task: its waker must replace ours.
        let task = evloop::spawn(rx);
        evloop::yield_now().await;
        tx.send(1).expect("receiver alive");
        assert_eq!(within(10, task).await.expect("no panic"), Ok(1));
    });
}

#[test]
fn values_raced_against_receiver_drops_are_dropped_exactly_once() {
    use std::sync::Arc;
    // A sender thread and a dropping thread race on every channel: each
    // value must end up either given back by `send` or dropped with the
    // receiver, never both and never leaked.
    let token = Arc::new(());
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..CHANNELS).map(|_| oneshot::channel::<Arc<()>>()).unzip();
    let dropper = std::thread::spawn(move || drop(receivers));
    let sender_token = token.clone();
    let sender = std::thread::spawn(move || {
        let mut returned = 0;
        for tx in senders {
            if let Err(value) = tx.send(sender_token.clone()) {
                drop(value);
                returned += 1;
            }
        }
        returned
    });
    dropper.join().expect("dropper ran");
    let _returned = sender.join().expect("sender ran");
    assert_eq!(Arc::strong_count(&token), 1, "no value leaked or kept");
}

#[test]
fn close_then_await_returns_closed() {
    evloop::block_on(async {
        let (tx, mut rx) = oneshot::channel::<u8>();
        rx.close();
        // The sender is still alive, but nothing can be sent any more.
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        let _: RecvError = within(10, &mut rx).await.expect_err("closed, no value");
        assert!(tx.is_closed());
        assert_eq!(tx.send(1), Err(1));
    });
}
