//! Blocking-pool workloads: spawn_blocking round trips and file reads.

use std::io::Read;

use criterion::Criterion;
use futures::io::AsyncReadExt;

/// 100 batches of 16 no-op `spawn_blocking` calls, each batch awaited.
pub fn spawn_blocking(c: &mut Criterion) {
    const BATCHES: usize = 100;
    const PER_BATCH: usize = 16;
    let mut group = c.benchmark_group("spawn_blocking");
    let rt = evloop::Runtime::new().expect("runtime");
    group.bench_function("evloop", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..BATCHES {
                    let handles: Vec<_> = (0..PER_BATCH)
                        .map(|_| evloop::spawn_blocking(|| ()))
                        .collect();
                    for handle in handles {
                        handle.await.expect("no panic");
                    }
                }
            })
        })
    });
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    group.bench_function("tokio", |b| {
        b.iter(|| {
            tokio_rt.block_on(async {
                for _ in 0..BATCHES {
                    let handles: Vec<_> = (0..PER_BATCH)
                        .map(|_| tokio::task::spawn_blocking(|| ()))
                        .collect();
                    for handle in handles {
                        handle.await.expect("no panic");
                    }
                }
            })
        })
    });
    group.finish();
}

/// 1,000 reads of 4 KiB from `/dev/zero` through each runtime's async
/// `File`, and through `std::fs::File` as the floor (no pool at all).
pub fn fs_read_4k(c: &mut Criterion) {
    const READS: usize = 1_000;
    let mut group = c.benchmark_group("fs_read_4k");
    let rt = evloop::Runtime::new().expect("runtime");
    group.bench_function("evloop", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut file = evloop::fs::File::open("/dev/zero").await.expect("open");
                let mut buf = [0u8; 4096];
                for _ in 0..READS {
                    file.read_exact(&mut buf).await.expect("read");
                }
            })
        })
    });
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    group.bench_function("tokio", |b| {
        b.iter(|| {
            tokio_rt.block_on(async {
                use tokio::io::AsyncReadExt;
                let mut file = tokio::fs::File::open("/dev/zero").await.expect("open");
                let mut buf = [0u8; 4096];
                for _ in 0..READS {
                    file.read_exact(&mut buf).await.expect("read");
                }
            })
        })
    });
    group.bench_function("std", |b| {
        b.iter(|| {
            let mut file = std::fs::File::open("/dev/zero").expect("open");
            let mut buf = [0u8; 4096];
            for _ in 0..READS {
                file.read_exact(&mut buf).expect("read");
            }
        })
    });
    group.finish();
}
