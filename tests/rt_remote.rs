//! Wakes and spawns from other threads reach a sleeping loop.

mod common;

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use common::with_watchdog;
use evloop::Runtime;

#[test]
fn block_on_is_woken_by_a_waker_fired_from_another_thread() {
    with_watchdog(Duration::from_secs(20), || {
        let rt = Runtime::new().expect("runtime");
        let done = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let mut spawned = false;
        rt.block_on(poll_fn(|cx| {
            if done.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            if !spawned {
                spawned = true;
                let (done, waker) = (done.clone(), cx.waker().clone());
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(100));
                    done.store(true, Ordering::SeqCst);
                    waker.wake();
                });
            }
            Poll::Pending
        }));
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(100));
        assert!(
            waited < Duration::from_secs(5),
            "woken promptly, took {waited:?}"
        );
        // The loop slept in epoll_wait rather than spinning.
        assert!(rt.metrics().os_polls < 100, "{:?}", rt.metrics());
    });
}

#[test]
fn four_threads_waking_25k_times_each_lose_no_wakeup() {
    const THREADS: usize = 4;
    // Scaled down under miri, which interprets every step.
    const PER_THREAD: usize = if cfg!(miri) { 100 } else { 25_000 };
    with_watchdog(Duration::from_secs(60), || {
        let rt = Runtime::new().expect("runtime");
        let queue: Arc<Mutex<VecDeque<usize>>> = Arc::default();
        let parked: Arc<Mutex<Option<Waker>>> = Arc::default();
        let ready = Arc::new(AtomicBool::new(false));
        let task = {
            let (queue, parked, ready) = (queue.clone(), parked.clone(), ready.clone());
            rt.spawn(async move {
                let mut seen = vec![0usize; THREADS];
                let mut received = 0;
                poll_fn(|cx| {
                    loop {
                        *parked.lock().expect("lock") = Some(cx.waker().clone());
                        ready.store(true, Ordering::SeqCst);
                        let drained: Vec<usize> = queue.lock().expect("lock").drain(..).collect();
                        if drained.is_empty() {
                            return Poll::Pending;
                        }
                        for thread in drained {
                            seen[thread] += 1;
                            received += 1;
                        }
                        if received == THREADS * PER_THREAD {
                            return Poll::Ready(seen.clone());
                        }
                    }
                })
                .await
            })
        };
        let producers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let (queue, parked, ready) = (queue.clone(), parked.clone(), ready.clone());
                std::thread::spawn(move || {
                    while !ready.load(Ordering::SeqCst) {
                        std::thread::yield_now();
                    }
                    for _ in 0..PER_THREAD {
                        queue.lock().expect("lock").push_back(thread);
                        let waker = parked.lock().expect("lock").clone();
                        if let Some(waker) = waker {
                            waker.wake();
                        }
                    }
                })
            })
            .collect();
        let seen = rt.block_on(task).expect("no panic");
        for producer in producers {
            producer.join().expect("producer");
        }
        assert_eq!(seen, vec![PER_THREAD; THREADS]);
    });
}

#[test]
fn many_remote_wakes_during_one_sleep_cost_few_eventfd_writes() {
    const TASKS: usize = if cfg!(miri) { 100 } else { 10_000 };
    with_watchdog(Duration::from_secs(30), || {
        let rt = Runtime::new().expect("runtime");
        let wakers: Arc<Mutex<Vec<Waker>>> = Arc::default();
        let woken = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                let (wakers, woken) = (wakers.clone(), woken.clone());
                let mut registered = false;
                rt.spawn(poll_fn(move |cx| {
                    if registered {
                        woken.fetch_add(1, Ordering::SeqCst);
                        return Poll::Ready(());
                    }
                    registered = true;
                    wakers.lock().expect("lock").push(cx.waker().clone());
                    Poll::Pending
                }))
            })
            .collect();
        let waker_thread = {
            let wakers = wakers.clone();
            std::thread::spawn(move || {
                while wakers.lock().expect("lock").len() < TASKS {
                    std::thread::sleep(Duration::from_millis(1));
                }
                // Let the loop fall asleep in epoll_wait.
                std::thread::sleep(Duration::from_millis(50));
                for waker in wakers.lock().expect("lock").drain(..) {
                    waker.wake();
                }
            })
        };
        rt.block_on(async {
            for handle in handles {
                handle.await.expect("no panic");
            }
        });
        waker_thread.join().expect("thread");
        assert_eq!(woken.load(Ordering::SeqCst), TASKS);
        let writes = rt.metrics().unpark_writes;
        assert!(writes >= 1, "the sleeping loop had to be woken");
        // Every write ends one sleep, and a sleep lasts while the loop has
        // nothing to do: far fewer writes than wakes. Under miri, which
        // switches threads every few steps, the loop gets to run (and fall
        // asleep again) between the waker thread's wakes far more often,
        // so only "fewer" is asked there.
        let most = if cfg!(miri) { TASKS / 2 } else { TASKS / 10 };
        assert!(
            writes < most as u64,
            "{writes} eventfd writes for {TASKS} wakes"
        );
    });
}

