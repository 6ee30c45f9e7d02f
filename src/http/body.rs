//! Bodies: a stream of chunks, whichever way they travel.
//!
//! A request body is not read before the handler runs: the handler gets a
//! [`Body`] that pulls bytes from the connection's read buffer (and the
//! socket behind it) only when asked, through the framing decoder. So a
//! handler that streams the request body into its response (`/echo`) never
//! holds more than one read's worth of it, and a handler that ignores it
//! costs nothing until the connection discards what is left.
//!
//! A response body is the same type: full bytes, a stream of chunks from
//! any `futures_core::Stream` (an [`mpsc::Receiver`](crate::sync::mpsc::Receiver)
//! for a producer task), or a request's body handed straight back.
//!
//! The connection's read side ([`Wire`]) is shared between the connection
//! task (which parses heads from it) and the current request's body (which
//! reads its data from it). Both run on the connection's task, one at a time,
//! and borrow it only inside a `poll`, never across an `.await`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use futures_core::Stream;

use super::codec::{ChunkedDecoder, Reject};
use crate::io::{AsyncRead, AsyncWrite};
use crate::net::TcpStream;
use crate::time::{Sleep, sleep_until};

/// A body: read it chunk by chunk with [`Body::chunk`], or whole with
/// [`Body::to_bytes`].
pub struct Body {
    /// Where the bytes come from.
    inner: Inner,
}

/// The kinds of body.
enum Inner {
    /// Nothing, or already read to the end.
    Empty,
    /// All bytes at hand (borrowed when `'static`: no copy for constant
    /// bodies such as `"Hello, world!"`).
    Full(Cow<'static, [u8]>),
    /// A request body still on the connection.
    Wire {
        /// The connection's read side.
        wire: Rc<RefCell<Wire>>,
        /// Which request of the connection this body belongs to.
        seq: u64,
    },
    /// Chunks from a stream.
    Stream(Pin<Box<dyn Stream<Item = io::Result<Vec<u8>>>>>),
}

impl Body {
    /// An empty body.
    pub fn empty() -> Body {
        Body {
            inner: Inner::Empty,
        }
    }

    /// A body made of the chunks of `stream`, sent with chunked encoding.
    /// An error from the stream ends the response early and closes the
    /// connection (the client sees a truncated body).
    pub fn from_stream<S>(stream: S) -> Body
    where
        S: Stream<Item = io::Result<Vec<u8>>> + 'static,
    {
        Body {
            inner: Inner::Stream(Box::pin(stream)),
        }
    }

    pub(super) fn from_wire(wire: Rc<RefCell<Wire>>, seq: u64) -> Body {
        Body {
            inner: Inner::Wire { wire, seq },
        }
    }

    /// The number of bytes still to come, when it is known in advance (full
    /// bytes, or a request body framed by `Content-Length`).
    pub fn exact_len(&self) -> Option<u64> {
        match &self.inner {
            Inner::Empty => Some(0),
            Inner::Full(bytes) => Some(bytes.len() as u64),
            Inner::Wire { wire, seq } => wire.borrow().remaining(*seq),
            Inner::Stream(_) => None,
        }
    }

    /// The next chunk, or `None` at the end. A request body whose framing
    /// breaks (a bad chunk, more than the size limit, the peer gone) gives an
    /// error, and the connection will close after the response.
    pub async fn chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// The poll form of [`Body::chunk`].
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Vec<u8>>>> {
        match &mut self.inner {
            Inner::Empty => Poll::Ready(Ok(None)),
            Inner::Full(bytes) => {
                let bytes = std::mem::take(bytes).into_owned();
                self.inner = Inner::Empty;
                Poll::Ready(Ok(Some(bytes).filter(|b| !b.is_empty())))
            }
            Inner::Wire { wire, seq } => wire.borrow_mut().poll_body(cx, *seq),
            Inner::Stream(stream) => match ready!(stream.as_mut().poll_next(cx)) {
                Some(result) => Poll::Ready(result.map(Some)),
                None => Poll::Ready(Ok(None)),
            },
        }
    }

