//! Many tasks accepting on one shared `TcpListener`: every waiter is woken
//! by readiness, and a waiter that gives up strands nobody (issue 11, "the
//! hang": the reactor once kept one waker per direction, the last to park).

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use common::with_watchdog;
use evloop::net::{TcpListener, TcpStream};
use evloop::time::{sleep, timeout};

/// Generous: a regression hangs, and the watchdog turns that into a failure.
const LIMIT: Duration = Duration::from_secs(30);

/// Lets every spawned task run and park on the listener.
async fn settle() {
    sleep(Duration::from_millis(20)).await;
}

#[test]
fn fifty_tasks_accepting_on_one_listener_each_get_a_connection() {
    with_watchdog(LIMIT, || {
        evloop::block_on(async {
            let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await?);
            let addr = listener.local_addr()?;
            let acceptors: Vec<_> = (0..50)
                .map(|_| {
                    let listener = listener.clone();
                    evloop::spawn(async move { listener.accept().await.map(|_| ()) })
                })
                .collect();
            settle().await;
            let mut clients = Vec::new();
            for _ in 0..50 {
                clients.push(TcpStream::connect(addr).await?);
            }
            for acceptor in acceptors {
                acceptor.await.expect("the acceptor does not panic")?;
            }
            Ok::<(), std::io::Error>(())
        })
    })
    .expect("every one of the 50 acceptors gets a connection");
}

#[test]
fn cancelled_acceptors_leave_the_others_working() {
    with_watchdog(LIMIT, || {
        evloop::block_on(async {
            let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await?);
            let addr = listener.local_addr()?;
            let accepted = Rc::new(Cell::new(0));
            let acceptors: Vec<_> = (0..20)
                .map(|_| {
                    let (listener, accepted) = (listener.clone(), accepted.clone());
                    evloop::spawn(async move {
                        listener.accept().await?;
                        accepted.set(accepted.get() + 1);
                        Ok::<(), std::io::Error>(())
                    })
                })
                .collect();
            settle().await;
            // Every other acceptor gives up: aborted, or timed out.
            for acceptor in acceptors.iter().step_by(2) {
                acceptor.abort();
            }
            let timed_out = timeout(Duration::from_millis(10), listener.accept()).await;
            assert!(timed_out.is_err(), "no connection yet");
            settle().await;
            for _ in 0..10 {
                let _client = TcpStream::connect(addr).await?;
            }
            for acceptor in acceptors.into_iter().skip(1).step_by(2) {
                acceptor.await.expect("the acceptor does not panic")?;
            }
            assert_eq!(accepted.get(), 10);
            Ok::<(), std::io::Error>(())
        })
    })
    .expect("the ten acceptors still waiting each get a connection");
}

#[test]
fn a_looping_acceptor_survives_an_accept_that_timed_out() {
    with_watchdog(LIMIT, || {
        evloop::block_on(async {
            let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await?);
            let addr = listener.local_addr()?;
            let accepted = Rc::new(Cell::new(0));
            let looping = {
                let (listener, accepted) = (listener.clone(), accepted.clone());
                evloop::spawn(async move {
                    while let Ok(_connection) = listener.accept().await {
                        accepted.set(accepted.get() + 1);
                    }
                })
            };
            settle().await;
            let result = timeout(Duration::from_millis(50), listener.accept()).await;
            assert!(result.is_err(), "nobody connected: the accept times out");
            for expected in 1..=3 {
                let _client = TcpStream::connect(addr).await?;
                while accepted.get() < expected {
                    sleep(Duration::from_millis(1)).await;
                }
            }
            looping.abort();
            Ok::<(), std::io::Error>(())
        })
    })
    .expect("the looping acceptor accepts every later connection");
}

#[test]
fn two_tasks_in_poll_accept_are_both_woken() {
    with_watchdog(LIMIT, || {
        evloop::block_on(async {
            let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await?);
            let addr = listener.local_addr()?;
            let acceptors: Vec<_> = (0..2)
                .map(|_| {
                    let listener = listener.clone();
                    evloop::spawn(async move {
                        std::future::poll_fn(|cx| listener.poll_accept(cx))
                            .await
                            .map(|_| ())
                    })
                })
                .collect();
            settle().await;
            let _a = TcpStream::connect(addr).await?;
            let _b = TcpStream::connect(addr).await?;
            for acceptor in acceptors {
                acceptor.await.expect("the acceptor does not panic")?;
            }
            Ok::<(), std::io::Error>(())
        })
    })
    .expect("both poll_accept callers get a connection");
}
