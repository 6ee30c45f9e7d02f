//! Synchronisation workloads: oneshot ping-pong, request/reply over mpsc,
//! mpsc throughput, semaphore acquire/release.
//!
//! Every group runs the same program on evloop and on tokio's current-thread
//! runtime; tasks are spawned and awaited inside the timed iteration.

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion};

const ROUND_TRIPS: u64 = 1_000;

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

/// Two spawned tasks, client and server (the `block_on` future only waits
/// for them). A ping carries the sender for its pong; a pong, the sender
/// for the next ping. So each round trip uses two fresh oneshot channels.
macro_rules! ping_pong_program {
    ($oneshot:path, $spawn:path) => {{
        use $oneshot as oneshot;
        struct Ping(u64, oneshot::Sender<Pong>);
        struct Pong(u64, oneshot::Sender<Ping>);
        let (first_tx, mut rx) = oneshot::channel::<Ping>();
        let server = $spawn(async move {
            loop {
                let Ok(Ping(n, reply)) = rx.await else { break };
                let (next_tx, next_rx) = oneshot::channel();
                if reply.send(Pong(n, next_tx)).is_err() {
                    break;
                }
                rx = next_rx;
            }
        });
        let client = $spawn(async move {
            let mut tx = first_tx;
            let mut sum = 0;
            for i in 0..ROUND_TRIPS {
                let (reply_tx, reply_rx) = oneshot::channel();
                assert!(tx.send(Ping(i, reply_tx)).is_ok(), "server alive");
                let Pong(n, next) = reply_rx.await.expect("server replies");
                sum += n;
                tx = next;
            }
            sum
        });
        let sum = client.await.expect("no panic");
        server.await.expect("no panic");
        sum
    }};
}

pub fn ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("ping_pong");
    let rt = evloop::Runtime::new().expect("runtime");
    group.bench_function(BenchmarkId::new("evloop", ROUND_TRIPS), |b| {
        b.iter(|| rt.block_on(async { ping_pong_program!(evloop::sync::oneshot, evloop::spawn) }))
    });
    let tokio_rt = tokio_rt();
    group.bench_function(BenchmarkId::new("tokio", ROUND_TRIPS), |b| {
        b.iter(|| {
            tokio_rt.block_on(async { ping_pong_program!(tokio::sync::oneshot, tokio::spawn) })
        })
    });
    group.finish();
}

/// A server task answers requests from an mpsc(10) on the oneshot each
/// request carries; a client task waits for each answer before the next.
macro_rules! request_reply_program {
    ($sync:path, $spawn:path) => {{
        use $sync as sync;
        let (tx, mut rx) = sync::mpsc::channel::<(u64, sync::oneshot::Sender<u64>)>(10);
        let server = $spawn(async move {
            while let Some((n, reply)) = rx.recv().await {
                let _ = reply.send(n * 2);
            }
        });
        let client = $spawn(async move {
            let mut sum = 0;
            for i in 0..ROUND_TRIPS {
                let (reply_tx, reply_rx) = sync::oneshot::channel();
                assert!(tx.send((i, reply_tx)).await.is_ok(), "server alive");
                sum += reply_rx.await.expect("server replies");
            }
            sum
        });
        let sum = client.await.expect("no panic");
        server.await.expect("no panic");
        sum
    }};
}

pub fn request_reply(c: &mut Criterion) {
    let mut group = c.benchmark_group("request_reply");
    let rt = evloop::Runtime::new().expect("runtime");
    group.bench_function(BenchmarkId::new("evloop", ROUND_TRIPS), |b| {
        b.iter(|| rt.block_on(async { request_reply_program!(evloop::sync, evloop::spawn) }))
    });
    let tokio_rt = tokio_rt();
    group.bench_function(BenchmarkId::new("tokio", ROUND_TRIPS), |b| {
        b.iter(|| tokio_rt.block_on(async { request_reply_program!(tokio::sync, tokio::spawn) }))
    });
    group.finish();
}

const PRODUCERS: u64 = 5;
const MESSAGES: u64 = 1_000;

/// Five producer tasks send 1,000 messages each into one bounded channel;
/// the main task receives all of them.
macro_rules! throughput_program {
    ($mpsc:path, $spawn:path) => {{
        use $mpsc as mpsc;
        let (tx, mut rx) = mpsc::channel::<u64>(128);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|_| {
                let tx = tx.clone();
                $spawn(async move {
                    for i in 0..MESSAGES {
                        assert!(tx.send(i).await.is_ok(), "receiver alive");
                    }
                })
            })
            .collect();
        drop(tx);
        let mut sum = 0;
        while let Some(n) = rx.recv().await {
            sum += n;
        }
        for producer in producers {
            producer.await.expect("no panic");
        }
        sum
    }};
}

pub fn mpsc_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("mpsc_throughput");
    let n = PRODUCERS * MESSAGES;
    let rt = evloop::Runtime::new().expect("runtime");
    group.bench_function(BenchmarkId::new("evloop", n), |b| {
        b.iter(|| rt.block_on(async { throughput_program!(evloop::sync::mpsc, evloop::spawn) }))
    });
    let tokio_rt = tokio_rt();
    group.bench_function(BenchmarkId::new("tokio", n), |b| {
        b.iter(|| tokio_rt.block_on(async { throughput_program!(tokio::sync::mpsc, tokio::spawn) }))
    });
    group.finish();
}

const ACQUIRES: usize = 1_000;

/// `uncontended`: one task acquires and releases 1,000 times.
/// `contended`: 10 tasks share 2 permits, each acquiring 100 times and
/// yielding while it holds the permit, so most acquires wait in the queue.
macro_rules! semaphore_program {
    (uncontended, $sync:path) => {{
        use $sync as sync;
        let semaphore = sync::Semaphore::new(1);
        for _ in 0..ACQUIRES {
            let permit = semaphore.acquire().await.expect("open");
            std::hint::black_box(&permit);
        }
    }};
    (contended, $sync:path, $spawn:path, $yield_now:path) => {{
        use $sync as sync;
        let semaphore = Arc::new(sync::Semaphore::new(2));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let semaphore = semaphore.clone();
                $spawn(async move {
                    for _ in 0..ACQUIRES / 10 {
                        let _permit = semaphore.acquire().await.expect("open");
                        $yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("no panic");
        }
    }};
}

pub fn semaphore(c: &mut Criterion) {
    let mut group = c.benchmark_group("semaphore");
    let rt = evloop::Runtime::new().expect("runtime");
    let tokio_rt = tokio_rt();
    group.bench_function(BenchmarkId::new("evloop", "uncontended"), |b| {
        b.iter(|| rt.block_on(async { semaphore_program!(uncontended, evloop::sync) }))
    });
    group.bench_function(BenchmarkId::new("tokio", "uncontended"), |b| {
        b.iter(|| tokio_rt.block_on(async { semaphore_program!(uncontended, tokio::sync) }))
    });
    group.bench_function(BenchmarkId::new("evloop", "contended"), |b| {
        b.iter(|| {
            rt.block_on(async {
                semaphore_program!(contended, evloop::sync, evloop::spawn, evloop::yield_now)
            })
        })
    });
    group.bench_function(BenchmarkId::new("tokio", "contended"), |b| {
        b.iter(|| {
            tokio_rt.block_on(async {
                semaphore_program!(contended, tokio::sync, tokio::spawn, tokio::task::yield_now)
            })
        })
    });
    group.finish();
}
