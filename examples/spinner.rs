//! A spinner animating while a slow computation runs, cancelled as soon as
//! the result arrives.
//!
//! Run: `cargo run --example spinner`
//! (no network: watch the spinner on the terminal for three seconds, then
//! the answer).
//!
//! It mirrors `spinner_async.py` from *Fluent Python* (the "thread versus
//! coroutine" spinner): `spin()` loops over `|/-\` printing with `\r` and
//! sleeping 0.1 s; `supervisor()` starts it as a task, awaits `slow()`, then
//! calls `spinner.cancel()`. In evloop the task is cancelled with
//! `JoinHandle::abort()`: its future is dropped at the loop's next turn,
//! exactly at its `sleep(...).await`, the same point where asyncio raises
//! `CancelledError` into the coroutine. The spinner clears its line from a
//! drop guard, which is Rust's `finally:`.

use std::io::Write;
use std::time::Duration;

use evloop::time::sleep;

/// Clears the spinner's line when the spinner's future is dropped
/// (cancelled), like asyncio's `except CancelledError` / `finally`.
struct ClearLine {
    /// Width of the text to blank out.
    width: usize,
}

impl Drop for ClearLine {
    fn drop(&mut self) {
        print!("\r{}\r", " ".repeat(self.width));
        let _ = std::io::stdout().flush();
    }
}

async fn spin(msg: &'static str) {
    let _clear = ClearLine {
        width: msg.len() + 2,
    };
    for ch in ['|', '/', '-', '\\'].into_iter().cycle() {
        print!("\r{ch} {msg}");
        let _ = std::io::stdout().flush();
        sleep(Duration::from_millis(100)).await; // cancellation lands here
    }
}

/// Pretend to compute for a long time, without blocking the loop.
async fn slow() -> u32 {
    sleep(Duration::from_secs(3)).await;
    42
}

fn main() {
    evloop::block_on(async {
        let spinner = evloop::spawn(spin("thinking!"));
        println!("spinner object: {spinner:?}");
        let result = slow().await;
        spinner.abort();
        let outcome = spinner.await;
        assert!(
            outcome.as_ref().is_err_and(|e| e.is_cancelled()),
            "the spinner never ends by itself"
        );
        println!("Answer: {result}");
    });
}
