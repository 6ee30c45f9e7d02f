//! The process-wide half of signal handling: the handler, its counters and
//! the self-pipes.
//!
//! Everything here is global because a signal disposition is global: there
//! is one `sigaction` per signal number per process, whoever asks for it.
//! The handler touches only what was set up before it could run, and only
//! in async-signal-safe ways:
//!
//! ```text
//!   handler(signo):                         listen(signo) (under a lock):
//!     save errno                              install the handler, once
//!     GENERATIONS[signo] += 1  (atomic)       take a free pipe slot, or
//!     for each slot below SLOTS_USED:           make a pipe for a new one
//!       if ACTIVE[slot]:                      ACTIVE[slot] = true
//!         write(WRITE_FDS[slot], 1 byte)      dup the slot's read end
//!     call the previous handler, if any
//!     restore errno
//! ```
//!
//! No allocation, no lock, no `Once` on the handler's path: an interrupted
//! thread may hold the allocator's lock or be in the middle of the very
//! `Once` the handler would wait on.
//!
//! # One pipe per listener
//!
//! Why not one pipe for everyone, each loop watching a `dup` of its read
//! end? Because epoll checks a source's readiness *again* when
//! `epoll_wait` collects it: if loop A empties the shared pipe before loop
//! B calls `epoll_wait`, B's event is silently dropped and B sleeps through
//! the signal. So each listener has a pipe of its own, and the handler
//! rings every active one.
//!
//! A slot's descriptors are never closed, so the handler can never write to
//! a descriptor that was closed and reused for something else: a listener
//! that goes away marks its slot inactive and returns it to a free list for
//! the next listener (which may find a stray byte in it: harmless, the
//! counters are the truth). The table keeps its own copy of each read end,
//! so a pipe always has a reader and a write can never raise `SIGPIPE`.

