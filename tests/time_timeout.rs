//! `timeout`: the value when the future wins, `Elapsed` (and the inner
//! future dropped) when the deadline wins.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use evloop::time::{Elapsed, sleep, timeout, timeout_at};

/// Sets its flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn the_deadline_wins_with_elapsed_and_the_inner_future_is_dropped() {
    let dropped = Rc::new(Cell::new(false));
    evloop::block_on(async {
        let guard = DropFlag(dropped.clone());
        let start = Instant::now();
        let result = timeout(Duration::from_millis(30), async move {
            let _guard = guard;
            sleep(Duration::from_secs(10)).await;
            "too late"
        })
        .await;
        assert!(result.is_err(), "the deadline should have won");
        assert!(
            start.elapsed() >= Duration::from_millis(30),
            "gave up early"
        );
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(dropped.get(), "the inner future outlived its timeout");
    });
}

#[test]
fn the_future_wins_with_its_value() {
    evloop::block_on(async {
        let result = timeout(Duration::from_secs(5), async {
            sleep(Duration::from_millis(10)).await;
            42
        })
        .await;
        assert_eq!(result, Ok(42));
        assert_eq!(
            timeout(Duration::ZERO, async { 1 }).await,
            Ok(1),
            "a ready future wins"
        );
    });
}

#[test]
fn timeout_at_a_past_deadline_gives_up_at_once_unless_ready() {
    let rt = evloop::Runtime::new().expect("runtime");
    rt.block_on(async {
        let past = Instant::now() - Duration::from_secs(1);
        let result = timeout_at(past, std::future::pending::<()>()).await;
        assert!(result.is_err());
        assert_eq!(timeout_at(past, async { "ready" }).await, Ok("ready"));
    });
    assert_eq!(rt.metrics().timers, 0);
}

#[test]
fn the_future_finishing_first_cancels_the_deadline() {
    let rt = evloop::Runtime::new().expect("runtime");
    rt.block_on(async {
        let fut = timeout(Duration::from_secs(60), sleep(Duration::from_millis(5)));
        assert!(fut.deadline() > fut.get_ref().deadline() + Duration::from_secs(50));
        fut.await.expect("in time");
        assert_eq!(
            rt.metrics().timers,
            0,
            "the 60 s deadline is still registered"
        );
    });
}

#[test]
fn elapsed_is_an_error_with_a_message_and_converts_to_io() {
    let elapsed = evloop::block_on(timeout(Duration::ZERO, std::future::pending::<()>()))
        .expect_err("a pending future cannot win");
    let as_error: &dyn std::error::Error = &elapsed;
    assert_eq!(as_error.to_string(), "deadline has elapsed");
    let io: std::io::Error = elapsed.into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    let _: Elapsed = elapsed;
}

#[test]
fn into_inner_gives_the_future_back() {
    let fut = timeout(Duration::from_millis(1), async { 5 });
    assert_eq!(evloop::block_on(fut.into_inner()), 5);
}

#[test]
fn expired_timeout_is_elapsed_on_first_poll() {
    use std::future::pending;
    use std::task::Poll;
    evloop::block_on(async {
        // A deadline already behind the loop's clock.
        let mut past = std::pin::pin!(timeout_at(
            Instant::now() - Duration::from_secs(1),
            pending::<()>()
        ));
        assert!(matches!(futures::poll!(past.as_mut()), Poll::Ready(Err(_))));
        // A deadline that passed while the task blocked, before the first poll.
        let mut late = std::pin::pin!(timeout(Duration::from_millis(5), pending::<()>()));
        std::thread::sleep(Duration::from_millis(20));
        evloop::yield_now().await; // a new turn: the loop's clock moves on
        assert!(matches!(futures::poll!(late.as_mut()), Poll::Ready(Err(_))));
    });
}
