//! Reading what the page cache already holds, without blocking:
//! `preadv2(RWF_NOWAIT)` and `openat2(RESOLVE_CACHED)`.
//!
//! # Why a file read can sometimes skip the pool
//!
//! A regular file's `read` blocks only when the bytes are not in memory
//! yet. Most reads a server makes hit the page cache, and a cached read is
//! a `memcpy`: a few hundred nanoseconds for 4 KiB, far less than the
//! round trip to a pool thread and back. The catch is knowing *beforehand*
//! that the read will not wait for the disk. Linux (4.14 and later) lets us
//! ask: `preadv2` with the flag `RWF_NOWAIT` copies what is cached and,
//! where it would have to wait, returns `EAGAIN` (or a short count, if the
//! first part of the range was cached) instead. `openat2` with
//! `RESOLVE_CACHED` (Linux 5.12) is the same idea for opening a path: it
//! fails with `EAGAIN` unless every directory entry on the way is already in
//! the kernel's lookup cache. io_uring uses both flags for its own "try it
//! inline first" path; database engines read their cached pages this way.
//!
//! # What this module does
//!
//! It is the only place in `fs` with `unsafe`: thin wrappers over the two
//! system calls and `fcntl`, which turn `errno` into an [`Outcome`] that
//! says what the caller should do next, and the once-per-process check of
//! whether the kernel offers the flags at all.
//!
//! # Fallback
//!
//! * Not Linux, or a kernel older than 4.14 (read once from `uname`): no
//!   inline reads, every read goes to the pool as before.
//! * `ENOSYS` or `EPERM` from the call (a sandbox such as a seccomp filter
//!   or gVisor refusing it): the same, for the rest of the process.
//! * `EOPNOTSUPP` or `EINVAL`: this *file* refuses the flag (a filesystem
//!   that does not support it, FUSE, a character device...). Its reads go
//!   to the pool from then on.
//! * Files opened with `O_DIRECT` are never tried ([`inline_candidate`]):
//!   for direct I/O the flag only avoids waiting for locks, and the read
//!   still waits for the device.
//! * `EAGAIN`, or any other error: this one read goes to the pool, which
//!   waits for the disk or reports the error exactly as `std` would.
//!
//! The same rules hold for `openat2`, whose support (5.12) is tracked
//! separately: without it, `fs::read` opens its file on the pool.
//!
//! One bet is taken, the one io_uring takes for its own inline opens:
//! `RESOLVE_CACHED` vouches for the *lookup* only. The filesystem's own
//! `open` then runs too, with `O_NONBLOCK` as its hint not to wait; on
//! local filesystems it does no I/O, but a network or FUSE filesystem may
//! ask its server. Where that matters, `Builder::inline_file_reads(false)`
//! keeps every open and read on the pool.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};

/// What a non-blocking attempt came to, and so what to do next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome<T> {
    /// It worked without waiting.
    Done(T),
    /// It would have had to wait (or failed in a way the blocking call
    /// should report): do this one on the pool.
    Miss,
    /// This file refuses the flag: do all its reads on the pool.
    FileRefuses,
    /// The kernel (or a sandbox) lacks the call or the flag: stop trying
    /// for the rest of the process.
    KernelLacks,
}

/// What an `errno` from one of the calls means for the caller. `EINTR` is
/// retried by the callers and never reaches here.
pub(crate) fn classify<T>(errno: i32) -> Outcome<T> {
    match errno {
        libc::ENOSYS | libc::EPERM => Outcome::KernelLacks,
        libc::EOPNOTSUPP | libc::EINVAL => Outcome::FileRefuses,
        _ => Outcome::Miss,
    }
}

/// Support not checked yet.
const UNKNOWN: u8 = 0;
/// Support checked: the calls may be tried.
const YES: u8 = 1;
/// No support: never try.
const NO: u8 = 2;

/// Whether the kernel has `preadv2(RWF_NOWAIT)`: `UNKNOWN`, `YES` or `NO`.
static NOWAIT_READ: AtomicU8 = AtomicU8::new(UNKNOWN);
/// Whether the kernel has `openat2(RESOLVE_CACHED)`.
static CACHED_OPEN: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Reads and caches one support flag; `since` is the first kernel that has
/// the feature.
fn check(flag: &AtomicU8, since: (u32, u32)) -> bool {
    match flag.load(Ordering::Relaxed) {
        YES => true,
        NO => false,
        _ => {
            let yes = kernel_release().is_some_and(|release| release_at_least(&release, since));
            // Racing first callers compute the same answer.
            flag.store(if yes { YES } else { NO }, Ordering::Relaxed);
            yes
        }
    }
}

