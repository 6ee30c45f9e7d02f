//! evloop beside tokio, one criterion group per workload.
//!
//! Run: `cargo bench --bench vs_tokio` (a group alone: `cargo bench --bench
//! vs_tokio -- spawn_many_local`). Each group has two functions, `evloop` and
//! `tokio` (tokio's current-thread runtime, `LocalSet` for `!Send` work).
//! Runtimes are built once, outside the timed loop; every spawned task is
//! awaited inside the iteration. `cargo run --release --example bench_report`
//! turns criterion's results into the table in `docs/performance.md`.

use criterion::{criterion_group, criterion_main};

mod blocking;
mod fs_cached;
mod net;
mod rt;
mod sync;
mod time;

criterion_group!(
    core_benches,
    rt::spawn_many_local,
    rt::spawn_many_remote_idle,
    rt::spawn_many_remote_busy,
    rt::yield_many,
    rt::chained_spawn
);
criterion_group!(
    time_benches,
    time::timer_insert_cancel,
    time::timer_fire,
    time::timeout_ready,
    time::timer_reset
);
criterion_group!(
    sync_benches,
    sync::ping_pong,
    sync::request_reply,
    sync::mpsc_throughput,
    sync::semaphore
);
criterion_group!(
    blocking_benches,
    blocking::spawn_blocking,
    blocking::fs_read_4k
);
criterion_group!(
    fs_benches,
    fs_cached::fs_cached_read_4k,
    fs_cached::fs_cached_read_1m,
    fs_cached::fs_uncached_read_4k
);
criterion_group!(net_benches, net::tcp_echo_roundtrip);
criterion_main!(
    core_benches,
    time_benches,
    sync_benches,
    blocking_benches,
    fs_benches,
    net_benches
);
