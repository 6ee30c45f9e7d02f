//! Files and directories, through the blocking pool (and, for cached
//! reads, without it).
//!
//! # Readiness does not work for files
//!
//! Sockets are driven by *readiness*: epoll says "this socket has bytes",
//! and the `read` that follows cannot block. Regular files have no such
//! state. Their data is either in the page cache or on the disk, and
//! `read` blocks until it is in memory however you ask. epoll refuses to
//! watch a regular file at all (`epoll_ctl` returns `EPERM`); `O_NONBLOCK`
//! is ignored for them; `select` and `poll` always report them ready.
//!
//! What files do have is *completion*: "start this read, tell me when it is
//! done". Windows' IOCP and Linux's io_uring offer it from the kernel.
//! Without them, the portable way, libuv's and tokio's, is to make the
//! completion yourself: run the blocking call on another thread and send
//! the result back. That is what this module does, one pool job
//! ([`crate::spawn_blocking`]) per operation:
//!
//! ```text
//!   fs::read(path).await
//!     │ spawn job ───────────▶ pool thread: std::fs::read(path)   (may block)
//!     │ task parks                   │
//!     ▼                              ▼
//!   task resumes ◀── remote wake ◀── result into the task's JoinSlot
//! ```
//!
//! The functions mirror `std::fs` and return the same `io::Error`s (same
//! `ErrorKind`s). [`File`] reads and writes in chunks of at most 64 KiB;
//! read its docs for what a buffered write guarantees. [`read_dir`] lists a
//! directory as a `Stream`.
//!
//! # Reads from the page cache skip the pool (Linux)
//!
//! Most reads hit the page cache and never block, and for those the pool's
//! round trip is most of the cost. On Linux, [`File`]'s reads (and its
//! positional [`File::read_at`]), [`read`] and [`read_to_string`] therefore
//! first try `preadv2(RWF_NOWAIT)` on the
//! loop's own thread: it copies what is cached and refuses (`EAGAIN`)
//! rather than wait for the disk; only then does the read go to the pool.
//! [`read`] opens its path inline too when every directory entry on the way
//! is cached (`openat2(RESOLVE_CACHED)`). At most 64 KiB are copied inline
//! per poll; a bigger read yields to the loop between those slices. Old
//! kernels, filesystems that refuse the flag, and other OSes take the pool
//! as before, and `Builder::inline_file_reads(false)` turns it off. Writes
//! always go to the pool: see chapter 8 of the book for why.
//!
//! Every job of this module is *mandatory*: unlike a plain
//! `spawn_blocking`, it still runs if the runtime shuts down before a pool
//! thread reaches it, so no accepted write is ever dropped.
//!
//! All functions must be called (polled) inside a runtime; they panic
//! otherwise. A `File` remembers its runtime's pool and may then be used
//! from any thread while that runtime lives.

mod buf;
mod dir_builder;
mod file;
mod inline;
mod nowait;
mod open_options;
mod read_dir;

pub use dir_builder::DirBuilder;
pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{DirEntry, ReadDir, read_dir};

use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::runtime::context;
use crate::runtime::handle::Shared;
use crate::task::JoinError;

/// The thread-safe half of the current runtime, whose pool runs the job.
///
/// # Panics
/// Outside of a runtime, naming `what` was called.
pub(crate) fn current_pool(what: &str) -> Arc<Shared> {
    context::with_core(|core| core.shared.clone()).unwrap_or_else(|| {
        panic!("evloop::{what} called outside of a runtime: call it inside Runtime::block_on")
    })
}

/// Runs a blocking `std` operation as a mandatory job on `pool`'s threads
/// and waits for it.
pub(crate) async fn asyncify_on<F, T>(pool: &Shared, f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    pool.blocking
        .spawn_mandatory(f)
        .await
        .unwrap_or_else(|error| Err(join_error(error)))
}

/// Runs `f` on the current runtime's pool; `what` names the caller for the
/// panic message outside a runtime.
async fn asyncify<F, T>(what: &str, f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    asyncify_on(&current_pool(what), f).await
}

/// A job that produced no result, as an `io::Error`. std's file functions
/// do not panic, so in practice this is a job refused because its runtime
/// has shut down.
pub(crate) fn join_error(error: JoinError) -> io::Error {
    let why = if error.is_panic() {
        "evloop: a file operation panicked on the blocking pool"
    } else {
        "evloop: the runtime shut down before the file operation ran"
    };
    io::Error::other(why)
}

/// Reads a whole file into a `Vec`: `std::fs::read`, on the loop's thread
/// while the path and the bytes are cached (up to 64 KiB per poll), on the
/// pool for the rest; see "Reads from the page cache" in the module docs.
///
/// # Errors
/// As `std::fs::read`: `NotFound`, `PermissionDenied`, `IsADirectory`, ...
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    inline::read(current_pool("fs::read"), path.as_ref().to_owned()).await
}

