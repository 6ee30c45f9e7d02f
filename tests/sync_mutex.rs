//! Mutex: exclusion across awaits, FIFO handoff, never to a dropped waiter.

use std::sync::Arc;

use evloop::sync::Mutex;

mod sync_support;
use sync_support::{settle, within};

#[test]
fn the_lock_is_handed_over_in_fifo_order() {
    evloop::block_on(async {
        let mutex = Arc::new(Mutex::new(Vec::new()));
        let guard = mutex.lock().await;
        let tasks: Vec<_> = (0..6)
            .map(|i| {
                let mutex = mutex.clone();
                evloop::spawn(async move {
                    mutex.lock().await.push(i);
                })
            })
            .collect();
        settle(3).await; // all six queue up, in spawn order
        // A latecomer's try_lock must not barge in front of them.
        drop(guard);
        assert!(
            mutex.try_lock().is_err(),
            "the lock went to the first waiter"
        );
        for task in tasks {
            within(20, task).await.expect("no panic");
        }
        assert_eq!(*mutex.lock().await, [0, 1, 2, 3, 4, 5]);
    });
}

#[test]
fn the_lock_never_goes_to_a_dropped_waiter() {
    evloop::block_on(async {
        let mutex = Mutex::new(0);
        let guard = mutex.lock().await;
        let mut dropped_early = Box::pin(mutex.lock());
        assert!(futures::poll!(dropped_early.as_mut()).is_pending());
        let mut handed_then_dropped = Box::pin(mutex.lock());
        assert!(futures::poll!(handed_then_dropped.as_mut()).is_pending());
        let mut last = Box::pin(mutex.lock());
        assert!(futures::poll!(last.as_mut()).is_pending());

        drop(dropped_early); // leaves the queue
        drop(guard); // hands the lock to `handed_then_dropped`
        drop(handed_then_dropped); // which passes it on
        let mut guard = within(2, last).await;
        *guard += 1;
        drop(guard);
        assert_eq!(*mutex.try_lock().expect("unlocked"), 1);
    });
}

#[test]
fn held_across_awaits_it_excludes_tasks_and_threads() {
    let mutex = Arc::new(Mutex::new(0u64));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let mutex = mutex.clone();
            std::thread::spawn(move || {
                evloop::block_on(async move {
                    let tasks: Vec<_> = (0..10)
                        .map(|_| {
                            let mutex = mutex.clone();
                            evloop::spawn(async move {
                                for _ in 0..100 {
                                    let mut guard = mutex.lock().await;
                                    let seen = *guard;
                                    evloop::yield_now().await;
                                    *guard = seen + 1; // lost if not exclusive
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.expect("no panic");
                    }
                })
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread ran");
    }
    let mutex = Arc::into_inner(mutex).expect("threads are done");
    assert_eq!(mutex.into_inner(), 3 * 10 * 100);
}

#[test]
fn get_mut_and_try_lock() {
    let mut mutex = Mutex::new(1);
    *mutex.get_mut() += 1;
    let guard = mutex.try_lock().expect("free");
    assert_eq!(*guard, 2);
    assert!(mutex.try_lock().is_err());
    assert!(format!("{mutex:?}").contains("locked: true"));
}
