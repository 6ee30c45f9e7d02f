//! `File`: a file whose reads, writes and seeks run on the blocking pool,
//! except reads the page cache can answer at once.
//!
//! # One operation in flight
//!
//! A `File` is a small state machine. It is either *idle*, holding its
//! [`Buf`], or *busy*: the buffer has gone to a pool thread with one
//! operation (read, write or seek) and the `File` holds the job's
//! `JoinHandle`. Operations on the OS file therefore happen one at a time,
//! in the order they were asked for, just as with a blocking `std::fs::File`.
//!
//! ```text
//!              poll_read / poll_write / poll_seek
//!   Idle(buf) ───────────────────────────────────▶ Busy(JoinHandle<(Op, Buf)>)
//!       ▲          buf + Arc<std::fs::File> go          │
//!       │          to a pool thread                     │ the job ends:
//!       └───────────────────────────────────────────────┘ (Op's result, buf)
//! ```
//!
//! # Reads: up to 64 KiB at a time
//!
//! `poll_read(out)` asks the pool for `min(out.len(), 64 KiB)` bytes. If the
//! caller then asks for less than arrived, the rest stays in the buffer as
//! read-ahead; the OS's file position is then ahead of the caller's, which
//! a later seek or write corrects by seeking back over what was not consumed.
//!
//! # Reads from the page cache: on the loop's thread
//!
//! On Linux, before sending a read to the pool, an idle `File` of a
//! regular file tries `preadv2(RWF_NOWAIT)` right where it is (see the
//! `nowait` and `inline` modules): what the page cache holds is copied
//! straight into the caller's slice, at the OS file position, which the
//! call advances exactly as the pool's `read` would. So the two paths mix
//! freely: a read that misses goes to the pool, the next may be inline
//! again, and the position is the OS's throughout. An inline read happens
//! only when no operation is in flight and no read-ahead is buffered, so
//! it always follows, and sees, every write the `File` accepted before it.
//! At most 64 KiB are copied inline per poll; past that, the read yields
//! to the loop once and goes on at its next poll. [`File::read_at`], a
//! positional read that leaves the position alone, tries the same way.
//!
//! Whether the file is regular (and not opened with `O_DIRECT`, whose reads
//! always wait for the device) is learned when it is opened, on the pool
//! with the open; for [`File::from_std`], by its first read, which takes
//! the pool.
//!
//! # Writes are buffered, like tokio's
//!
//! `poll_write(src)` copies up to 64 KiB of `src` into the buffer, hands it
//! to the pool and returns `Ok(n)` at once: the write has been *accepted*,
//! not yet *done*. Its result is kept, and an error is returned by the next
//! operation on the file (read, write, seek, flush). So:
//!
//! * `write_all(..).await` followed by `flush().await` returning `Ok` means
//!   every byte is in the OS (the page cache): a reopen reads it all back.
//!   Add [`File::sync_all`] to have it on the disk.
//! * A `File` dropped with a write in flight does not cancel it: the job
//!   owns the bytes and its own reference to the OS file, so the write
//!   completes in the background (even if the runtime is dropped meanwhile:
//!   file jobs are never skipped). But its *result* is lost: if that write
//!   fails, nobody hears of it, and the file may be read before the write
//!   has landed. Flush before dropping when either matters.
//!
//! # Cancelling an operation
//!
//! Dropping a read, write or seek future while it is pending does not stop
//! the pool thread; the operation completes and the next call on the `File`
//! collects its result first (a read's bytes stay available as read-ahead).
//! One caveat: `poll_seek` cannot tell a seek it started from one an
//! abandoned `seek` future started, so after abandoning a seek, the next
//! `seek` returns the abandoned one's position. Await seeks to the end.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io::{self, Seek, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use super::buf::{Buf, MAX_BUF};
use super::inline::{self, Budget};
use super::nowait::{self, Outcome};
use super::{OpenOptions, asyncify_on, current_pool, join_error};
use crate::runtime::handle::Shared;
use crate::task::JoinHandle;

