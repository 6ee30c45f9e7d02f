//! join, join_all, select, race: results, order, and dropping the loser.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use evloop::future::{Either, join, join_all, race, select};
use evloop::sync::{mpsc, oneshot};

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn join_waits_for_both_and_polls_them_concurrently() {
    evloop::block_on(async {
        // Each side needs the other to make progress: sequential awaiting
        // would deadlock, concurrent polling finishes.
        let (tx_a, rx_a) = oneshot::channel();
        let (tx_b, rx_b) = oneshot::channel();
        let a = async move {
            tx_b.send(1).expect("b waits");
            rx_a.await.expect("sent")
        };
        let b = async move {
            let got = rx_b.await.expect("sent");
            tx_a.send(got + 1).expect("a waits");
            "b done"
        };
        assert_eq!(join(a, b).await, (2, "b done"));
    });
}

#[test]
fn join_all_keeps_input_order_whatever_the_finishing_order() {
    evloop::block_on(async {
        let futures = (0..5u32).map(|i| async move {
            for _ in 0..(5 - i) {
                evloop::yield_now().await;
            }
            i
        });
        assert_eq!(join_all(futures).await, [0, 1, 2, 3, 4]);
        let none: Vec<std::future::Ready<u8>> = Vec::new();
        assert!(join_all(none).await.is_empty());
    });
}

#[test]
fn select_returns_the_first_and_drops_the_loser() {
    evloop::block_on(async {
        let loser_dropped = Arc::new(AtomicBool::new(false));
        let guard = SetOnDrop(loser_dropped.clone());
        let (_tx, rx) = oneshot::channel::<()>();
        let loser = async move {
            let _guard = guard;
            let _ = rx.await;
            "never"
        };
        let winner = async {
            evloop::yield_now().await;
            5
        };
        match select(loser, winner).await {
            Either::Right(v) => assert_eq!(v, 5),
            Either::Left(_) => panic!("the loser cannot finish"),
        }
        assert!(
            loser_dropped.load(Ordering::SeqCst),
            "the loser was dropped"
        );
    });
}

#[test]
fn select_prefers_the_left_side_on_a_tie() {
    evloop::block_on(async {
        for _ in 0..10 {
            assert_eq!(select(async { 1 }, async { 2 }).await, Either::Left(1));
        }
    });
}

#[test]
fn a_cancelled_recv_in_select_loses_no_message() {
    evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel(4);
        let outcome = select(rx.recv(), async {}).await;
        assert!(matches!(outcome, Either::Right(())));
        tx.send(9).await.expect("open");
        assert_eq!(rx.recv().await, Some(9));
    });
}

#[test]
fn race_returns_the_faster_value() {
    evloop::block_on(async {
        let slow = async {
            for _ in 0..3 {
                evloop::yield_now().await;
            }
            "slow"
        };
        let fast = async {
            evloop::yield_now().await;
            "fast"
        };
        assert_eq!(race(slow, fast).await, "fast");
    });
}
