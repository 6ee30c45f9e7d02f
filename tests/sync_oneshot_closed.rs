//! oneshot: the sender learns that the receiver is gone (`closed`,
//! `poll_closed`, `is_closed`), from the same loop and from another thread.

use std::time::Duration;

use evloop::sync::oneshot;

mod sync_support;
use sync_support::{settle, within};

#[test]
fn closed_resolves_when_the_receiver_is_dropped() {
    evloop::block_on(async {
        let (mut tx, rx) = oneshot::channel::<u32>();
        let worker = evloop::spawn(async move {
            tx.closed().await;
            tx.is_closed()
        });
        settle(3).await;
        assert!(!worker.is_finished(), "the receiver is still there");
        drop(rx);
        assert!(within(10, worker).await.expect("no panic"));
    });
}

#[test]
fn closed_resolves_when_the_receiver_closes_and_a_value_is_then_refused() {
    evloop::block_on(async {
        let (mut tx, mut rx) = oneshot::channel::<u32>();
        let mut closed = Box::pin(async move {
            tx.closed().await;
            tx
        });
        assert!(futures::poll!(closed.as_mut()).is_pending());
        assert!(
            futures::poll!(closed.as_mut()).is_pending(),
            "re-polling keeps waiting"
        );
        rx.close();
        let tx = within(10, closed).await;
        assert!(tx.is_closed());
        assert_eq!(tx.send(1), Err(1));
    });
}

#[test]
fn poll_closed_is_ready_at_once_when_already_closed_and_a_send_still_arrives_otherwise() {
    evloop::block_on(async {
        let (mut tx, rx) = oneshot::channel::<u32>();
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(tx.poll_closed(&mut cx).is_pending());
        tx.send(5).expect("the receiver is alive");
        assert_eq!(rx.await, Ok(5));

        let (mut tx, rx) = oneshot::channel::<u32>();
        drop(rx);
        assert!(tx.poll_closed(&mut cx).is_ready());
    });
}

#[test]
fn a_receiver_dropped_on_another_thread_wakes_the_sender() {
    evloop::block_on(async {
        let (mut tx, rx) = oneshot::channel::<u32>();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            drop(rx);
        });
        evloop::time::timeout(Duration::from_secs(10), tx.closed())
            .await
            .expect("woken by the other thread");
        thread.join().expect("no panic");
    });
}
