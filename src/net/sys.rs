//! The few raw system calls the socket types make themselves.
//!
//! # Why writes go through `send(MSG_NOSIGNAL)`
//!
//! Writing to a stream socket whose peer has gone away makes the kernel
//! send the writer a `SIGPIPE`, whose default action kills the process:
//! a server could be taken down by any client that resets its connection.
//! Rust's `main` ignores `SIGPIPE`, but a library cannot count on that (a C
//! program may host it, or a program may restore the default). `send(2)`
//! with `MSG_NOSIGNAL` reports `EPIPE` as an error instead, whatever the
//! signal disposition. std's `TcpStream` already uses it, its `UnixStream`
//! does not, so evloop's streams call it themselves. (Apple systems have no
//! `MSG_NOSIGNAL`; mio sets `SO_NOSIGPIPE` on every socket there instead.)
//!
//! This is the one module of `net` with `unsafe` code.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

#[cfg(not(target_vendor = "apple"))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(target_vendor = "apple")]
const SEND_FLAGS: libc::c_int = 0;

/// `send(2)` that reports a closed peer as `EPIPE`, never as a signal.
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the whole
    // call, and `fd` is an open descriptor for the lifetime of the borrow.
    let n = unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), SEND_FLAGS) };
    // A negative return is exactly the error case; `try_from` fails on it.
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// The most buffers one `sendmsg` takes (`IOV_MAX` is 1024 on Linux and
/// the BSDs); the rest wait for the next call, as a short write.
pub(crate) const MAX_IOVECS: usize = 1024;

/// `sendmsg(2)` of several buffers in one call (a `writev` that, like
/// [`send`], reports a closed peer as `EPIPE` rather than a signal).
pub(crate) fn send_vectored(fd: BorrowedFd<'_>, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    let bufs = &bufs[..bufs.len().min(MAX_IOVECS)];
    // SAFETY: an all-zero `msghdr` is valid (null name, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSlice` is documented to be ABI-compatible with `iovec` on Unix;
    // sendmsg only reads through the pointer.
    msg.msg_iov = bufs.as_ptr().cast_mut().cast();
    msg.msg_iovlen = bufs.len() as _;
    // SAFETY: `msg` points at `bufs.len()` valid iovecs that outlive the
    // call, and `fd` is open for the lifetime of the borrow.
    let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, SEND_FLAGS) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// `recv(2)` with `MSG_PEEK`: the bytes stay queued for the next read.
pub(crate) fn peek(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole
    // call, and `fd` is open for the lifetime of the borrow.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_PEEK,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// Sets `SO_REUSEPORT` (or clears it) on a socket that is not bound yet:
/// several sockets of one user may then bind the same address and port,
/// each with its own accept queue (see `TcpListener::bind_reuseport` and
/// `TcpSocket::set_reuseport`). socket2 has it only behind its `all`
/// feature.
pub(crate) fn set_reuseport(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let value = libc::c_int::from(on);
    // SAFETY: `value` is a live `c_int` and its size is passed with it; `fd`
    // is open for the lifetime of the borrow.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEPORT,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads `SO_REUSEPORT`.
pub(crate) fn reuseport(fd: BorrowedFd<'_>) -> io::Result<bool> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live and `len` holds `value`'s size;
    // `fd` is open for the lifetime of the borrow.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEPORT,
            (&raw mut value).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(value != 0)
    } else {
        Err(io::Error::last_os_error())
    }
}