/// A file on disk, read and written through the blocking pool. See the
/// module docs for what each operation guarantees.
///
/// It implements futures-io's `AsyncRead`, `AsyncWrite` and `AsyncSeek`,
/// so `futures::io::AsyncReadExt::read_to_end`, `AsyncWriteExt::write_all`
/// and the like work on it.
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
///
/// let path = std::env::temp_dir().join(format!("evloop-doc-file-{}", std::process::id()));
/// evloop::block_on(async {
///     let mut file = evloop::fs::File::create(&path).await?;
///     file.write_all(b"hello, pool").await?;
///     file.flush().await?; // wait for the write, and hear of its errors
///
///     let mut text = String::new();
///     evloop::fs::File::open(&path).await?.read_to_string(&mut text).await?;
///     assert_eq!(text, "hello, pool");
///     evloop::fs::remove_file(&path).await
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct File {
    /// The OS file, shared with the job in flight.
    std: Arc<std::fs::File>,
    /// The pool of the runtime the file was opened on: its jobs go there,
    /// whichever thread polls the `File`.
    pool: Arc<Shared>,
    /// Idle with the buffer, or busy with one operation.
    state: State,
    /// The error of a write that completed in the background, for the next
    /// operation to return.
    write_error: Option<io::Error>,
    /// Whether reads may try the page cache on the caller's thread first.
    inline: Inline,
}

/// May this file be read inline? See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inline {
    /// Not known yet (a `from_std` file): the next pool read finds out.
    Unknown,
    /// A regular file: try `preadv2(RWF_NOWAIT)` first.
    Try,
    /// Not a regular file, opened with `O_DIRECT`, or its filesystem
    /// refused the flag.
    Never,
}

/// What the inline attempt of one `poll_read` came to.
enum InlineRead {
    /// Read this many bytes into the caller's slice.
    Read(usize),
    /// This poll's inline budget is spent: the task was woken, return
    /// `Pending`.
    Yield,
    /// Use the pool.
    Pool,
}

/// See the module docs.
enum State {
    /// No operation in flight. `None` only for an instant while a method
    /// moves the buffer into a job.
    Idle(Option<Buf>),
    /// One operation on a pool thread.
    Busy(JoinHandle<(Op, Buf)>),
}

/// The operation a job did, with its result.
enum Op {
    /// A read; on success the bytes are in the returned buffer. The
    /// `Option` says whether the file is regular, when the read was asked
    /// to find out.
    Read(io::Result<usize>, Option<bool>),
    /// A write (after seeking back over read-ahead, if there was some).
    Write(io::Result<()>),
    /// A seek, with the new position.
    Seek(io::Result<u64>),
}

impl File {
    /// Opens a file for reading (`std::fs::File::open` on the pool).
    ///
    /// # Errors
    /// As `std::fs::File::open`: `NotFound`, `PermissionDenied`, ...
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Creates a file for writing, truncating it if it exists
    /// (`std::fs::File::create` on the pool).
    ///
    /// # Errors
    /// As `std::fs::File::create`.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Wraps an open `std::fs::File`; its operations will run on the
    /// current runtime's pool.
    ///
    /// # Panics
    /// Outside of a runtime.
    pub fn from_std(file: std::fs::File) -> File {
        File::with_pool(file, current_pool("fs::File::from_std"))
    }

    pub(crate) fn with_pool(file: std::fs::File, pool: Arc<Shared>) -> File {
        File {
            std: Arc::new(file),
            pool,
            state: State::Idle(Some(Buf::default())),
            write_error: None,
            inline: Inline::Unknown,
        }
    }

    /// Records whether the file may be read inline: regular, and not
    /// opened for direct I/O (see `nowait::inline_candidate`).
    pub(crate) fn set_regular(&mut self, regular: bool) {
        self.inline = if regular { Inline::Try } else { Inline::Never };
    }

