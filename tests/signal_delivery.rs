//! Signals through the self-pipe: every listener in every loop sees each
//! delivery, bursts coalesce without losing the last one, and loops that
//! come and go do not disturb the others. Each test runs in a child
//! process (signal dispositions are process-wide); see `child_support`.

mod child_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use child_support::{ChildProcess, is_child};
use evloop::signal::{SignalKind, signal};

const KINDS: [(SignalKind, &str); 3] = [
    (SignalKind::hangup(), "hangup"),
    (SignalKind::interrupt(), "interrupt"),
    (SignalKind::terminate(), "terminate"),
];
const LOOPS: usize = 2;

/// One loop's deliveries: how many, and when the latest was.
type Receipts = (usize, Option<Instant>);
const LISTENERS_PER_LOOP: usize = 2;

/// Waits (bounded) until `done` holds.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn raise_in_process(signal: libc::c_int) {
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(libc::getpid(), signal) }, 0);
}

/// Starts a loop thread whose listeners (`LISTENERS_PER_LOOP` per kind)
/// count their deliveries in `counts[kind][loop * per_loop + listener]`.
fn listening_loop(
    loop_index: usize,
    counts: Arc<Vec<Vec<AtomicUsize>>>,
    ready: Arc<Barrier>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        evloop::block_on(async {
            let mut tasks = Vec::new();
            for (kind_index, (kind, _)) in KINDS.iter().enumerate() {
                for listener in 0..LISTENERS_PER_LOOP {
                    let mut signals = signal(*kind).expect("listen");
                    let counts = counts.clone();
                    let slot = loop_index * LISTENERS_PER_LOOP + listener;
                    tasks.push(evloop::spawn(async move {
                        while signals.recv().await.is_some() {
                            counts[kind_index][slot].fetch_add(1, Ordering::SeqCst);
                        }
                    }));
                }
            }
            ready.wait();
            for task in tasks {
                let _ = task.await;
            }
        });
    })
}

#[test]
fn every_listener_in_every_loop_sees_each_signal() {
    const NAME: &str = "every_listener_in_every_loop_sees_each_signal";
    if is_child(NAME) {
        let counts: Arc<Vec<Vec<AtomicUsize>>> = Arc::new(
            (0..KINDS.len())
                .map(|_| {
                    (0..LOOPS * LISTENERS_PER_LOOP)
                        .map(|_| AtomicUsize::new(0))
                        .collect()
                })
                .collect(),
        );
        let ready = Arc::new(Barrier::new(LOOPS + 1));
        for loop_index in 0..LOOPS {
            let _detached = listening_loop(loop_index, counts.clone(), ready.clone());
        }
        ready.wait();
        println!("READY");
        for (kind_index, (_, name)) in KINDS.iter().enumerate() {
            wait_until(name, || {
                counts[kind_index]
                    .iter()
                    .all(|c| c.load(Ordering::SeqCst) >= 1)
            });
            // No other kind was delivered to a listener for this one, and
            // kinds not sent yet have seen nothing.
            for (other, _) in KINDS.iter().enumerate().skip(kind_index + 1) {
                assert!(counts[other].iter().all(|c| c.load(Ordering::SeqCst) == 0));
            }
            println!("SEEN {name}");
        }
        return;
    }
    let child = ChildProcess::start(NAME);
    child.expect_line("READY", Duration::from_secs(20));
    for (kind, name) in KINDS {
        child.signal(kind.as_raw_value());
        let seen = child.expect_line("SEEN", Duration::from_secs(15));
        assert_eq!(seen, name);
    }
    let (status, stderr) = child.wait(Duration::from_secs(10));
    assert!(status.success(), "child failed: {status}\n{stderr}");
}

