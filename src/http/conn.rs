//! One connection: a task that turns reads into requests and responses
//! into writes.
//!
//! # The state machine
//!
//! ```text
//!            ┌───────────── more heads in the buffer ──────────────┐
//!            ▼                                                     │
//!   ┌──▶ PARSE ──complete head──▶ HANDLE ──▶ RESPOND (append) ─────┘
//!   │      │ incomplete / empty                  │ close, reject, panic
//!   │      ▼                                     ▼
//!   └─── FLUSH (one write) ──▶ READ (idle or head timeout) ──▶ CLOSED
//! ```
//!
//! A read may bring half a request or sixteen. The task parses every
//! complete head in the buffer, runs each handler inline (no task per
//! request: the handler's future is polled right here), and appends each
//! response to one write buffer. Only when the buffer holds no complete
//! head does it write, so a pipelined batch of requests costs one `read`
//! and one `write` in all. Responses leave in request order because there
//! is only ever one request in flight.
//!
//! A handler that has to wait (a timer, the blocking pool, its body) makes
//! the task flush what is already answered first, so earlier responses do
//! not wait for a slow one. A streaming response body is written chunk by
//! chunk as it is produced; while the producer waits, the task watches the
//! socket, so a client that goes away ends the response (and, by dropping
//! the stream, its producer) at once.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

use super::body::{Body, BodyState, Wire};
use super::codec::{ChunkedDecoder, Framing, Head, Reject, Version, parse_head};
use super::request::Request;
use super::response::{ConnectionHeader, OutFraming, Response, write_head};
use super::router::HandlerFuture;
use super::server::Shared;
use crate::io::AsyncWriteExt;
use crate::net::TcpStream;
use crate::time::{Sleep, sleep_until, timeout};

/// Past this many bytes the write buffer is written out even mid-batch.
const WRITE_HIGH_WATER: usize = 64 * 1024;
/// The read buffer's first size.
const READ_BUFFER: usize = 16 * 1024;
/// At most this much of a body a handler left unread is read and thrown
/// away to keep the connection; more, and the connection closes instead.
const DRAIN_LIMIT: u64 = 64 * 1024;

/// A connection's state between requests.
struct Conn {
    /// The socket's write side (the read side is in `wire`).
    stream: Rc<TcpStream>,
    /// The read side: buffer and body framing, shared with request bodies.
    wire: Rc<RefCell<Wire>>,
    /// Router, configuration, shutdown signal.
    shared: Rc<Shared>,
    /// Responses waiting for the next write.
    out: Vec<u8>,
    /// Requests answered so far.
    served: u64,
    /// When the first byte of the head being read arrived.
    head_started: Option<Instant>,
    /// The current request's version (an HTTP/1.0 client kept alive is
    /// told so).
    version: Version,
    /// This connection's key in the server's table.
    key: usize,
    /// The idle / head timeout, moved before each read.
    timer: Sleep,
}

/// How a wait for more of a head ended.
enum Read {
    /// The read returned (bytes, end of stream or an error).
    Data(io::Result<usize>),
    /// Shutdown began while the connection was idle.
    Shutdown,
    /// The idle or head timeout passed.
    Timeout,
}

/// How a response went.
enum Outcome {
    /// Sent whole: the connection may go on if the request allowed it.
    Done,
    /// The connection must close after what is buffered.
    Close,
}

