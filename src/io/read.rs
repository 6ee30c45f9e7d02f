//! [`AsyncReadExt`] and its futures: `read`, `read_exact`, `read_to_end`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_io::AsyncRead;

/// The size of `read_to_end`'s first-round cap on one read; the cap doubles
/// each time a read fills all the room it was offered (std's adaptive
/// read size), so a fast stream soon reads in large gulps while a slow one
/// never gets more zeroed room than it uses.
const FIRST_MAX_READ: usize = 8 * 1024;

/// How much `read_to_end` reads into a stack buffer to find out whether a
/// full buffer is at end of stream, before it grows the caller's `Vec`.
const PROBE_SIZE: usize = 32;

/// Reading methods for every [`AsyncRead`]; see the [module docs](super).
pub trait AsyncReadExt: AsyncRead {
    /// Reads some bytes into `buf`; resolves to how many (0 means end of
    /// stream, or an empty `buf`).
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> Read<'a, Self>
    where
        Self: Unpin,
    {
        Read { reader: self, buf }
    }

    /// Reads exactly `buf.len()` bytes. An end of stream before that is an
    /// [`io::ErrorKind::UnexpectedEof`] error; what was read stays in `buf`.
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadExact<'a, Self>
    where
        Self: Unpin,
    {
        ReadExact {
            reader: self,
            buf,
            filled: 0,
        }
    }

    /// Reads until end of stream, appending to `buf`; resolves to how many
    /// bytes were appended. On error, the bytes read so far stay in `buf`.
    fn read_to_end<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> ReadToEnd<'a, Self>
    where
        Self: Unpin,
    {
        let start = buf.len();
        ReadToEnd {
            start_capacity: buf.capacity(),
            reader: self,
            buf,
            start,
            filled: start,
            max_read: FIRST_MAX_READ,
        }
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// The future of [`AsyncReadExt::read`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Read<'a, R: ?Sized> {
    /// The stream to read from.
    reader: &'a mut R,
    /// Where the bytes go.
    buf: &'a mut [u8],
}

impl<R: AsyncRead + Unpin + ?Sized> Future for Read<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        Pin::new(&mut *this.reader).poll_read(cx, this.buf)
    }
}

/// The future of [`AsyncReadExt::read_exact`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ReadExact<'a, R: ?Sized> {
    /// The stream to read from.
    reader: &'a mut R,
    /// Where the bytes go.
    buf: &'a mut [u8],
    /// How much of `buf` is filled: a read may return fewer bytes than asked.
    filled: usize,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadExact<'_, R> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while this.filled < this.buf.len() {
            let n =
                ready!(Pin::new(&mut *this.reader).poll_read(cx, &mut this.buf[this.filled..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "end of stream before the buffer was filled",
                )));
            }
            this.filled += n;
        }
        Poll::Ready(Ok(()))
    }
}

/// The future of [`AsyncReadExt::read_to_end`].
///
/// While it runs, `buf` is longer than the data in it: the tail is zeroed
/// room for the next read (reading into initialised memory needs no
/// `unsafe`). `filled` is the real length; `buf` is cut back to it when the
/// future finishes or is dropped.
///
/// It grows `buf` the way std's `read_to_end` does: the spare capacity the
/// caller gave comes first; a buffer that is exactly full is probed with a
/// small read on the stack (at end of stream it is then not grown at all);
/// growing goes through `Vec::reserve`, which at least doubles; and at most
/// `max_read` bytes are zeroed for one read, a cap that doubles whenever a
/// read fills it.
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ReadToEnd<'a, R: ?Sized> {
    /// The stream to read from.
    reader: &'a mut R,
    /// The bytes read are appended here.
    buf: &'a mut Vec<u8>,
    /// `buf.len()` when we started, to report how much was appended.
    start: usize,
    /// How much of `buf` holds data.
    filled: usize,
    /// `buf.capacity()` when we started: a buffer still that size when
    /// full was sized by the caller, maybe exactly, so it is probed first.
    start_capacity: usize,
    /// The most zeroed room offered to one read; see the type's docs.
    max_read: usize,
}

impl<R: AsyncRead + Unpin + ?Sized> ReadToEnd<'_, R> {
    /// Makes zeroed room after `filled` unless some is left from a short
    /// read. `false` if the buffer is exactly full and should be probed.
    fn make_room(&mut self) -> bool {
        if self.buf.len() > self.filled {
            return true;
        }
        if self.buf.capacity() == self.filled {
            if self.buf.capacity() == self.start_capacity {
                return false;
            }
            self.buf.reserve(PROBE_SIZE); // amortised: at least doubles
        }
        let room = (self.buf.capacity() - self.filled).min(self.max_read);
        self.buf.resize(self.filled + room, 0);
        true
    }

    /// Reads into the zeroed room, or into a probe buffer when there is
    /// none; `Ok(0)` is end of stream.
    fn poll_read_some(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if !self.make_room() {
            let mut probe = [0u8; PROBE_SIZE];
            let n = ready!(Pin::new(&mut *self.reader).poll_read(cx, &mut probe))?;
            self.buf.extend_from_slice(&probe[..n]);
            self.filled += n;
            return Poll::Ready(Ok(n));
        }
        let room = self.buf.len() - self.filled;
        let result = Pin::new(&mut *self.reader).poll_read(cx, &mut self.buf[self.filled..]);
        let n = ready!(result)?;
        self.filled += n;
        if n == room && room >= self.max_read {
            self.max_read = self.max_read.saturating_mul(2);
        }
        Poll::Ready(Ok(n))
    }
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToEnd<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        loop {
            match ready!(this.poll_read_some(cx)) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    this.buf.truncate(this.filled);
                    return Poll::Ready(Err(e));
                }
            }
        }
        this.buf.truncate(this.filled);
        Poll::Ready(Ok(this.filled - this.start))
    }
}

impl<R: ?Sized> Drop for ReadToEnd<'_, R> {
    fn drop(&mut self) {
        // Dropped mid-way: leave only real data behind.
        self.buf.truncate(self.filled);
    }
}
