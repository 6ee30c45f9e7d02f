//! Timers by the hundred thousand: all complete, none early.

use std::time::{Duration, Instant};

use evloop::time::sleep;

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
fn a_hundred_thousand_concurrent_sleeps_all_complete_none_early() {
    const SLEEPS: usize = 100_000;
    let rt = evloop::Runtime::new().expect("runtime");
    let mut random = rng(7);
    let started = Instant::now();
    let (done, early) = rt.block_on(async {
        let handles: Vec<_> = (0..SLEEPS)
            .map(|_| {
                let duration = Duration::from_millis(1 + random(200));
                evloop::spawn(async move {
                    let deadline = Instant::now() + duration;
                    sleep(duration).await;
                    Instant::now() < deadline
                })
            })
            .collect();
        let (mut done, mut early) = (0, 0);
        for handle in handles {
            early += usize::from(handle.await.expect("no panic"));
            done += 1;
        }
        (done, early)
    });
    assert_eq!(done, SLEEPS);
    assert_eq!(early, 0, "{early} sleeps completed before their deadline");
    assert_eq!(rt.metrics().timers, 0);
    // Generous: a debug build on a shared 2-core machine.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}