#[test]
fn handle_spawn_from_another_thread_runs_on_the_loop() {
    with_watchdog(Duration::from_secs(20), || {
        let rt = Runtime::new().expect("runtime");
        let handle = rt.handle();
        let loop_thread = std::thread::current().id();
        let results = rt.block_on(async move {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let joins: Vec<_> = (0..if cfg!(miri) { 50 } else { 1_000 })
                    .map(|i| handle.spawn(async move { (i, std::thread::current().id()) }))
                    .collect();
                tx.send(joins).expect("receiver waits");
            });
            // Keep the loop turning while the other thread spawns.
            let joins = loop {
                if let Ok(joins) = rx.try_recv() {
                    break joins;
                }
                evloop::yield_now().await;
            };
            let mut results = Vec::new();
            for join in joins {
                results.push(join.await.expect("no panic"));
            }
            results
        });
        for (i, (value, thread)) in results.into_iter().enumerate() {
            assert_eq!(value, i);
            assert_eq!(
                thread, loop_thread,
                "remote spawns run on the loop's thread"
            );
        }
    });
}

#[test]
fn handle_spawn_after_the_runtime_is_gone_reports_cancelled() {
    let rt = Runtime::new().expect("runtime");
    let handle = rt.handle();
    drop(rt);
    let join = std::thread::spawn(move || handle.spawn(async { 1 }))
        .join()
        .expect("thread");
    let rt2 = Runtime::new().expect("runtime");
    assert!(rt2.block_on(join).expect_err("never ran").is_cancelled());
}

/// A task that holds `&mut` to its own local across an await (what
/// `sock.read(&mut buf).await` does) while other threads wake it: the loop
/// must reach the task's header without a shared reference over the
/// (self-referential) future. Fails under miri's Stacked Borrows otherwise.
#[test]
fn task_holding_a_mut_borrow_of_its_local_across_await_is_sound() {
    const WAKES: usize = if cfg!(miri) { 20 } else { 2_000 };
    with_watchdog(Duration::from_secs(60), || {
        let rt = Runtime::new().expect("runtime");
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let task_slot = slot.clone();
        let task = rt.spawn(async move {
            let mut local = [0usize; 4];
            let borrowed = &mut local;
            for i in 0..WAKES {
                let mut parked = false;
                poll_fn(|cx| {
                    if parked {
                        return Poll::Ready(());
                    }
                    parked = true;
                    *task_slot.lock().expect("lock") = Some(cx.waker().clone());
                    Poll::Pending
                })
                .await;
                borrowed[i % 4] += 1; // the &mut is used after every await
            }
            local.iter().sum::<usize>()
        });
        let waker_thread = std::thread::spawn(move || {
            let mut woken = 0;
            while woken < WAKES {
                if let Some(waker) = slot.lock().expect("lock").take() {
                    waker.wake();
                    woken += 1;
                } else {
                    std::thread::yield_now();
                }
            }
        });
        assert_eq!(rt.block_on(task).expect("no panic"), WAKES);
        waker_thread.join().expect("waker thread");
    });
}
