//! Semaphore: many permits at once, FIFO across sizes, cancellation of a
//! partly served waiter, `forget`/`add_permits`/`merge`, and close waking
//! every waiter with an error.

use std::sync::Arc;

use evloop::sync::{AcquireError, Semaphore, TryAcquireError};

mod sync_support;
use sync_support::{settle, within};

#[test]
fn acquire_many_takes_and_returns_them_together() {
    evloop::block_on(async {
        let semaphore = Semaphore::new(5);
        let three = semaphore.acquire_many(3).await.expect("open");
        assert_eq!(three.num_permits(), 3);
        assert_eq!(semaphore.available_permits(), 2);
        assert_eq!(
            semaphore.try_acquire_many(3).map(|_| ()),
            Err(TryAcquireError::NoPermits)
        );
        let two = semaphore.try_acquire_many(2).expect("two left");
        drop(three);
        assert_eq!(semaphore.available_permits(), 3);
        drop(two);
        assert_eq!(semaphore.available_permits(), 5);
        let none = semaphore.acquire_many(0).await.expect("zero is free");
        assert_eq!(none.num_permits(), 0);
    });
}

#[test]
fn a_big_waiter_is_not_overtaken_by_small_ones() {
    evloop::block_on(async {
        let semaphore = Arc::new(Semaphore::new(2));
        let held = semaphore.clone().acquire_many_owned(2).await.expect("open");
        let mut big = Box::pin(semaphore.acquire_many(2));
        assert!(futures::poll!(big.as_mut()).is_pending());
        let mut small = Box::pin(semaphore.acquire());
        assert!(futures::poll!(small.as_mut()).is_pending());
        assert!(
            semaphore.try_acquire().is_err(),
            "the fast path cannot jump the queue"
        );
        drop(held);
        let big = within(10, big).await.expect("the front waiter gets both");
        assert!(futures::poll!(small.as_mut()).is_pending());
        drop(big);
        let small = within(10, small).await.expect("then the small one");
        assert_eq!(semaphore.available_permits(), 1);
        drop(small);
        assert_eq!(semaphore.available_permits(), 2);
    });
}

#[test]
fn permits_set_aside_for_a_cancelled_waiter_reach_the_next() {
    evloop::block_on(async {
        let semaphore = Semaphore::new(1);
        let one = semaphore.try_acquire().expect("free");
        let mut big = Box::pin(semaphore.acquire_many(3));
        assert!(futures::poll!(big.as_mut()).is_pending());
        let mut small = Box::pin(semaphore.acquire());
        assert!(futures::poll!(small.as_mut()).is_pending());
        drop(one); // set aside for `big`, which needs two more
        assert!(futures::poll!(small.as_mut()).is_pending());
        assert_eq!(semaphore.available_permits(), 0);
        drop(big);
        let small = within(10, small)
            .await
            .expect("the set-aside permit moves on");
        drop(small);
        assert_eq!(semaphore.available_permits(), 1, "no permit lost");
    });
}

#[test]
fn forget_and_add_permits_change_the_total() {
    evloop::block_on(async {
        let semaphore = Arc::new(Semaphore::new(4));
        semaphore.acquire_many(2).await.expect("open").forget();
        assert_eq!(semaphore.available_permits(), 2);
        semaphore
            .clone()
            .try_acquire_owned()
            .expect("free")
            .forget();
        assert_eq!(semaphore.available_permits(), 1);
        semaphore.add_permits(3);
        assert_eq!(semaphore.available_permits(), 4);
        let mut a = semaphore.try_acquire().expect("free");
        a.merge(semaphore.try_acquire_many(2).expect("free"));
        assert_eq!(a.num_permits(), 3);
        drop(a);
        let mut b = semaphore.clone().try_acquire_owned().expect("free");
        b.merge(semaphore.clone().try_acquire_many_owned(3).expect("free"));
        assert_eq!((b.num_permits(), semaphore.available_permits()), (4, 0));
        drop(b);
        assert_eq!(semaphore.available_permits(), 4);
    });
}

#[test]
fn add_permits_serves_a_waiter_for_many() {
    evloop::block_on(async {
        let semaphore = Arc::new(Semaphore::new(0));
        let waiter = evloop::spawn({
            let semaphore = semaphore.clone();
            async move {
                semaphore
                    .acquire_many_owned(3)
                    .await
                    .map(|p| p.num_permits())
            }
        });
        settle(3).await;
        semaphore.add_permits(2);
        settle(3).await;
        assert!(!waiter.is_finished());
        semaphore.add_permits(1);
        assert_eq!(within(10, waiter).await.expect("no panic"), Ok(3));
    });
}

#[test]
fn close_wakes_every_waiter_with_an_error_and_held_permits_stay_valid() {
    evloop::block_on(async {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.clone().acquire_owned().await.expect("open");
        let waiters: Vec<_> = (0..3u32)
            .map(|n| {
                let semaphore = semaphore.clone();
                evloop::spawn(async move { semaphore.acquire_many(n + 1).await.map(|_| ()) })
            })
            .collect();
        settle(3).await;
        assert!(!semaphore.is_closed());
        semaphore.close();
        assert!(semaphore.is_closed());
        for waiter in waiters {
            let result: Result<(), AcquireError> = within(10, waiter).await.expect("no panic");
            assert!(result.is_err(), "woken with an error");
        }
        assert!(semaphore.acquire_many(1).await.is_err());
        assert_eq!(
            semaphore.try_acquire_many(1).map(|_| ()),
            Err(TryAcquireError::Closed)
        );
        drop(held);
        assert_eq!(
            semaphore.available_permits(),
            1,
            "a held permit still comes back"
        );
    });
}
