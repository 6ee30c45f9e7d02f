//! The buffer a `File` lends to the pool for one read or write.
//!
//! A pool thread cannot write into the caller's `&mut [u8]`: that borrow
//! ends when `poll_read` returns `Pending`, long before the thread is done.
//! So the bytes travel in a buffer the job *owns*: moved to the pool with
//! the job, moved back with the result, then copied to (or from) the
//! caller's slice. One buffer per `File`, reused for every operation, and
//! never larger than [`MAX_BUF`]: a 1 GiB `read_to_end` is 16,384 reads of
//! 64 KiB, not one allocation of 1 GiB.

use std::io::{self, Read, Write};

/// The most bytes one pool job reads or writes (tokio's `File` uses 2 MiB;
/// libuv leaves the size to the caller). 64 KiB is the default pipe size
/// and a common readahead unit: big enough that the pool round-trip (a few
/// microseconds) is small next to the copy, small enough to keep each
/// `File`'s memory bounded.
pub(crate) const MAX_BUF: usize = 64 * 1024;

/// Bytes in transit between a `File` and the pool. Holds `bytes[pos..]`:
/// read-ahead not yet handed to the caller, or data not yet written.
#[derive(Debug, Default)]
pub(crate) struct Buf {
    /// The storage; its capacity is reused from one operation to the next.
    bytes: Vec<u8>,
    /// How much of `bytes` has been consumed already.
    pos: usize,
}

impl Buf {
    /// How many bytes are waiting in the buffer.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves buffered read-ahead into `out`; returns how much.
    pub(crate) fn copy_to(&mut self, out: &mut [u8]) -> usize {
        let n = self.len().min(out.len());
        out[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
        self.pos += n;
        if self.is_empty() {
            self.clear();
        }
        n
    }

    /// Fills the (empty) buffer from `src`, at most `MAX_BUF` bytes;
    /// returns how many it took.
    pub(crate) fn copy_from(&mut self, src: &[u8]) -> usize {
        debug_assert!(self.is_empty(), "a write buffer starts empty");
        let n = src.len().min(MAX_BUF);
        self.clear();
        self.bytes.extend_from_slice(&src[..n]);
        n
    }

    /// Drops unread read-ahead and says how far the OS's file position is
    /// ahead of the caller's (as a negative offset for `SeekFrom::Current`).
    pub(crate) fn discard_read(&mut self) -> i64 {
        let ahead = self.len();
        self.clear();
        -i64::try_from(ahead).expect("a buffer is at most MAX_BUF bytes")
    }

    /// Reads up to `want` (at most `MAX_BUF`) bytes from `file` into the
    /// empty buffer. Runs on a pool thread.
    pub(crate) fn read_from(&mut self, mut file: &std::fs::File, want: usize) -> io::Result<usize> {
        debug_assert!(self.is_empty(), "a read buffer starts empty");
        self.clear();
        self.bytes.resize(want.min(MAX_BUF), 0);
        let result = loop {
            match file.read(&mut self.bytes) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.bytes.truncate(*result.as_ref().unwrap_or(&0));
        result
    }

    /// Writes the whole buffer to `file` (retrying short writes and EINTR),
    /// then empties it. Runs on a pool thread.
    pub(crate) fn write_to(&mut self, mut file: &std::fs::File) -> io::Result<()> {
        let result = file.write_all(&self.bytes[self.pos..]);
        self.clear();
        result
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.pos = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_to_hands_out_read_ahead_in_pieces() {
        let mut buf = Buf {
            bytes: b"hello".to_vec(),
            pos: 0,
        };
        let mut out = [0u8; 3];
        assert_eq!(buf.copy_to(&mut out), 3);
        assert_eq!(&out, b"hel");
        assert_eq!(buf.len(), 2);
        assert_eq!(buf.discard_read(), -2);
        assert!(buf.is_empty());
    }

    #[test]
    fn copy_from_takes_at_most_max_buf() {
        let mut buf = Buf::default();
        let big = vec![7u8; MAX_BUF + 10];
        assert_eq!(buf.copy_from(&big), MAX_BUF);
        assert_eq!(buf.len(), MAX_BUF);
    }

    #[test]
    // Opens /dev/zero and /dev/null: miri's isolation forbids the host's
    // filesystem (and this test has no unsafe code of its own to check).
    #[cfg_attr(miri, ignore)]
    fn read_from_is_bounded_and_truncates_to_what_was_read() {
        let zero = std::fs::File::open("/dev/zero").expect("/dev/zero exists");
        let mut buf = Buf::default();
        assert_eq!(buf.read_from(&zero, 10 * MAX_BUF).expect("read"), MAX_BUF);
        assert_eq!(buf.len(), MAX_BUF);
        let empty = std::fs::File::open("/dev/null").expect("/dev/null exists");
        let mut buf = Buf::default();
        assert_eq!(buf.read_from(&empty, 100).expect("read"), 0);
        assert!(buf.is_empty());
    }
}
