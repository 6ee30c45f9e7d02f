//! An idle loop waiting for a timer sleeps in the kernel: it does not spin.

use std::time::{Duration, Instant};

/// CPU time (user + system) this thread has used.
fn thread_cpu_time() -> Duration {
    // SAFETY: `rusage` is plain old data, valid when zeroed.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

#[test]
fn block_on_sleep_one_second_uses_almost_no_cpu() {
    let rt = evloop::Runtime::new().expect("runtime");
    let cpu_before = thread_cpu_time();
    let start = Instant::now();
    rt.block_on(evloop::time::sleep(Duration::from_secs(1)));
    let wall = start.elapsed();
    let cpu = thread_cpu_time() - cpu_before;
    assert!(wall >= Duration::from_secs(1));
    assert!(
        cpu < wall / 20,
        "{cpu:?} of CPU in {wall:?}: more than 5% of a core"
    );
    // A handful of turns: register, a cascade or two, fire. Not a busy loop.
    let polls = rt.metrics().os_polls;
    assert!(polls < 10, "{polls} epoll_wait calls for one timer");
}