/// Serves one accepted connection until it closes. Errors (a reset peer, a
/// truncated body) end this connection only.
pub(super) async fn serve_connection(stream: TcpStream, shared: Rc<Shared>, key: usize) {
    // Responses leave in deliberate batches: do not let Nagle hold them.
    let _ = stream.set_nodelay(true);
    let stream = Rc::new(stream);
    let limits = shared.config.limits;
    let max_buf = limits.max_head.max(limits.max_request_line + 2) + 1024;
    let wire = Wire {
        stream: stream.clone(),
        buf: vec![0; READ_BUFFER.min(max_buf)],
        start: 0,
        end: 0,
        max_buf,
        seq: 0,
        body: BodyState::Done,
        continue_owed: 0,
        error: None,
        read_timeout: shared.config.header_read_timeout,
        waiting_since: None,
        timer: None,
    };
    let first_deadline = Instant::now() + shared.config.header_read_timeout;
    let mut conn = Conn {
        stream,
        wire: Rc::new(RefCell::new(wire)),
        shared,
        out: Vec::with_capacity(8 * 1024),
        served: 0,
        head_started: None,
        version: Version::Http11,
        key,
        timer: sleep_until(first_deadline),
    };
    let _ = conn.run().await;
}

impl Conn {
    /// The loop of the state machine in the module docs.
    async fn run(&mut self) -> io::Result<()> {
        loop {
            let parsed = {
                let wire = self.wire.borrow();
                parse_head(wire.unread(), &self.shared.config.limits)
            };
            match parsed {
                Ok(Some((head, len))) => {
                    self.wire.borrow_mut().start += len;
                    self.head_started = None;
                    if let Outcome::Close = self.respond(head).await? {
                        return self.flush().await;
                    }
                }
                Err(Reject(status)) => {
                    self.push_full(Response::error(status), false, true);
                    return self.flush().await;
                }
                Ok(None) => {
                    self.flush().await?;
                    if !self.read_more().await? {
                        return self.flush().await;
                    }
                }
            }
        }
    }

    /// Reads more of the next head. `false`: close (end of stream, a
    /// timeout, or an idle connection during shutdown).
    ///
    /// One timer per connection serves both timeouts: it is moved (O(1) in
    /// the wheel) rather than made anew for every read.
    async fn read_more(&mut self) -> io::Result<bool> {
        let empty = self.wire.borrow().unread().is_empty();
        let between_requests = empty && self.served > 0;
        if between_requests && self.shared.is_shutting_down() {
            return Ok(false);
        }
        let config = &self.shared.config;
        let now = Instant::now();
        let deadline = if between_requests {
            now + config.keep_alive_timeout
        } else {
            *self.head_started.get_or_insert(now) + config.header_read_timeout
        };
        if self.timer.deadline() != deadline {
            Pin::new(&mut self.timer).reset(deadline);
        }
        let (wire, shared, timer, key) = (&self.wire, &self.shared, &mut self.timer, self.key);
        let read = poll_fn(|cx| {
            if let Poll::Ready(result) = wire.borrow_mut().poll_fill(cx) {
                return Poll::Ready(Read::Data(result));
            }
            if between_requests {
                if shared.is_shutting_down() {
                    return Poll::Ready(Read::Shutdown);
                }
                shared.park_idle(key, cx.waker());
            }
            Pin::new(&mut *timer).poll(cx).map(|()| Read::Timeout)
        })
        .await;
        match read {
            Read::Data(Ok(0)) | Read::Shutdown => Ok(false),
            Read::Data(Ok(_)) => Ok(true),
            Read::Data(Err(e)) => Err(e),
            Read::Timeout if empty => Ok(false),
            Read::Timeout => {
                self.push_full(Response::error(408), false, true);
                Ok(false)
            }
        }
    }

