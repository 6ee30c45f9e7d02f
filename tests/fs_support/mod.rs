//! Helpers shared by the inline file-read tests: scratch files, evicting
//! pages from the page cache, and a pool whose only thread can be kept busy
//! (so that a read which needs the pool visibly cannot finish).

#![allow(dead_code)]

use std::future::poll_fn;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::Poll;

use evloop::fs::File;
use futures::io::{AsyncRead, AsyncReadExt};

/// A fresh, empty directory for one test, named after it and the process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("evloop-inline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `len` bytes that differ from `seed` to `seed` and repeat every 253
/// bytes, so that a read from the wrong offset shows.
pub fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + seed) % 253) as u8).collect()
}

/// Writes `data` to `path` and makes it durable, so that its pages are
/// clean and `drop_cache` can evict them.
pub fn write_synced(path: &Path, data: &[u8]) {
    let mut file = std::fs::File::create(path).expect("create");
    file.write_all(data).expect("write");
    file.sync_all().expect("fsync");
}

/// Asks the kernel to drop `path`'s clean pages from the page cache, so
/// that the next read needs the disk (an advice: the kernel may keep some).
pub fn drop_cache(path: &Path) {
    let file = std::fs::File::open(path).expect("open for fadvise");
    file.sync_all().expect("fsync");
    // SAFETY: posix_fadvise only reads its integer arguments; the
    // descriptor is open for the call.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0, "posix_fadvise failed");
}

/// Polls one `poll_read` of `file` once; `Ready` means it did not wait for
/// the pool.
pub async fn read_once(file: &mut File, buf: &mut [u8]) -> Poll<std::io::Result<usize>> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *file).poll_read(cx, buf))).await
}

pub fn inline_supported() -> bool {
    cfg!(target_os = "linux")
}

pub fn no_inline() -> evloop::Runtime {
    evloop::Runtime::builder()
        .inline_file_reads(false)
        .build()
        .expect("runtime")
}

/// A runtime with one pool thread, and a way to keep that thread busy: a
/// read that needs the pool cannot finish while it is, an inline one can.
pub fn one_pool_thread(inline: bool) -> evloop::Runtime {
    evloop::Runtime::builder()
        .max_blocking_threads(1)
        .inline_file_reads(inline)
        .build()
        .expect("runtime")
}

/// Occupies the pool's only thread until the returned sender is dropped.
pub fn occupy_the_pool() -> std::sync::mpsc::Sender<()> {
    let (release, wait) = std::sync::mpsc::channel::<()>();
    drop(evloop::spawn_blocking(move || {
        let _ = wait.recv();
    }));
    release
}

/// Reads `path` in uneven chunks, evicting its pages every few reads.
pub async fn read_mixed(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = File::open(path).await?;
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 10_000];
    for round in 0.. {
        if round % 3 == 0 {
            drop_cache(path);
        }
        let want = 1 + (round * 4099) % chunk.len();
        let n = file.read(&mut chunk[..want]).await?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&chunk[..n]);
    }
    unreachable!("the loop returns at the end of the file")
}
