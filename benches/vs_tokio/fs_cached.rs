//! Regular-file reads: from the page cache, where evloop reads on the loop's
//! thread (`preadv2(RWF_NOWAIT)`), and from the disk, where it goes to the
//! pool like tokio.
//!
//! Every group has four functions: `evloop`, `evloop_pool` (the same
//! runtime built with `Builder::inline_file_reads(false)`: every read on
//! the pool, evloop's path before inline reads), `tokio` and `std` (plain
//! blocking reads on the bench thread, the floor).

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use criterion::Criterion;
use futures::io::AsyncReadExt;

/// 4 KiB reads per iteration of the 4 KiB groups.
const READS: usize = 1_000;
/// The read size of the 4 KiB groups.
const CHUNK: usize = 4096;
/// Reads per iteration of the uncached group (each one waits for the disk).
const UNCACHED_READS: usize = 50;

/// A file of `len` bytes in the temp dir, written (and fsynced, so that its
/// pages are clean and can be evicted) once, then read once to cache it.
fn bench_file(name: &str, len: usize) -> PathBuf {
    let path = std::env::temp_dir().join(format!("evloop-bench-{name}-{}", std::process::id()));
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let mut file = std::fs::File::create(&path).expect("create bench file");
    file.write_all(&data).expect("write bench file");
    file.sync_all().expect("fsync bench file");
    let _ = std::fs::read(&path).expect("cache bench file");
    path
}

/// Evicts `file`'s clean pages from the page cache.
fn drop_cache(file: &std::fs::File) {
    // SAFETY: posix_fadvise only reads its integer arguments; the
    // descriptor is open for the call.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0, "posix_fadvise");
}

fn runtimes() -> [(&'static str, evloop::Runtime); 2] {
    let pool_only = evloop::Runtime::builder()
        .inline_file_reads(false)
        .build()
        .expect("runtime");
    [
        ("evloop", evloop::Runtime::new().expect("runtime")),
        ("evloop_pool", pool_only),
    ]
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

/// 1,000 reads of 4 KiB from a cached 4 MB file, opened once per
/// iteration.
pub fn fs_cached_read_4k(c: &mut Criterion) {
    let path = bench_file("cached-4k", READS * CHUNK);
    let mut group = c.benchmark_group("fs_cached_read_4k");
    for (name, rt) in runtimes() {
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut file = evloop::fs::File::open(&path).await.expect("open");
                    let mut buf = [0u8; CHUNK];
                    for _ in 0..READS {
                        file.read_exact(&mut buf).await.expect("read");
                    }
                })
            })
        });
    }
    let tokio_rt = tokio_rt();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            tokio_rt.block_on(async {
                use tokio::io::AsyncReadExt;
                let mut file = tokio::fs::File::open(&path).await.expect("open");
                let mut buf = [0u8; CHUNK];
                for _ in 0..READS {
                    file.read_exact(&mut buf).await.expect("read");
                }
            })
        })
    });
    group.bench_function("std", |b| {
        b.iter(|| {
            let mut file = std::fs::File::open(&path).expect("open");
            let mut buf = [0u8; CHUNK];
            for _ in 0..READS {
                file.read_exact(&mut buf).expect("read");
            }
        })
    });
    group.finish();
    let _ = std::fs::remove_file(path);
}

/// `fs::read` of a whole cached 1 MiB file.
pub fn fs_cached_read_1m(c: &mut Criterion) {
    let path = bench_file("cached-1m", 1024 * 1024);
    let mut group = c.benchmark_group("fs_cached_read_1m");
    for (name, rt) in runtimes() {
        group.bench_function(name, |b| {
            b.iter(|| rt.block_on(async { evloop::fs::read(&path).await.expect("read").len() }))
        });
    }
    let tokio_rt = tokio_rt();
    group.bench_function("tokio", |b| {
        b.iter(|| tokio_rt.block_on(async { tokio::fs::read(&path).await.expect("read").len() }))
    });
    group.bench_function("std", |b| {
        b.iter(|| std::fs::read(&path).expect("read").len())
    });
    group.finish();
    let _ = std::fs::remove_file(path);
}

/// 50 reads of 4 KiB, each after evicting the whole file from the page
/// cache: every read waits for the disk (the VM's virtual disk here), and
/// evloop's inline attempt is pure overhead.
pub fn fs_uncached_read_4k(c: &mut Criterion) {
    let path = bench_file("uncached-4k", UNCACHED_READS * CHUNK);
    let evictor = std::fs::File::open(&path).expect("open");
    let mut group = c.benchmark_group("fs_uncached_read_4k");
    for (name, rt) in runtimes() {
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut file = evloop::fs::File::open(&path).await.expect("open");
                    let mut buf = [0u8; CHUNK];
                    for _ in 0..UNCACHED_READS {
                        drop_cache(&evictor);
                        file.read_exact(&mut buf).await.expect("read");
                    }
                })
            })
        });
    }
    let tokio_rt = tokio_rt();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            tokio_rt.block_on(async {
                use tokio::io::AsyncReadExt;
                let mut file = tokio::fs::File::open(&path).await.expect("open");
                let mut buf = [0u8; CHUNK];
                for _ in 0..UNCACHED_READS {
                    drop_cache(&evictor);
                    file.read_exact(&mut buf).await.expect("read");
                }
            })
        })
    });
    group.bench_function("std", |b| b.iter(|| uncached_std(&path, &evictor)));
    group.finish();
    let _ = std::fs::remove_file(path);
}

fn uncached_std(path: &Path, evictor: &std::fs::File) {
    let mut file = std::fs::File::open(path).expect("open");
    let mut buf = [0u8; CHUNK];
    for _ in 0..UNCACHED_READS {
        drop_cache(evictor);
        file.read_exact(&mut buf).expect("read");
    }
}
