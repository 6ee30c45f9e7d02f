//! mpsc: reserve/try_reserve permits, recv_many, send_timeout, closed(),
//! is_closed, capacity and same_channel.

use std::time::Duration;

use evloop::sync::mpsc::{self, SendTimeoutError, TrySendError};

mod sync_support;
use sync_support::{settle, within};

#[test]
fn a_permit_sends_without_waiting_and_counts_against_capacity() {
    evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel(2);
        assert_eq!((tx.capacity(), tx.max_capacity()), (2, 2));
        let permit = tx.reserve().await.expect("open");
        assert_eq!(tx.capacity(), 1, "a reserved slot is taken");
        assert_eq!(rx.capacity(), 1);
        let second = tx.try_reserve().expect("one slot left");
        assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
        assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
        permit.send(1);
        second.send(2);
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.max_capacity(), 2);
    });
}

#[test]
fn a_permit_dropped_unsent_returns_its_slot_to_a_waiting_sender() {
    evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let permit = tx.reserve().await.expect("open");
        let waiting = evloop::spawn({
            let tx = tx.clone();
            async move { tx.send(7).await.map_err(|_| ()) }
        });
        settle(3).await;
        assert!(!waiting.is_finished(), "the only slot is reserved");
        drop(permit);
        within(10, waiting).await.expect("no panic").expect("sent");
        assert_eq!(rx.recv().await, Some(7));
        assert_eq!(tx.capacity(), 1, "no slot leaked");
    });
}

#[test]
fn a_waiting_reserve_is_served_in_order_and_cancelling_it_passes_the_slot() {
    evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        tx.send(0).await.expect("open");
        let mut reserve = Box::pin(tx.reserve());
        assert!(futures::poll!(reserve.as_mut()).is_pending());
        let mut send = Box::pin(tx.send(1));
        assert!(futures::poll!(send.as_mut()).is_pending());
        assert_eq!(rx.recv().await, Some(0)); // hands the slot to `reserve`
        drop(reserve); // which passes it to `send`
        within(10, send).await.expect("sent");
        assert_eq!(rx.recv().await, Some(1));
    });
}

#[test]
fn reserve_fails_once_the_receiver_is_gone_and_a_late_permit_send_is_dropped() {
    evloop::block_on(async {
        let (tx, rx) = mpsc::channel::<String>(1);
        let permit = tx.reserve().await.expect("open");
        drop(rx);
        permit.send("dropped quietly".into());
        assert!(tx.reserve().await.is_err());
        assert!(matches!(tx.try_reserve(), Err(TrySendError::Closed(()))));
    });
}

#[test]
fn recv_many_takes_a_batch_up_to_the_limit_and_zero_at_the_end() {
    evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel(8);
        for i in 0..5 {
            tx.send(i).await.expect("open");
        }
        let mut buf = vec![100];
        assert_eq!(rx.recv_many(&mut buf, 3).await, 3);
        assert_eq!(buf, [100, 0, 1, 2]);
        assert_eq!(rx.recv_many(&mut buf, 0).await, 0);
        assert_eq!(rx.recv_many(&mut buf, 10).await, 2);
        assert_eq!(buf, [100, 0, 1, 2, 3, 4]);
        let late = evloop::spawn({
            let tx = tx.clone();
            async move {
                evloop::time::sleep(Duration::from_millis(10)).await;
                tx.send(5).await.map_err(|_| ())
            }
        });
        assert_eq!(rx.recv_many(&mut buf, 10).await, 1, "waits for one");
        late.await.expect("no panic").expect("sent");
        drop(tx);
        assert!(rx.is_closed());
        assert_eq!(rx.recv_many(&mut buf, 10).await, 0);

        let (utx, mut urx) = mpsc::unbounded_channel();
        utx.send('a').expect("open");
        let mut chars = Vec::new();
        assert_eq!(urx.recv_many(&mut chars, 4).await, 1);
        assert!(!urx.is_closed());
        urx.close();
        assert!(urx.is_closed());
    });
}