#[test]
fn a_burst_of_1000_coalesces_and_the_last_is_seen() {
    const NAME: &str = "a_burst_of_1000_coalesces_and_the_last_is_seen";
    if is_child(NAME) {
        // Receipts per loop: how many, and when the latest was.
        let receipts: Arc<Vec<Mutex<Receipts>>> =
            Arc::new((0..LOOPS).map(|_| Mutex::new((0, None))).collect());
        let ready = Arc::new(Barrier::new(LOOPS + 1));
        for loop_index in 0..LOOPS {
            let receipts = receipts.clone();
            let ready = ready.clone();
            std::thread::spawn(move || {
                evloop::block_on(async {
                    let mut usr1 = signal(SignalKind::user_defined1()).expect("listen");
                    ready.wait();
                    while usr1.recv().await.is_some() {
                        let mut entry = receipts[loop_index].lock().expect("lock");
                        entry.0 += 1;
                        entry.1 = Some(Instant::now());
                    }
                });
            });
        }
        ready.wait();
        for _ in 0..999 {
            raise_in_process(libc::SIGUSR1);
        }
        std::thread::sleep(Duration::from_millis(200)); // let the loops catch up
        let before_last = Instant::now();
        raise_in_process(libc::SIGUSR1);
        wait_until("a delivery after the last signal", || {
            receipts
                .iter()
                .all(|r| r.lock().expect("lock").1.is_some_and(|at| at > before_last))
        });
        for (loop_index, receipt) in receipts.iter().enumerate() {
            let count = receipt.lock().expect("lock").0;
            assert!(
                (2..=1000).contains(&count),
                "loop {loop_index}: {count} deliveries"
            );
            println!("loop {loop_index}: 1000 signals, {count} deliveries");
        }
        println!("BURST OK");
        return;
    }
    let child = ChildProcess::start(NAME);
    child.expect_line("BURST OK", Duration::from_secs(30));
    let (status, stderr) = child.wait(Duration::from_secs(10));
    assert!(status.success(), "child failed: {status}\n{stderr}");
}

#[test]
fn a_loop_that_listens_and_goes_away_does_not_break_another() {
    const NAME: &str = "a_loop_that_listens_and_goes_away_does_not_break_another";
    if is_child(NAME) {
        let seen = Arc::new(AtomicUsize::new(0));
        let ready = Arc::new(Barrier::new(2));
        std::thread::spawn({
            let seen = seen.clone();
            let ready = ready.clone();
            move || {
                evloop::block_on(async {
                    let mut terms = signal(SignalKind::terminate()).expect("listen");
                    ready.wait();
                    while terms.recv().await.is_some() {
                        seen.fetch_add(1, Ordering::SeqCst);
                    }
                })
            }
        });
        ready.wait();
        // Another loop installs listeners for the same and other signals,
        // then drops them and its whole runtime.
        std::thread::spawn(|| {
            let runtime = evloop::Runtime::new().expect("runtime");
            runtime.block_on(async {
                let _term = signal(SignalKind::terminate()).expect("listen");
                let _hup = signal(SignalKind::hangup()).expect("listen");
            });
        })
        .join()
        .expect("the short-lived loop");
        raise_in_process(libc::SIGTERM);
        wait_until("the first loop's delivery", || {
            seen.load(Ordering::SeqCst) >= 1
        });
        // And a loop started afterwards hears the next one too.
        std::thread::spawn(|| {
            evloop::block_on(async {
                let mut hups = signal(SignalKind::hangup()).expect("listen");
                raise_in_process(libc::SIGHUP);
                evloop::time::timeout(Duration::from_secs(10), hups.recv())
                    .await
                    .expect("the new loop's delivery");
            })
        })
        .join()
        .expect("the late loop");
        println!("INDEPENDENT OK");
        return;
    }
    let child = ChildProcess::start(NAME);
    child.expect_line("INDEPENDENT OK", Duration::from_secs(30));
    let (status, stderr) = child.wait(Duration::from_secs(10));
    assert!(status.success(), "child failed: {status}\n{stderr}");
}

#[test]
fn bad_signal_numbers_and_calls_outside_a_runtime_are_errors() {
    for raw in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, -1, 200] {
        let error = evloop::block_on(async { signal(SignalKind::from_raw(raw)) })
            .expect_err("not a signal one can listen for");
        assert_eq!(
            error.kind(),
            std::io::ErrorKind::InvalidInput,
            "signal {raw}"
        );
    }
    let error = signal(SignalKind::user_defined2()).expect_err("outside a runtime");
    assert!(
        error.to_string().contains("outside of a runtime"),
        "{error}"
    );
    assert_eq!(
        SignalKind::from_raw(libc::SIGUSR2),
        SignalKind::user_defined2()
    );
    assert_eq!(SignalKind::interrupt().as_raw_value(), libc::SIGINT);
}

