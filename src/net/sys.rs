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

/// Sets `SO_REUSEPORT` on a socket that is not bound yet: several sockets
/// of one user may then bind the same address and port, each with its own
/// accept queue (see `TcpListener::bind_reuseport`).
pub(crate) fn set_reuse_port(fd: BorrowedFd<'_>) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `on` is a valid `c_int` for the whole call and its size is
    // passed; `fd` is an open socket for the lifetime of the borrow.
    let result = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEPORT,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
