//! Timers: a periodic job cancelled after a while, and a deadline on a slow
//! call.
//!
//! Run: `cargo run --example timers`
//!
//! There is nothing to connect to: it prints a line per tick and per lookup,
//! and exits after about a second. Two idioms from Python's asyncio world:
//!
//! * aiotools' `create_timer(cb, interval)`: a task that spawns `cb` every
//!   `interval`; cancelling the task stops the timer. Here: [`create_timer`],
//!   built on `evloop::time::interval`.
//! * asyncio's `await wait_for(aw, timeout)`: `evloop::time::timeout`,
//!   which drops (cancels) the inner future when the deadline wins.

use std::future::Future;
use std::time::{Duration, Instant};

use evloop::time::{self, MissedTickBehavior};

/// aiotools' `create_timer`: spawns `job(n)` every `period` until the
/// returned handle is aborted. Each job runs as its own task, so a slow job
/// does not hold back the next tick.
fn create_timer<F, Fut>(job: F, period: Duration) -> evloop::JoinHandle<()>
where
    F: Fn(u32) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    evloop::spawn(async move {
        let mut every = time::interval(period);
        // If the loop was blocked, run one late tick, then keep the grid.
        every.set_missed_tick_behavior(MissedTickBehavior::Skip);
        for n in 0.. {
            every.tick().await;
            // Detached: aiotools lets a running job finish after a cancel.
            drop(evloop::spawn(job(n)));
        }
    })
}

/// A pretend DNS lookup that takes `latency`.
async fn lookup(name: &str, latency: Duration) -> String {
    time::sleep(latency).await;
    format!("{name} is 192.0.2.7")
}

fn main() {
    evloop::block_on(async {
        let start = Instant::now();
        let timer = create_timer(
            move |n| async move {
                println!("[{:>4} ms] tick {n}", start.elapsed().as_millis());
            },
            Duration::from_millis(100),
        );
        time::sleep(Duration::from_millis(450)).await;
        timer.abort(); // asyncio: timer_task.cancel()
        match timer.await {
            Err(error) if error.is_cancelled() => println!("timer cancelled"),
            other => println!("timer ended otherwise: {other:?}"),
        }

        // asyncio: await asyncio.wait_for(lookup(...), timeout=0.2)
        let limit = Duration::from_millis(200);
        for (name, latency) in [("fast.example", 50), ("slow.example", 5_000)] {
            let started = Instant::now();
            match time::timeout(limit, lookup(name, Duration::from_millis(latency))).await {
                Ok(answer) => println!("{answer} (after {:?})", started.elapsed()),
                Err(elapsed) => println!("{name}: {elapsed} after {:?}", started.elapsed()),
            }
        }
    });
}