    /// Reads the whole body, failing with [`io::ErrorKind::InvalidData`] if
    /// it is longer than `limit` bytes.
    pub async fn to_bytes(&mut self, limit: usize) -> io::Result<Vec<u8>> {
        if self.exact_len().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut all = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            if all.len() + chunk.len() > limit {
                return Err(too_large());
            }
            if all.is_empty() {
                all = chunk;
            } else {
                all.extend_from_slice(&chunk);
            }
        }
        Ok(all)
    }

    /// Whether all the bytes are at hand (empty or full).
    pub(super) fn is_full(&self) -> bool {
        matches!(self.inner, Inner::Empty | Inner::Full(_))
    }

    /// Whether this is a request body still on the connection (which then
    /// reads the socket itself).
    pub(super) fn is_wire(&self) -> bool {
        matches!(self.inner, Inner::Wire { .. })
    }

    /// Full bytes, taken out, if this body is that kind.
    pub(super) fn take_full(&mut self) -> Option<Cow<'static, [u8]>> {
        match &mut self.inner {
            Inner::Empty => Some(Cow::Borrowed(&[])),
            Inner::Full(bytes) => Some(std::mem::take(bytes)),
            _ => None,
        }
    }
}

/// The error for a body over a limit.
fn too_large() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "body is larger than the limit")
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner {
            Inner::Empty => "empty",
            Inner::Full(_) => "full",
            Inner::Wire { .. } => "request",
            Inner::Stream(_) => "stream",
        };
        f.debug_struct("Body").field("kind", &kind).finish()
    }
}

impl Stream for Body {
    type Item = io::Result<Vec<u8>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx).map(Result::transpose)
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body {
            inner: Inner::Full(Cow::Owned(bytes)),
        }
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::from(text.into_bytes())
    }
}

/// A constant body is sent from where it is, without a copy.
impl From<&'static str> for Body {
    fn from(text: &'static str) -> Body {
        Body::from(text.as_bytes())
    }
}

/// A constant body is sent from where it is, without a copy.
impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Body {
        Body {
            inner: Inner::Full(Cow::Borrowed(bytes)),
        }
    }
}

/// How much of the current request's body is left on the wire.
#[derive(Debug)]
pub(super) enum BodyState {
    /// This many bytes (`Content-Length`).
    Length(u64),
    /// Chunked, decoding.
    Chunked(ChunkedDecoder),
    /// Read to the end (or there was none).
    Done,
    /// The framing broke; the connection must close.
    Broken,
}

/// The interim response a client sent `Expect: 100-continue` waits for.
pub(super) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The read side of a connection: the socket, the read buffer and the
/// framing state of the current request's body.
#[derive(Debug)]
pub(super) struct Wire {
    /// The socket (the connection task writes through its own clone).
    pub(super) stream: Rc<TcpStream>,
    /// The read buffer; bytes `start..end` are unread.
    pub(super) buf: Vec<u8>,
    /// First unread byte.
    pub(super) start: usize,
    /// End of the bytes read.
    pub(super) end: usize,
    /// The largest the buffer may grow to hold one head.
    pub(super) max_buf: usize,
    /// The current request's number on this connection.
    pub(super) seq: u64,
    /// The current request's body framing.
    pub(super) body: BodyState,
    /// Bytes of `100 Continue` still to write before the body is read;
    /// 0 when none is owed.
    pub(super) continue_owed: usize,
    /// Why the body failed, for the status the connection answers with.
    pub(super) error: Option<Reject>,
    /// How long a body read may wait for a byte before the body fails
    /// (408): a client that declares a body and never sends it does not hold
    /// the connection forever.
    pub(super) read_timeout: Duration,
    /// Since when the body read has been waiting, if it is.
    pub(super) waiting_since: Option<Instant>,
    /// The timer behind `read_timeout`, kept to be moved rather than remade.
    pub(super) timer: Option<Sleep>,
}

impl Wire {
    /// The body bytes still to come for request `seq`, if known.
    fn remaining(&self, seq: u64) -> Option<u64> {
        match (&self.body, seq == self.seq) {
            (_, false) | (BodyState::Done, _) => Some(0),
            (BodyState::Length(n), _) => Some(*n),
            _ => None,
        }
    }

    /// Whether the buffer is full at its largest size: nothing more can be
    /// read until some is consumed.
    pub(super) fn is_full(&self) -> bool {
        self.start == 0 && self.end == self.buf.len() && self.buf.len() >= self.max_buf
    }

