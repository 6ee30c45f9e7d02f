//! The process-wide half of signal handling: the handler, its counters and
//! the self-pipe.
//!
//! Everything here is global because a signal disposition is global: there
//! is one `sigaction` per signal number per process, whoever asks for it.
//! The handler touches only what was set up before it was installed, and
//! only in async-signal-safe ways:
//!
//! ```text
//!   handler(signo):                      setup (once, under a lock):
//!     save errno                           create the socketpair
//!     GENERATIONS[signo] += 1  (atomic)    record the previous handler
//!     write(PIPE_WRITE, [signo])           sigaction(signo, handler)
//!     call the previous handler, if any
//!     restore errno
//! ```
//!
//! No allocation, no lock, no `Once` on the handler's path: an interrupted
//! thread may hold the allocator's lock or be in the middle of the very
//! `Once` the handler would wait on.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// One past the highest signal number we accept (Linux's `SIGRTMAX` is 64).
pub(super) const MAX_SIGNAL: usize = 65;

/// How many times each signal has been delivered since the process began
/// (wrapping). Listeners compare it with the value they last saw.
static GENERATIONS: [AtomicU64; MAX_SIGNAL] = [const { AtomicU64::new(0) }; MAX_SIGNAL];

/// Whether our handler is installed for each signal number.
static INSTALLED: [AtomicBool; MAX_SIGNAL] = [const { AtomicBool::new(false) }; MAX_SIGNAL];

/// The handler that was installed before ours (`sa_sigaction`), if it was a
/// function rather than `SIG_DFL` or `SIG_IGN`; 0 if none. Written before
/// ours is installed, read only by our handler.
static PREVIOUS: [AtomicUsize; MAX_SIGNAL] = [const { AtomicUsize::new(0) }; MAX_SIGNAL];

/// Whether the previous handler takes three arguments (`SA_SIGINFO`).
static PREVIOUS_SIGINFO: [AtomicBool; MAX_SIGNAL] = [const { AtomicBool::new(false) }; MAX_SIGNAL];

/// The write end of the self-pipe, or -1 before it exists. The handler
/// reads it; it is set once and the descriptor is never closed.
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// The self-pipe: a non-blocking socket pair. Its read end is `dup`ed for
/// every listener, which registers the copy with its own loop.
struct Pipe {
    /// The end listeners read from (the original, kept open for ever).
    read: UnixStream,
    /// The end the handler writes to (its fd is in `PIPE_WRITE`).
    _write: UnixStream,
}

/// The pipe, created on first use and never dropped.
static PIPE: OnceLock<Pipe> = OnceLock::new();

/// Serialises installation, so two loops asking for the same signal at once
/// install the handler once and record the right previous handler.
static INSTALL: Mutex<()> = Mutex::new(());

/// How many times `signo` has been delivered so far.
pub(super) fn generation(signo: usize) -> u64 {
    GENERATIONS[signo].load(Ordering::SeqCst)
}

/// Makes sure our handler runs for `signo` and returns a fresh descriptor
/// of the pipe's read end for the caller to register with its loop.
pub(super) fn listen(signo: libc::c_int) -> io::Result<OwnedFd> {
    let pipe = pipe()?;
    let index = usize::try_from(signo).expect("validated by SignalKind");
    if !INSTALLED[index].load(Ordering::Acquire) {
        let _guard = INSTALL.lock().unwrap_or_else(PoisonError::into_inner);
        if !INSTALLED[index].load(Ordering::Acquire) {
            install(signo)?;
            INSTALLED[index].store(true, Ordering::Release);
        }
    }
    let copy = pipe.read.try_clone()?;
    Ok(OwnedFd::from(copy))
}

fn pipe() -> io::Result<&'static Pipe> {
    if let Some(pipe) = PIPE.get() {
        return Ok(pipe);
    }
    // Racing creators each make a pair; one wins, the others' are dropped.
    let (read, write) = UnixStream::pair()?;
    read.set_nonblocking(true)?;
    write.set_nonblocking(true)?;
    let pipe = PIPE.get_or_init(|| Pipe {
        read,
        _write: write,
    });
    PIPE_WRITE.store(pipe._write.as_raw_fd(), Ordering::SeqCst);
    Ok(pipe)
}

/// Installs `handler` for `signo`, remembering the previous disposition.
fn install(signo: libc::c_int) -> io::Result<()> {
    let index = usize::try_from(signo).expect("validated by SignalKind");
    // SAFETY: an all-zero `sigaction` is a valid value (no handler, empty
    // mask, no flags); we fill in what we use.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SA_RESTART: a slow syscall interrupted by the signal elsewhere in the
    // program is restarted rather than failing with EINTR.
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `action.sa_mask` is a valid `sigset_t` owned by us.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: as above.
    let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
    // Read the old disposition first so that the handler never runs before
    // `PREVIOUS` describes it.
    // SAFETY: a null new action only queries; `previous` is valid for writes.
    if unsafe { libc::sigaction(signo, std::ptr::null(), &mut previous) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let old = previous.sa_sigaction;
    if old != libc::SIG_DFL && old != libc::SIG_IGN {
        PREVIOUS[index].store(old, Ordering::SeqCst);
        PREVIOUS_SIGINFO[index].store(previous.sa_flags & libc::SA_SIGINFO != 0, Ordering::SeqCst);
    }
    // SAFETY: `action` is fully initialised and `handler` is an
    // async-signal-safe `extern "C" fn(c_int)` that lives for ever.
    if unsafe { libc::sigaction(signo, &action, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The signal handler. Only async-signal-safe work: atomics and `write(2)`.
extern "C" fn handler(signo: libc::c_int) {
    let saved_errno = io::Error::last_os_error().raw_os_error();
    let Ok(index) = usize::try_from(signo) else {
        return;
    };
    if index >= MAX_SIGNAL {
        return;
    }
    GENERATIONS[index].fetch_add(1, Ordering::SeqCst);
    let fd = PIPE_WRITE.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = signo as u8;
        // A full pipe (EAGAIN) is fine: the bytes already in it will wake
        // the listeners, who then read the counters, which are exact.
        // SAFETY: `fd` is the never-closed write end; `byte` is one valid byte.
        let _ = unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    chain(index, signo);
    if let Some(errno) = saved_errno {
        set_errno(errno);
    }
}

/// Calls the handler that was installed before ours, so that a library
/// that handled this signal first keeps working.
fn chain(index: usize, signo: libc::c_int) {
    let previous = PREVIOUS[index].load(Ordering::SeqCst);
    if previous == 0 {
        return;
    }
    if PREVIOUS_SIGINFO[index].load(Ordering::SeqCst) {
        type Action = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);
        // SAFETY: `previous` was installed with SA_SIGINFO, so it is a
        // three-argument handler; it expects a siginfo we do not have, and
        // gets null, as signal-hook and tokio pass when they chain.
        let action: Action = unsafe { std::mem::transmute::<usize, Action>(previous) };
        action(signo, std::ptr::null_mut(), std::ptr::null_mut());
    } else {
        // SAFETY: `previous` was a one-argument handler (`sa_handler`).
        let action: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(previous) };
        action(signo);
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_errno(value: libc::c_int) {
    // SAFETY: `__errno_location` returns this thread's errno slot.
    unsafe { *libc::__errno_location() = value };
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn set_errno(value: libc::c_int) {
    // SAFETY: `__error` returns this thread's errno slot (BSD, macOS).
    unsafe { *libc::__error() = value };
}
