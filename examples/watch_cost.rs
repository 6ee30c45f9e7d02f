//! What the slow-poll detector costs, measured so that a noisy machine
//! cannot hide it (or invent it).
//!
//! Run: cargo run --release --example watch_cost [rounds]
//!
//! Two runtimes live in one process: one with nothing on, one with the
//! slow-poll detector on at asyncio's 100 ms (what `EVLOOP_DEBUG=1` gives).
//! They take turns running criterion's `yield_many` workload (200 tasks that
//! each `yield_now` 1,000 times: 200,000 polls that do nearly nothing, the
//! worst case for a per-poll cost), round after round. Running them in
//! alternation, milliseconds apart, makes them share whatever the machine
//! does meanwhile; separate benchmark runs drift by tens of percent on a
//! virtual machine. The detector's cost is the median, over the pairs of
//! neighbouring rounds, of on/off; the minimum and the median of each side
//! are printed too. Run it a few times: the layout a process happens to
//! get moves the figure by a few percent.

use std::time::{Duration, Instant};

const TASKS: usize = 200;
const YIELDS: usize = 1_000;

/// One round of the workload on `rt`, timed.
fn round(rt: &evloop::Runtime) -> Duration {
    let started = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                evloop::spawn(async {
                    for _ in 0..YIELDS {
                        evloop::yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("the tasks do not panic");
        }
    });
    started.elapsed()
}

/// The `q`-quantile of sorted `times`.
fn quantile(times: &[Duration], q: f64) -> Duration {
    let at = ((times.len() - 1) as f64 * q).round() as usize;
    times[at]
}

fn main() -> std::io::Result<()> {
    let rounds: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().expect("rounds: a number"),
        None => 300,
    };
    let off = evloop::Builder::new().build()?;
    let on = evloop::Builder::new()
        .slow_poll_threshold(Duration::from_millis(100))
        .build()?;
    // Warm both up: allocator, caches, the task table's slots.
    for _ in 0..20 {
        round(&off);
        round(&on);
    }
    let (mut times_off, mut times_on) = (Vec::new(), Vec::new());
    let mut ratios = Vec::new();
    for i in 0..rounds {
        // Alternate which goes first, so neither always follows the other.
        let (a, b) = if i % 2 == 0 {
            let a = round(&off);
            (a, round(&on))
        } else {
            let b = round(&on);
            (round(&off), b)
        };
        ratios.push(b.as_secs_f64() / a.as_secs_f64());
        times_off.push(a);
        times_on.push(b);
    }
    let on_slower = ratios.iter().filter(|&&r| r > 1.0).count();
    ratios.sort_by(f64::total_cmp);
    times_off.sort();
    times_on.sort();
    let (median_off, median_on) = (quantile(&times_off, 0.5), quantile(&times_on, 0.5));
    println!("{rounds} alternating rounds of {TASKS} tasks x {YIELDS} yields");
    println!(
        "nothing on:   min {:>9.3?}  median {:>9.3?}",
        times_off[0], median_off
    );
    println!(
        "detector on:  min {:>9.3?}  median {:>9.3?}",
        times_on[0], median_on
    );
    println!(
        "detector cost: {:+.1}% (median of the pairs' ratios), {:+.1}% (medians), \
         {:+.1}% (minima); on slower in {on_slower} of {rounds} pairs",
        (ratios[rounds / 2] - 1.0) * 100.0,
        (median_on.as_secs_f64() / median_off.as_secs_f64() - 1.0) * 100.0,
        (times_on[0].as_secs_f64() / times_off[0].as_secs_f64() - 1.0) * 100.0,
    );
    Ok(())
}
