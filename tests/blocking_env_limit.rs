//! EVLOOP_BLOCKING_THREADS overrides the default limit (alone in its binary:
//! it sets a process-wide environment variable).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[test]
fn env_var_sets_the_default_thread_limit() {
    // SAFETY: this binary has a single test, so no other thread reads the
    // environment while it is written.
    unsafe { std::env::set_var("EVLOOP_BLOCKING_THREADS", "2") };
    let rt = evloop::Runtime::new().expect("runtime");
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                evloop::spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(10));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("ok");
        }
    });
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    // An explicit builder setting wins over the variable.
    let rt = evloop::Runtime::builder()
        .max_blocking_threads(4)
        .build()
        .expect("runtime");
    peak.store(0, Ordering::SeqCst);
    rt.block_on(async {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                evloop::spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("ok");
        }
    });
    assert!(peak.load(Ordering::SeqCst) > 2, "the builder's 4 applies");
}