    /// Runs the handler for one request and appends its response.
    ///
    /// The common case (the handler answers on its first poll with a full
    /// body) runs straight through without a further future; waiting for
    /// the handler and streaming a body go through boxed futures, which
    /// keeps this one, constructed for every request, small.
    async fn respond(&mut self, head: Head) -> io::Result<Outcome> {
        self.served += 1;
        let close = !head.keep_alive || self.shared.is_shutting_down();
        self.version = head.version;
        let seq = self.start_body(head.framing, head.expect_continue);
        if self.wire.borrow().continue_owed > 0 {
            // `100 Continue` must follow the responses already answered.
            self.flush().await?;
        }
        let request = Request::new(head, Body::from_wire(self.wire.clone(), seq));
        let is_head = request.is_head();
        let shared = self.shared.clone();
        let Ok(mut future) = catch_unwind(AssertUnwindSafe(|| shared.router.dispatch(request)))
        else {
            return Ok(self.internal_error());
        };
        let first = poll_fn(|cx| Poll::Ready(poll_handler(&mut future, cx))).await;
        let response = match first {
            Err(_panic) => return Ok(self.internal_error()),
            Ok(Poll::Ready(response)) => response,
            Ok(Poll::Pending) => match Box::pin(self.wait_handler(future)).await? {
                Some(response) => response,
                None => return Ok(self.internal_error()),
            },
        };
        let body_error = self.wire.borrow_mut().error.take();
        if let Some(Reject(status)) = body_error {
            self.push_full(Response::error(status), false, true);
            return Ok(Outcome::Close);
        }
        // A shutdown that began while the handler ran closes this one too.
        let close = close || self.shared.is_shutting_down();
        let body_read = matches!(self.wire.borrow().body, BodyState::Done);
        if body_read && response.is_full() {
            self.push_full(response, is_head, close);
            if self.out.len() >= WRITE_HIGH_WATER {
                self.flush().await?;
            }
            return Ok(if close { Outcome::Close } else { Outcome::Done });
        }
        let version = self.version;
        Box::pin(self.finish_response(response, is_head, version, close)).await
    }

    /// Writes a response that streams, or whose request body is not read
    /// to the end yet, then deals with what is left of that body.
    async fn finish_response(
        &mut self,
        response: Response,
        is_head: bool,
        version: Version,
        close: bool,
    ) -> io::Result<Outcome> {
        let outcome = self
            .write_response(response, is_head, version, close)
            .await?;
        if matches!(outcome, Outcome::Close) || close || !self.finish_body().await {
            return Ok(Outcome::Close);
        }
        Ok(Outcome::Done)
    }

    /// A 500 for a handler that panicked; the connection closes.
    fn internal_error(&mut self) -> Outcome {
        self.push_full(Response::error(500), false, true);
        Outcome::Close
    }

    /// Sets the wire up for request number `seq`'s body, and returns `seq`.
    fn start_body(&mut self, framing: Framing, expect_continue: bool) -> u64 {
        let mut wire = self.wire.borrow_mut();
        wire.seq += 1;
        wire.error = None;
        wire.waiting_since = None;
        wire.body = match framing {
            Framing::Length(0) => BodyState::Done,
            Framing::Length(n) => BodyState::Length(n),
            Framing::Chunked => {
                BodyState::Chunked(ChunkedDecoder::new(self.shared.config.limits.max_body))
            }
        };
        let has_body = !matches!(wire.body, BodyState::Done);
        wire.continue_owed = if expect_continue && has_body {
            super::body::CONTINUE.len()
        } else {
            0
        };
        wire.seq
    }

    /// Waits for a handler that did not answer on its first poll, writing
    /// the responses already answered meanwhile. `None`: it panicked.
    async fn wait_handler(&mut self, mut future: HandlerFuture) -> io::Result<Option<Response>> {
        self.flush().await?;
        Ok(poll_fn(|cx| match poll_handler(&mut future, cx) {
            Err(_panic) => Poll::Ready(None),
            Ok(Poll::Ready(response)) => Poll::Ready(Some(response)),
            Ok(Poll::Pending) => Poll::Pending,
        })
        .await)
    }

    /// The `connection` header for a response of the current request.
    fn connection(&self, close: bool) -> ConnectionHeader {
        match (close, self.version) {
            (true, _) => ConnectionHeader::Close,
            (false, Version::Http10) => ConnectionHeader::KeepAlive,
            (false, Version::Http11) => ConnectionHeader::Default,
        }
    }