/// Whether inline reads (`preadv2` with `RWF_NOWAIT`) can work here.
pub(crate) fn nowait_read_supported() -> bool {
    check(&NOWAIT_READ, (4, 14))
}

/// Whether cached opens (`openat2` with `RESOLVE_CACHED`) can work here.
pub(crate) fn cached_open_supported() -> bool {
    check(&CACHED_OPEN, (5, 12))
}

/// Whether a kernel release string such as `"6.1.0-13-amd64"` is at least
/// `major.minor`. An unparsable release counts as too old.
pub(crate) fn release_at_least(release: &str, (major, minor): (u32, u32)) -> bool {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let number = |part: Option<&str>| part.and_then(|p| p.parse::<u32>().ok());
    match (number(parts.next()), number(parts.next())) {
        (Some(have_major), Some(have_minor)) => (have_major, have_minor) >= (major, minor),
        _ => false,
    }
}

/// The running kernel's release (`uname -r`), on Linux.
#[cfg(target_os = "linux")]
fn kernel_release() -> Option<String> {
    // SAFETY: `utsname` is plain old data (arrays of `c_char`), for which
    // all zeroes is a valid value.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is a valid, writable `utsname` that outlives the call.
    if unsafe { libc::uname(&mut name) } != 0 {
        return None;
    }
    let release: Vec<u8> = name
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8(release).ok()
}

#[cfg(not(target_os = "linux"))]
fn kernel_release() -> Option<String> {
    None
}

/// Records what a call said about the kernel, and passes the outcome on.
fn note<T>(flag: &AtomicU8, outcome: Outcome<T>) -> Outcome<T> {
    if matches!(outcome, Outcome::KernelLacks) {
        flag.store(NO, Ordering::Relaxed);
    }
    outcome
}

/// Reads into `buf` from `file` without waiting for the disk, at the
/// file's own position, which it advances (like `read`). Call it only after
/// [`nowait_read_supported`].
pub(crate) fn read(file: &std::fs::File, buf: &mut [u8]) -> Outcome<usize> {
    // SAFETY: `buf` is a live, writable (and initialised) slice, borrowed
    // for the whole call.
    unsafe { read_raw(file, buf.as_mut_ptr(), buf.len(), -1) }
}

/// Like [`read`], but at `offset`, leaving the file position alone (like
/// `pread`).
pub(crate) fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> Outcome<usize> {
    let Ok(offset) = i64::try_from(offset) else {
        return Outcome::Miss; // past what off_t holds: the pool reports it
    };
    // SAFETY: as in `read`.
    unsafe { read_raw(file, buf.as_mut_ptr(), buf.len(), offset) }
}

/// Like [`read`], but into the spare capacity of `out`, at most `max`
/// bytes, which are appended to it: no zeroing of memory that the read
/// overwrites anyway, as `std::fs::read` does.
pub(crate) fn read_appending(
    file: &std::fs::File,
    out: &mut Vec<u8>,
    max: usize,
) -> Outcome<usize> {
    let spare = out.spare_capacity_mut();
    let len = spare.len().min(max);
    // SAFETY: the first `len` bytes of `out`'s spare capacity are
    // allocated and writable, and `out` is borrowed for the whole call.
    let outcome = unsafe { read_raw(file, spare.as_mut_ptr().cast(), len, -1) };
    if let Outcome::Done(n) = outcome {
        // SAFETY: the kernel initialised the `n <= len` bytes just after
        // the vector's length, within its capacity.
        unsafe { out.set_len(out.len() + n) };
    }
    outcome
}

/// `preadv2(fd, {ptr, len}, 1, offset, RWF_NOWAIT)`, with `EINTR`
/// retried; offset -1 means the file's position, as read(2) uses it.
///
/// # Safety
/// `ptr` must be valid for writes of `len` bytes for the whole call.
#[cfg(target_os = "linux")]
unsafe fn read_raw(file: &std::fs::File, ptr: *mut u8, len: usize, offset: i64) -> Outcome<usize> {
    use std::os::fd::AsRawFd;
    let iov = libc::iovec {
        iov_base: ptr.cast(),
        iov_len: len,
    };
    loop {
        // SAFETY: `iov` describes `len` writable bytes at `ptr` (the
        // caller's promise) and `iovcnt` is 1; the descriptor is owned by
        // `file`, open while it is borrowed. The kernel writes at most
        // `len` bytes.
        let n = unsafe { libc::preadv2(file.as_raw_fd(), &iov, 1, offset, libc::RWF_NOWAIT) };
        if let Ok(n) = usize::try_from(n) {
            return Outcome::Done(n);
        }
        match io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(errno) => return note(&NOWAIT_READ, classify(errno)),
            None => return Outcome::Miss,
        }
    }
}

