//! mpsc: backpressure, order, exactly-once delivery (within a loop, across
//! threads and across loops), closing, and cancellation.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use evloop::sync::mpsc::{self, SendError, TryRecvError, TrySendError};
use futures::{FutureExt, StreamExt};

mod sync_support;
use sync_support::within;

#[test]
fn the_capacity_plus_first_send_waits_for_a_receive() {
    evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel(2);
        let sent = Arc::new(AtomicUsize::new(0));
        let producer = {
            let sent = sent.clone();
            evloop::spawn(async move {
                for i in 0..3 {
                    tx.send(i).await.expect("receiver alive");
                    sent.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        for _ in 0..10 {
            evloop::yield_now().await;
        }
        assert_eq!(sent.load(Ordering::SeqCst), 2, "the third send must wait");
        assert_eq!(rx.recv().await, Some(0));
        for _ in 0..10 {
            evloop::yield_now().await;
        }
        assert_eq!(sent.load(Ordering::SeqCst), 3, "a receive made room");
        producer.await.expect("no panic");
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, None, "the sender is gone");
    });
}

/// Checks that every (producer, seq) arrives once and each producer's in order.
fn check_exactly_once(received: &[(usize, usize)], producers: usize, per: usize) {
    assert_eq!(received.len(), producers * per);
    let mut next = vec![0; producers];
    for &(p, seq) in received {
        assert_eq!(seq, next[p], "producer {p} out of order");
        next[p] += 1;
    }
    let distinct: HashSet<_> = received.iter().collect();
    assert_eq!(distinct.len(), producers * per);
}

/// Scaled down under miri, which interprets every step.
const PER_PRODUCER: usize = if cfg!(miri) { 500 } else { 100_000 };
const PER_THREAD: usize = if cfg!(miri) { 200 } else { 20_000 };

#[test]
fn four_local_producers_deliver_everything_once_in_order() {
    let received = evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel(16);
        for p in 0..4 {
            let tx = tx.clone();
            let _detached = evloop::spawn(async move {
                for seq in 0..PER_PRODUCER {
                    tx.send((p, seq)).await.expect("receiver alive");
                }
            });
        }
        drop(tx);
        let mut received = Vec::with_capacity(4 * PER_PRODUCER);
        while let Some(message) = rx.recv().await {
            received.push(message);
        }
        received
    });
    check_exactly_once(&received, 4, PER_PRODUCER);
}

#[test]
fn four_thread_producers_deliver_everything_once_in_order() {
    let (tx, mut rx) = mpsc::channel(16);
    let threads: Vec<_> = (0..4)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for seq in 0..PER_PRODUCER {
                    tx.blocking_send((p, seq)).expect("receiver alive");
                }
            })
        })
        .collect();
    drop(tx);
    let received = evloop::block_on(async move {
        let mut received = Vec::with_capacity(4 * PER_PRODUCER);
        while let Some(message) = rx.recv().await {
            received.push(message);
        }
        received
    });
    for thread in threads {
        thread.join().expect("producer ran");
    }
    check_exactly_once(&received, 4, PER_PRODUCER);
}

#[test]
fn producers_on_other_loops_deliver_everything_once() {
    let (tx, rx) = mpsc::channel(8);
    let threads: Vec<_> = (0..4)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                evloop::block_on(async move {
                    for seq in 0..PER_THREAD {
                        tx.send((p, seq)).await.expect("receiver alive");
                    }
                })
            })
        })
        .collect();
    drop(tx);
    // The receiver, too, runs on a thread of its own: `blocking_recv`.
    let consumer = std::thread::spawn(move || {
        let mut rx = rx;
        let mut received = Vec::new();
        while let Some(message) = rx.blocking_recv() {
            received.push(message);
        }
        received
    });
    for thread in threads {
        thread.join().expect("producer ran");
    }
    let received = consumer.join().expect("consumer ran");
    check_exactly_once(&received, 4, PER_THREAD);
}

#[test]
fn dropping_the_receiver_returns_the_value_in_send_error() {
    evloop::block_on(async {
        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        assert!(tx.is_closed());
        let SendError(value) = tx.send(String::from("lost?")).await.expect_err("closed");
        assert_eq!(value, "lost?");
        assert!(matches!(
            tx.try_send(1.to_string()),
            Err(TrySendError::Closed(_))
        ));
    });
}

#[test]
fn blocking_send_inside_a_runtime_panics_instead_of_deadlocking() {
    evloop::block_on(async {
        let (tx, _rx) = mpsc::channel(1);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = tx.blocking_send(1);
        }));
        assert!(result.is_err());
    });
}

#[test]
fn a_waiting_sender_gets_its_value_back_when_the_receiver_goes() {
    evloop::block_on(async {
        let (tx, rx) = mpsc::channel(1);
        tx.send(1).await.expect("room for one");
        let waiting = evloop::spawn(async move { tx.send(2).await });
        evloop::yield_now().await;
        drop(rx);
        let error = waiting.await.expect("no panic").expect_err("closed");
        assert_eq!(error.0, 2);
    });
}

