//! Timers belong to a loop: outside of any runtime a `Sleep` panics with a
//! clear message; moved to another loop or thread it still cleans up.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use evloop::time::{Sleep, sleep};

#[test]
#[should_panic(expected = "polled outside of an evloop runtime")]
fn polling_a_sleep_outside_a_runtime_panics_clearly() {
    futures::executor::block_on(sleep(Duration::from_millis(1)));
}

#[test]
fn creating_and_dropping_a_sleep_outside_a_runtime_is_fine() {
    let sleep = sleep(Duration::from_millis(1));
    assert!(sleep.deadline() > Instant::now() - Duration::from_secs(1));
    drop(sleep);
}

/// Registers `sleep` in `rt`'s wheel by polling it once.
fn register(rt: &evloop::Runtime, sleep: &mut Sleep) {
    rt.block_on(std::future::poll_fn(|cx| {
        assert!(Pin::new(&mut *sleep).poll(cx).is_pending());
        Poll::Ready(())
    }));
    assert_eq!(rt.metrics().timers, 1);
}

/// Lets `rt` run a few turns (phase 3 takes in remote cancels).
fn turn(rt: &evloop::Runtime) {
    rt.block_on(sleep(Duration::from_millis(2)));
}

#[test]
fn a_sleep_dropped_on_another_thread_leaves_no_entry_behind() {
    let rt = evloop::Runtime::new().expect("runtime");
    let mut sleep = sleep(Duration::from_secs(3600));
    register(&rt, &mut sleep);
    std::thread::spawn(move || drop(sleep))
        .join()
        .expect("no panic");
    turn(&rt);
    assert_eq!(rt.metrics().timers, 0);
}

#[test]
fn a_sleep_moved_to_another_loop_completes_there_and_leaves_the_first() {
    let first = evloop::Runtime::new().expect("runtime");
    let mut sleep = sleep(Duration::from_millis(30));
    let deadline = sleep.deadline();
    register(&first, &mut sleep);
    std::thread::spawn(move || {
        let second = evloop::Runtime::new().expect("runtime");
        second.block_on(sleep);
        assert!(Instant::now() >= deadline);
        assert_eq!(second.metrics().timers, 0);
    })
    .join()
    .expect("the sleep completes on the second loop");
    turn(&first);
    assert_eq!(first.metrics().timers, 0);
}

#[test]
fn a_sleep_reset_away_from_its_loop_registers_anew() {
    let first = evloop::Runtime::new().expect("runtime");
    let mut sleep = sleep(Duration::from_secs(3600));
    register(&first, &mut sleep);
    let deadline = Instant::now() + Duration::from_millis(10);
    Pin::new(&mut sleep).reset(deadline); // outside any runtime
    let second = evloop::Runtime::new().expect("runtime");
    second.block_on(sleep);
    assert!(Instant::now() >= deadline);
    turn(&first);
    assert_eq!(first.metrics().timers, 0);
}
