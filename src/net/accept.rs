//! Accepting connections when the process is out of file descriptors.
//!
//! # The problem
//!
//! `accept(2)` needs a free file descriptor for the new connection. When the
//! process has none left it fails with `EMFILE` (or `ENFILE`, for the whole
//! system) and the connection *stays in the listen queue*. The listener is
//! still readable, so an event loop that retries, or one that reports the
//! error to a server loop that retries, spins at 100% CPU without making any
//! progress, and slows down the connections it already serves. With
//! edge-triggered readiness the retry is not even needed to spin: the cached
//! readiness stays set, because only `WouldBlock` clears it.
//!
//! # The trick (libuv's `uv__emfile_trick`)
//!
//! Each listener keeps one spare descriptor open (`/dev/null`). On `EMFILE`:
//!
//! ```text
//!   close the spare            → one descriptor is free
//!   accept → close, repeatedly → drain the listen queue: those clients
//!                                see their connection closed at once
//!   until accept says WouldBlock
//!   reopen the spare
//! ```
//!
//! The clients that came while the server was full are refused (closed)
//! quickly instead of hanging in the queue, the listener's readiness is
//! drained so the loop goes back to sleep, and as soon as connections are
//! closed and descriptors free up, accepting works again by itself.

use std::fs::File;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The spare descriptor of one listener. See the module docs.
#[derive(Debug)]
pub(crate) struct Reserve {
    /// The spare, or `None` while it could not be (re)opened.
    spare: Mutex<Option<File>>,
    /// True while `spare` is `None`: lets `refill` skip the lock on the
    /// accept fast path.
    missing: AtomicBool,
}

fn out_of_fds(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

fn retry(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
    )
}

/// Opens the spare: `/dev/null`, close-on-exec (std opens files with
/// `O_CLOEXEC`).
fn open_spare() -> Option<File> {
    File::open("/dev/null").ok()
}

impl Reserve {
    pub(crate) fn new() -> Reserve {
        let spare = open_spare();
        Reserve {
            missing: AtomicBool::new(spare.is_none()),
            spare: Mutex::new(spare),
        }
    }

    /// Runs one non-blocking `accept`, with the trick on `EMFILE`/`ENFILE`.
    ///
    /// A connection aborted before we took it (`ECONNABORTED`) is skipped:
    /// there is nothing to do about it. After a successful drain this
    /// returns `WouldBlock`, so the caller parks until the next connection.
    pub(crate) fn accept<T>(&self, mut accept: impl FnMut() -> io::Result<T>) -> io::Result<T> {
        loop {
            match accept() {
                Ok(connection) => {
                    self.refill();
                    return Ok(connection);
                }
                Err(error) if retry(&error) => continue,
                Err(error) if out_of_fds(&error) => {
                    return match self.shed(&mut accept) {
                        true => Err(io::ErrorKind::WouldBlock.into()),
                        false => Err(error),
                    };
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Frees the spare, accepts and closes every queued connection, and
    /// takes the spare back. True if the queue was drained to `WouldBlock`.
    fn shed<T>(&self, accept: &mut impl FnMut() -> io::Result<T>) -> bool {
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        let Some(file) = spare.take() else {
            // No spare (we could never open it): nothing to free. The
            // caller gets the EMFILE error and must back off itself.
            return false;
        };
        drop(file);
        let drained = loop {
            match accept() {
                Ok(connection) => drop(connection),
                Err(error) if retry(&error) => {}
                Err(error) => break error.kind() == io::ErrorKind::WouldBlock,
            }
        };
        *spare = open_spare();
        self.missing.store(spare.is_none(), Ordering::Relaxed);
        drained
    }

    /// Reopens the spare if an earlier reopening failed.
    pub(crate) fn refill(&self) {
        if !self.missing.load(Ordering::Relaxed) {
            return;
        }
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        if spare.is_none() {
            *spare = open_spare();
        }
        self.missing.store(spare.is_none(), Ordering::Relaxed);
    }
}
