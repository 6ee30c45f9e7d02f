//! Inline file reads (`preadv2(RWF_NOWAIT)` on the loop's thread): the same
//! bytes as the pool, at the same positions, whether the page cache has
//! them or not, and never at the price of the loop's other tasks.

use std::cell::Cell;
use std::future::poll_fn;
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;

use evloop::fs::{File, OpenOptions};
use futures::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("evloop-inline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + seed) % 253) as u8).collect()
}

/// Writes `data` to `path` and makes it durable, so that its pages are
/// clean and `drop_cache` can evict them.
fn write_synced(path: &Path, data: &[u8]) {
    let mut file = std::fs::File::create(path).expect("create");
    file.write_all(data).expect("write");
    file.sync_all().expect("fsync");
}

/// Asks the kernel to drop `path`'s clean pages from the page cache, so
/// that the next read needs the disk (an advice: the kernel may keep some).
fn drop_cache(path: &Path) {
    let file = std::fs::File::open(path).expect("open for fadvise");
    file.sync_all().expect("fsync");
    // SAFETY: posix_fadvise only reads its integer arguments; the
    // descriptor is open for the call.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0, "posix_fadvise failed");
}

/// Polls one `poll_read` of `file` once; `Ready` means it did not wait for
/// the pool.
async fn read_once(file: &mut File, buf: &mut [u8]) -> Poll<std::io::Result<usize>> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *file).poll_read(cx, buf))).await
}

fn inline_supported() -> bool {
    cfg!(target_os = "linux")
}

fn no_inline() -> evloop::Runtime {
    evloop::Runtime::builder()
        .inline_file_reads(false)
        .build()
        .expect("runtime")
}

/// A runtime with one pool thread, and a way to keep that thread busy: a
/// read that needs the pool cannot finish while it is, an inline one can.
fn one_pool_thread(inline: bool) -> evloop::Runtime {
    evloop::Runtime::builder()
        .max_blocking_threads(1)
        .inline_file_reads(inline)
        .build()
        .expect("runtime")
}

/// Occupies the pool's only thread until the returned sender is dropped.
fn occupy_the_pool() -> std::sync::mpsc::Sender<()> {
    let (release, wait) = std::sync::mpsc::channel::<()>();
    drop(evloop::spawn_blocking(move || {
        let _ = wait.recv();
    }));
    release
}

