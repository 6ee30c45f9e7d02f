//! RwLock: readers share, a writer excludes, a waiting writer is not
//! starved by later readers, cancellation loses nothing, downgrade.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use evloop::sync::RwLock;

mod sync_support;
use sync_support::{settle, within};

#[test]
fn readers_share_and_a_writer_is_alone() {
    evloop::block_on(async {
        let lock = Arc::new(RwLock::new(0));
        let readers = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (lock, readers, most) = (lock.clone(), readers.clone(), most.clone());
                evloop::spawn(async move {
                    if i % 5 == 0 {
                        let mut w = lock.write().await;
                        assert_eq!(
                            readers.load(Ordering::SeqCst),
                            0,
                            "no reader beside a writer"
                        );
                        evloop::yield_now().await;
                        *w += 1;
                    } else {
                        let _r = lock.read().await;
                        let now = readers.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        evloop::yield_now().await;
                        readers.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("no panic");
        }
        assert_eq!(*lock.read().await, 4);
        assert!(
            most.load(Ordering::SeqCst) > 1,
            "readers were inside together"
        );
    });
}

#[test]
fn a_waiting_writer_goes_before_readers_that_come_after_it() {
    evloop::block_on(async {
        let lock = RwLock::new(0);
        let first = lock.read().await;
        let mut writer = Box::pin(lock.write());
        assert!(futures::poll!(writer.as_mut()).is_pending());
        assert!(
            lock.try_read().is_err(),
            "a later reader queues behind the writer"
        );
        let mut reader = Box::pin(lock.read());
        assert!(futures::poll!(reader.as_mut()).is_pending());
        drop(first);
        let mut w = within(10, writer).await;
        *w = 1;
        assert!(futures::poll!(reader.as_mut()).is_pending());
        drop(w);
        assert_eq!(*within(10, reader).await, 1);
    });
}

#[test]
fn try_forms_and_a_cancelled_writer_loses_nothing() {
    evloop::block_on(async {
        let lock = RwLock::new(vec![1]);
        let r = lock.try_read().expect("free");
        assert!(lock.try_write().is_err());
        let mut writer = Box::pin(lock.write());
        assert!(futures::poll!(writer.as_mut()).is_pending());
        drop(writer);
        let r2 = lock
            .try_read()
            .expect("the cancelled writer left the queue");
        drop((r, r2));
        lock.try_write().expect("free").push(2);
        assert_eq!(*lock.try_read().expect("free"), [1, 2]);
    });
}

#[test]
fn max_readers_limits_readers_and_downgrade_keeps_writers_out() {
    evloop::block_on(async {
        let lock = RwLock::with_max_readers(0, 2);
        let a = lock.read().await;
        let _b = lock.read().await;
        assert!(lock.try_read().is_err(), "two readers at most");
        drop(a);
        drop(_b);
        let mut w = lock.write().await;
        *w = 7;
        let r = w.downgrade();
        assert_eq!(*r, 7);
        assert!(lock.try_write().is_err());
        let r2 = lock.try_read().expect("another reader joins");
        drop((r, r2));
        assert_eq!(lock.into_inner(), 7);
    });
}

#[test]
fn blocking_read_and_write_from_threads() {
    let lock = Arc::new(RwLock::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let lock = lock.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    *lock.blocking_write() += 1;
                    let _ = *lock.blocking_read();
                }
            })
        })
        .collect();
    evloop::block_on(async {
        for _ in 0..100 {
            *lock.write().await += 1;
            settle(1).await;
        }
    });
    for thread in threads {
        thread.join().expect("no panic");
    }
    assert_eq!(*lock.blocking_read(), 500);
}

#[test]
#[should_panic(expected = "max_readers")]
fn zero_max_readers_is_refused() {
    let _ = RwLock::with_max_readers((), 0);
}
