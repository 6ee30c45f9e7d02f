//! [`AsyncReadExt`] and its futures: `read`, `read_exact`, `read_to_end`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_io::AsyncRead;

/// How much `read_to_end` grows its buffer by, at least, before each read.
const READ_TO_END_CHUNK: usize = 8 * 1024;

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
            reader: self,
            buf,
            start,
            filled: start,
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
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToEnd<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        loop {
            if this.buf.len() == this.filled {
                // Out of room: grow by at least a chunk, and geometrically.
                let grow = READ_TO_END_CHUNK.max(this.filled - this.start);
                this.buf.resize(this.filled + grow, 0);
            }
            let result = Pin::new(&mut *this.reader).poll_read(cx, &mut this.buf[this.filled..]);
            match ready!(result) {
                Ok(0) => break,
                Ok(n) => this.filled += n,
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
