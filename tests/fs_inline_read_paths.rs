//! Which path an inline-capable read takes: none of the pool's threads for
//! a cached read, the pool when switched off, for files that refuse the
//! flag, are not regular or use direct I/O; and `File::read_at`, which
//! tries the page cache the same way.

use std::io::ErrorKind;
use std::task::Poll;

use evloop::fs::File;
use futures::io::AsyncReadExt;

mod fs_support;
use fs_support::*;

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
