//! Helpers shared by the sync, task and future tests.

#![allow(dead_code)]

use std::future::Future;

use evloop::future::{Either, select};

/// Runs `future` for at most `turns` yields of the current task; panics if
/// it has not finished by then. Keeps a lost wake-up from hanging a test.
pub async fn within<F: Future>(turns: usize, future: F) -> F::Output {
    let deadline = async {
        for _ in 0..turns {
            evloop::yield_now().await;
        }
    };
    match select(future, deadline).await {
        Either::Left(output) => output,
        Either::Right(()) => panic!("not finished within {turns} turns: a lost wake-up?"),
    }
}

/// Yields `turns` times, letting every other ready task run in between.
pub async fn settle(turns: usize) {
    for _ in 0..turns {
        evloop::yield_now().await;
    }
}