    /// Waits for the operation in flight, then flushes the OS's buffers to
    /// the disk (`fsync`). After `Ok`, what was written survives a crash.
    ///
    /// # Errors
    /// A failed earlier write, or the `fsync` error.
    pub async fn sync_all(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_inner(cx)).await?;
        let std = self.std.clone();
        asyncify_on(&self.pool, move || std.sync_all()).await
    }

    /// Truncates or extends the file to `size` bytes, after the operation
    /// in flight. The file position does not move (as with std); read-ahead
    /// is dropped, since it may no longer be in the file.
    ///
    /// # Errors
    /// A failed earlier write, or the `ftruncate` error.
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_inner(cx)).await?;
        let back = self.buf_mut().discard_read();
        let std = self.std.clone();
        asyncify_on(&self.pool, move || {
            if back != 0 {
                (&*std).seek(SeekFrom::Current(back))?;
            }
            std.set_len(size)
        })
        .await
    }

    /// The file's metadata (`fstat`), after the operation in flight, so
    /// that the size includes the writes accepted so far.
    ///
    /// # Errors
    /// The `fstat` error. A failed earlier write is kept for the next
    /// read, write, seek or flush.
    pub async fn metadata(&mut self) -> io::Result<std::fs::Metadata> {
        poll_fn(|cx| self.poll_idle(cx)).await;
        let std = self.std.clone();
        asyncify_on(&self.pool, move || std.metadata()).await
    }

    /// Reads up to `buf.len()` bytes, at most 64 KiB, at `offset`, without
    /// moving the file position (`pread`): from the page cache on this
    /// thread when it can (see the module docs), else on the pool. `Ok(0)`
    /// at or past the end of the file.
    ///
    /// It takes `&self` and does not wait for the operation in flight on
    /// this `File`: like std's `FileExt::read_at` called from another
    /// thread, it may or may not see a write the `File` has accepted but
    /// not finished. `flush` first to be sure it does.
    ///
    /// # Errors
    /// As `pread`: `InvalidInput` for an offset beyond `i64::MAX`, the
    /// error of a file not open for reading, ...
    pub async fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let want = buf.len().min(MAX_BUF);
        if want == 0 {
            return Ok(0);
        }
        if let Some(n) = self.read_at_inline(&mut buf[..want], offset).await {
            return Ok(n);
        }
        let std = self.std.clone();
        let bytes = asyncify_on(&self.pool, move || {
            use std::os::unix::fs::FileExt;
            let mut bytes = vec![0u8; want];
            let n = loop {
                match std.read_at(&mut bytes, offset) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            bytes.truncate(n);
            Ok(bytes)
        })
        .await?;
        buf[..bytes.len()].copy_from_slice(&bytes);
        Ok(bytes.len())
    }

    /// `read_at` from the page cache, yielding first if this poll's
    /// inline budget is spent; `None`: use the pool.
    async fn read_at_inline(&self, buf: &mut [u8], offset: u64) -> Option<usize> {
        if self.inline != Inline::Try {
            return None;
        }
        loop {
            match inline::budget(&self.pool) {
                Budget::Go(max) => {
                    let want = buf.len().min(max);
                    let Outcome::Done(n) = nowait::read_at(&self.std, &mut buf[..want], offset)
                    else {
                        return None;
                    };
                    inline::spend(n);
                    return Some(n);
                }
                Budget::Yield => crate::yield_now().await,
                Budget::Off => return None,
            }
        }
    }

    /// The buffer of an idle file.
    fn buf_mut(&mut self) -> &mut Buf {
        match &mut self.state {
            State::Idle(Some(buf)) => buf,
            _ => unreachable!("called only once the file is idle"),
        }
    }

    /// Takes the buffer of an idle file, to move it into a job.
    fn take_buf(&mut self) -> Buf {
        match &mut self.state {
            State::Idle(buf) => buf.take().expect("an idle file holds its buffer"),
            State::Busy(_) => unreachable!("called only once the file is idle"),
        }
    }

    /// Sends `op` with the buffer to the pool; the file becomes busy.
    fn start<F>(&mut self, mut buf: Buf, op: F)
    where
        F: FnOnce(&std::fs::File, &mut Buf) -> Op + Send + 'static,
    {
        let std = self.std.clone();
        // Mandatory: a write accepted by `poll_write` must happen even if
        // the runtime shuts down before a pool thread picks it up.
        let job = self.pool.blocking.spawn_mandatory(move || {
            let op = op(&std, &mut buf);
            (op, buf)
        });
        self.state = State::Busy(job);
    }

    /// Waits for the operation in flight, if any, and returns what it did.
    /// `Ready(None)`: the file was idle already.
    fn poll_complete(&mut self, cx: &mut Context<'_>) -> Poll<Option<Op>> {
        let State::Busy(job) = &mut self.state else {
            return Poll::Ready(None);
        };
        let (op, buf) = match ready!(Pin::new(job).poll(cx)) {
            Ok(done) => done,
            // The pool shut down (or the job panicked): the operation may
            // not have happened. Reported like a failed write, by the next
            // operation, so that it is never silently dropped.
            Err(error) => (Op::Write(Err(join_error(error))), Buf::default()),
        };
        self.state = State::Idle(Some(buf));
        Poll::Ready(Some(op))
    }

    /// Waits until no operation is in flight, keeping a write error.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while let Some(op) = ready!(self.poll_complete(cx)) {
            self.keep_write_error(op);
        }
        Poll::Ready(())
    }

    /// Remembers the error of a background write; other results of an
    /// operation nobody waits for any more are dropped (a read's bytes stay
    /// in the buffer as read-ahead).
    fn keep_write_error(&mut self, op: Op) {
        if let Op::Write(Err(error)) = op {
            // Only one write is ever in flight, and an error is returned
            // before the next write starts: nothing is overwritten.
            self.write_error = Some(error);
        }
    }

    /// The earlier write's error, if there is one to report.
    fn take_write_error(&mut self) -> io::Result<()> {
        self.write_error.take().map_or(Ok(()), Err)
    }

    fn poll_flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_idle(cx));
        Poll::Ready(self.take_write_error())
    }

    fn poll_read_inner(&mut self, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<io::Result<usize>> {
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            match ready!(self.poll_complete(cx)) {
                Some(Op::Read(result, regular)) => {
                    if let Some(regular) = regular {
                        self.set_regular(regular);
                    }
                    result?;
                    return Poll::Ready(Ok(self.buf_mut().copy_to(out)));
                }
                Some(op) => self.keep_write_error(op),
                None => {
                    self.take_write_error()?;
                    if !self.buf_mut().is_empty() {
                        return Poll::Ready(Ok(self.buf_mut().copy_to(out)));
                    }
                    let want = out.len().min(MAX_BUF);
                    match self.read_inline(cx, &mut out[..want]) {
                        InlineRead::Read(n) => return Poll::Ready(Ok(n)),
                        InlineRead::Yield => return Poll::Pending,
                        InlineRead::Pool => {}
                    }
                    let probe = self.inline == Inline::Unknown;
                    let buf = self.take_buf();
                    self.start(buf, move |file, buf| {
                        let regular = probe.then(|| nowait::inline_candidate(file));
                        Op::Read(buf.read_from(file, want), regular)
                    });
                }
            }
        }
    }

    /// Tries to read into `out` from the page cache, on this thread, at
    /// the OS file position; the file is idle with no read-ahead.
    fn read_inline(&mut self, cx: &mut Context<'_>, out: &mut [u8]) -> InlineRead {
        if self.inline != Inline::Try {
            return InlineRead::Pool;
        }
        let max = match inline::budget(&self.pool) {
            Budget::Go(max) => max,
            Budget::Off => return InlineRead::Pool,
            Budget::Yield => {
                cx.waker().wake_by_ref();
                return InlineRead::Yield;
            }
        };
        let want = out.len().min(max);
        match nowait::read(&self.std, &mut out[..want]) {
            Outcome::Done(n) => {
                inline::spend(n);
                InlineRead::Read(n)
            }
            Outcome::FileRefuses => {
                self.inline = Inline::Never;
                InlineRead::Pool
            }
            Outcome::Miss | Outcome::KernelLacks => InlineRead::Pool,
        }
    }

    fn poll_write_inner(&mut self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        while let Some(op) = ready!(self.poll_complete(cx)) {
            self.keep_write_error(op);
        }
        self.take_write_error()?;
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut buf = self.take_buf();
        let back = buf.discard_read();
        let n = buf.copy_from(src);
        self.start(buf, move |mut file, buf| {
            let result = if back != 0 {
                file.seek(SeekFrom::Current(back)).map(drop)
            } else {
                Ok(())
            };
            Op::Write(result.and_then(|()| buf.write_to(file)))
        });
        Poll::Ready(Ok(n))
    }

    fn poll_seek_inner(&mut self, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        loop {
            match ready!(self.poll_complete(cx)) {
                // The seek this call started (on an earlier poll).
                Some(Op::Seek(result)) => return Poll::Ready(result),
                Some(op) => self.keep_write_error(op),
                None => {
                    self.take_write_error()?;
                    let mut buf = self.take_buf();
                    let back = buf.discard_read();
                    let pos = match pos {
                        SeekFrom::Current(offset) => SeekFrom::Current(offset + back),
                        other => other,
                    };
                    self.start(buf, move |mut file, _| Op::Seek(file.seek(pos)));
                }
            }
        }
    }
}