#[test]
fn recv_many_frees_slots_for_waiting_senders() {
    evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel(2);
        tx.send(1).await.expect("open");
        tx.send(2).await.expect("open");
        let blocked = evloop::spawn({
            let tx = tx.clone();
            async move {
                tx.send(3).await.map_err(|_| ())?;
                tx.send(4).await.map_err(|_| ())
            }
        });
        settle(3).await;
        let mut buf = Vec::new();
        assert_eq!(rx.recv_many(&mut buf, 2).await, 2);
        within(10, blocked)
            .await
            .expect("no panic")
            .expect("both sent");
        assert_eq!(rx.recv_many(&mut buf, 2).await, 2);
        assert_eq!(buf, [1, 2, 3, 4]);
    });
}

#[test]
fn send_timeout_gives_the_value_back_when_no_room_comes() {
    evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send_timeout(1, Duration::from_millis(10))
            .await
            .expect("room");
        let err = tx
            .send_timeout(2, Duration::from_millis(20))
            .await
            .expect_err("full");
        assert!(matches!(err, SendTimeoutError::Timeout(2)), "{err:?}");
        assert_eq!(err.into_inner(), 2);
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(tx.capacity(), 1, "the timed-out send left no reserved slot");
        drop(rx);
        let err = tx
            .send_timeout(3, Duration::from_secs(5))
            .await
            .expect_err("closed");
        assert!(matches!(err, SendTimeoutError::Closed(3)));
    });
}

#[test]
fn closed_resolves_when_the_receiver_closes_or_drops() {
    evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        let watcher = evloop::spawn({
            let tx = tx.clone();
            async move { tx.closed().await }
        });
        settle(3).await;
        assert!(!watcher.is_finished());
        assert!(!rx.is_closed());
        rx.close();
        within(10, watcher).await.expect("no panic");
        assert!(rx.is_closed());
        tx.closed().await; // already closed: at once

        let (utx, urx) = mpsc::unbounded_channel::<u8>();
        let mut closed = Box::pin(utx.closed());
        assert!(futures::poll!(closed.as_mut()).is_pending());
        drop(urx);
        within(10, closed).await;
        // A cancelled `closed()` leaves no trace.
        let (tx, _rx) = mpsc::channel::<u8>(1);
        let mut closed = Box::pin(tx.closed());
        assert!(futures::poll!(closed.as_mut()).is_pending());
        drop(closed);
    });
}

#[test]
fn same_channel_compares_channels_not_senders() {
    let (a, _ra) = mpsc::channel::<u8>(1);
    let (b, _rb) = mpsc::channel::<u8>(1);
    assert!(a.same_channel(&a.clone()));
    assert!(!a.same_channel(&b));
    let (u, _ru) = mpsc::unbounded_channel::<u8>();
    assert!(u.same_channel(&u.clone()));
}

#[test]
fn an_owned_permit_moves_into_a_task_and_gives_the_sender_back() {
    evloop::block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let permit = tx.clone().reserve_owned().await.expect("open");
        assert_eq!(tx.capacity(), 0);
        let task = evloop::spawn(async move {
            let sender = permit.send(5);
            sender.max_capacity()
        });
        assert_eq!(task.await.expect("no panic"), 1);
        assert_eq!(rx.recv().await, Some(5));

        let permit = tx.clone().try_reserve_owned().expect("room");
        let err = tx.clone().try_reserve_owned().expect_err("full");
        assert!(matches!(err, TrySendError::Full(_)));
        let sender = permit.release();
        assert!(sender.same_channel(&tx));
        assert_eq!(tx.capacity(), 1, "released unused");
        let dropped = tx.clone().reserve_owned().await.expect("open");
        drop(dropped);
        assert_eq!(tx.capacity(), 1, "dropped unused");

        // Cancelled while waiting: the slot handed to it moves on.
        let held = tx.clone().reserve_owned().await.expect("open");
        let mut waiting = Box::pin(tx.clone().reserve_owned());
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        let mut next = Box::pin(tx.send(9));
        assert!(futures::poll!(next.as_mut()).is_pending());
        drop(held); // hands the slot to `waiting`
        drop(waiting); // which passes it on
        within(10, next).await.expect("sent");
        assert_eq!(rx.recv().await, Some(9));
    });
}
