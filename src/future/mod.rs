//! Combinators: running several futures *inside one task*.
//!
//! `spawn` makes a new task per future; the combinators here instead poll
//! a few futures from the one task that awaits them. Nothing is spawned,
//! nothing needs to be `'static` or `Send`, and the futures may borrow from
//! the caller.
//!
//! | combinator | completes when | result | asyncio |
//! |---|---|---|---|
//! | [`join(a, b)`](join()) | both are done | `(a, b)` | `gather(a, b)` |
//! | [`join_all(iter)`](join_all()) | all are done | `Vec`, in input order | `gather(*fs)` |
//! | [`select(a, b)`](select()) | the first is done | [`Either`] saying which | `wait(FIRST_COMPLETED)` |
//! | [`race(a, b)`](race()) | the first is done | its value (same type) | |
//!
//! **Cancellation by drop.** `select` and `race` drop the future that lost
//! as soon as the other one completes: whatever it was waiting for is
//! cancelled the way that future's own docs describe (a `recv()` loses
//! nothing, a `sleep` is just gone). Both poll `a` before `b` on every wake,
//! so when both are ready at once `a` wins: the bias is deliberate and
//! predictable, and makes `select(work, shutdown_signal)` behave the same on
//! every run.
//!
//! ```
//! use evloop::future::{Either, join, select};
//!
//! evloop::block_on(async {
//!     let (a, b) = join(async { 1 }, async { "two" }).await;
//!     assert_eq!((a, b), (1, "two"));
//!
//!     let (tx, rx) = evloop::sync::oneshot::channel::<()>();
//!     let winner = select(async { 42 }, rx).await; // rx never completes first
//!     assert!(matches!(winner, Either::Left(42)));
//!     drop(tx);
//! });
//! ```

mod join;
mod maybe_done;
mod select;

pub use join::{Join, JoinAll, join, join_all};
pub use select::{Either, Race, Select, race, select};
