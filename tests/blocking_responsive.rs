//! With 1,000 slow jobs queued on a 4-thread pool, the loop itself stays
//! responsive: wakes from other threads (what a timer or a socket event
//! amounts to) and a request/reply through the loop are served within a few
//! milliseconds, and every job completes.
//!
//! The exact test (a 20 ms `evloop::time::sleep` and a TCP echo) is
//! in `tests-pending/blocking_responsive.rs`, for when timers and sockets
//! are merged; this one uses what the core offers: remote wakes and
//! `Handle::spawn`.

use std::future::Future;
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A one-shot event fired from another thread, remembering when.
#[derive(Default)]
struct Signal {
    /// When the other thread last fired it (until the task sees it), how
    /// many times it fired, and the waker of the waiting task.
    state: Mutex<(Option<Instant>, u32, Option<Waker>)>,
}

impl Signal {
    fn fire(&self) {
        let waker = {
            let mut state = self.state.lock().expect("lock");
            state.0 = Some(Instant::now());
            state.1 += 1;
            state.2.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Waits for the next firing; returns how late the task woke up and how
    /// many firings there have been (two may coalesce into one wake).
    fn wait(&self) -> impl Future<Output = (Duration, u32)> + '_ {
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            let mut state = self.state.lock().expect("lock");
            match state.0.take() {
                Some(fired) => Poll::Ready((fired.elapsed(), state.1)),
                None => {
                    state.2 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
    }
}

fn summary(mut samples: Vec<Duration>) -> (Duration, Duration, usize) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let max = *samples.last().expect("samples");
    (median, max, samples.len())
}

#[test]
fn loop_stays_responsive_while_a_thousand_jobs_wait_for_four_threads() {
    let rt = evloop::Runtime::builder()
        .max_blocking_threads(4)
        .build()
        .expect("runtime");
    let handle = rt.handle();
    let started = Instant::now();
    let (wake_latencies, echo_latencies) = rt.block_on(async move {
        let jobs: Vec<_> = (0..1000u32)
            .map(|i| {
                evloop::spawn_blocking(move || {
                    std::thread::sleep(Duration::from_millis(10));
                    i
                })
            })
            .collect();
        let all_done = evloop::spawn(async move {
            for (i, job) in (0u32..).zip(jobs) {
                assert_eq!(job.await.expect("no panic"), i);
            }
        });

        // "Timer": another thread fires every 20 ms; the task measures how
        // long after the firing it runs.
        let signal = Arc::new(Signal::default());
        let ticker = {
            let signal = signal.clone();
            std::thread::spawn(move || {
                for _ in 0..60 {
                    std::thread::sleep(Duration::from_millis(20));
                    signal.fire();
                }
            })
        };
        let waiter = evloop::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let (latency, fired) = signal.wait().await;
                latencies.push(latency);
                if fired == 60 {
                    return latencies;
                }
            }
        });

        // "Echo": another thread sends a request to the loop and waits for
        // the reply, every 20 ms.
        let echo = std::thread::spawn(move || {
            let mut latencies = Vec::new();
            for round in 0..60u32 {
                std::thread::sleep(Duration::from_millis(20));
                let (reply, replied) = mpsc::channel();
                let sent = Instant::now();
                drop(handle.spawn(async move { reply.send(round).expect("test waits") }));
                assert_eq!(replied.recv().expect("the loop replies"), round);
                latencies.push(sent.elapsed());
            }
            latencies
        });

        all_done.await.expect("all 1,000 jobs complete in order");
        let wake_latencies = waiter.await.expect("waiter");
        ticker.join().expect("ticker");
        (wake_latencies, echo.join().expect("echo thread"))
    });
    let elapsed = started.elapsed();
    let (wake_median, wake_max, wakes) = summary(wake_latencies);
    let (echo_median, echo_max, echoes) = summary(echo_latencies);
    eprintln!(
        "1,000 jobs in {elapsed:?}; {wakes} wakes: median {wake_median:?} max {wake_max:?}; \
         {echoes} echoes: median {echo_median:?} max {echo_max:?}"
    );
    // 1,000 × 10 ms over 4 threads is 2.5 s of sleeping at best.
    assert!(elapsed >= Duration::from_millis(2400), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
    // Lenient bounds for a noisy shared machine; typical values are ~0.1 ms.
    for (what, median, max) in [
        ("wake", wake_median, wake_max),
        ("echo", echo_median, echo_max),
    ] {
        assert!(
            median < Duration::from_millis(5),
            "{what} median {median:?}"
        );
        assert!(max < Duration::from_millis(100), "{what} max {max:?}");
    }
}
