//! Runtime-core workloads: spawning, yielding, waking (tokio's own
//! `rt_current_thread` benchmark shapes).

use std::future::Future;
use std::pin::Pin;

use criterion::{BenchmarkId, Criterion};

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

fn evloop_rt() -> evloop::Runtime {
    evloop::Runtime::new().expect("evloop runtime")
}

/// Spawn `n` empty tasks from inside the loop, await them all.
pub fn spawn_many_local(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_many_local");
    for n in [1_000usize, 10_000] {
        let rt = evloop_rt();
        group.bench_function(BenchmarkId::new("evloop", n), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let handles: Vec<_> = (0..n).map(|_| evloop::spawn(async {})).collect();
                    for handle in handles {
                        handle.await.expect("no panic");
                    }
                })
            })
        });
        let (tokio_rt, local) = (tokio_rt(), tokio::task::LocalSet::new());
        group.bench_function(BenchmarkId::new("tokio", n), |b| {
            b.iter(|| {
                local.block_on(&tokio_rt, async {
                    let handles: Vec<_> =
                        (0..n).map(|_| tokio::task::spawn_local(async {})).collect();
                    for handle in handles {
                        handle.await.expect("no panic");
                    }
                })
            })
        });
    }
    group.finish();
}

const REMOTE_SPAWNS: usize = 1_000;

/// Spawn from another thread through the handle while the loop is idle,
/// then await the tasks on the loop.
pub fn spawn_many_remote_idle(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_many_remote_idle");
    remote_spawns(&mut group, false);
    group.finish();
}

/// The same with a task on the loop that wakes itself forever.
pub fn spawn_many_remote_busy(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_many_remote_busy");
    remote_spawns(&mut group, true);
    group.finish();
}

fn remote_spawns(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    busy: bool,
) {
    let rt = evloop_rt();
    if busy {
        drop(rt.spawn(async {
            loop {
                evloop::yield_now().await;
            }
        }));
    }
    let handle = rt.handle();
    group.bench_function("evloop", |b| {
        b.iter(|| {
            let handles = std::thread::scope(|s| {
                s.spawn(|| {
                    (0..REMOTE_SPAWNS)
                        .map(|_| handle.spawn(async {}))
                        .collect::<Vec<_>>()
                })
                .join()
                .expect("spawner")
            });
            rt.block_on(async {
                for handle in handles {
                    handle.await.expect("no panic");
                }
            })
        })
    });
    let tokio_rt = tokio_rt();
    if busy {
        tokio_rt.spawn(async {
            loop {
                tokio::task::yield_now().await;
            }
        });
    }
    let handle = tokio_rt.handle().clone();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            let handles = std::thread::scope(|s| {
                s.spawn(|| {
                    (0..REMOTE_SPAWNS)
                        .map(|_| handle.spawn(async {}))
                        .collect::<Vec<_>>()
                })
                .join()
                .expect("spawner")
            });
            tokio_rt.block_on(async {
                for handle in handles {
                    handle.await.expect("no panic");
                }
            })
        })
    });
}

/// 200 tasks each yielding 1,000 times.
pub fn yield_many(c: &mut Criterion) {
    const TASKS: usize = 200;
    const YIELDS: usize = 1_000;
    let mut group = c.benchmark_group("yield_many");
    let rt = evloop_rt();
    group.bench_function("evloop", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..TASKS)
                    .map(|_| {
                        evloop::spawn(async {
                            for _ in 0..YIELDS {
                                evloop::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for handle in handles {
                    handle.await.expect("no panic");
                }
            })
        })
    });
    let (tokio_rt, local) = (tokio_rt(), tokio::task::LocalSet::new());
    group.bench_function("tokio", |b| {
        b.iter(|| {
            local.block_on(&tokio_rt, async {
                let handles: Vec<_> = (0..TASKS)
                    .map(|_| {
                        tokio::task::spawn_local(async {
                            for _ in 0..YIELDS {
                                tokio::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for handle in handles {
                    handle.await.expect("no panic");
                }
            })
        })
    });
    group.finish();
}

const CHAIN: usize = 1_000;

/// A chain of 1,000 tasks, each spawning the next and awaiting it.
pub fn chained_spawn(c: &mut Criterion) {
    fn evloop_chain(n: usize) -> Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(async move {
            if n > 0 {
                evloop::spawn(evloop_chain(n - 1)).await.expect("no panic");
            }
        })
    }
    fn tokio_chain(n: usize) -> Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(async move {
            if n > 0 {
                tokio::task::spawn_local(tokio_chain(n - 1))
                    .await
                    .expect("no panic");
            }
        })
    }
    let mut group = c.benchmark_group("chained_spawn");
    let rt = evloop_rt();
    group.bench_function("evloop", |b| b.iter(|| rt.block_on(evloop_chain(CHAIN))));
    let (tokio_rt, local) = (tokio_rt(), tokio::task::LocalSet::new());
    group.bench_function("tokio", |b| {
        b.iter(|| local.block_on(&tokio_rt, tokio_chain(CHAIN)))
    });
    group.finish();
}
