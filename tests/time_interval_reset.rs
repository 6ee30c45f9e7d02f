//! `Interval::reset*` move the next tick (and the schedule after it);
//! `Sleep::is_elapsed` says whether the deadline has passed.

use std::time::{Duration, Instant};

use evloop::time::{interval, sleep, timeout};

const PERIOD: Duration = Duration::from_millis(200);

#[test]
fn reset_immediately_makes_the_next_tick_due_now() {
    evloop::block_on(async {
        let mut every = interval(PERIOD);
        every.tick().await;
        let before = Instant::now();
        every.reset_immediately();
        let due = timeout(PERIOD / 2, every.tick()).await.expect("no waiting");
        assert!(due >= before && due <= Instant::now());
        // The schedule continues one period after the reset.
        let next = every.tick().await;
        assert_eq!(next - due, PERIOD);
    });
}

#[test]
fn reset_after_and_reset_move_the_next_tick_later() {
    evloop::block_on(async {
        let mut every = interval(Duration::from_millis(20));
        every.tick().await;
        let start = Instant::now();
        every.reset_after(Duration::from_millis(60));
        let due = every.tick().await;
        assert!(
            due >= start + Duration::from_millis(60),
            "not before the new deadline"
        );
        assert!(Instant::now() >= due);

        let mut every = interval(Duration::from_millis(50));
        every.tick().await;
        let start = Instant::now();
        every.reset();
        every.tick().await;
        assert!(
            start.elapsed() >= Duration::from_millis(50),
            "a full period after reset"
        );
    });
}

#[test]
fn reset_at_a_future_instant_and_at_a_past_one() {
    evloop::block_on(async {
        let mut every = interval(PERIOD);
        every.tick().await;
        let at = Instant::now() + Duration::from_millis(30);
        every.reset_at(at);
        assert_eq!(
            every.tick().await,
            at,
            "the tick reports the instant it was due"
        );
        assert!(Instant::now() >= at);
        let past = Instant::now() - Duration::from_millis(5);
        every.reset_at(past);
        let due = timeout(PERIOD / 2, every.tick())
            .await
            .expect("a past deadline is due at once");
        assert_eq!(due, past);
    });
}

#[test]
fn sleep_is_elapsed_once_its_deadline_passes_and_not_after_a_reset() {
    evloop::block_on(async {
        let mut nap = Box::pin(sleep(Duration::from_millis(20)));
        assert!(!nap.is_elapsed());
        nap.as_mut().await;
        assert!(nap.is_elapsed());
        nap.as_mut().reset(Instant::now() + Duration::from_secs(60));
        assert!(!nap.is_elapsed(), "reset to the future");
        let unpolled = sleep(Duration::from_millis(5));
        std::thread::sleep(Duration::from_millis(10));
        assert!(unpolled.is_elapsed(), "the clock passed the deadline");
    });
}
