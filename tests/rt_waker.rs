//! Wakers: stale ones are ignored, repeated wakes queue once, local wakes
//! are free.

mod common;

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::rc::Rc;
use std::task::{Poll, Waker};

use evloop::Runtime;

/// A task that counts its polls, hands out its waker, and never finishes.
fn counting_task(
    polls: Rc<Cell<usize>>,
    waker: Rc<RefCell<Option<Waker>>>,
) -> impl Future<Output = ()> {
    poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        *waker.borrow_mut() = Some(cx.waker().clone());
        Poll::<()>::Pending
    })
}

async fn settle() {
    for _ in 0..5 {
        evloop::yield_now().await;
    }
}

#[test]
fn wakers_are_send_and_sync() {
    fn send_sync<T: Send + Sync + 'static>(_: &T) {}
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let waker = evloop::spawn(poll_fn(|cx| Poll::Ready(cx.waker().clone())))
            .await
            .expect("no panic");
        send_sync(&waker);
        // And usable from another thread after the task is gone.
        std::thread::spawn(move || waker.wake())
            .join()
            .expect("wake from a thread");
    });
}

#[test]
fn waking_a_finished_task_does_nothing() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let waker = evloop::spawn(poll_fn(|cx| Poll::Ready(cx.waker().clone())))
            .await
            .expect("no panic");
        let before = evloop::Handle::current();
        drop(before);
        waker.wake_by_ref();
        waker.wake();
        settle().await;
    });
    assert_eq!(rt.metrics().live_tasks, 0);
}

#[test]
fn a_stale_waker_does_not_poll_the_task_that_reused_its_slot() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        // Task A finishes, leaving its waker behind.
        let stale = evloop::spawn(poll_fn(|cx| Poll::Ready(cx.waker().clone())))
            .await
            .expect("no panic");
        // Task B moves into the freed slot and parks.
        let polls = Rc::new(Cell::new(0));
        let b_waker = Rc::new(RefCell::new(None));
        let b = evloop::spawn(counting_task(polls.clone(), b_waker.clone()));
        settle().await;
        assert_eq!(polls.get(), 1);
        // A's waker names the same slot with the old generation.
        for _ in 0..10 {
            stale.wake_by_ref();
        }
        settle().await;
        assert_eq!(
            polls.get(),
            1,
            "stale wakes must not reach the new occupant"
        );
        // B's own waker still works.
        b_waker.borrow().as_ref().expect("B parked").wake_by_ref();
        settle().await;
        assert_eq!(polls.get(), 2);
        b.abort();
    });
}

#[test]
fn waking_twice_queues_once() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let polls = Rc::new(Cell::new(0));
        let waker = Rc::new(RefCell::new(None));
        let task = evloop::spawn(counting_task(polls.clone(), waker.clone()));
        settle().await;
        assert_eq!(polls.get(), 1);
        let w = waker.borrow().clone().expect("parked");
        w.wake_by_ref();
        w.wake_by_ref();
        let owned = w.clone();
        owned.wake();
        let remote = w.clone();
        std::thread::spawn(move || remote.wake())
            .join()
            .expect("thread");
        settle().await;
        assert_eq!(polls.get(), 2, "four wakes before the task ran: one poll");
        task.abort();
    });
}

#[test]
fn a_local_wake_makes_no_syscall() {
    let rt = Runtime::new().expect("runtime");
    let polls = Rc::new(Cell::new(0));
    let waker = Rc::new(RefCell::new(None));
    let (p, w) = (polls.clone(), waker.clone());
    rt.block_on(async move {
        let task = evloop::spawn(counting_task(p, w.clone()));
        for _ in 0..1_000 {
            w.borrow().as_ref().map(Waker::wake_by_ref);
            evloop::yield_now().await;
        }
        task.abort();
    });
    assert!(polls.get() >= 1_000);
    assert_eq!(
        rt.metrics().unpark_writes,
        0,
        "no eventfd write for local wakes"
    );
}

/// The case the generation check exists for: a task wakes itself and then
/// finishes in the same poll, so its id is still on the run queue when a
/// new task moves into its slot (the slab reuses the last freed slot).
#[test]
fn an_id_queued_by_a_task_that_then_finished_does_not_poll_its_slots_next_occupant() {
    let rt = Runtime::new().expect("runtime");
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    rt.block_on(async move {
        // A: wakes itself (queueing its id) and returns Ready.
        let a = evloop::spawn(poll_fn(|cx| {
            cx.waker().wake_by_ref();
            Poll::Ready(())
        }));
        // C runs right after A and spawns B into A's freed slot, so the run
        // queue holds [A's stale id, B].
        let c = evloop::spawn(async move { Some(evloop::spawn(counting_task(p, Rc::default()))) });
        a.await.expect("no panic");
        let b = c.await.expect("no panic").expect("C spawned B");
        settle().await;
        b.abort();
    });
    assert_eq!(
        polls.get(),
        1,
        "B was polled once, not also for A's stale id"
    );
}
