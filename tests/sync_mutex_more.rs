//! Mutex: try_lock, lock_owned, blocking_lock from a plain thread,
//! MutexGuard::map; Notify::notify_last.

use std::sync::Arc;
use std::time::Duration;

use evloop::sync::{Mutex, MutexGuard, Notify};

mod sync_support;
use sync_support::{settle, within};

#[test]
fn try_lock_fails_while_held_and_succeeds_after() {
    evloop::block_on(async {
        let mutex = Mutex::new(1);
        let guard = mutex.lock().await;
        assert!(mutex.try_lock().is_err());
        drop(guard);
        *mutex.try_lock().expect("free") += 1;
        assert_eq!(*mutex.lock().await, 2);
    });
}

#[test]
fn an_owned_guard_moves_into_a_task_and_unlocks_there() {
    evloop::block_on(async {
        let mutex = Arc::new(Mutex::new(Vec::new()));
        let mut guard = mutex.clone().lock_owned().await;
        assert!(mutex.clone().try_lock_owned().is_err());
        let task = evloop::spawn(async move {
            guard.push("from the task");
            evloop::yield_now().await;
            drop(guard);
        });
        let waiting = mutex.lock();
        let seen = within(20, waiting).await.clone();
        assert_eq!(seen, ["from the task"]);
        task.await.expect("no panic");
        let owned = mutex.clone().try_lock_owned().expect("free");
        assert!(Arc::ptr_eq(owned.mutex(), &mutex));
    });
}

#[test]
fn blocking_lock_from_a_thread_waits_for_the_async_holder() {
    evloop::block_on(async {
        let mutex = Arc::new(Mutex::new(0));
        let guard = mutex.lock().await;
        let thread = std::thread::spawn({
            let mutex = mutex.clone();
            move || {
                *mutex.blocking_lock() += 1;
            }
        });
        evloop::time::sleep(Duration::from_millis(30)).await;
        assert!(!thread.is_finished(), "the thread waits for the lock");
        drop(guard);
        evloop::spawn_blocking(move || thread.join().expect("no panic"))
            .await
            .expect("joined");
        assert_eq!(*mutex.lock().await, 1);
    });
}

#[test]
#[should_panic(expected = "Mutex::blocking_lock")]
fn blocking_lock_inside_a_runtime_panics() {
    evloop::block_on(async {
        let mutex = Mutex::new(());
        let _guard = mutex.blocking_lock();
    });
}

#[test]
fn a_mapped_guard_reaches_one_field_and_keeps_the_lock() {
    evloop::block_on(async {
        let mutex = Mutex::new((String::from("name"), 0u32));
        let mut count = MutexGuard::map(mutex.lock().await, |pair| &mut pair.1);
        *count += 5;
        assert!(
            mutex.try_lock().is_err(),
            "still locked through the mapped guard"
        );
        assert_eq!(format!("{count:?}"), "5");
        drop(count);
        assert_eq!(mutex.try_lock().expect("unlocked").1, 5);
    });
}

#[test]
fn notify_last_wakes_the_newest_waiter_or_stores_a_permit() {
    evloop::block_on(async {
        let notify = Arc::new(Notify::new());
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let (notify, order) = (notify.clone(), order.clone());
                evloop::spawn(async move {
                    notify.notified().await;
                    order.lock().expect("no panic").push(i);
                })
            })
            .collect();
        settle(5).await;
        notify.notify_last();
        settle(5).await;
        assert_eq!(*order.lock().expect("no panic"), [2], "the newest first");
        notify.notify_one();
        settle(5).await;
        assert_eq!(
            *order.lock().expect("no panic"),
            [2, 0],
            "notify_one: the oldest"
        );
        notify.notify_last();
        for task in tasks {
            within(10, task).await.expect("no panic");
        }
        notify.notify_last(); // nobody waits: stored
        within(5, notify.notified()).await;
    });
}
