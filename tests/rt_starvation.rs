//! A task that never stops yielding cannot starve I/O or other tasks.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use common::with_watchdog;
use evloop::Runtime;
use evloop::runtime::BUDGET;

#[test]
fn a_yield_loop_does_not_starve_io() {
    let metrics = with_watchdog(Duration::from_secs(20), || {
        let rt = Runtime::new().expect("runtime");
        rt.block_on(async {
            let stop = Rc::new(Cell::new(false));
            let spinner = {
                let stop = stop.clone();
                evloop::spawn(async move {
                    let mut spins = 0u64;
                    while !stop.get() {
                        spins += 1;
                        evloop::yield_now().await;
                    }
                    spins
                })
            };
            let (reader, mut writer) = common::async_pair();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                std::io::Write::write_all(&mut writer, b"ping").expect("write");
                std::thread::sleep(Duration::from_millis(200));
            });
            let mut buf = [0u8; 4];
            let n = reader
                .read_with(|io| std::io::Read::read(&mut &*io, &mut buf))
                .await
                .expect("read");
            assert_eq!(&buf[..n], b"ping");
            stop.set(true);
            assert!(spinner.await.expect("no panic") > 0);
        });
        rt.metrics()
    });
    // The loop went to the OS at least once per BUDGET task polls.
    assert!(
        metrics.os_polls * (BUDGET as u64 + 1) >= metrics.tasks_polled,
        "{metrics:?}"
    );
}

#[test]
fn a_yield_loop_does_not_starve_other_tasks() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let stop = Rc::new(Cell::new(false));
        let flag = stop.clone();
        let spinner = evloop::spawn(async move {
            while !flag.get() {
                evloop::yield_now().await;
            }
        });
        let mut workers = Vec::new();
        for i in 0..100 {
            workers.push(evloop::spawn(async move {
                for _ in 0..10 {
                    evloop::yield_now().await;
                }
                i
            }));
        }
        for (i, worker) in workers.into_iter().enumerate() {
            assert_eq!(worker.await.expect("no panic"), i);
        }
        stop.set(true);
        spinner.await.expect("no panic");
    });
}
