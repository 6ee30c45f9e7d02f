//! Inline file reads (`preadv2(RWF_NOWAIT)` on the loop's thread): the same
//! bytes as the pool, at the same positions, whether the page cache has
//! them or not, and never at the price of the loop's other tasks.

use std::cell::Cell;
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::rc::Rc;

use evloop::fs::{File, OpenOptions};
use futures::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

mod fs_support;
use fs_support::*;

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
