//! File reads, evloop (inline and pool-only) beside tokio and std, measured
//! *interleaved*: one round runs each contender once, in turn, and the
//! medians over many rounds are printed. On a shared, noisy machine this is
//! fairer than criterion's one-function-after-another: a burst of load hits
//! every contender alike.
//!
//! Run: `cargo run --release --example fs_read_probe -- [cached4k|cached1m|uncached4k]`
//! (all three without an argument). The workloads are those of the criterion
//! groups `fs_cached_read_4k`, `fs_cached_read_1m` and `fs_uncached_read_4k`
//! in `benches/vs_tokio/fs_cached.rs`. For "the other core busy":
//! `taskset -c 1 sh -c 'while :; do :; done' &` then prefix the command
//! with `taskset -c 0`.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::io::AsyncReadExt;

const CHUNK: usize = 4096;

/// A file of `len` bytes, fsynced (so evictable) and then cached.
fn make_file(name: &str, len: usize) -> std::io::Result<PathBuf> {
    let path = std::env::temp_dir().join(format!("evloop-probe-{name}-{}", std::process::id()));
    let mut file = std::fs::File::create(&path)?;
    file.write_all(&vec![7u8; len])?;
    file.sync_all()?;
    std::fs::read(&path)?;
    Ok(path)
}

/// Drops the file's pages from the page cache, if `evict` is set.
fn maybe_evict(evict: Option<&std::fs::File>) {
    if let Some(file) = evict {
        // SAFETY: posix_fadvise only reads its integer arguments; the
        // descriptor is open for the call.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
}

/// `reads` reads of 4 KiB from a freshly opened file, four ways.
fn reads_4k(path: &Path, reads: usize, evict: Option<&std::fs::File>) -> [Duration; 4] {
    let mut times = [Duration::ZERO; 4];
    for (i, rt) in evloop_runtimes().iter().enumerate() {
        let start = Instant::now();
        rt.block_on(async {
            let mut file = evloop::fs::File::open(path).await.expect("open");
            let mut buf = [0u8; CHUNK];
            for _ in 0..reads {
                maybe_evict(evict);
                file.read_exact(&mut buf).await.expect("read");
            }
        });
        times[i] = start.elapsed();
    }
    let start = Instant::now();
    tokio_rt().block_on(async {
        use tokio::io::AsyncReadExt;
        let mut file = tokio::fs::File::open(path).await.expect("open");
        let mut buf = [0u8; CHUNK];
        for _ in 0..reads {
            maybe_evict(evict);
            file.read_exact(&mut buf).await.expect("read");
        }
    });
    times[2] = start.elapsed();
    let start = Instant::now();
    let mut file = std::fs::File::open(path).expect("open");
    let mut buf = [0u8; CHUNK];
    for _ in 0..reads {
        maybe_evict(evict);
        file.read_exact(&mut buf).expect("read");
    }
    times[3] = start.elapsed();
    times
}

/// One whole-file read, four ways.
fn read_whole(path: &Path) -> [Duration; 4] {
    let mut times = [Duration::ZERO; 4];
    for (i, rt) in evloop_runtimes().iter().enumerate() {
        let start = Instant::now();
        rt.block_on(evloop::fs::read(path)).expect("read");
        times[i] = start.elapsed();
    }
    let start = Instant::now();
    tokio_rt().block_on(tokio::fs::read(path)).expect("read");
    times[2] = start.elapsed();
    let start = Instant::now();
    std::fs::read(path).expect("read");
    times[3] = start.elapsed();
    times
}

thread_local! {
    /// Built once: evloop with inline reads, and with every read on the pool.
    static RUNTIMES: [std::rc::Rc<evloop::Runtime>; 2] = [
        std::rc::Rc::new(evloop::Runtime::new().expect("runtime")),
        std::rc::Rc::new(
            evloop::Runtime::builder().inline_file_reads(false).build().expect("runtime"),
        ),
    ];
    /// tokio's current-thread runtime, built once.
    static TOKIO: std::rc::Rc<tokio::runtime::Runtime> = std::rc::Rc::new(
        tokio::runtime::Builder::new_current_thread().build().expect("runtime"),
    );
}

fn evloop_runtimes() -> [std::rc::Rc<evloop::Runtime>; 2] {
    RUNTIMES.with(Clone::clone)
}

fn tokio_rt() -> std::rc::Rc<tokio::runtime::Runtime> {
    TOKIO.with(Clone::clone)
}

/// Runs `round` `rounds` times and prints each contender's percentiles.
fn report(name: &str, rounds: usize, mut round: impl FnMut() -> [Duration; 4]) {
    let mut samples: [Vec<Duration>; 4] = Default::default();
    for _ in 0..rounds {
        for (all, one) in samples.iter_mut().zip(round()) {
            all.push(one);
        }
    }
    for (who, mut times) in ["evloop", "evloop_pool", "tokio", "std"]
        .into_iter()
        .zip(samples)
    {
        times.sort();
        let at = |q: usize| times[(times.len() - 1) * q / 100];
        println!(
            "{name:11} {who:12} p10 {:>10.1?}  median {:>10.1?}  p90 {:>10.1?}",
            at(10),
            at(50),
            at(90)
        );
    }
}

fn main() -> std::io::Result<()> {
    let which = std::env::args().nth(1);
    let wants = |name: &str| which.as_deref().is_none_or(|w| w == name);
    if wants("cached4k") {
        let path = make_file("4k", 1_000 * CHUNK)?;
        report("cached4k", 40, || reads_4k(&path, 1_000, None));
        std::fs::remove_file(path)?;
    }
    if wants("cached1m") {
        let path = make_file("1m", 1024 * 1024)?;
        report("cached1m", 400, || read_whole(&path));
        std::fs::remove_file(path)?;
    }
    if wants("uncached4k") {
        let path = make_file("uncached", 50 * CHUNK)?;
        let evictor = std::fs::File::open(&path)?;
        report("uncached4k", 60, || reads_4k(&path, 50, Some(&evictor)));
        std::fs::remove_file(path)?;
    }
    Ok(())
}
