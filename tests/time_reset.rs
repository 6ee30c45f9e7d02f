//! `Sleep::reset`: to an earlier and to a later deadline, before and after
//! the first poll, after completion, and many times over.

use std::pin::pin;
use std::time::{Duration, Instant};

use evloop::time::{sleep, timeout};

const MS: Duration = Duration::from_millis(1);

#[test]
fn reset_to_an_earlier_deadline_completes_then() {
    evloop::block_on(async {
        let start = Instant::now();
        let mut sleep = pin!(sleep(Duration::from_secs(10)));
        assert!(timeout(5 * MS, sleep.as_mut()).await.is_err(), "registered");
        let deadline = Instant::now() + 20 * MS;
        sleep.as_mut().reset(deadline);
        assert_eq!(sleep.deadline(), deadline);
        sleep.await;
        assert!(Instant::now() >= deadline);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "still waited for the old deadline"
        );
    });
}

#[test]
fn reset_to_a_later_deadline_waits_for_it() {
    let rt = evloop::Runtime::new().expect("runtime");
    rt.block_on(async {
        let mut sleep = pin!(sleep(10 * MS));
        assert!(timeout(2 * MS, sleep.as_mut()).await.is_err(), "registered");
        let deadline = Instant::now() + 60 * MS;
        sleep.as_mut().reset(deadline);
        sleep.await;
        assert!(Instant::now() >= deadline, "fired at the old deadline");
    });
    assert_eq!(rt.metrics().timers, 0);
}

#[test]
fn reset_before_the_first_poll_and_after_completion() {
    evloop::block_on(async {
        let mut sleep = pin!(sleep(Duration::from_secs(3600)));
        let deadline = Instant::now() + 5 * MS;
        sleep.as_mut().reset(deadline);
        sleep.as_mut().await;
        assert!(Instant::now() >= deadline);
        // Completed; a reset makes it pending again.
        let again = Instant::now() + 10 * MS;
        sleep.as_mut().reset(again);
        sleep.as_mut().await;
        assert!(Instant::now() >= again);
        // A completed sleep polled again stays complete.
        sleep.as_mut().await;
    });
}

#[test]
fn an_idle_timeout_reset_on_every_event_fires_once_after_the_last() {
    let rt = evloop::Runtime::new().expect("runtime");
    rt.block_on(async {
        let idle = 30 * MS;
        let mut timer = pin!(sleep(idle));
        let mut last_reset = Instant::now();
        // Events every 2 ms for 100 ms: the timer must never fire meanwhile.
        let stop = Instant::now() + 100 * MS;
        while Instant::now() < stop {
            let tick = timeout(2 * MS, timer.as_mut()).await;
            assert!(
                tick.is_err(),
                "fired although reset {:?} ago",
                last_reset.elapsed()
            );
            last_reset = Instant::now();
            timer.as_mut().reset(last_reset + idle);
        }
        timer.await;
        assert!(last_reset.elapsed() >= idle);
        assert_eq!(rt.metrics().timers, 0);
    });
}

#[test]
fn reset_to_a_past_deadline_is_ready_on_first_poll() {
    use std::task::Poll;
    let rt = evloop::Runtime::new().expect("runtime");
    rt.block_on(async {
        // Registered in the wheel first, then moved into the past.
        let mut polled = pin!(sleep(Duration::from_secs(10)));
        assert_eq!(futures::poll!(polled.as_mut()), Poll::Pending);
        polled
            .as_mut()
            .reset(Instant::now() - Duration::from_secs(1));
        assert_eq!(futures::poll!(polled.as_mut()), Poll::Ready(()));
        // Never polled before the reset.
        let mut fresh = pin!(sleep(Duration::from_secs(10)));
        fresh
            .as_mut()
            .reset(Instant::now() - Duration::from_secs(1));
        assert_eq!(futures::poll!(fresh.as_mut()), Poll::Ready(()));
    });
    assert_eq!(rt.metrics().timers, 0, "no entry left behind in the wheel");
}