#[test]
fn ctrl_c_and_the_stream_form_see_sigint() {
    const NAME: &str = "ctrl_c_and_the_stream_form_see_sigint";
    if is_child(NAME) {
        evloop::block_on(async {
            use futures::StreamExt;
            let mut interrupts = signal(SignalKind::interrupt()).expect("listen");
            let ctrl_c = evloop::spawn(evloop::signal::ctrl_c());
            // Let the ctrl_c task run once: its listener is made on first poll.
            for _ in 0..3 {
                evloop::yield_now().await;
            }
            raise_in_process(libc::SIGINT);
            evloop::time::timeout(Duration::from_secs(10), ctrl_c)
                .await
                .expect("ctrl_c resolved")
                .expect("no panic")
                .expect("no error");
            let next = evloop::time::timeout(Duration::from_secs(10), interrupts.next()).await;
            assert_eq!(next.expect("the stream yielded"), Some(()));
        });
        println!("CTRL_C OK");
        return;
    }
    let child = ChildProcess::start(NAME);
    child.expect_line("CTRL_C OK", Duration::from_secs(30));
    let (status, stderr) = child.wait(Duration::from_secs(10));
    assert!(status.success(), "child failed: {status}\n{stderr}");
}

/// Deliveries seen by the handler installed before evloop's.
static EARLIER_HANDLER_RUNS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn earlier_handler(_signo: libc::c_int) {
    EARLIER_HANDLER_RUNS.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn a_handler_installed_before_evloops_still_runs() {
    const NAME: &str = "a_handler_installed_before_evloops_still_runs";
    if is_child(NAME) {
        // SAFETY: a zeroed sigaction with only a valid handler and an empty
        // mask filled in; the handler only touches an atomic.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = earlier_handler as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(
                libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()),
                0
            );
        }
        evloop::block_on(async {
            let mut usr2 = signal(SignalKind::user_defined2()).expect("listen");
            raise_in_process(libc::SIGUSR2);
            evloop::time::timeout(Duration::from_secs(10), usr2.recv())
                .await
                .expect("evloop's listener saw it");
        });
        assert_eq!(EARLIER_HANDLER_RUNS.load(Ordering::SeqCst), 1);
        println!("CHAINED OK");
        return;
    }
    let child = ChildProcess::start(NAME);
    child.expect_line("CHAINED OK", Duration::from_secs(30));
    let (status, stderr) = child.wait(Duration::from_secs(10));
    assert!(status.success(), "child failed: {status}\n{stderr}");
}

#[test]
fn every_sigint_of_many_reaches_a_block_on_listener_while_other_loops_run() {
    // The shape of the workers' supervisor: SIGINT and SIGTERM listeners
    // polled by a `block_on` future (not a task), other threads running
    // loops of their own (so the kernel may run the handler on any of
    // them), and a signal at a different moment each time.
    const NAME: &str = "every_sigint_of_many_reaches_a_block_on_listener_while_other_loops_run";
    const ROUNDS: u64 = 400;
    if is_child(NAME) {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let busy: Vec<_> = (0..2)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    evloop::block_on(async move {
                        while !stop.load(Ordering::Relaxed) {
                            evloop::time::sleep(Duration::from_micros(50)).await;
                        }
                    })
                })
            })
            .collect();
        evloop::block_on(async {
            let mut interrupt = signal(SignalKind::interrupt()).expect("listen");
            let mut terminate = signal(SignalKind::terminate()).expect("listen");
            for round in 0..ROUNDS {
                // 0 to 2.9 ms, spread over the rounds.
                let delay = Duration::from_micros(round * 7_919 % 3_000);
                let sender = std::thread::spawn(move || {
                    std::thread::sleep(delay);
                    raise_in_process(libc::SIGINT);
                });
                let heard = std::future::poll_fn(|cx| {
                    let interrupted = interrupt.poll_recv(cx).is_ready();
                    let terminated = terminate.poll_recv(cx).is_ready();
                    if interrupted || terminated {
                        std::task::Poll::Ready(interrupted)
                    } else {
                        std::task::Poll::Pending
                    }
                });
                let heard = evloop::time::timeout(Duration::from_secs(5), heard).await;
                sender.join().expect("the sender thread");
                assert_eq!(heard, Ok(true), "SIGINT of round {round} was lost");
            }
        });
        stop.store(true, Ordering::Relaxed);
        for thread in busy {
            thread.join().expect("a busy loop");
        }
        println!("MANY SIGINTS OK");
        return;
    }
    let child = ChildProcess::start(NAME);
    child.expect_line("MANY SIGINTS OK", Duration::from_secs(60));
    let (status, stderr) = child.wait(Duration::from_secs(10));
    assert!(status.success(), "child failed: {status}\n{stderr}");
}
