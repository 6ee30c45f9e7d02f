//! `interval`: the first tick at once, ticks a period apart, and each
//! missed-tick behaviour after the loop stalled for several periods.

use std::time::{Duration, Instant};

use evloop::time::{Interval, MissedTickBehavior, interval, interval_at};
use futures::StreamExt;

const PERIOD: Duration = Duration::from_millis(20);

#[test]
fn the_first_tick_is_immediate_and_ticks_are_a_period_apart() {
    evloop::block_on(async {
        let start = Instant::now();
        let mut every = interval(PERIOD);
        let first = every.tick().await;
        assert!(start.elapsed() < PERIOD, "the first tick waited");
        let mut previous = first;
        for _ in 0..4 {
            let due = every.tick().await;
            assert_eq!(due - previous, PERIOD, "ticks drift");
            assert!(Instant::now() >= due, "a tick came early");
            previous = due;
        }
        assert!(start.elapsed() >= 4 * PERIOD);
    });
}

#[test]
fn interval_at_starts_at_its_start() {
    evloop::block_on(async {
        let start = Instant::now() + 30 * Duration::from_millis(1);
        let mut every = interval_at(start, PERIOD);
        assert_eq!(every.tick().await, start);
        assert!(Instant::now() >= start);
        assert_eq!(every.period(), PERIOD);
    });
}

/// Takes the first tick, stalls the loop for 5.5 periods (ticks due at
/// 1..=5 periods are missed), then returns the next `n` ticks as offsets from
/// the first, with how long each took to arrive after the stall. Asserts
/// that no tick arrives before the instant it reports.
async fn ticks_after_a_stall(behavior: MissedTickBehavior, n: usize) -> Vec<(Duration, Duration)> {
    let mut every = interval(PERIOD);
    every.set_missed_tick_behavior(behavior);
    assert_eq!(every.missed_tick_behavior(), behavior);
    let first = every.tick().await;
    std::thread::sleep(PERIOD * 11 / 2);
    let resumed = Instant::now();
    let mut ticks = Vec::new();
    for _ in 0..n {
        let due = every.tick().await;
        assert!(Instant::now() >= due, "a tick arrived before its deadline");
        ticks.push((due - first, resumed.elapsed()));
    }
    ticks
}

#[test]
fn burst_fires_the_missed_ticks_at_once_then_keeps_the_schedule() {
    let ticks = evloop::block_on(ticks_after_a_stall(MissedTickBehavior::Burst, 7));
    let offsets: Vec<_> = ticks.iter().map(|(offset, _)| *offset).collect();
    assert_eq!(offsets, (1..=7).map(|k| PERIOD * k).collect::<Vec<_>>());
    let (_, caught_up) = ticks[4];
    assert!(
        caught_up < PERIOD / 2,
        "the 5 missed ticks took {caught_up:?}"
    );
}

#[test]
fn delay_fires_once_then_a_period_from_then() {
    let ticks = evloop::block_on(ticks_after_a_stall(MissedTickBehavior::Delay, 3));
    let (first, at) = ticks[0];
    assert_eq!(first, PERIOD, "the overdue tick reports its own deadline");
    assert!(at < PERIOD / 2);
    let (second, at) = ticks[1];
    assert!(
        second >= PERIOD * 11 / 2 + PERIOD,
        "{second:?}: not a period after the stall"
    );
    assert!(at >= PERIOD);
    let (third, _) = ticks[2];
    assert_eq!(third - second, PERIOD);
}

#[test]
fn skip_fires_once_then_keeps_to_the_original_grid() {
    let ticks = evloop::block_on(ticks_after_a_stall(MissedTickBehavior::Skip, 3));
    let (first, at) = ticks[0];
    assert_eq!(first, PERIOD);
    assert!(at < PERIOD / 2);
    let (second, _) = ticks[1];
    // The next multiple of the period after the stall (5.5): at least 6.
    assert_eq!(
        second.as_nanos() % PERIOD.as_nanos(),
        0,
        "{second:?}: off the grid"
    );
    assert!(second >= PERIOD * 6, "{second:?}");
    let (third, _) = ticks[2];
    assert_eq!(third - second, PERIOD);
}

#[test]
fn an_interval_is_a_stream_of_instants() {
    evloop::block_on(async {
        let every: Interval = interval(Duration::from_millis(2));
        let ticks: Vec<Instant> = every.take(4).collect().await;
        assert_eq!(ticks.len(), 4);
        assert!(
            ticks
                .windows(2)
                .all(|w| w[1] - w[0] == Duration::from_millis(2))
        );
    });
}

#[test]
#[should_panic(expected = "`period` must be non-zero")]
fn a_zero_period_panics() {
    let _ = interval(Duration::ZERO);
}

#[test]
fn reset_restarts_the_schedule_from_now() {
    evloop::block_on(async {
        let mut every = interval(PERIOD);
        every.tick().await;
        std::thread::sleep(PERIOD / 2);
        let before = Instant::now();
        every.reset();
        let due = every.tick().await;
        assert!(due >= before + PERIOD, "the old schedule was kept");
        assert!(Instant::now() >= due);
    });
}
