//! evloop beside tokio, one criterion group per workload.
//!
//! Run: `cargo bench --bench vs_tokio` (a group alone: `cargo bench --bench
//! vs_tokio -- spawn_many_local`). Each group has two functions, `evloop` and
//! `tokio` (tokio's current-thread runtime, `LocalSet` for `!Send` work).
//! Runtimes are built once, outside the timed loop; every spawned task is
//! awaited inside the iteration. `cargo run --release --example bench_report`
//! turns criterion's results into the table in `docs/performance.md`.

use criterion::{criterion_group, criterion_main};

mod net;
mod rt;

criterion_group!(core_benches, rt::spawn_many_local);
criterion_group!(net_benches, net::tcp_echo_roundtrip);
criterion_main!(core_benches, net_benches);
