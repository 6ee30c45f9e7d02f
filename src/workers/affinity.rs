//! Pinning a worker thread to one CPU.
//!
//! A pinned worker keeps its caches warm and its memory local: the kernel
//! will not migrate it to another core. The CPUs are those the process may
//! use (its affinity mask, which `taskset` or a container may have
//! narrowed), so worker i gets the i-th of *those*, not CPU number i.

use std::io;

/// Pins the calling thread to the `index`-th CPU the process may use
/// (modulo their number).
#[cfg(target_os = "linux")]
pub(super) fn pin_current_thread(index: usize) -> io::Result<()> {
    // SAFETY: an all-zero `cpu_set_t` is the empty set.
    let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `allowed` is valid for writes of `size` bytes; pid 0 is us.
    if unsafe { libc::sched_getaffinity(0, size, &mut allowed) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, the size of the set.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &allowed) })
        .collect();
    let Some(&cpu) = cpus.get(index % cpus.len().max(1)) else {
        return Err(io::Error::other("the process may run on no CPU"));
    };
    // SAFETY: as above.
    let mut only: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` came from the set, so it is below CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut only) };
    // SAFETY: `only` is a valid set of `size` bytes; pid 0 is this thread.
    if unsafe { libc::sched_setaffinity(0, size, &only) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Elsewhere there is no portable affinity call: workers run unpinned.
#[cfg(not(target_os = "linux"))]
pub(super) fn pin_current_thread(_index: usize) -> io::Result<()> {
    Ok(())
}
