//! The uncontended fast paths allocate nothing: a channel's steady state,
//! a semaphore's acquire/release, a mutex's lock/unlock.
//!
//! A counting global allocator (per thread, so the test harness's other
//! threads do not disturb it) measures the allocations of a warmed-up loop.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn uncontended_channel_semaphore_and_mutex_paths_do_not_allocate() {
    let rt = evloop::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (tx, mut rx) = evloop::sync::mpsc::channel(16);
        let (utx, mut urx) = evloop::sync::mpsc::unbounded_channel();
        let semaphore = evloop::sync::Semaphore::new(1);
        let mutex = evloop::sync::Mutex::new(0u64);
        let mut round = async || {
            for i in 0..100u64 {
                tx.send(i).await.expect("open");
                assert_eq!(rx.recv().await, Some(i));
                tx.try_send(i).expect("room");
                assert_eq!(rx.try_recv(), Ok(i));
                utx.send(i).expect("open");
                assert_eq!(urx.recv().await, Some(i));
                drop(semaphore.acquire().await.expect("open"));
                *mutex.lock().await += 1;
            }
        };
        round().await; // warm up: queues reach their working size
        let before = allocations();
        round().await;
        assert_eq!(allocations() - before, 0, "the fast paths allocated");
    });
}
