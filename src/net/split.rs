//! Owned read and write halves of a stream, for two tasks.
//!
//! A TCP connection is full duplex: reading and writing are independent,
//! and the reactor keeps a separate waker for each direction (see
//! [`crate::reactor`]). So a stream can be shared by a reading task and a
//! writing task without any lock: both halves hold an `Arc` of the stream,
//! one only reads, the other only writes.
//!
//! `reunite` puts the two halves back together into the stream (an error,
//! giving both back, if they come from different streams). The stream's
//! other methods (`readable`, `try_read`, `peek`, `writable`, `try_write`,
//! addresses, options) are reached through `half.as_ref()`; tokio has
//! copies of them on its halves instead.

use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::TcpStream;

pub(crate) mod private {
    use super::*;

    /// What a stream must offer to be split. Sealed: its methods are not
    /// part of evloop's API.
    pub trait Duplex {
        /// Reads into `buf`, parking `cx` if nothing is there.
        fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
        /// Writes from `buf`, parking `cx` if the send buffer is full.
        fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
        /// Writes from several buffers in one syscall.
        fn poll_send_vectored(
            &self,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>>;
        /// Shuts down one side or both.
        fn shutdown(&self, how: Shutdown) -> io::Result<()>;
    }
}

/// A stream that can be split into owned halves: [`TcpStream`] and
/// [`UnixStream`](super::UnixStream). Sealed.
pub trait Split: private::Duplex {}

/// The reading half of a stream, from `into_split`. `S` is the stream type
/// (TCP unless said otherwise).
#[derive(Debug)]
pub struct OwnedReadHalf<S: Split = TcpStream> {
    /// The stream, shared with the write half.
    stream: Arc<S>,
}

/// The writing half of a stream, from `into_split`. Dropping it shuts down
/// the write side, so the peer sees end of stream.
#[derive(Debug)]
pub struct OwnedWriteHalf<S: Split = TcpStream> {
    /// The stream, shared with the read half.
    stream: Arc<S>,
    /// Whether `poll_close` already shut the write side down: no need to
    /// do it again on drop.
    closed: bool,
}

pub(super) fn split<S: Split>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let stream = Arc::new(stream);
    let read = OwnedReadHalf {
        stream: stream.clone(),
    };
    let write = OwnedWriteHalf {
        stream,
        closed: false,
    };
    (read, write)
}

/// The error of `reunite`: the two halves came from different streams.
/// Both are handed back, unchanged.
#[derive(Debug, thiserror::Error)]
#[error("tried to reunite halves that are not from the same stream")]
pub struct ReuniteError<S: Split + std::fmt::Debug = TcpStream>(
    /// The read half given.
    pub OwnedReadHalf<S>,
    /// The write half given.
    pub OwnedWriteHalf<S>,
);

fn reunite<S: Split + std::fmt::Debug>(
    read: OwnedReadHalf<S>,
    mut write: OwnedWriteHalf<S>,
) -> Result<S, ReuniteError<S>> {
    if !Arc::ptr_eq(&read.stream, &write.stream) {
        return Err(ReuniteError(read, write));
    }
    // The stream lives on: dropping the write half must not shut it down.
    write.closed = true;
    drop(write);
    Ok(Arc::try_unwrap(read.stream)
        .unwrap_or_else(|_| unreachable!("the two halves held the only references")))
}

impl<S: Split + std::fmt::Debug> OwnedReadHalf<S> {
    /// Puts the stream back together from the two halves `into_split`
    /// made; an error (giving both back) if they come from different
    /// streams. A write side already closed through `close()` stays shut.
    pub fn reunite(self, other: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        reunite(self, other)
    }
}

impl<S: Split + std::fmt::Debug> OwnedWriteHalf<S> {
    /// [`OwnedReadHalf::reunite`] from the other side.
    pub fn reunite(self, other: OwnedReadHalf<S>) -> Result<S, ReuniteError<S>> {
        reunite(other, self)
    }
}

impl<S: Split> AsRef<S> for OwnedReadHalf<S> {
    /// The stream, to ask for its addresses.
    fn as_ref(&self) -> &S {
        &self.stream
    }
}

impl<S: Split> AsRef<S> for OwnedWriteHalf<S> {
    /// The stream, to ask for its addresses.
    fn as_ref(&self) -> &S {
        &self.stream
    }
}

impl<S: Split> AsyncRead for OwnedReadHalf<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_recv(cx, buf)
    }
}

impl<S: Split> AsyncWrite for OwnedWriteHalf<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_send(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_send_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.closed = true;
        Poll::Ready(self.stream.shutdown(Shutdown::Write))
    }
}

impl<S: Split> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if !self.closed {
            // The read half may outlive us; the peer must still see EOF.
            // An error means the connection is gone already: nothing to do.
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }
}
