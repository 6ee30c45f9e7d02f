//! `read_dir`: a directory listing as a `Stream`, read in batches.
//!
//! Each `readdir(3)` call may block on the disk like any file read, so the
//! listing is read on the pool too, [`BATCH`] entries per job: one job per
//! entry would pay a pool round-trip for every name, one job for the whole
//! directory would hold an unbounded list in memory.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use super::{asyncify_on, current_pool, join_error};
use crate::runtime::handle::Shared;
use crate::task::JoinHandle;

/// Directory entries one pool job reads (tokio reads 32 too).
const BATCH: usize = 32;

/// Lists the entries of a directory (without `.` and `..`), like
/// `std::fs::read_dir`; the listing is a [`ReadDir`] stream.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("evloop-doc-read-dir-{}", std::process::id()));
/// evloop::block_on(async {
///     evloop::fs::create_dir_all(&dir).await?;
///     evloop::fs::write(dir.join("a.txt"), "a").await?;
///     let mut entries = evloop::fs::read_dir(&dir).await?;
///     let entry = entries.next_entry().await?.expect("one entry");
///     assert_eq!(entry.file_name(), "a.txt");
///     assert!(entries.next_entry().await?.is_none());
///     evloop::fs::remove_dir_all(&dir).await
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// As `std::fs::read_dir`: `NotFound`, `PermissionDenied`, `NotADirectory`.
///
/// # Panics
/// Outside of a runtime.
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let pool = current_pool("fs::read_dir");
    let path = path.as_ref().to_owned();
    let std = asyncify_on(&pool, move || std::fs::read_dir(path)).await?;
    Ok(ReadDir {
        state: DirState::Idle(Some(Batch {
            entries: VecDeque::new(),
            std,
            done: false,
        })),
        pool,
    })
}

/// The entries of a directory: a `futures_core::Stream` of
/// `io::Result<DirEntry>`, or call [`ReadDir::next_entry`].
#[must_use = "streams do nothing unless polled"]
pub struct ReadDir {
    /// Entries read ahead, or the job reading the next batch.
    state: DirState,
    /// The pool that reads the batches.
    pool: Arc<Shared>,
}

/// A `ReadDir` holds its batch, or a job is filling it.
enum DirState {
    /// No job in flight; `None` once the listing has ended.
    Idle(Option<Batch>),
    /// A pool thread is reading the next batch.
    Busy(JoinHandle<Batch>),
}

/// What travels between the stream and the pool.
struct Batch {
    /// Entries read and not yet handed out.
    entries: VecDeque<io::Result<DirEntry>>,
    /// The OS directory handle.
    std: std::fs::ReadDir,
    /// The OS listing has ended.
    done: bool,
}

impl ReadDir {
    /// The next entry, or `None` at the end.
    ///
    /// # Errors
    /// An error reading the directory (the listing may go on after it).
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await.transpose()
    }

    fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<DirEntry>>> {
        loop {
            match &mut self.state {
                DirState::Idle(None) => return Poll::Ready(None),
                DirState::Idle(Some(batch)) => {
                    if let Some(entry) = batch.entries.pop_front() {
                        return Poll::Ready(Some(entry));
                    }
                    if batch.done {
                        self.state = DirState::Idle(None);
                        return Poll::Ready(None);
                    }
                    let mut batch = self.take_batch().expect("the stream is idle with a batch");
                    let pool = self.pool.clone();
                    self.state = DirState::Busy(self.pool.blocking.spawn_mandatory(move || {
                        batch.fill(&pool);
                        batch
                    }));
                }
                DirState::Busy(job) => match ready!(Pin::new(job).poll(cx)) {
                    Ok(batch) => self.state = DirState::Idle(Some(batch)),
                    Err(error) => {
                        self.state = DirState::Idle(None);
                        return Poll::Ready(Some(Err(join_error(error))));
                    }
                },
            }
        }
    }

    /// Takes the batch out of an idle stream.
    fn take_batch(&mut self) -> Option<Batch> {
        match &mut self.state {
            DirState::Idle(batch) => batch.take(),
            DirState::Busy(_) => None,
        }
    }
}

impl Batch {
    /// Reads up to `BATCH` entries. Runs on a pool thread.
    fn fill(&mut self, pool: &Arc<Shared>) {
        for _ in 0..BATCH {
            match self.std.next() {
                Some(entry) => self.entries.push_back(entry.map(|std| DirEntry {
                    std: Arc::new(std),
                    pool: pool.clone(),
                })),
                None => {
                    self.done = true;
                    return;
                }
            }
        }
    }
}

impl futures_core::Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_entry(cx)
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").finish_non_exhaustive()
    }
}

/// One entry of a [`ReadDir`] listing.
pub struct DirEntry {
    /// The std entry (name, and the file type if the OS gave it).
    std: Arc<std::fs::DirEntry>,
    /// The pool for `metadata` and `file_type`.
    pool: Arc<Shared>,
}

impl DirEntry {
    /// The full path: the `read_dir` argument joined with the file name.
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's name, without its directory.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's metadata, without following a symlink (`lstat`).
    ///
    /// # Errors
    /// As `std::fs::DirEntry::metadata` (`NotFound` if the entry is gone).
    pub async fn metadata(&self) -> io::Result<std::fs::Metadata> {
        let std = self.std.clone();
        asyncify_on(&self.pool, move || std.metadata()).await
    }

    /// The entry's file type, without following a symlink. Usually known
    /// from the listing itself; otherwise an `lstat` on the pool.
    ///
    /// # Errors
    /// As `std::fs::DirEntry::file_type`.
    pub async fn file_type(&self) -> io::Result<std::fs::FileType> {
        let std = self.std.clone();
        asyncify_on(&self.pool, move || std.file_type()).await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path()).finish()
    }
}

// A listing and its entries may move between threads with their task.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<ReadDir>();
    assert_send::<DirEntry>();
};
