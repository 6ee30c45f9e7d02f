//! Timer workloads: insert and cancel, firing, `timeout` over a ready future,
//! and the idle-timeout pattern of one timer reset over and over.
//!
//! Both sides box their sleeps (`Box::pin`), so that the allocation pattern
//! is the same: tokio's `Sleep` is `!Unpin` and is usually boxed in
//! collections, evloop's needs no pinning but gets a box too.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

/// Polls every future of `futures` once, inside whatever runtime runs this.
async fn poll_each_once<F: Future + ?Sized>(futures: &mut [Pin<Box<F>>]) {
    std::future::poll_fn(|cx| {
        for future in futures.iter_mut() {
            let _ = future.as_mut().poll(cx);
        }
        Poll::Ready(())
    })
    .await
}

/// Registers `n` sleeps of 10 s (a first poll each), then drops them all.
pub fn timer_insert_cancel(c: &mut Criterion) {
    let mut group = c.benchmark_group("timer_insert_cancel");
    let n = 100_000;
    let rt = evloop::Runtime::new().expect("runtime");
    group.bench_function(BenchmarkId::new("evloop", n), |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut sleeps: Vec<_> = (0..n)
                    .map(|_| Box::pin(evloop::time::sleep(Duration::from_secs(10))))
                    .collect();
                poll_each_once(&mut sleeps).await;
            })
        })
    });
    let tokio_rt = tokio_rt();
    group.bench_function(BenchmarkId::new("tokio", n), |b| {
        b.iter(|| {
            tokio_rt.block_on(async {
                let mut sleeps: Vec<_> = (0..n)
                    .map(|_| Box::pin(tokio::time::sleep(Duration::from_secs(10))))
                    .collect();
                poll_each_once(&mut sleeps).await;
            })
        })
    });
    group.finish();
}

/// `n` tasks each sleep 1 ms; all are awaited.
pub fn timer_fire(c: &mut Criterion) {
    let mut group = c.benchmark_group("timer_fire");
    group.sample_size(20);
    let n = 10_000;
    let rt = evloop::Runtime::new().expect("runtime");
    group.bench_function(BenchmarkId::new("evloop", n), |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..n)
                    .map(|_| evloop::spawn(evloop::time::sleep(Duration::from_millis(1))))
                    .collect();
                for handle in handles {
                    handle.await.expect("no panic");
                }
            })
        })
    });
    let tokio_rt = tokio_rt();
    group.bench_function(BenchmarkId::new("tokio", n), |b| {
        b.iter(|| {
            tokio_rt.block_on(async {
                let handles: Vec<_> = (0..n)
                    .map(|_| tokio::spawn(tokio::time::sleep(Duration::from_millis(1))))
                    .collect();
                for handle in handles {
                    handle.await.expect("no panic");
                }
            })
        })
    });
    group.finish();
}

/// `n` awaits of `timeout(10 s, ready)`.
pub fn timeout_ready(c: &mut Criterion) {
    let mut group = c.benchmark_group("timeout_ready");
    let n = 1_000u64;
    let rt = evloop::Runtime::new().expect("runtime");
    group.bench_function(BenchmarkId::new("evloop", n), |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut sum = 0;
                for i in 0..n {
                    let ready = std::future::ready(i);
                    sum += evloop::time::timeout(Duration::from_secs(10), ready)
                        .await
                        .expect("ready in time");
                }
                sum
            })
        })
    });
    let tokio_rt = tokio_rt();
    group.bench_function(BenchmarkId::new("tokio", n), |b| {
        b.iter(|| {
            tokio_rt.block_on(async {
                let mut sum = 0;
                for i in 0..n {
                    let ready = std::future::ready(i);
                    sum += tokio::time::timeout(Duration::from_secs(10), ready)
                        .await
                        .expect("ready in time");
                }
                sum
            })
        })
    });
    group.finish();
}

/// One registered timer pushed back `n` times, as an idle timeout is on
/// every read, then dropped.
pub fn timer_reset(c: &mut Criterion) {
    let mut group = c.benchmark_group("timer_reset");
    let n = 100_000u32;
    let rt = evloop::Runtime::new().expect("runtime");
    group.bench_function(BenchmarkId::new("evloop", n), |b| {
        b.iter(|| {
            rt.block_on(async {
                let base = Instant::now() + Duration::from_secs(10);
                let mut sleeps = [Box::pin(evloop::time::sleep_until(base))];
                poll_each_once(&mut sleeps).await;
                for i in 0..n {
                    let deadline = base + Duration::from_micros(u64::from(i) * 10);
                    sleeps[0].as_mut().reset(deadline);
                }
                poll_each_once(&mut sleeps).await;
            })
        })
    });
    let tokio_rt = tokio_rt();
    group.bench_function(BenchmarkId::new("tokio", n), |b| {
        b.iter(|| {
            tokio_rt.block_on(async {
                let base = tokio::time::Instant::now() + Duration::from_secs(10);
                let mut sleeps = [Box::pin(tokio::time::sleep_until(base))];
                poll_each_once(&mut sleeps).await;
                for i in 0..n {
                    let deadline = base + Duration::from_micros(u64::from(i) * 10);
                    sleeps[0].as_mut().reset(deadline);
                }
                poll_each_once(&mut sleeps).await;
            })
        })
    });
    group.finish();
}
