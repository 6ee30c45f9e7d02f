//! The counters of `RuntimeMetrics` move as their docs say.

use std::time::Duration;

#[test]
fn metrics_count_turns_tasks_timers_injections_and_the_pool() {
    let rt = evloop::Runtime::new().expect("runtime");
    let before = rt.metrics();
    assert_eq!(before.turns, 0);
    assert_eq!(before.tasks_spawned, 0);
    assert_eq!(before.busy_time + before.idle_time, Duration::ZERO);

    let handle = rt.handle();
    rt.block_on(async move {
        let local: Vec<_> = (0..10).map(|_| evloop::spawn(async {})).collect();
        for task in local {
            task.await.expect("no panic");
        }
        // Two remote spawns: two injected messages (plus their wakes).
        let remote = std::thread::spawn(move || [handle.spawn(async {}), handle.spawn(async {})])
            .join()
            .expect("thread");
        for task in remote {
            task.await.expect("no panic");
        }
        // A real sleep: a timer fires, the loop idles.
        evloop::time::sleep(Duration::from_millis(30)).await;
        // A wake from a thread while the loop sleeps: an eventfd event.
        let (tx, rx) = evloop::sync::oneshot::channel();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(()).expect("the loop listens");
        });
        rx.await.expect("sent");
        sender.join().expect("thread");
        evloop::spawn_blocking(|| 5).await.expect("no panic");
    });
    let after = rt.metrics();
    assert!(after.turns > 0);
    assert_eq!(after.tasks_spawned, 12);
    assert_eq!(after.tasks_finished, 12);
    assert_eq!(after.live_tasks, 0);
    assert!(after.injected >= 2, "{after:?}");
    assert!(after.timers_fired >= 1, "{after:?}");
    assert!(after.os_polls >= 1);
    assert!(after.os_events >= 1, "the remote wake's eventfd: {after:?}");
    assert!(after.unpark_writes >= 1, "{after:?}");
    assert!(after.idle_time >= Duration::from_millis(20), "{after:?}");
    assert!(after.busy_time > Duration::ZERO);
    assert_eq!(after.longest_poll, Duration::ZERO, "not measured when off");
    assert_eq!(after.blocking_jobs_done, 1);
    assert_eq!(
        after.blocking_threads, 1,
        "the thread lingers for its keep-alive"
    );
    assert_eq!(after.blocking_queued, 0);
}

#[test]
fn a_live_task_is_spawned_but_not_finished() {
    let rt = evloop::Runtime::new().expect("runtime");
    let parked = rt.spawn(std::future::pending::<()>());
    rt.block_on(evloop::yield_now());
    let m = rt.metrics();
    assert_eq!((m.tasks_spawned, m.tasks_finished, m.live_tasks), (1, 0, 1));
    parked.abort();
    // The abort's wake comes through the injection queue (no loop was
    // running): one turn takes it in, the next drops the task.
    rt.block_on(async {
        evloop::yield_now().await;
        evloop::yield_now().await;
    });
    let m = rt.metrics();
    assert_eq!((m.tasks_spawned, m.tasks_finished, m.live_tasks), (1, 1, 0));
}

#[test]
fn longest_poll_is_measured_while_the_detector_is_on() {
    let rt = evloop::Runtime::builder()
        .slow_poll_threshold(Duration::from_millis(10))
        .on_slow_poll(|_| {})
        .build()
        .expect("runtime");
    rt.block_on(async {
        evloop::spawn(async { std::thread::sleep(Duration::from_millis(40)) })
            .await
            .expect("no panic");
    });
    // The watchdog sees a poll start up to a tenth of the threshold late.
    let longest = rt.metrics().longest_poll;
    assert!(longest >= Duration::from_millis(35), "{longest:?}");
    assert!(longest <= Duration::from_millis(1_000), "{longest:?}");
}
