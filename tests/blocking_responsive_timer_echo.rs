//! The issue's own responsiveness test, with timers (issue 3) and TCP
//! (issue 4): with `max_blocking_threads(4)` and 1,000 queued
//! 10 ms jobs, a 20 ms `evloop::time::sleep` and an echo connection on the
//! loop stay responsive (within a few ms), and all 1,000 jobs complete.

use std::time::{Duration, Instant};

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};

fn summary(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (
        samples[samples.len() / 2],
        *samples.last().expect("samples"),
    )
}

#[test]
fn timer_and_echo_stay_responsive_while_a_thousand_jobs_wait_for_four_threads() {
    let rt = evloop::Runtime::builder()
        .max_blocking_threads(4)
        .build()
        .expect("runtime");
    let started = Instant::now();
    let (sleep_lateness, echo_rtt) = rt.block_on(async {
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

        // A 20 ms timer, 50 times: how late does it fire?
        let timer = evloop::spawn(async {
            let mut lateness = Vec::new();
            for _ in 0..50 {
                let asked = Instant::now();
                evloop::time::sleep(Duration::from_millis(20)).await;
                let waited = asked.elapsed();
                assert!(
                    waited >= Duration::from_millis(20),
                    "fired early: {waited:?}"
                );
                lateness.push(waited - Duration::from_millis(20));
            }
            lateness
        });

        // An echo server on the loop, and a client on the loop, 50 round trips.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = evloop::spawn(async move {
            let (mut conn, _) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 64];
            loop {
                let n = conn.read(&mut buf).await.expect("read");
                if n == 0 {
                    return;
                }
                conn.write_all(&buf[..n]).await.expect("write");
            }
        });
        let mut client = TcpStream::connect(addr).await.expect("connect");
        let mut rtts = Vec::new();
        for round in 0..50u32 {
            evloop::time::sleep(Duration::from_millis(20)).await;
            let sent = Instant::now();
            client.write_all(&round.to_be_bytes()).await.expect("send");
            let mut back = [0u8; 4];
            client.read_exact(&mut back).await.expect("echo");
            rtts.push(sent.elapsed());
            assert_eq!(u32::from_be_bytes(back), round);
        }
        drop(client);
        server.await.expect("server");

        all_done.await.expect("all 1,000 jobs complete");
        (timer.await.expect("timer"), rtts)
    });
    let elapsed = started.elapsed();
    let (late_median, late_max) = summary(sleep_lateness);
    let (rtt_median, rtt_max) = summary(echo_rtt);
    eprintln!(
        "1,000 jobs in {elapsed:?}; 20 ms sleep late by median {late_median:?} max {late_max:?}; \
         echo rtt median {rtt_median:?} max {rtt_max:?}"
    );
    assert!(elapsed >= Duration::from_millis(2400), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
    for (what, median, max) in [
        ("sleep lateness", late_median, late_max),
        ("echo rtt", rtt_median, rtt_max),
    ] {
        assert!(
            median < Duration::from_millis(5),
            "{what} median {median:?}"
        );
        assert!(max < Duration::from_millis(100), "{what} max {max:?}");
    }
}
