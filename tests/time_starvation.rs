//! A task that never stops yielding cannot hold a timer back: the loop fires
//! timers at least once per run-queue budget.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How late a 20 ms timer fires while a task spins on `yield_now`.
fn lateness_beside_a_spinner() -> Duration {
    let rt = evloop::Runtime::new().expect("runtime");
    rt.block_on(async {
        let stop = Rc::new(Cell::new(false));
        let spinner = {
            let stop = stop.clone();
            evloop::spawn(async move {
                let mut spins = 0u64;
                while !stop.get() {
                    evloop::yield_now().await;
                    spins += 1;
                }
                spins
            })
        };
        evloop::yield_now().await; // the spinner is running
        let deadline = Instant::now() + Duration::from_millis(20);
        evloop::time::sleep_until(deadline).await;
        let lateness = deadline.elapsed();
        stop.set(true);
        let spins = spinner.await.expect("no panic");
        assert!(spins > 100, "the spinner hardly ran ({spins} spins)");
        lateness
    })
}

#[test]
fn a_yield_now_spinner_does_not_delay_a_20_ms_timer() {
    // Best of three: a starved timer is late every time, while a descheduled
    // test thread on a loaded machine is late only now and then.
    let lateness = (0..3)
        .map(|_| lateness_beside_a_spinner())
        .min()
        .expect("three runs");
    // One tick of rounding plus one budget of spinner polls: a few ms at most
    // (typically about 1 ms; the margin is for a loaded 2-core machine).
    assert!(
        lateness < Duration::from_millis(10),
        "the timer was {lateness:?} late"
    );
}
