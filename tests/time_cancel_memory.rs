//! A million sleeps registered then dropped: fast, and the memory is given
//! back. Alone in its test binary, because it measures the process's
//! resident memory.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use evloop::time::{Sleep, sleep};

/// Resident memory of this process, in bytes (Linux).
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("statm's second field is the resident page count");
    // SAFETY: sysconf has no preconditions.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * usize::try_from(page_size).expect("positive page size")
}

#[test]
fn a_million_sleeps_registered_then_dropped_go_fast_and_give_memory_back() {
    let count = 1_000_000;
    let rt = evloop::Runtime::new().expect("runtime");
    let before = resident_bytes();
    let started = Instant::now();
    rt.block_on(async {
        let mut sleeps: Vec<Sleep> = (0..count).map(|_| sleep(Duration::from_secs(60))).collect();
        // Poll each once: that registers it in the wheel.
        std::future::poll_fn(|cx| {
            for sleep in &mut sleeps {
                assert!(Pin::new(sleep).poll(cx).is_pending());
            }
            Poll::Ready(())
        })
        .await;
        assert_eq!(rt.metrics().timers, count);
        drop(sleeps);
        // The wheel frees its emptied slab at the start of the next turn.
        evloop::yield_now().await;
    });
    let elapsed = started.elapsed();
    assert_eq!(rt.metrics().timers, 0);
    assert!(
        elapsed < Duration::from_secs(10),
        "{count} sleeps took {elapsed:?}"
    );
    // The wheel's slab alone held count × ~56 bytes; all of it must be back.
    let after = resident_bytes();
    let kept = after.saturating_sub(before);
    assert!(
        kept < count * 8,
        "kept {kept} bytes of {count} dropped sleeps"
    );
}