/// No `preadv2` here: never inline.
///
/// # Safety
/// None needed; `unsafe` only to match the Linux signature.
#[cfg(not(target_os = "linux"))]
unsafe fn read_raw(_: &std::fs::File, _: *mut u8, _: usize, _: i64) -> Outcome<usize> {
    Outcome::KernelLacks
}

/// `struct open_how` of `linux/openat2.h` (libc's is `non_exhaustive`).
#[cfg(target_os = "linux")]
#[repr(C)]
struct OpenHow {
    /// `O_*` flags, as for `open`.
    flags: u64,
    /// Permission bits for a created file (none here).
    mode: u64,
    /// `RESOLVE_*` flags: how the path may be looked up.
    resolve: u64,
}

/// Opens `path` read-only if that needs no I/O: every component must be in
/// the kernel's lookup cache. `O_NONBLOCK` keeps the open of a FIFO or a
/// device from waiting; for regular files, clear it with
/// [`clear_nonblock`] before any blocking read (which then never sees it:
/// Linux ignores the flag for regular files' reads anyway). Call it only
/// after [`cached_open_supported`].
#[cfg(target_os = "linux")]
pub(crate) fn open_cached(path: &Path) -> Outcome<std::fs::File> {
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return Outcome::Miss; // a NUL in the path: the pool's open reports it
    };
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK;
    let how = OpenHow {
        flags: u64::try_from(flags).expect("open flags are non-negative"),
        mode: 0,
        resolve: libc::RESOLVE_CACHED,
    };
    loop {
        // SAFETY: `path` is a NUL-terminated string and `how` a valid
        // `open_how` of the size passed, both alive for the whole call; the
        // kernel only reads them.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                libc::AT_FDCWD,
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if let Ok(fd) = libc::c_int::try_from(fd)
            && fd >= 0
        {
            // SAFETY: the kernel just returned `fd`, a new descriptor that
            // nothing else owns.
            return Outcome::Done(unsafe { std::fs::File::from_raw_fd(fd) });
        }
        match io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            // E2BIG: a kernel that does not know this `open_how`.
            Some(libc::E2BIG) => return note(&CACHED_OPEN, Outcome::KernelLacks),
            // EINVAL here means RESOLVE_CACHED is unknown (before 5.12):
            // our flags are otherwise valid.
            Some(libc::EINVAL) => return note(&CACHED_OPEN, Outcome::KernelLacks),
            Some(errno) => return note(&CACHED_OPEN, classify(errno)),
            None => return Outcome::Miss,
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn open_cached(_: &Path) -> Outcome<std::fs::File> {
    Outcome::KernelLacks
}

/// Whether `file` is a regular file, and its size, from what the kernel
/// holds in memory: `statx` with `AT_STATX_DONT_SYNC`, so that a network
/// filesystem answers from its attribute cache rather than ask its server
/// (a stale size does no harm: the caller reads to the end of the file).
/// `None` if the call fails.
#[cfg(target_os = "linux")]
pub(crate) fn cached_stat(file: &std::fs::File) -> Option<(bool, u64)> {
    use std::os::fd::AsRawFd;
    // SAFETY: `statx` is plain old data, for which all zeroes is valid.
    let mut stat: libc::statx = unsafe { std::mem::zeroed() };
    let flags = libc::AT_EMPTY_PATH | libc::AT_STATX_DONT_SYNC;
    let mask = libc::STATX_TYPE | libc::STATX_SIZE;
    // SAFETY: the path is an empty NUL-terminated string (with
    // AT_EMPTY_PATH, the descriptor itself is examined); `stat` is a
    // valid, writable `statx` that outlives the call; `file` keeps the
    // descriptor open.
    let rc = unsafe { libc::statx(file.as_raw_fd(), c"".as_ptr(), flags, mask, &mut stat) };
    if rc != 0 || stat.stx_mask & mask != mask {
        return None;
    }
    let regular = u32::from(stat.stx_mode) & libc::S_IFMT == libc::S_IFREG;
    Some((regular, stat.stx_size))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn cached_stat(_: &std::fs::File) -> Option<(bool, u64)> {
    None
}

/// Whether reads of `file` may be tried inline: a regular file, not opened
/// with `O_DIRECT`. Direct I/O reads the disk on every call, and for it
/// `RWF_NOWAIT` only promises not to wait for locks or block allocation:
/// the read itself would still wait for the device. Runs on the pool (an
/// `fstat`).
pub(crate) fn inline_candidate(file: &std::fs::File) -> bool {
    file.metadata().is_ok_and(|meta| meta.is_file()) && !is_direct(file)
}

/// Whether `file` was opened with `O_DIRECT` (or its flags are unreadable).
#[cfg(target_os = "linux")]
fn is_direct(file: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: F_GETFL only reads the flags of the descriptor, which `file`
    // keeps open for the call.
    let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
    flags < 0 || flags & libc::O_DIRECT != 0
}

#[cfg(not(target_os = "linux"))]
fn is_direct(_: &std::fs::File) -> bool {
    false
}

/// Clears `O_NONBLOCK` on a file opened by [`open_cached`], before it is
/// handed to a pool thread for ordinary blocking reads.
#[cfg(target_os = "linux")]
pub(crate) fn clear_nonblock(file: &std::fs::File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: F_GETFL only reads the flags of `fd`, which `file` keeps open.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: F_SETFL only changes the status flags of `fd`, still open.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn clear_nonblock(_: &std::fs::File) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_strings_compare_by_major_and_minor() {
        assert!(release_at_least("6.18.44-fc-v1098", (4, 14)));
        assert!(release_at_least("4.14.0", (4, 14)));
        assert!(release_at_least("5.12-rc1", (5, 12)));
        assert!(!release_at_least("4.13.16-generic", (4, 14)));
        assert!(!release_at_least("5.11.0", (5, 12)));
        assert!(!release_at_least("", (4, 14)));
        assert!(!release_at_least("linux", (4, 14)));
    }

    #[test]
    fn errno_says_who_refuses() {
        assert_eq!(classify::<()>(libc::ENOSYS), Outcome::KernelLacks);
        assert_eq!(classify::<()>(libc::EPERM), Outcome::KernelLacks);
        assert_eq!(classify::<()>(libc::EOPNOTSUPP), Outcome::FileRefuses);
        assert_eq!(classify::<()>(libc::EINVAL), Outcome::FileRefuses);
        assert_eq!(classify::<()>(libc::EAGAIN), Outcome::Miss);
        assert_eq!(classify::<()>(libc::EIO), Outcome::Miss);
    }

    #[cfg(target_os = "linux")]
    #[test]
    // Writes a file and calls preadv2: miri's isolation forbids the host's
    // filesystem, and it has no shim for preadv2 (the unsafe wrapper is
    // exercised by the fs_inline_read suites instead).
    #[cfg_attr(miri, ignore)]
    fn detection_matches_what_the_kernel_does() {
        use std::io::Write;
        let path = std::env::temp_dir().join(format!("evloop-nowait-{}", std::process::id()));
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(b"cached bytes"))
            .expect("write the probe file");
        let file = std::fs::File::open(&path).expect("open");
        let mut buf = [0u8; 64];
        let outcome = read(&file, &mut buf);
        if nowait_read_supported() {
            // Just written, so cached (or refused by an exotic /tmp).
            match outcome {
                Outcome::Done(n) => assert_eq!(&buf[..n], b"cached bytes"),
                other => assert!(other != Outcome::KernelLacks, "{other:?}"),
            }
        }
        // Appending reads fill at most `max` bytes of spare capacity, from
        // the file position on.
        let file = std::fs::File::open(&path).expect("open");
        let mut out = Vec::with_capacity(16);
        out.push(b'>');
        while let Outcome::Done(n @ 1..) = read_appending(&file, &mut out, 5) {
            assert!(n <= 5);
        }
        if nowait_read_supported() && out.len() > 1 {
            assert_eq!(out, b">cached bytes");
        }
        assert_eq!(cached_stat(&file), Some((true, 12)));
        // A character device refuses the flag or reads without waiting.
        let zero = std::fs::File::open("/dev/zero").expect("/dev/zero exists");
        assert_eq!(cached_stat(&zero).map(|(regular, _)| regular), Some(false));
        let outcome = read(&zero, &mut buf);
        assert!(
            matches!(outcome, Outcome::Done(64) | Outcome::FileRefuses),
            "{outcome:?}"
        );
        if cached_open_supported() {
            let opened = open_cached(&path);
            assert!(
                matches!(opened, Outcome::Done(_) | Outcome::Miss),
                "{opened:?}"
            );
        }
        std::fs::remove_file(&path).expect("remove");
    }
}