/// Reads a whole UTF-8 file into a `String`, as [`read`] does.
///
/// # Errors
/// As `std::fs::read_to_string`; `InvalidData` if the file is not UTF-8.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    inline::read_to_string(current_pool("fs::read_to_string"), path).await
}

/// Writes `contents` as the whole file, creating or truncating it.
///
/// # Errors
/// As `std::fs::write`: `NotFound` (no such directory), `PermissionDenied`...
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let (path, contents) = (path.as_ref().to_owned(), contents.as_ref().to_owned());
    asyncify("fs::write", move || std::fs::write(path, contents)).await
}

/// Copies a file's contents and permissions; returns the bytes copied.
///
/// # Errors
/// As `std::fs::copy`: `NotFound` if `from` does not exist, ...
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify("fs::copy", move || std::fs::copy(from, to)).await
}

/// Renames a file or directory, replacing `to` if it is a file.
///
/// # Errors
/// As `std::fs::rename`: `NotFound`, `CrossesDevices`, ...
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify("fs::rename", move || std::fs::rename(from, to)).await
}

/// Removes a file.
///
/// # Errors
/// As `std::fs::remove_file`: `NotFound`, `IsADirectory`, ...
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify("fs::remove_file", move || std::fs::remove_file(path)).await
}

/// Creates a directory and all missing parents; `Ok` if it exists (for
/// a mode, use [`DirBuilder`]).
///
/// # Errors
/// As `std::fs::create_dir_all`: `AlreadyExists` if a part is a file, ...
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify("fs::create_dir_all", move || std::fs::create_dir_all(path)).await
}

/// Removes a directory and everything in it.
///
/// # Errors
/// As `std::fs::remove_dir_all`: `NotFound`, `NotADirectory`, ...
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify("fs::remove_dir_all", move || std::fs::remove_dir_all(path)).await
}

/// A path's metadata, following symlinks (`stat`).
///
/// # Errors
/// As `std::fs::metadata`: `NotFound`, `PermissionDenied`, ...
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<std::fs::Metadata> {
    let path = path.as_ref().to_owned();
    asyncify("fs::metadata", move || std::fs::metadata(path)).await
}

/// Creates a directory; its parent must exist.
///
/// # Errors
/// As `std::fs::create_dir`: `AlreadyExists`, `NotFound` (no parent), ...
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify("fs::create_dir", move || std::fs::create_dir(path)).await
}

/// Removes an empty directory.
///
/// # Errors
/// As `std::fs::remove_dir`: `NotFound`, `DirectoryNotEmpty`, ...
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify("fs::remove_dir", move || std::fs::remove_dir(path)).await
}

/// A path's metadata, *not* following a final symlink (`lstat`).
///
/// # Errors
/// As `std::fs::symlink_metadata`.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<std::fs::Metadata> {
    let path = path.as_ref().to_owned();
    asyncify("fs::symlink_metadata", move || {
        std::fs::symlink_metadata(path)
    })
    .await
}

/// Creates a symbolic link at `link` pointing to `original` (which need
/// not exist: a dangling link is allowed, as with `symlink(2)`).
///
/// # Errors
/// As `std::os::unix::fs::symlink`: `AlreadyExists` if `link` exists, ...
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify("fs::symlink", move || {
        std::os::unix::fs::symlink(original, link)
    })
    .await
}

/// The target a symbolic link points to, as written in the link.
///
/// # Errors
/// As `std::fs::read_link`: `NotFound`, `InvalidInput` (not a link), ...
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<std::path::PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify("fs::read_link", move || std::fs::read_link(path)).await
}

/// Creates a hard link: `link` becomes another name of `original`'s file.
///
/// # Errors
/// As `std::fs::hard_link`: `NotFound`, `AlreadyExists`, ...
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify("fs::hard_link", move || std::fs::hard_link(original, link)).await
}

/// The absolute path with every symlink, `.` and `..` resolved.
///
/// # Errors
/// As `std::fs::canonicalize`: `NotFound` if any part is missing, ...
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<std::path::PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify("fs::canonicalize", move || std::fs::canonicalize(path)).await
}

/// Whether `path` exists (following symlinks): `Ok(false)` only when it
/// certainly does not; an error when that cannot be told (a parent
/// directory without search permission, say), unlike `Path::exists`.
///
/// # Errors
/// As `std::fs::exists`.
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref().to_owned();
    asyncify("fs::try_exists", move || path.try_exists()).await
}

/// Changes the permissions of the file or directory at `path`.
///
/// # Errors
/// As `std::fs::set_permissions`: `NotFound`, `PermissionDenied`, ...
pub async fn set_permissions(path: impl AsRef<Path>, perm: std::fs::Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify("fs::set_permissions", move || {
        std::fs::set_permissions(path, perm)
    })
    .await
}