impl futures_io::AsyncRead for File {
    /// Reads up to `min(buf.len(), 64 KiB)` bytes; `Ok(0)` at the end of
    /// the file. Returns the error of an earlier background write first.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_inner(cx, buf)
    }
}

impl futures_io::AsyncWrite for File {
    /// Accepts up to 64 KiB of `buf` and returns at once; see the module
    /// docs for when the bytes are actually written.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_inner(cx, buf)
    }

    /// Waits for the write in flight and returns its error, if any.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }

    /// The same as `poll_flush`: the OS file is closed when the `File` (and
    /// any job still holding it) is dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }
}

impl futures_io::AsyncSeek for File {
    /// Seeks after the operation in flight; `SeekFrom::Current` counts from
    /// the caller's position (read-ahead is accounted for).
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        self.get_mut().poll_seek_inner(cx, pos)
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("std", &self.std)
            .field("busy", &matches!(self.state, State::Busy(_)))
            .finish_non_exhaustive()
    }
}

// The rest of the tokio `File` surface: clones, conversion back to std,
// `fdatasync`, permissions. Each waits for the operation in flight first.
impl File {
    /// Waits for the operation in flight and gives back read-ahead (the
    /// OS file's position moves back to this `File`'s logical position),
    /// so that another handle to the same open file sees it right.
    async fn settle(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_inner(cx)).await?;
        let back = self.buf_mut().discard_read();
        if back != 0 {
            let std = self.std.clone();
            asyncify_on(&self.pool, move || {
                (&*std).seek(SeekFrom::Current(back)).map(drop)
            })
            .await?;
        }
        Ok(())
    }

    /// Flushes the file's *data* to the disk (`fdatasync`): like
    /// [`File::sync_all`], minus metadata that reading the data back does
    /// not need (such as the modification time).
    ///
    /// # Errors
    /// A failed earlier write, or the `fdatasync` error.
    pub async fn sync_data(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_inner(cx)).await?;
        let std = self.std.clone();
        asyncify_on(&self.pool, move || std.sync_data()).await
    }

    /// Changes the file's permissions (`fchmod`).
    ///
    /// # Errors
    /// A failed earlier write, or the `fchmod` error (`PermissionDenied`
    /// if the file is not ours).
    pub async fn set_permissions(&mut self, perm: std::fs::Permissions) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_inner(cx)).await?;
        let std = self.std.clone();
        asyncify_on(&self.pool, move || std.set_permissions(perm)).await
    }

    /// A second `File` for the same open file (`dup`): both share the
    /// position, so a read through one moves the other.
    ///
    /// Takes `&mut self`, where tokio's takes `&self`: the operation in
    /// flight is waited for and read-ahead given back first, so that the
    /// clone starts at this file's logical position, not past the bytes
    /// this one read ahead.
    ///
    /// # Errors
    /// A failed earlier write, or the `dup` error (`EMFILE`).
    pub async fn try_clone(&mut self) -> io::Result<File> {
        self.settle().await?;
        let std = self.std.clone();
        let clone = asyncify_on(&self.pool, move || std.try_clone()).await?;
        let mut clone = File::with_pool(clone, self.pool.clone());
        // The same open file: what this one learnt about inline reads holds.
        clone.inline = self.inline;
        Ok(clone)
    }

    /// Waits for the operation in flight and returns the std file, at this
    /// file's logical position.
    ///
    /// Returns `io::Result`, where tokio's returns the file alone: the
    /// error of a write that failed in the background is reported here
    /// instead of being lost.
    ///
    /// # Errors
    /// A failed earlier write, or the seek that gives back read-ahead.
    pub async fn into_std(mut self) -> io::Result<std::fs::File> {
        self.settle().await?;
        match Arc::try_unwrap(self.std) {
            Ok(file) => Ok(file),
            // A finished job may not have dropped its clone yet: `dup`.
            Err(shared) => shared.try_clone(),
        }
    }
}

// A `File` may move between threads (it is polled wherever its task runs).
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<File>();
};