    /// The unread bytes.
    pub(super) fn unread(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Reads more bytes from the socket into the buffer, making room first.
    /// `Ok(0)` is end of stream, or a full buffer at its largest.
    pub(super) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= self.max_buf {
                return Poll::Ready(Ok(0));
            }
            let grown = (self.buf.len() * 2).min(self.max_buf);
            self.buf.resize(grown, 0);
        }
        let Wire {
            stream, buf, end, ..
        } = self;
        let n = ready!(Pin::new(&mut &**stream).poll_read(cx, &mut buf[*end..]))?;
        self.end += n;
        Poll::Ready(Ok(n))
    }

    /// The next chunk of request `seq`'s body.
    fn poll_body(&mut self, cx: &mut Context<'_>, seq: u64) -> Poll<io::Result<Option<Vec<u8>>>> {
        if seq != self.seq {
            return Poll::Ready(Ok(None));
        }
        loop {
            if let Some(result) = self.take_buffered() {
                return Poll::Ready(result);
            }
            ready!(self.poll_continue(cx))?;
            let filled = match self.poll_fill(cx) {
                Poll::Pending => return self.poll_read_timeout(cx),
                Poll::Ready(filled) => filled,
            };
            self.waiting_since = None;
            match filled {
                Ok(0) => {
                    self.body = BodyState::Broken;
                    return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                }
                Ok(_) => {}
                Err(e) => {
                    self.body = BodyState::Broken;
                    return Poll::Ready(Err(e));
                }
            }
        }
    }

    /// A chunk from what is already buffered, the end, or an error; `None`
    /// when more bytes must be read.
    fn take_buffered(&mut self) -> Option<io::Result<Option<Vec<u8>>>> {
        let unread = &self.buf[self.start..self.end];
        match &mut self.body {
            BodyState::Done => Some(Ok(None)),
            BodyState::Broken => Some(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the request body's framing is broken",
            ))),
            BodyState::Length(0) => {
                self.body = BodyState::Done;
                Some(Ok(None))
            }
            BodyState::Length(n) => {
                if unread.is_empty() {
                    return None;
                }
                let take = unread.len().min(usize::try_from(*n).unwrap_or(usize::MAX));
                *n -= take as u64;
                let chunk = unread[..take].to_vec();
                self.start += take;
                Some(Ok(Some(chunk)))
            }
            BodyState::Chunked(decoder) => loop {
                let unread = &self.buf[self.start..self.end];
                if unread.is_empty() {
                    return None;
                }
                match decoder.decode(unread) {
                    Err(reject) => {
                        self.error = Some(reject);
                        self.body = BodyState::Broken;
                        return Some(Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("bad chunked body ({})", reject.0),
                        )));
                    }
                    Ok(decoded) => {
                        let chunk = decoded.data.map(|range| unread[range].to_vec());
                        let done = decoder.is_done();
                        self.start += decoded.consumed;
                        if let Some(chunk) = chunk {
                            return Some(Ok(Some(chunk)));
                        }
                        if done {
                            self.body = BodyState::Done;
                            return Some(Ok(None));
                        }
                    }
                }
            },
        }
    }

    /// Waits for the body read timeout: `Pending`, or the body fails (408).
    fn poll_read_timeout(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Vec<u8>>>> {
        let deadline = *self.waiting_since.get_or_insert_with(Instant::now) + self.read_timeout;
        let timer = self.timer.get_or_insert_with(|| sleep_until(deadline));
        if timer.deadline() != deadline {
            Pin::new(&mut *timer).reset(deadline);
        }
        ready!(Pin::new(timer).poll(cx));
        self.error = Some(Reject(408));
        self.body = BodyState::Broken;
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the request body stopped arriving",
        )))
    }

    /// Writes the `100 Continue` the client waits for, if owed.
    fn poll_continue(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.continue_owed > 0 {
            let sent = CONTINUE.len() - self.continue_owed;
            let n = ready!(Pin::new(&mut &*self.stream).poll_write(cx, &CONTINUE[sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.continue_owed -= n;
        }
        Poll::Ready(Ok(()))
    }
}
