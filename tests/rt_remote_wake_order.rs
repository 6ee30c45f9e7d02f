//! A task woken from another thread before a turn runs in that turn, before
//! the `block_on` future is polled again (issue 11, defect 9: the loop once
//! drained the injection queue after running the ready tasks, so such a
//! task ran one turn late).

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use common::with_watchdog;

#[test]
fn a_task_woken_remotely_runs_before_the_main_future_polls_again() {
    with_watchdog(Duration::from_secs(30), || {
        evloop::block_on(async {
            let parked: Arc<Mutex<Option<Waker>>> = Arc::default();
            let ran = Rc::new(Cell::new(false));
            let task = {
                let (parked, ran) = (parked.clone(), ran.clone());
                let mut first_poll = true;
                evloop::spawn(std::future::poll_fn(move |cx| {
                    if std::mem::take(&mut first_poll) {
                        *parked.lock().expect("not poisoned") = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                    ran.set(true);
                    Poll::Ready(())
                }))
            };
            while parked.lock().expect("not poisoned").is_none() {
                evloop::yield_now().await;
            }
            let waker = parked.lock().expect("not poisoned").take();
            let waker = waker.expect("the task parked");
            std::thread::spawn(move || waker.wake())
                .join()
                .expect("the waking thread does not panic");
            // The wake is in the injection queue now. Yield once: the next
            // turn must run the task before polling us again.
            evloop::yield_now().await;
            assert!(
                ran.get(),
                "the remotely woken task ran before the main future's next poll"
            );
            task.await.expect("the task does not panic");
        })
    });
}