    /// Appends a response with a full body to the write buffer.
    fn push_full(&mut self, mut response: Response, is_head: bool, close: bool) {
        let bytes = response.body_mut().take_full().unwrap_or_default();
        let framing = if no_body_status(response.status()) {
            OutFraming::None
        } else {
            OutFraming::Length(bytes.len() as u64)
        };
        let connection = self.connection(close);
        write_head(&mut self.out, &response, framing, connection);
        if !is_head && framing != OutFraming::None {
            self.out.extend_from_slice(&bytes);
        }
    }

    /// Appends (and for streams, writes) one response.
    async fn write_response(
        &mut self,
        mut response: Response,
        is_head: bool,
        version: Version,
        close: bool,
    ) -> io::Result<Outcome> {
        if response.body_mut().is_full() {
            self.push_full(response, is_head, close);
            if self.out.len() >= WRITE_HIGH_WATER {
                self.flush().await?;
            }
            return Ok(if close { Outcome::Close } else { Outcome::Done });
        }
        let mut body = std::mem::take(response.body_mut());
        let framing = match (body.exact_len(), version) {
            _ if no_body_status(response.status()) => OutFraming::None,
            (Some(n), _) => OutFraming::Length(n),
            (None, Version::Http11) => OutFraming::Chunked,
            (None, Version::Http10) => OutFraming::Close,
        };
        let close = close || framing == OutFraming::Close;
        if is_head || framing == OutFraming::None {
            // The same head as for GET, and no body.
            let connection = self.connection(close);
            write_head(&mut self.out, &response, framing, connection);
            return Ok(if close { Outcome::Close } else { Outcome::Done });
        }
        let first = match self.next_chunk(&mut body).await {
            Ok(first) => first,
            Err(_) => return self.failed_before_head(),
        };
        let connection = self.connection(close);
        write_head(&mut self.out, &response, framing, connection);
        let complete = self.stream_body(&mut body, first, framing).await?;
        Ok(if close || !complete {
            Outcome::Close
        } else {
            Outcome::Done
        })
    }

    /// The body failed before anything of the response was sent: answer
    /// with the status the framing error calls for, or 500.
    fn failed_before_head(&mut self) -> io::Result<Outcome> {
        let (error, broken) = {
            let mut wire = self.wire.borrow_mut();
            (wire.error.take(), matches!(wire.body, BodyState::Broken))
        };
        match error {
            Some(Reject(status)) => self.push_full(Response::error(status), false, true),
            // The peer went away mid-body: nobody to answer.
            None if broken => return Err(io::ErrorKind::UnexpectedEof.into()),
            None => self.push_full(Response::error(500), false, true),
        }
        Ok(Outcome::Close)
    }

    /// Writes the rest of a streamed body after its `first` chunk. `false`:
    /// it ended early (an error), and the connection must close.
    async fn stream_body(
        &mut self,
        body: &mut Body,
        mut chunk: Option<Vec<u8>>,
        framing: OutFraming,
    ) -> io::Result<bool> {
        let mut sent: u64 = 0;
        while let Some(data) = chunk {
            sent += data.len() as u64;
            if let OutFraming::Length(n) = framing {
                if sent > n {
                    return Ok(false);
                }
            }
            if framing == OutFraming::Chunked && !data.is_empty() {
                self.out
                    .extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
                self.out.extend_from_slice(&data);
                self.out.extend_from_slice(b"\r\n");
            } else {
                self.out.extend_from_slice(&data);
            }
            if self.out.len() >= WRITE_HIGH_WATER {
                self.flush().await?;
            }
            chunk = match self.next_chunk(body).await {
                Ok(next) => next,
                Err(_) => {
                    self.flush().await?;
                    return Ok(false);
                }
            };
        }
        if framing == OutFraming::Chunked {
            self.out.extend_from_slice(b"0\r\n\r\n");
        }
        Ok(!matches!(framing, OutFraming::Length(n) if n != sent))
    }