#[test]
fn a_cached_read_needs_no_pool_thread_unless_switched_off() {
    let dir = scratch("first-poll");
    let path = dir.join("f");
    let data = pattern(16 * 1024, 1);
    write_synced(&path, &data);
    let _ = std::fs::read(&path).expect("warm the cache");
    for inline in [true, false] {
        let mut buf = [0u8; 4096];
        let first = one_pool_thread(inline).block_on(async {
            let mut file = File::open(&path).await.expect("open");
            let release = occupy_the_pool();
            let first = read_once(&mut file, &mut buf).await;
            drop(release);
            if first.is_pending() {
                file.read_exact(&mut buf).await.expect("read");
            }
            first
        });
        assert_eq!(&buf[..], &data[..4096]);
        if !inline {
            assert!(
                first.is_pending(),
                "with the switch off every read takes the pool"
            );
        } else if inline_supported() {
            assert!(matches!(first, Poll::Ready(Ok(4096))), "{first:?}");
        }
    }
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// Reads `path` in uneven chunks, evicting its pages every few reads.
async fn read_mixed(path: &Path) -> std::io::Result<Vec<u8>> {
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

#[test]
fn mixed_cached_and_uncached_reads_are_exact() {
    let dir = scratch("mixed");
    let path = dir.join("f");
    let data = pattern(700 * 1024 + 17, 2);
    write_synced(&path, &data);
    let (back, whole) = evloop::block_on(async {
        let back = read_mixed(&path).await?;
        drop_cache(&path);
        let whole = evloop::fs::read(&path).await?; // uncached
        let again = evloop::fs::read(&path).await?; // cached by the read before
        assert!(
            again == whole,
            "cached fs::read differs from the uncached one"
        );
        std::io::Result::Ok((back, whole))
    })
    .expect("reads");
    assert!(back == data, "File reads differ from the file");
    assert!(whole == data, "fs::read differs from the file");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn seeks_between_reads_land_where_std_says() {
    let dir = scratch("seeks");
    let path = dir.join("f");
    let data = pattern(200 * 1024, 3);
    write_synced(&path, &data);
    let seeks = [
        SeekFrom::Start(5),
        SeekFrom::Current(70_000),
        SeekFrom::Current(-12_345),
        SeekFrom::End(-100),
        SeekFrom::Start(65_530),
        SeekFrom::Current(0),
        SeekFrom::End(10), // past the end: reads give 0
        SeekFrom::Start(1),
    ];
    let mut std_file = std::fs::File::open(&path).expect("open");
    evloop::block_on(async {
        let mut file = File::open(&path).await?;
        let mut ours = vec![0u8; 5000];
        let mut theirs = vec![0u8; 5000];
        for pos in seeks {
            let at = file.seek(pos).await?;
            assert_eq!(at, std_file.seek(pos)?, "{pos:?}");
            for _ in 0..3 {
                let n = file.read(&mut ours).await?;
                let m = std_file.read(&mut theirs)?;
                // Either path may return a short count; compare the bytes.
                let k = n.min(m);
                assert_eq!(&ours[..k], &theirs[..k], "after {pos:?}");
                std_file.seek(SeekFrom::Current(k as i64 - m as i64))?;
                file.seek(SeekFrom::Current(k as i64 - n as i64)).await?;
            }
        }
        std::io::Result::Ok(())
    })
    .expect("seeks");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn reads_at_the_end_give_zero_until_the_file_grows() {
    let dir = scratch("eof");
    let path = dir.join("f");
    write_synced(&path, b"abc");
    evloop::block_on(async {
        let mut file = File::open(&path).await?;
        let mut buf = [0u8; 16];
        assert_eq!(file.read(&mut buf).await?, 3);
        assert_eq!(file.read(&mut buf).await?, 0);
        assert_eq!(file.read(&mut buf).await?, 0);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)?
            .write_all(b"def")?;
        assert_eq!(file.read(&mut buf).await?, 3);
        assert_eq!(&buf[..3], b"def");
        assert_eq!(file.read(&mut buf).await?, 0);
        assert_eq!(evloop::fs::read(&path).await?, b"abcdef");
        std::fs::write(&path, b"")?;
        assert_eq!(evloop::fs::read(&path).await?, b"");
        std::io::Result::Ok(())
    })
    .expect("eof");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn a_file_truncated_underneath_reads_what_is_left() {
    let dir = scratch("truncate");
    let path = dir.join("f");
    let data = pattern(100_000, 4);
    write_synced(&path, &data);
    evloop::block_on(async {
        let mut file = File::open(&path).await?;
        let mut buf = vec![0u8; 10_000];
        file.read_exact(&mut buf).await?;
        assert_eq!(&buf[..], &data[..10_000]);
        // Cut the file behind our back: past the position, then before it.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)?
            .set_len(15_000)?;
        let mut rest = Vec::new();
        file.read_to_end(&mut rest).await?;
        assert_eq!(&rest[..], &data[10_000..15_000]);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)?
            .set_len(1_000)?;
        assert_eq!(file.read(&mut buf).await?, 0, "position past the new end");
        assert_eq!(evloop::fs::read(&path).await?, &data[..1_000]);
        std::io::Result::Ok(())
    })
    .expect("truncate");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn concurrent_reads_of_one_file_from_several_tasks() {
    let dir = scratch("concurrent");
    let path = dir.join("f");
    let data = pattern(300 * 1024 + 5, 5);
    write_synced(&path, &data);
    evloop::block_on(async {
        let mut tasks = Vec::new();
        for i in 0..8usize {
            let path = path.clone();
            tasks.push(evloop::spawn(async move {
                if i == 3 {
                    drop_cache(&path); // some of them miss the cache
                }
                if i % 2 == 0 {
                    evloop::fs::read(&path).await
                } else {
                    let mut file = File::open(&path).await?;
                    let mut out = Vec::new();
                    let mut chunk = vec![0u8; 3000 + i * 1000];
                    loop {
                        let n = file.read(&mut chunk).await?;
                        if n == 0 {
                            return Ok(out);
                        }
                        out.extend_from_slice(&chunk[..n]);
                    }
                }
            }));
        }
        for (i, task) in tasks.into_iter().enumerate() {
            let got = task.await.expect("no panic").expect("read");
            assert!(got == data, "task {i} read different bytes");
        }
    });
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// One step of a read/write/seek script, run on an evloop `File` and on a
/// `std::fs::File` side by side.
#[derive(Debug, Clone, Copy)]
enum Step {
    Read(usize),
    Write(usize),
    Seek(SeekFrom),
    Flush,
}

fn script() -> Vec<Step> {
    let mut state = 0x2545_f491_u64;
    let mut next = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    (0..400)
        .map(|_| match next(10) {
            0..=3 => Step::Read(1 + next(20_000) as usize),
            4..=6 => Step::Write(1 + next(9_000) as usize),
            7 | 8 => Step::Seek(match next(3) {
                0 => SeekFrom::Start(next(150_000)),
                1 => SeekFrom::Current(next(20_000) as i64 - 10_000),
                _ => SeekFrom::End(-(next(5_000) as i64)),
            }),
            _ => Step::Flush,
        })
        .collect()
}

/// Runs the script; returns every read's bytes and the final contents.
async fn run_script(path: &Path, model: &Path) -> std::io::Result<()> {
    let mut file = OpenOptions::new().read(true).write(true).open(path).await?;
    let mut std_file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(model)?;
    let mut seed = 0;
    for step in script() {
        match step {
            Step::Read(len) => {
                let mut ours = vec![0u8; len];
                let mut theirs = vec![0u8; len];
                file.read_exact(&mut ours)
                    .await
                    .or_else(|e| ignore_eof(e, &mut ours))?;
                std_file
                    .read_exact(&mut theirs)
                    .or_else(|e| ignore_eof(e, &mut theirs))?;
                // read_exact past the end: compare positions instead.
                let (a, b) = (file.stream_position().await?, std_file.stream_position()?);
                assert_eq!(a, b, "positions after {step:?}");
                if ours.len() == len && theirs.len() == len {
                    assert_eq!(ours, theirs, "bytes of {step:?}");
                }
            }
            Step::Write(len) => {
                seed += 1;
                let bytes = pattern(len, seed);
                file.write_all(&bytes).await?; // accepted, maybe in flight
                std_file.write_all(&bytes)?;
            }
            Step::Seek(pos) => {
                assert_eq!(file.seek(pos).await?, std_file.seek(pos)?, "{step:?}");
            }
            Step::Flush => file.flush().await?,
        }
    }
    file.flush().await?;
    Ok(())
}

/// A `read_exact` that hit the end leaves its buffer in an unknown state:
/// mark it so that the caller compares positions only.
fn ignore_eof(error: std::io::Error, buf: &mut Vec<u8>) -> std::io::Result<()> {
    if error.kind() == ErrorKind::UnexpectedEof {
        buf.clear();
        Ok(())
    } else {
        Err(error)
    }
}

fn reads_racing_writes(rt: &evloop::Runtime, name: &str) {
    let dir = scratch(name);
    let (path, model) = (dir.join("ours"), dir.join("model"));
    let data = pattern(120_000, 6);
    write_synced(&path, &data);
    write_synced(&model, &data);
    rt.block_on(run_script(&path, &model)).expect("script");
    let (ours, theirs) = (std::fs::read(&path), std::fs::read(&model));
    assert!(
        ours.expect("read") == theirs.expect("read"),
        "final contents differ"
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn reads_racing_writes_on_the_same_file_see_them_in_order() {
    reads_racing_writes(&evloop::Runtime::new().expect("runtime"), "race");
}

#[test]
fn the_pool_only_path_gives_the_same_bytes() {
    reads_racing_writes(&no_inline(), "race-pool");
    let dir = scratch("pool-only");
    let path = dir.join("f");
    let data = pattern(200 * 1024 + 3, 7);
    write_synced(&path, &data);
    let (mixed, whole, text) = no_inline()
        .block_on(async {
            let mixed = read_mixed(&path).await?;
            let whole = evloop::fs::read(&path).await?;
            std::fs::write(&path, "é".repeat(50_000))?;
            let text = evloop::fs::read_to_string(&path).await?;
            std::io::Result::Ok((mixed, whole, text))
        })
        .expect("reads");
    assert!(mixed == data && whole == data, "the pool path differs");
    assert_eq!(text, "é".repeat(50_000));
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn large_reads_are_exact_and_leave_the_loop_to_others() {
    let dir = scratch("large");
    let path = dir.join("f");
    let data = pattern(4 * 1024 * 1024 + 9, 8);
    write_synced(&path, &data);
    let _ = std::fs::read(&path).expect("warm the cache");
    let ticks = Rc::new(Cell::new(0u32));
    let done = Rc::new(Cell::new(false));
    let rt = evloop::Runtime::new().expect("runtime");
    let (whole, by_file, ticked) = rt.block_on(async {
        let ticker = {
            let (ticks, done) = (ticks.clone(), done.clone());
            evloop::spawn(async move {
                while !done.get() {
                    ticks.set(ticks.get() + 1);
                    evloop::yield_now().await;
                }
            })
        };
        let whole = evloop::fs::read(&path).await.expect("fs::read");
        let mut by_file = Vec::new();
        let mut file = File::open(&path).await.expect("open");
        let mut big = vec![0u8; 1024 * 1024]; // more than one poll's share
        loop {
            let n = file.read(&mut big).await.expect("read");
            if n == 0 {
                break;
            }
            by_file.extend_from_slice(&big[..n]);
        }
        let ticked = ticks.get();
        done.set(true);
        ticker.await.expect("no panic");
        (whole, by_file, ticked)
    });
    assert!(whole == data, "fs::read of a big file differs");
    assert!(by_file == data, "File reads of a big file differ");
    // 4 MiB twice is 128 slices of 64 KiB when all is inline (fewer if
    // the pool took some): the other task ran between most of them.
    if inline_supported() {
        assert!(ticked >= 32, "the other task ran only {ticked} times");
    }
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn read_to_string_checks_utf8_small_and_large() {
    let dir = scratch("utf8");
    let (small, large, bad, big_bad) = (
        dir.join("small"),
        dir.join("large"),
        dir.join("bad"),
        dir.join("big-bad"),
    );
    std::fs::write(&small, "héllo").expect("write");
    std::fs::write(&large, "ü".repeat(100_000)).expect("write");
    std::fs::write(&bad, b"ok \xff no").expect("write");
    let mut big = "a".repeat(200_000).into_bytes();
    big.push(0xc3); // a truncated two-byte sequence at the very end
    std::fs::write(&big_bad, big).expect("write");
    evloop::block_on(async {
        assert_eq!(evloop::fs::read_to_string(&small).await?, "héllo");
        assert_eq!(
            evloop::fs::read_to_string(&large).await?,
            "ü".repeat(100_000)
        );
        for path in [&bad, &big_bad] {
            let error = evloop::fs::read_to_string(path)
                .await
                .expect_err("not UTF-8");
            assert_eq!(error.kind(), ErrorKind::InvalidData);
        }
        let missing = evloop::fs::read(dir.join("missing"))
            .await
            .expect_err("none");
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        let is_dir = evloop::fs::read(&dir).await.expect_err("a directory");
        assert_eq!(is_dir.kind(), ErrorKind::IsADirectory);
        std::io::Result::Ok(())
    })
    .expect("read_to_string");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn files_that_refuse_the_flag_or_are_not_regular_still_read() {
    evloop::block_on(async {
        // procfs: regular, size 0, no RWF_NOWAIT support.
        let status = evloop::fs::read_to_string("/proc/self/status").await?;
        assert!(status.contains("Pid:"), "{status}");
        // A character device: never read inline.
        let mut zero = File::open("/dev/zero").await?;
        let mut buf = [1u8; 4096];
        zero.read_exact(&mut buf).await?;
        assert!(buf.iter().all(|&b| b == 0));
        std::io::Result::Ok(())
    })
    .expect("reads");
}

#[test]
fn a_file_from_std_learns_it_is_regular_on_its_first_read() {
    let dir = scratch("from-std");
    let path = dir.join("f");
    let data = pattern(20_000, 9);
    write_synced(&path, &data);
    let _ = std::fs::read(&path).expect("warm the cache");
    let (first, second) = one_pool_thread(true).block_on(async {
        let mut file = File::from_std(std::fs::File::open(&path).expect("open"));
        let mut buf = [0u8; 4096];
        let release = occupy_the_pool();
        let first = read_once(&mut file, &mut buf).await.is_ready();
        drop(release);
        file.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf[..], &data[..4096]);
        let release = occupy_the_pool();
        let second = read_once(&mut file, &mut buf).await;
        drop(release);
        if let Poll::Ready(Ok(n)) = second {
            assert_eq!(&buf[..n], &data[4096..4096 + n]);
        }
        (first, second)
    });
    assert!(!first, "the first read goes to the pool to learn the type");
    if inline_supported() {
        assert!(matches!(second, Poll::Ready(Ok(4096))), "{second:?}");
    }
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// `read_at` at `offset`, checked against the data, with the caller's
/// position `pos` left alone.
async fn check_read_at(file: &File, data: &[u8], offset: usize, len: usize) {
    let mut buf = vec![0u8; len];
    let n = file
        .read_at(&mut buf, offset as u64)
        .await
        .expect("read_at");
    let end = data.len().min(offset + len.min(64 * 1024));
    let expected = data.get(offset..end).unwrap_or(&[]);
    // A short count is allowed (part of the range cached); bytes must match.
    assert!(
        n <= expected.len(),
        "read_at({offset}, {len}) gave {n} bytes"
    );
    assert!(
        n > 0 || expected.is_empty(),
        "read_at({offset}, {len}) gave 0 bytes"
    );
    assert_eq!(&buf[..n], &expected[..n], "read_at({offset}, {len})");
}

fn read_at_keeps_the_position(rt: &evloop::Runtime, name: &str) {
    let dir = scratch(name);
    let path = dir.join("f");
    let data = pattern(300 * 1024 + 11, 10);
    write_synced(&path, &data);
    rt.block_on(async {
        let mut file = File::open(&path).await.expect("open");
        let mut head = [0u8; 100];
        file.read_exact(&mut head).await.expect("read");
        for (i, &(offset, len)) in [
            (0, 4096),
            (12_345, 777),
            (65_536, 200 * 1024),     // more than one slice: at most 64 KiB
            (data.len() - 10, 4096),  // a short read at the end
            (data.len(), 10),         // at the end
            (data.len() + 5_000, 10), // past it
        ]
        .iter()
        .enumerate()
        {
            if i % 2 == 1 {
                drop_cache(&path);
            }
            check_read_at(&file, &data, offset, len).await;
        }
        assert_eq!(file.read_at(&mut [], 3).await.expect("empty"), 0);
        let error = file
            .read_at(&mut head, u64::MAX)
            .await
            .expect_err("offset beyond i64");
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        // The position is still 100.
        file.read_exact(&mut head).await.expect("read");
        assert_eq!(&head[..], &data[100..200]);
    });
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn read_at_reads_at_its_offset_and_leaves_the_position_alone() {
    read_at_keeps_the_position(&evloop::Runtime::new().expect("runtime"), "read-at");
    read_at_keeps_the_position(&no_inline(), "read-at-pool");
}

#[test]
fn a_cached_read_at_needs_no_pool_thread() {
    let dir = scratch("read-at-inline");
    let path = dir.join("f");
    let data = pattern(8192, 11);
    write_synced(&path, &data);
    let _ = std::fs::read(&path).expect("warm the cache");
    let rt = one_pool_thread(true);
    let got = rt.block_on(async {
        let file = File::open(&path).await.expect("open");
        let release = occupy_the_pool();
        let mut buf = [0u8; 1000];
        let first = {
            let read = std::pin::pin!(file.read_at(&mut buf, 5000));
            futures::poll!(read)
        };
        drop(release);
        (first, buf)
    });
    if inline_supported() {
        assert!(matches!(got.0, Poll::Ready(Ok(1000))), "{:?}", got.0);
        assert_eq!(&got.1[..], &data[5000..6000]);
    }
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[cfg(target_os = "linux")]
#[test]
fn a_file_opened_for_direct_io_is_never_read_inline() {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = scratch("direct");
    let path = dir.join("f");
    let data = pattern(64 * 1024, 12);
    write_synced(&path, &data);
    let Ok(direct) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(&path)
    else {
        return; // a filesystem without O_DIRECT (tmpfs): nothing to check
    };
    let rt = one_pool_thread(true);
    let second = rt.block_on(async {
        let mut file = File::from_std(direct);
        let mut buf = [0u8; 4096];
        // On the pool; `File`'s own buffer is not aligned for direct I/O,
        // so this may fail with EINVAL: what matters is what comes next.
        let _ = file.read(&mut buf).await;
        // Aligned, so that an inline direct read would be valid (and
        // would wait for the device on the loop's thread).
        let mut storage = vec![0u8; 3 * 4096];
        let start = storage.as_ptr().align_offset(4096);
        let aligned = &mut storage[start..start + 4096];
        let release = occupy_the_pool();
        let second = read_once(&mut file, aligned).await;
        drop(release);
        second.is_pending()
    });
    assert!(second, "a direct-I/O read must not be tried inline");
    std::fs::remove_dir_all(dir).expect("cleanup");
}