use std::io;
use std::os::fd::{BorrowedFd, IntoRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// One past the highest signal number we accept (Linux's `SIGRTMAX` is 64).
pub(super) const MAX_SIGNAL: usize = 65;

/// How many signal listeners may exist at once in the process.
pub(super) const MAX_LISTENERS: usize = 1024;

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

/// The write end of each slot's pipe (never closed once set).
static WRITE_FDS: [AtomicI32; MAX_LISTENERS] = [const { AtomicI32::new(-1) }; MAX_LISTENERS];

/// The table's own copy of each slot's read end (never closed once set).
static READ_FDS: [AtomicI32; MAX_LISTENERS] = [const { AtomicI32::new(-1) }; MAX_LISTENERS];

/// Whether a listener owns the slot now; the handler skips idle pipes.
static ACTIVE: [AtomicBool; MAX_LISTENERS] = [const { AtomicBool::new(false) }; MAX_LISTENERS];

/// How many slots have a pipe: the handler looks at `0..SLOTS_USED`.
static SLOTS_USED: AtomicUsize = AtomicUsize::new(0);

/// The setup side's state: slots whose listener went away.
struct Table {
    /// Slots with a pipe and no listener, ready for reuse.
    free: Vec<usize>,
}

/// Serialises installation and slot allocation.
static TABLE: Mutex<Table> = Mutex::new(Table { free: Vec::new() });

fn table() -> MutexGuard<'static, Table> {
    // Plain data, no user code under the lock.
    TABLE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How many times `signo` has been delivered so far.
pub(super) fn generation(signo: usize) -> u64 {
    GENERATIONS[signo].load(Ordering::SeqCst)
}

/// A listener's pipe slot; frees the slot (not the pipe) when dropped.
#[derive(Debug)]
pub(super) struct Slot {
    /// Index into the tables above.
    index: usize,
}

impl Drop for Slot {
    fn drop(&mut self) {
        ACTIVE[self.index].store(false, Ordering::SeqCst);
        table().free.push(self.index);
    }
}

/// Makes sure our handler runs for `signo`, and gives the caller a pipe
/// slot and its own descriptor of the slot's read end, to register with its
/// loop.
pub(super) fn listen(signo: libc::c_int) -> io::Result<(Slot, OwnedFd)> {
    let index = usize::try_from(signo).expect("validated by SignalKind");
    let mut table = table();
    // The pipe first, the handler last: a failure on the way must not
    // leave the signal's default action replaced with nobody listening.
    let slot = match table.free.pop() {
        Some(slot) => slot,
        None => new_slot()?,
    };
    let fd = READ_FDS[slot].load(Ordering::SeqCst);
    // SAFETY: a published slot's read end in the table is open for ever.
    let read = match unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned() {
        Ok(read) => read,
        Err(error) => {
            table.free.push(slot);
            return Err(error);
        }
    };
    if !INSTALLED[index].load(Ordering::SeqCst) {
        if let Err(error) = install(signo) {
            table.free.push(slot);
            return Err(error);
        }
        INSTALLED[index].store(true, Ordering::SeqCst);
    }
    ACTIVE[slot].store(true, Ordering::SeqCst);
    drop(table);
    #[cfg(test)]
    tests::AFTER_LISTEN.with(|hook| {
        if let Some(hook) = hook.take() {
            hook();
        }
    });
    Ok((Slot { index: slot }, read))
}

/// Makes the pipe of a new slot (the caller holds the table lock).
fn new_slot() -> io::Result<usize> {
    let slot = SLOTS_USED.load(Ordering::SeqCst);
    if slot == MAX_LISTENERS {
        return Err(io::Error::other(format!(
            "evloop: more than {MAX_LISTENERS} signal listeners at once"
        )));
    }
    // mio makes both ends non-blocking and close-on-exec.
    let (write, read) = mio::unix::pipe::new()?;
    // Deliberately leaked: see the module docs.
    WRITE_FDS[slot].store(write.into_raw_fd(), Ordering::SeqCst);
    READ_FDS[slot].store(read.into_raw_fd(), Ordering::SeqCst);
    // Published last, so the handler never sees a slot without its fds.
    SLOTS_USED.store(slot + 1, Ordering::SeqCst);
    Ok(slot)
}

/// Installs `handler` for `signo`, remembering the previous disposition.
fn install(signo: libc::c_int) -> io::Result<()> {
    let index = usize::try_from(signo).expect("validated by SignalKind");
    // SAFETY: an all-zero `sigaction` is a valid value (no handler, empty
    // mask, no flags); we fill in what we use.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as Action as libc::sighandler_t;
    // SA_RESTART: a slow syscall interrupted by the signal elsewhere in the
    // program is restarted rather than failing with EINTR. SA_SIGINFO: the
    // handler gets the `siginfo`, to pass on to a previous handler.
    action.sa_flags = libc::SA_RESTART | libc::SA_SIGINFO;
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
    // async-signal-safe three-argument handler (SA_SIGINFO) that lives for
    // ever.
    if unsafe { libc::sigaction(signo, &action, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A three-argument (`SA_SIGINFO`) signal handler.
type Action = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);

/// The signal handler. Only async-signal-safe work: atomics and `write(2)`.
extern "C" fn handler(signo: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let saved_errno = io::Error::last_os_error().raw_os_error();
    let Ok(index) = usize::try_from(signo) else {
        return;
    };
    if index >= MAX_SIGNAL {
        return;
    }
    GENERATIONS[index].fetch_add(1, Ordering::SeqCst);
    let byte = signo as u8;
    for slot in 0..SLOTS_USED.load(Ordering::SeqCst) {
        if !ACTIVE[slot].load(Ordering::SeqCst) {
            continue;
        }
        // A full pipe (EAGAIN) is fine: the bytes already in it will wake
        // the listener, who then reads the counters, which are exact.
        // SAFETY: a published slot's write end is open for ever; `byte` is
        // one valid byte.
        let _ = unsafe {
            libc::write(
                WRITE_FDS[slot].load(Ordering::SeqCst),
                (&byte as *const u8).cast(),
                1,
            )
        };
    }
    chain(index, signo, info, context);
    if let Some(errno) = saved_errno {
        set_errno(errno);
    }
}

/// Calls the handler that was installed before ours, so that a library
/// that handled this signal first keeps working.
fn chain(index: usize, signo: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let previous = PREVIOUS[index].load(Ordering::SeqCst);
    if previous == 0 {
        return;
    }
    if PREVIOUS_SIGINFO[index].load(Ordering::SeqCst) {
        // SAFETY: `previous` was installed with SA_SIGINFO, so it is a
        // three-argument handler; it gets the kernel's own `info` and
        // `context`, as if it had been called directly.
        let action: Action = unsafe { std::mem::transmute::<usize, Action>(previous) };
        action(signo, info, context);
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

#[cfg(test)]
pub(super) mod tests {
    use std::cell::Cell;

    thread_local! {
        /// Runs once at the end of the next `listen` on this thread: lets a
        /// test deliver a signal in the instant after the handler is
        /// installed and the slot is live.
        pub(in crate::signal) static AFTER_LISTEN: Cell<Option<fn()>> = const { Cell::new(None) };
    }
}