#[test]
fn close_fails_sends_but_keeps_queued_values() {
    evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel(4);
        tx.send(1).await.expect("open");
        rx.close();
        assert_eq!(tx.send(2).await.expect_err("closed").0, 2);
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, None, "closed and drained");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

#[test]
fn try_send_and_try_recv_never_wait() {
    let (tx, mut rx) = mpsc::channel(1);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!((tx.capacity(), tx.max_capacity()), (1, 1));
    tx.try_send(1).expect("room");
    assert_eq!(tx.capacity(), 0);
    assert_eq!(tx.try_send(2).expect_err("full").into_inner(), 2);
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.try_recv(), Ok(1));
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn recv_returns_none_only_after_the_last_sender_and_the_queue() {
    evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel(4);
        let tx2 = tx.clone();
        tx.send(1).await.expect("open");
        drop(tx);
        let reader = evloop::spawn(async move {
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
            }
            got
        });
        evloop::yield_now().await;
        tx2.send(2).await.expect("open");
        drop(tx2); // the last sender wakes the parked receiver
        assert_eq!(reader.await.expect("no panic"), [1, 2]);
    });
}

#[test]
fn a_cancelled_send_passes_its_slot_on_and_sends_nothing() {
    evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(0).await.expect("open");
        // Two senders wait; the first is handed the slot freed by a receive,
        // then dropped before it runs. The second must get the slot.
        let mut first = Box::pin(tx.send(1));
        assert!(futures::poll!(first.as_mut()).is_pending());
        let second = {
            let tx = tx.clone();
            evloop::spawn(async move { tx.send(2).await })
        };
        evloop::yield_now().await;
        assert_eq!(rx.recv().await, Some(0)); // hands the slot to `first`
        drop(first);
        within(100, second)
            .await
            .expect("no panic")
            .expect("the slot was passed on");
        assert_eq!(rx.recv().await, Some(2), "1 was never sent");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn unbounded_senders_never_wait_and_receiver_is_a_stream() {
    evloop::block_on(async {
        let (tx, rx) = mpsc::unbounded_channel();
        for i in 0..10_000 {
            tx.send(i).expect("receiver alive");
        }
        let thread_tx = tx.clone();
        std::thread::spawn(move || thread_tx.send(10_000).expect("alive"))
            .join()
            .expect("thread ran");
        drop(tx);
        let all: Vec<u32> = rx.collect().await;
        assert_eq!(all, (0..=10_000).collect::<Vec<_>>());
    });
    let (tx, mut rx) = mpsc::unbounded_channel();
    rx.close();
    assert_eq!(tx.send(5).expect_err("closed").0, 5);
    assert!(tx.is_closed());
}

#[test]
fn bounded_receiver_is_a_stream_and_recv_is_cancel_safe() {
    evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel(2);
        // A recv polled while empty and then dropped takes nothing.
        assert!(rx.recv().now_or_never().is_none());
        tx.send(1).await.expect("open");
        tx.send(2).await.expect("open");
        drop(tx);
        assert_eq!(rx.next().await, Some(1));
        assert_eq!(rx.collect::<Vec<_>>().await, [2]);
    });
}

#[test]
fn queued_values_are_dropped_with_the_receiver() {
    let token = Arc::new(());
    let (tx, rx) = mpsc::channel(4);
    tx.try_send(token.clone()).expect("room");
    drop(rx);
    assert_eq!(Arc::strong_count(&token), 1);
}

/// A waker that counts its own clones through the `Arc` it lives in.
struct CountedWaker;

impl std::task::Wake for CountedWaker {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn dropped_receiver_releases_its_waker_while_senders_live() {
    use std::task::{Context, Poll, Waker};
    let counted = Arc::new(CountedWaker);
    let waker = Waker::from(counted.clone());
    let mut cx = Context::from_waker(&waker);
    // Bounded: the receiver parks, then is dropped while the sender lives.
    let (tx, mut rx) = mpsc::channel::<u8>(4);
    assert!(rx.poll_recv(&mut cx).is_pending());
    assert_eq!(
        Arc::strong_count(&counted),
        3,
        "the receiver parked a clone"
    );
    drop(rx);
    assert_eq!(
        Arc::strong_count(&counted),
        2,
        "the dropped receiver's waker is released at once, not with the senders"
    );
    drop(tx);
    // Unbounded: the same.
    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    assert!(rx.poll_recv(&mut cx).is_pending());
    assert_eq!(Arc::strong_count(&counted), 3);
    drop(rx);
    assert_eq!(Arc::strong_count(&counted), 2);
    drop(tx);
    // Closing (without dropping) releases it too.
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    assert!(matches!(rx.poll_recv(&mut cx), Poll::Pending));
    rx.close();
    assert_eq!(Arc::strong_count(&counted), 2);
    drop((tx, rx));
}
