//! Semaphore: the limit holds, waiters are served in order, cancellation
//! neither takes nor loses a permit, and closing fails waiters.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use evloop::sync::{AcquireError, Semaphore, TryAcquireError};

mod sync_support;
use sync_support::{settle, within};

#[test]
fn five_permits_over_a_hundred_tasks_never_admit_a_sixth() {
    evloop::block_on(async {
        let semaphore = Arc::new(Semaphore::new(5));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (semaphore, inside, most) = (semaphore.clone(), inside.clone(), most.clone());
                evloop::spawn(async move {
                    let _permit = semaphore.acquire().await.expect("open");
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    for _ in 0..3 {
                        evloop::yield_now().await; // hold the permit a while
                    }
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("no panic");
        }
        assert_eq!(most.load(Ordering::SeqCst), 5, "exactly five at the peak");
        assert_eq!(semaphore.available_permits(), 5, "every permit came back");
    });
}

#[test]
fn the_limit_holds_for_threads_too() {
    let semaphore = Arc::new(Semaphore::new(2));
    let inside = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (semaphore, inside) = (semaphore.clone(), inside.clone());
            std::thread::spawn(move || {
                evloop::block_on(async move {
                    for _ in 0..if cfg!(miri) { 50 } else { 2_000 } {
                        let permit = semaphore.clone().acquire_owned().await.expect("open");
                        assert!(inside.fetch_add(1, Ordering::SeqCst) < 2);
                        evloop::yield_now().await;
                        inside.fetch_sub(1, Ordering::SeqCst);
                        drop(permit);
                    }
                })
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no assertion failed");
    }
    assert_eq!(semaphore.available_permits(), 2);
}

#[test]
fn a_cancelled_acquire_takes_no_permit_and_loses_none() {
    evloop::block_on(async {
        let semaphore = Semaphore::new(1);
        let held = semaphore.acquire().await.expect("open");

        // Dropped while waiting: it simply leaves the queue.
        let mut waiting = Box::pin(semaphore.acquire());
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        drop(waiting);

        // Dropped after the permit was handed to it, before it took it:
        // the permit must reach the next waiter.
        let mut handed = Box::pin(semaphore.acquire());
        assert!(futures::poll!(handed.as_mut()).is_pending());
        let mut next = Box::pin(semaphore.acquire());
        assert!(futures::poll!(next.as_mut()).is_pending());
        drop(held); // hands the permit to `handed`
        assert_eq!(semaphore.available_permits(), 0);
        drop(handed);
        let permit = within(10, next).await.expect("the permit was passed on");
        drop(permit);
        assert_eq!(semaphore.available_permits(), 1, "no permit lost");
    });
}

#[test]
fn a_handed_permit_with_nobody_waiting_goes_back_to_the_count() {
    evloop::block_on(async {
        let semaphore = Semaphore::new(1);
        let held = semaphore.try_acquire().expect("free");
        let mut handed = Box::pin(semaphore.acquire());
        assert!(futures::poll!(handed.as_mut()).is_pending());
        drop(held);
        drop(handed);
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn waiters_are_served_first_come_first_served() {
    evloop::block_on(async {
        let semaphore = Arc::new(Semaphore::new(0));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let (semaphore, order) = (semaphore.clone(), order.clone());
                evloop::spawn(async move {
                    let _permit = semaphore.acquire().await.expect("open");
                    order.lock().expect("no panic").push(i);
                })
            })
            .collect();
        settle(5).await; // all five wait, in spawn order
        assert_eq!(
            semaphore.try_acquire().err(),
            Some(TryAcquireError::NoPermits)
        );
        semaphore.add_permits(1);
        for task in tasks {
            within(20, task).await.expect("no panic");
        }
        assert_eq!(*order.lock().expect("no panic"), [0, 1, 2, 3, 4]);
    });
}

#[test]
fn close_fails_waiting_and_later_acquires() {
    evloop::block_on(async {
        let semaphore = Arc::new(Semaphore::new(0));
        let waiter = {
            let semaphore = semaphore.clone();
            evloop::spawn(async move { semaphore.acquire().await.map(drop) })
        };
        settle(2).await;
        semaphore.close();
        assert!(semaphore.is_closed());
        let error: AcquireError = within(10, waiter)
            .await
            .expect("no panic")
            .expect_err("closed while waiting");
        assert_eq!(error.to_string(), "semaphore closed");
        assert!(semaphore.acquire().await.is_err());
        assert_eq!(semaphore.try_acquire().err(), Some(TryAcquireError::Closed));
    });
}

#[test]
fn forget_removes_a_permit_for_good() {
    let semaphore = Semaphore::new(2);
    semaphore.try_acquire().expect("free").forget();
    assert_eq!(semaphore.available_permits(), 1);
}

#[test]
fn acquires_cancelled_at_random_points_across_threads_conserve_permits() {
    use evloop::future::{Either, select};
    // Each attempt races `acquire` against a yield, so many acquires are
    // dropped while queued, some after being handed a permit. Whatever
    // happens, the permits all come back.
    let semaphore = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (semaphore, inside) = (semaphore.clone(), inside.clone());
            std::thread::spawn(move || {
                evloop::block_on(async move {
                    let tasks: Vec<_> = (0..8)
                        .map(|_| {
                            let (semaphore, inside) = (semaphore.clone(), inside.clone());
                            evloop::spawn(async move {
                                let mut got = 0;
                                for _ in 0..300 {
                                    let acquire = semaphore.acquire();
                                    if let Either::Left(permit) =
                                        select(acquire, evloop::yield_now()).await
                                    {
                                        let _permit = permit.expect("open");
                                        assert!(inside.fetch_add(1, Ordering::SeqCst) < 3);
                                        evloop::yield_now().await;
                                        inside.fetch_sub(1, Ordering::SeqCst);
                                        got += 1;
                                    }
                                }
                                got
                            })
                        })
                        .collect();
                    let mut got = 0;
                    for task in tasks {
                        got += task.await.expect("no assertion failed");
                    }
                    got
                })
            })
        })
        .collect();
    let got: usize = threads
        .into_iter()
        .map(|t| t.join().expect("thread ran"))
        .sum();
    assert!(got > 0, "some acquires succeeded");
    assert_eq!(
        semaphore.available_permits(),
        3,
        "no permit lost or made up"
    );
}
