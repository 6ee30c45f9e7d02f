//! `fs::File`: buffered writes that are never silently lost, seeks that
//! account for read-ahead, bounded reads, and errors that surface.

use std::io::{ErrorKind, SeekFrom};
use std::path::PathBuf;
use std::sync::mpsc;
use std::task::Poll;

use evloop::fs::{File, OpenOptions};
use futures::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("evloop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

#[test]
fn write_all_then_flush_then_reopen_reads_exactly_what_was_written() {
    let dir = scratch("file-exact");
    let path = dir.join("big");
    let data = pattern(3 * 1024 * 1024 + 123); // many 64 KiB chunks and a tail
    evloop::block_on(async {
        let mut file = File::create(&path).await?;
        file.write_all(&data).await?;
        // metadata() waits for the write in flight.
        assert_eq!(file.metadata().await?.len(), data.len() as u64);
        file.flush().await?;
        drop(file);
        let mut back = Vec::new();
        File::open(&path).await?.read_to_end(&mut back).await?;
        assert!(back == data, "reopened file differs");
        std::io::Result::Ok(())
    })
    .expect("round trip");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn seek_read_and_overwrite() {
    let dir = scratch("file-seek");
    let path = dir.join("digits");
    let contents = evloop::block_on(async {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await?;
        file.write_all(b"0123456789").await?;
        assert_eq!(file.seek(SeekFrom::Start(3)).await?, 3);
        let mut two = [0u8; 2];
        file.read_exact(&mut two).await?;
        assert_eq!(&two, b"34");
        assert_eq!(file.seek(SeekFrom::Current(0)).await?, 5);
        assert_eq!(file.seek(SeekFrom::End(-2)).await?, 8);
        let mut rest = Vec::new();
        file.read_to_end(&mut rest).await?;
        assert_eq!(rest, b"89");
        assert_eq!(file.read(&mut two).await?, 0, "EOF");
        assert_eq!(file.read(&mut two).await?, 0, "still EOF");
        file.seek(SeekFrom::Start(1)).await?;
        file.write_all(b"AB").await?;
        file.seek(SeekFrom::End(0)).await?;
        file.write_all(b"!").await?;
        file.flush().await?;
        evloop::fs::read_to_string(&path).await
    })
    .expect("seek");
    assert_eq!(contents, "0AB3456789!");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn append_via_open_options() {
    let dir = scratch("file-append");
    let path = dir.join("log");
    let contents = evloop::block_on(async {
        evloop::fs::write(&path, "a\n").await?;
        for line in ["b\n", "c\n"] {
            let mut log = OpenOptions::new().append(true).open(&path).await?;
            log.write_all(line.as_bytes()).await?;
            log.close().await?;
        }
        evloop::fs::read_to_string(&path).await
    })
    .expect("append");
    assert_eq!(contents, "a\nb\nc\n");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn set_len_sync_all_and_metadata() {
    let dir = scratch("file-set-len");
    let path = dir.join("sized");
    evloop::block_on(async {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await?;
        file.write_all(&pattern(1000)).await?;
        file.set_len(10).await?;
        assert_eq!(file.metadata().await?.len(), 10);
        file.set_len(4096).await?;
        file.sync_all().await?;
        assert_eq!(evloop::fs::metadata(&path).await?.len(), 4096);
        let back = evloop::fs::read(&path).await?;
        assert_eq!(&back[..10], &pattern(10)[..]);
        assert!(back[10..].iter().all(|&b| b == 0), "extension is zeros");
        std::io::Result::Ok(())
    })
    .expect("set_len");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn a_large_read_is_served_in_bounded_chunks() {
    evloop::block_on(async {
        let mut zero = File::open("/dev/zero").await?;
        let mut big = vec![1u8; 8 * 1024 * 1024];
        let n = zero.read(&mut big).await?;
        assert_eq!(n, 64 * 1024, "one pool job reads at most 64 KiB");
        assert!(big[..n].iter().all(|&b| b == 0));
        assert!(big[n..].iter().all(|&b| b == 1), "nothing beyond the chunk");
        std::io::Result::Ok(())
    })
    .expect("bounded read");
}

#[test]
fn write_errors_surface_on_flush_and_on_the_next_write() {
    evloop::block_on(async {
        let mut full = OpenOptions::new().write(true).open("/dev/full").await?;
        // Accepted: the write is handed to the pool, it has not failed yet.
        assert_eq!(full.write(b"doomed").await?, 6);
        let error = full.flush().await.expect_err("/dev/full is full");
        assert_eq!(error.kind(), ErrorKind::StorageFull);
        assert!(full.flush().await.is_ok(), "an error is reported once");

        full.write_all(b"again").await?;
        let error = full
            .write(b"more")
            .await
            .expect_err("the previous write failed");
        assert_eq!(error.kind(), ErrorKind::StorageFull);
        std::io::Result::Ok(())
    })
    .expect("/dev/full");
}

/// Reads with an 8-byte buffer, but lets the caller take only 2 bytes: the
/// other 6 stay as read-ahead, and the OS file position is 6 bytes ahead.
/// A later seek or write must count from the caller's position.
#[test]
fn read_ahead_is_accounted_for_by_seek_and_write() {
    let dir = scratch("file-read-ahead");
    let path = dir.join("digits");
    std::fs::write(&path, "0123456789").expect("setup");
    // Read-ahead only arises on the pool path: a cached read done inline
    // copies straight into the caller's slice.
    let rt = evloop::Runtime::builder()
        .max_blocking_threads(1)
        .inline_file_reads(false)
        .build()
        .expect("runtime");
    let contents = rt.block_on(async {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await?;
        // Hold the only pool thread, so the first read cannot complete
        // inside its first poll.
        let (release, gate) = mpsc::channel::<()>();
        let blocker = evloop::spawn_blocking(move || gate.recv().expect("released"));
        let mut eight = [0u8; 8];
        let first = std::future::poll_fn(|cx| {
            Poll::Ready(std::pin::Pin::new(&mut file).poll_read(cx, &mut eight))
        })
        .await;
        assert!(first.is_pending(), "the read is in flight, then abandoned");
        release.send(()).expect("blocker waits");
        blocker.await.expect("ok");

        let mut two = [0u8; 2];
        file.read_exact(&mut two).await?;
        assert_eq!(&two, b"01");
        assert_eq!(
            file.seek(SeekFrom::Current(0)).await?,
            2,
            "caller's position"
        );
        file.read_exact(&mut two).await?;
        assert_eq!(&two, b"23");
        file.write_all(b"XY").await?; // at position 4, not at the OS's 8
        file.flush().await?;
        evloop::fs::read_to_string(&path).await
    });
    assert_eq!(contents.expect("read-ahead"), "0123XY6789");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// The documented guarantee: a `File` dropped with a write in flight does
/// not lose the write, even if the runtime is dropped right after.
#[test]
fn dropping_a_file_with_a_write_in_flight_still_writes_it() {
    let dir = scratch("file-drop");
    let path = dir.join("late");
    // One chunk: `write_all` returns as soon as the pool has it queued
    // (a second chunk would wait for the first, behind the blocker).
    let data = pattern(64 * 1024);
    let rt = evloop::Runtime::builder()
        .max_blocking_threads(1)
        .build()
        .expect("runtime");
    let (release, gate) = mpsc::channel::<()>();
    rt.block_on(async {
        let mut file = File::create(&path).await.expect("create");
        // The write will wait in the queue behind this job.
        let (started_tx, started) = mpsc::channel::<()>();
        let _blocker = evloop::spawn_blocking(move || {
            started_tx.send(()).expect("test waits");
            gate.recv().expect("released");
        });
        // (Blocking the loop for a moment is fine in this test.)
        started.recv().expect("the blocker runs");
        file.write_all(&data).await.expect("accepted");
        drop(file);
    });
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        release.send(()).expect("blocker waits");
    });
    drop(rt); // waits for the running blocker, then runs the queued write
    releaser.join().expect("releaser");
    assert!(
        std::fs::read(&path).expect("file") == data,
        "the write was lost"
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// A `File` keeps its runtime's pool: another executor on another thread
/// may drive it (the pool's completion wakes that executor's waker).
#[test]
fn a_file_can_be_used_from_another_executor() {
    let dir = scratch("file-elsewhere");
    let path = dir.join("moved");
    let rt = evloop::Runtime::new().expect("runtime");
    let file = rt.block_on(File::create(&path)).expect("create");
    let written = std::thread::spawn(move || {
        futures::executor::block_on(async move {
            let mut file = file;
            file.write_all(b"from another thread").await?;
            file.flush().await
        })
    })
    .join()
    .expect("thread");
    written.expect("write elsewhere");
    assert_eq!(
        std::fs::read_to_string(&path).expect("file"),
        "from another thread"
    );
    drop(rt);
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// After its runtime is gone a `File` has no pool: operations fail with an
/// error instead of hanging.
#[test]
fn a_file_outliving_its_runtime_reports_an_error() {
    let rt = evloop::Runtime::new().expect("runtime");
    let mut file = rt.block_on(File::open("/dev/zero")).expect("open");
    drop(rt);
    let mut buf = [0u8; 16];
    let error = futures::executor::block_on(file.read(&mut buf)).expect_err("no pool");
    assert_eq!(error.kind(), ErrorKind::Other);
    assert!(error.to_string().contains("shut down"), "{error}");
}
