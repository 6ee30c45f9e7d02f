//! Runtime-core workloads: spawning, yielding, waking.

use criterion::{BenchmarkId, Criterion};

pub fn spawn_many_local(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_many_local");
    for n in [1_000usize, 10_000] {
        let rt = evloop::Runtime::new().expect("runtime");
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
        let tokio_rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let local = tokio::task::LocalSet::new();
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
