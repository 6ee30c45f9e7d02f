//! `Async::readable` and `Async::writable` with several waiters, some of
//! them cancelled (issue 11, "the hang").

mod common;

use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

use common::{async_pair, socket_pair, with_watchdog};
use evloop::time::{sleep, timeout};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn every_task_awaiting_readable_is_woken() {
    with_watchdog(LIMIT, || {
        evloop::block_on(async {
            let (ours, mut theirs) = async_pair();
            let ours = Rc::new(ours);
            // Prove the fresh socket empty so `readable` has to wait.
            let mut buf = [0; 8];
            let nothing = timeout(
                Duration::from_millis(10),
                ours.read_with(|s| (&*s).read(&mut buf)),
            )
            .await;
            assert!(nothing.is_err(), "nothing written yet");
            let waiters: Vec<_> = (0..5)
                .map(|_| {
                    let ours = ours.clone();
                    evloop::spawn(async move { ours.readable().await })
                })
                .collect();
            // Two more give up before anything arrives.
            let cancelled: Vec<_> = (0..2)
                .map(|_| {
                    let ours = ours.clone();
                    evloop::spawn(async move { ours.readable().await })
                })
                .collect();
            sleep(Duration::from_millis(20)).await;
            cancelled.iter().for_each(|task| task.abort());
            sleep(Duration::from_millis(5)).await;
            theirs.write_all(b"x")?;
            for waiter in waiters {
                waiter.await.expect("the waiter does not panic")?;
            }
            Ok::<(), std::io::Error>(())
        })
    })
    .expect("all five readable() waiters complete");
}

#[test]
fn every_task_awaiting_writable_is_woken() {
    with_watchdog(LIMIT, || {
        evloop::block_on(async {
            let (ours, mut theirs) = socket_pair();
            let ours = Rc::new(ours);
            // Fill the send buffer, then let a write find it full so the
            // cached readiness is cleared (it times out, a cancelled waiter).
            let chunk = [0; 4096];
            while ours.get_ref().write(&chunk).is_ok() {}
            let blocked = timeout(
                Duration::from_millis(10),
                ours.write_with(|s| (&*s).write(&chunk)),
            )
            .await;
            assert!(blocked.is_err(), "the send buffer is full");
            let waiters: Vec<_> = (0..5)
                .map(|_| {
                    let ours = ours.clone();
                    evloop::spawn(async move { ours.writable().await })
                })
                .collect();
            sleep(Duration::from_millis(20)).await;
            // Drain the peer: room in the buffer again, a writable edge.
            theirs.set_nonblocking(true)?;
            let mut sink = [0; 65536];
            while theirs.read(&mut sink).is_ok_and(|n| n > 0) {}
            for waiter in waiters {
                waiter.await.expect("the waiter does not panic")?;
            }
            Ok::<(), std::io::Error>(())
        })
    })
    .expect("all five writable() waiters complete");
}

#[test]
fn more_poll_callers_than_the_reactor_keeps_are_all_served() {
    // `poll_read_with` has no drop point, so the reactor keeps at most 64
    // such wakers per direction and wakes the oldest ones to make room:
    // spuriously, but nobody may be lost.
    with_watchdog(LIMIT, || {
        evloop::block_on(async {
            let (ours, mut theirs) = async_pair();
            let ours = Rc::new(ours);
            let mut buf = [0; 8];
            let nothing = timeout(
                Duration::from_millis(10),
                ours.read_with(|s| (&*s).read(&mut buf)),
            )
            .await;
            assert!(nothing.is_err(), "nothing written yet");
            let readers: Vec<_> = (0..80)
                .map(|_| {
                    let ours = ours.clone();
                    evloop::spawn(async move {
                        let mut byte = [0; 1];
                        std::future::poll_fn(|cx| {
                            ours.poll_read_with(cx, |s| (&*s).read(&mut byte))
                        })
                        .await
                    })
                })
                .collect();
            sleep(Duration::from_millis(20)).await;
            theirs.write_all(&[1; 80])?;
            for reader in readers {
                assert_eq!(reader.await.expect("the reader does not panic")?, 1);
            }
            Ok::<(), std::io::Error>(())
        })
    })
    .expect("all 80 readers get a byte");
}
