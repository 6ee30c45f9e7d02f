//! Inline reads: copying cached file bytes on the loop's own thread, a
//! bounded amount per poll.
//!
//! # The win, and the danger
//!
//! A pool round trip costs microseconds: a channel send, a thread waking
//! up, a remote wake back, and a turn of the loop (more when the other
//! core is busy and the pool thread must wait to be scheduled). A 4 KiB
//! read from the page cache costs a fraction of one. So when `nowait`
//! says a read can be had without waiting for the disk, the loop does it
//! itself.
//!
//! But a cached read is still a `memcpy`, and the loop's thread is every
//! task's thread: reading a 1 GiB cached file in one go would stall every
//! socket and timer of the loop for a good part of a second. So the inline
//! path has a budget: at most [`INLINE_CAP`] bytes per poll (of a task,
//! or of the `block_on` future). A read that finds the budget spent
//! *yields*: it wakes its task and returns `Pending`, the loop runs
//! everything else that is ready (and looks at the OS once per
//! `BUDGET` polls), and the next poll has a fresh budget. A big read is
//! thus a series of 64 KiB copies with the rest of the loop's work
//! between them, which is what the pool gave too, without the threads.
//!
//! # When the inline path is not taken
//!
//! * the runtime was built with `Builder::inline_file_reads(false)`;
//! * the kernel lacks the flags, or the file refuses them (see `nowait`);
//! * the caller is not on a loop's thread (a `File` polled by another
//!   executor): there is no loop to budget for, so the pool it is.

use std::cell::Cell;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::buf::MAX_BUF;
use super::{asyncify_on, nowait};
use crate::runtime::context;
use crate::runtime::handle::Shared;

/// The most bytes the inline path copies in one poll: as much as one pool
/// job reads, the default pipe size, a few microseconds of `memcpy`.
pub(crate) const INLINE_CAP: usize = MAX_BUF;

thread_local! {
    /// The poll the loop on this thread is making, and how many bytes
    /// inline reads have copied during it.
    static SPENT: Cell<((u64, usize), usize)> = const { Cell::new(((0, 0), 0)) };
}

/// What the inline path may do right now.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Budget {
    /// Read inline, at most this many bytes (never 0).
    Go(usize),
    /// This poll has copied its share: yield, and read on the next poll.
    Yield,
    /// No inline reads here: use the pool.
    Off,
}

/// How much the caller may read inline, for a file of the runtime behind
/// `shared`.
pub(crate) fn budget(shared: &Shared) -> Budget {
    if !shared.inline_file_reads || !nowait::nowait_read_supported() {
        return Budget::Off;
    }
    let Some(stamp) = context::with_core(|core| core.poll_stamp()) else {
        return Budget::Off;
    };
    let (seen, spent) = SPENT.get();
    let spent = if seen == stamp { spent } else { 0 };
    SPENT.set((stamp, spent));
    match INLINE_CAP.saturating_sub(spent) {
        0 => Budget::Yield,
        left => Budget::Go(left),
    }
}

/// Counts `n` bytes copied inline against this poll's budget.
pub(crate) fn spend(n: usize) {
    let (stamp, spent) = SPENT.get();
    SPENT.set((stamp, spent.saturating_add(n)));
}

/// `fs::read`: open from the dentry cache and read from the page cache
/// where both are possible, else (or for the rest) on the pool.
pub(crate) async fn read(shared: Arc<Shared>, path: PathBuf) -> io::Result<Vec<u8>> {
    match open_inline(&shared, &path) {
        Some((file, size)) => read_to_end(shared, file, size).await,
        None => asyncify_on(&shared, move || std::fs::read(path)).await,
    }
}

/// `fs::read_to_string`: [`read`], then a UTF-8 check, itself on the pool
/// for more than [`INLINE_CAP`] bytes (checking 1 MiB is tens of
/// microseconds, which the loop's thread should not spend in one go).
pub(crate) async fn read_to_string(shared: Arc<Shared>, path: PathBuf) -> io::Result<String> {
    let Some((file, size)) = open_inline(&shared, &path) else {
        return asyncify_on(&shared, move || std::fs::read_to_string(path)).await;
    };
    let bytes = read_to_end(shared.clone(), file, size).await?;
    if bytes.len() <= INLINE_CAP {
        utf8(bytes)
    } else {
        asyncify_on(&shared, move || utf8(bytes)).await
    }
}

/// The bytes as a `String`, or std's `InvalidData` error.
fn utf8(bytes: Vec<u8>) -> io::Result<String> {
    String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// Opens `path` on the loop's thread if no lookup needs I/O and it is a
/// regular file; returns it with its size. `None`: do it all on the pool
/// (including reporting errors such as `NotFound`, as std words them).
fn open_inline(shared: &Shared, path: &Path) -> Option<(std::fs::File, u64)> {
    if budget(shared) == Budget::Off || !nowait::cached_open_supported() {
        return None;
    }
    let nowait::Outcome::Done(file) = nowait::open_cached(path) else {
        return None;
    };
    // A FIFO or device opened with O_NONBLOCK would not read as std's
    // blocking open would: those go to the pool, reopened there.
    let (regular, size) = nowait::cached_stat(&file)?;
    regular.then_some((file, size))
}

/// Reads `file` (just opened, at offset 0) to its end: inline while the
/// page cache has the bytes, yielding between budgets; on the first miss,
/// the rest on the pool.
async fn read_to_end(shared: Arc<Shared>, file: std::fs::File, size: u64) -> io::Result<Vec<u8>> {
    // One more byte than the size, so that the read which finds the end
    // does not have to grow the vector (as std's `fs::read` does).
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    out.try_reserve_exact(size.saturating_add(1))
        .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
    loop {
        let max = match budget(&shared) {
            Budget::Go(max) => max,
            Budget::Yield => {
                crate::yield_now().await;
                continue;
            }
            Budget::Off => break,
        };
        if out.spare_capacity_mut().is_empty() {
            out.reserve(MAX_BUF); // the file grew since its fstat
        }
        match nowait::read_appending(&file, &mut out, max) {
            nowait::Outcome::Done(0) => return Ok(out),
            nowait::Outcome::Done(n) => spend(n),
            _ => break,
        }
    }
    // The rest from where the inline reads stopped (the file's position).
    asyncify_on(&shared, move || {
        nowait::clear_nonblock(&file)?;
        (&file).read_to_end(&mut out)?;
        Ok(out)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_poll_gets_its_own_budget() {
        let rt = crate::Runtime::new().expect("runtime");
        let off = crate::Runtime::builder()
            .inline_file_reads(false)
            .build()
            .expect("runtime");
        let shared = rt.handle().shared;
        assert_eq!(budget(&shared), Budget::Off, "outside a loop: the pool");
        if !nowait::nowait_read_supported() {
            return;
        }
        rt.block_on(async {
            assert_eq!(budget(&shared), Budget::Go(INLINE_CAP));
            spend(INLINE_CAP - 10);
            assert_eq!(budget(&shared), Budget::Go(10));
            spend(10);
            assert_eq!(budget(&shared), Budget::Yield);
            crate::yield_now().await; // a new poll: a fresh budget
            assert_eq!(budget(&shared), Budget::Go(INLINE_CAP));
        });
        let off_shared = off.handle().shared;
        off.block_on(async { assert_eq!(budget(&off_shared), Budget::Off) });
    }
}