    /// The next chunk of a response body. While it is not ready, what is
    /// buffered is written, and the socket is watched: a peer that closes
    /// or resets ends the response with an error.
    async fn next_chunk(&mut self, body: &mut Body) -> io::Result<Option<Vec<u8>>> {
        let watch = !body.is_wire();
        let mut poll_body =
            |cx: &mut Context<'_>| match catch_unwind(AssertUnwindSafe(|| body.poll_chunk(cx))) {
                Ok(poll) => poll,
                Err(_panic) => Poll::Ready(Err(io::Error::other("the body stream panicked"))),
            };
        if let Poll::Ready(result) = poll_fn(|cx| Poll::Ready(poll_body(cx))).await {
            return result;
        }
        self.flush().await?;
        let wire = self.wire.clone();
        poll_fn(|cx| {
            if let Poll::Ready(result) = poll_body(cx) {
                return Poll::Ready(result);
            }
            if watch {
                if let Poll::Ready(Err(e)) = watch_peer(&wire, cx) {
                    return Poll::Ready(Err(e));
                }
            }
            Poll::Pending
        })
        .await
    }

    /// After the response: reads away what the handler left of the body,
    /// if it is little. `false`: the connection must close.
    async fn finish_body(&mut self) -> bool {
        let left = {
            let wire = self.wire.borrow();
            if wire.continue_owed > 0 && !matches!(wire.body, BodyState::Done) {
                // The client may still be waiting for `100 Continue` before
                // it sends the body; a late one would follow the final
                // response. Close instead of guessing.
                return false;
            }
            match wire.body {
                BodyState::Done => return true,
                BodyState::Broken => return false,
                BodyState::Length(n) => Some(n),
                BodyState::Chunked(_) => None,
            }
        };
        if left.is_some_and(|n| n > DRAIN_LIMIT) {
            return false;
        }
        let seq = self.wire.borrow().seq;
        let mut body = Body::from_wire(self.wire.clone(), seq);
        let mut drained: u64 = 0;
        loop {
            match body.chunk().await {
                Ok(Some(chunk)) => {
                    drained += chunk.len() as u64;
                    if drained > DRAIN_LIMIT {
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
    }

    /// Writes the buffered responses in one go. A client that stops
    /// reading is given `write_timeout` to make room, then dropped.
    async fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        // Usually the kernel's send buffer has room for the whole batch:
        // one `send` and done, without arming the write timeout (a timer
        // and a future per flush). Only a partial write (a client slow to
        // read) goes the long way below, with the timeout.
        let written = match self.stream.try_write(&self.out) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => {
                self.out.clear();
                return Err(e);
            }
        };
        if written == self.out.len() {
            self.out.clear();
            return Ok(());
        }
        let mut stream = &*self.stream;
        let write = stream.write_all(&self.out[written..]);
        let result = match timeout(self.shared.config.write_timeout, write).await {
            Ok(result) => result,
            Err(_elapsed) => Err(io::ErrorKind::TimedOut.into()),
        };
        self.out.clear();
        result
    }
}

/// Polls a handler's future on the connection's task, catching a panic.
fn poll_handler(
    future: &mut HandlerFuture,
    cx: &mut Context<'_>,
) -> std::thread::Result<Poll<Response>> {
    catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)))
}

/// Reads ahead into the buffer while a response waits for its producer, to
/// notice a peer that closed (end of stream) or reset. Bytes of a
/// pipelined next request are kept for later.
fn watch_peer(wire: &Rc<RefCell<Wire>>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    let mut wire = wire.borrow_mut();
    loop {
        if wire.is_full() {
            return Poll::Pending;
        }
        match wire.poll_fill(cx) {
            Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into())),
            Poll::Ready(Ok(_)) => continue,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
}

/// Statuses whose responses never carry a body.
fn no_body_status(status: u16) -> bool {
    (100..200).contains(&status) || status == 204 || status == 304
}
