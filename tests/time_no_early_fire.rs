//! No timer completes before its deadline: many timers, random durations,
//! deadlines in the past, and deadlines too far away to represent.

use std::time::{Duration, Instant};

use evloop::time::{sleep, sleep_until, timeout};

/// xorshift64*: reproducible random numbers without a dependency.
fn rng(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut state = seed;
    move |bound| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound
    }
}

#[test]
fn many_random_sleeps_never_complete_early() {
    let rt = evloop::Runtime::new().expect("runtime");
    let mut random = rng(42);
    let early = rt.block_on(async {
        let handles: Vec<_> = (0..2_000)
            .map(|_| {
                // Random microseconds, so deadlines fall between ticks too.
                let duration = Duration::from_micros(random(60_000));
                evloop::spawn(async move {
                    let deadline = Instant::now() + duration;
                    sleep_until(deadline).await;
                    Instant::now() < deadline
                })
            })
            .collect();
        let mut early = 0;
        for handle in handles {
            early += usize::from(handle.await.expect("no panic"));
        }
        early
    });
    assert_eq!(early, 0, "{early} sleeps completed before their deadline");
    assert_eq!(rt.metrics().timers, 0);
}

#[test]
fn sleep_measures_from_the_call() {
    evloop::block_on(async {
        for millis in [1, 2, 5, 13] {
            let start = Instant::now();
            sleep(Duration::from_millis(millis)).await;
            assert!(start.elapsed() >= Duration::from_millis(millis));
        }
    });
}

#[test]
fn a_past_deadline_completes_on_the_next_turn() {
    let rt = evloop::Runtime::new().expect("runtime");
    rt.block_on(async {
        let past = Instant::now() - Duration::from_millis(50);
        let start = Instant::now();
        sleep_until(past).await;
        sleep(Duration::ZERO).await;
        assert!(start.elapsed() < Duration::from_secs(1));
    });
}

#[test]
fn a_past_deadline_completes_on_its_first_poll() {
    evloop::block_on(async {
        let other = evloop::spawn(async { Instant::now() });
        // Behind the loop's clock: due now, as with tokio, rather than a
        // turn later through the wheel (it is not a yield).
        sleep_until(Instant::now() - Duration::from_secs(1)).await;
        assert!(!other.is_finished(), "the sleep did not wait for a turn");
        let woke_at = Instant::now();
        assert!(other.await.expect("no panic") >= woke_at);
    });
}

#[test]
fn duration_max_and_far_deadlines_neither_panic_nor_fire() {
    let rt = evloop::Runtime::new().expect("runtime");
    rt.block_on(async {
        let forever = sleep(Duration::MAX);
        assert!(forever.deadline() > Instant::now() + Duration::from_secs(86_400 * 365 * 10));
        let result = timeout(Duration::from_millis(20), forever).await;
        assert!(result.is_err(), "a sleep of Duration::MAX completed");
        let decades = Instant::now() + Duration::from_secs(86_400 * 365 * 100);
        let result = timeout(Duration::from_millis(5), sleep_until(decades)).await;
        assert!(result.is_err());
        // A ready future wins even with an unbounded timeout.
        assert_eq!(timeout(Duration::MAX, async { 7 }).await, Ok(7));
    });
    assert_eq!(rt.metrics().timers, 0, "dropped sleeps left entries behind");
}
