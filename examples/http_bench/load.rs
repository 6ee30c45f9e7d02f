//! The closed loop itself: N connections, each writing a batch of requests
//! and reading back their responses, checked one by one, until the time is
//! up or one of them is wrong.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::io;
use std::ops::Range;
use std::rc::Rc;
use std::time::{Duration, Instant};

use evloop::future::{Either, join_all, select};
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::TcpStream;
use evloop::sync::Notify;

use crate::response::{MAX_HEAD, ResponseParser};
use crate::settings::Settings;

/// How long connections may take to finish their last batch after the end.
const GRACE: Duration = Duration::from_secs(10);
/// Size of each connection's read buffer: room for a whole head after
/// compaction, and large reads for large bodies.
const READ_BUF: usize = 2 * MAX_HEAD;

/// What a run measured.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Requests answered during the measured period.
    pub requests: u64,
    /// Requests answered, warm-up included.
    pub all_requests: u64,
    /// Length of the measured period (0 if a failure cut it short).
    pub secs: f64,
    /// Round-trip times of the measured batches, in µs, sorted.
    pub latencies_us: Vec<u32>,
    /// The first wrong response or failed connection, which ended the run.
    pub failure: Option<String>,
}

/// What every connection task shares with the others and with `main`.
#[derive(Default)]
struct Shared {
    /// Set once the warm-up is over: completed batches count from now.
    measuring: Cell<bool>,
    /// Set at the end (or on the first error): finish the batch and stop.
    stop: Cell<bool>,
    /// The first error, which ends the run.
    failure: RefCell<Option<String>>,
    /// Wakes `main` when a connection fails.
    failed: Notify,
}

impl Shared {
    fn fail(&self, message: String) {
        self.failure.borrow_mut().get_or_insert(message);
        self.stop.set(true);
        self.failed.notify_one();
    }
}

/// What one connection measured.
#[derive(Default)]
struct Counts {
    /// Requests answered during the measured period.
    requests: u64,
    /// Requests answered, warm-up included.
    all_requests: u64,
    /// Round-trip time of each measured batch, in µs.
    latencies_us: Vec<u32>,
}

/// Connects, loads the server for the warm-up and the measured seconds,
/// and sums up what every connection counted. A wrong response is not an
/// `Err` here: it stops the run early and comes back as
/// `Outcome::failure`. `Err` is for not getting started (no connection).
pub fn run(settings: &Settings) -> io::Result<Outcome> {
    let shared = Rc::new(Shared::default());
    evloop::block_on(async {
        let mut tasks = Vec::with_capacity(settings.conns);
        for id in 0..settings.conns {
            let stream = TcpStream::connect(settings.addr.as_str())
                .await
                .map_err(|e| {
                    io::Error::new(e.kind(), format!("connect to {}: {e}", settings.addr))
                })?;
            stream.set_nodelay(true)?;
            let (shared, settings) = (shared.clone(), settings.clone());
            tasks.push(evloop::spawn(async move {
                let mut counts = Counts::default();
                if let Err(error) = connection(stream, id, &settings, &shared, &mut counts).await {
                    shared.fail(format!("connection {id}: {error}"));
                }
                counts
            }));
        }
        let timing = async {
            evloop::time::sleep(Duration::from_secs_f64(settings.warmup)).await;
            shared.measuring.set(true);
            let started = Instant::now();
            evloop::time::sleep(Duration::from_secs_f64(settings.secs)).await;
            shared.stop.set(true);
            started.elapsed().as_secs_f64()
        };
        let secs = match select(timing, shared.failed.notified()).await {
            Either::Left(secs) => secs,
            Either::Right(()) => 0.0,
        };
        shared.stop.set(true);
        let mut outcome = Outcome {
            secs,
            ..Outcome::default()
        };
        match evloop::time::timeout(GRACE, join_all(tasks)).await {
            Ok(results) => {
                for counts in results {
                    let counts =
                        counts.map_err(|e| io::Error::other(format!("a connection task: {e}")))?;
                    outcome.requests += counts.requests;
                    outcome.all_requests += counts.all_requests;
                    outcome.latencies_us.extend(counts.latencies_us);
                }
                outcome.failure = shared.failure.borrow_mut().take();
            }
            Err(_) => {
                let late = format!("responses still due {} s after the end", GRACE.as_secs());
                outcome.failure = Some(shared.failure.borrow_mut().take().unwrap_or(late));
            }
        }
        outcome.latencies_us.sort_unstable();
        Ok(outcome)
    })
}

/// One batch of requests as it goes on the wire, built once per
/// connection; for POST, where each request's body sits in it.
struct Batch {
    /// The requests, back to back.
    bytes: Vec<u8>,
    /// The range of `bytes` holding each request's body (empty for GET).
    bodies: Vec<Range<usize>>,
}

impl Batch {
    fn new(settings: &Settings) -> Batch {
        let mut text = String::new();
        let mut batch = Batch {
            bytes: Vec::new(),
            bodies: Vec::new(),
        };
        for _ in 0..settings.pipeline {
            text.clear();
            let (method, path, addr) = (&settings.method, &settings.path, &settings.addr);
            write!(text, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n").expect("a String grows");
            if method == "POST" {
                let n = settings.body_size;
                write!(
                    text,
                    "Content-Type: application/octet-stream\r\nContent-Length: {n}\r\n"
                )
                .expect("a String grows");
            }
            text.push_str("\r\n");
            batch.bytes.extend_from_slice(text.as_bytes());
            if method == "POST" {
                let at = batch.bytes.len();
                batch.bytes.resize(at + settings.body_size, 0);
                batch.bodies.push(at..at + settings.body_size);
            }
        }
        batch
    }

    /// Gives every POST body of the batch a pattern of its own (connection
    /// `id`, request number `seq`), so that a body echoed to the wrong
    /// request, or twice, does not pass.
    fn refill(&mut self, id: usize, seq: &mut u64) {
        for range in &self.bodies {
            let tag = (id as u64).wrapping_mul(0x9E37_79B9).wrapping_add(*seq) as usize;
            for (i, byte) in self.bytes[range.clone()].iter_mut().enumerate() {
                *byte = tag.wrapping_add(i.wrapping_mul(7)) as u8;
            }
            *seq += 1;
        }
    }

    /// The body the `k`-th response of the batch must carry.
    fn expected<'a>(&'a self, k: usize, settings: &'a Settings) -> &'a [u8] {
        match self.bodies.get(k) {
            Some(range) => &self.bytes[range.clone()],
            None => &settings.expect_body,
        }
    }
}

/// One connection's closed loop: write a batch, read and check its
/// responses, count, repeat until told to stop.
async fn connection(
    mut stream: TcpStream,
    id: usize,
    settings: &Settings,
    shared: &Shared,
    counts: &mut Counts,
) -> io::Result<()> {
    let mut batch = Batch::new(settings);
    let mut responses = Responses::new();
    let mut seq = 0;
    let depth = settings.pipeline;
    while !shared.stop.get() {
        batch.refill(id, &mut seq);
        let began = Instant::now();
        stream.write_all(&batch.bytes).await?;
        for k in 0..depth {
            responses
                .next(&mut stream, batch.expected(k, settings))
                .await
                .map_err(|e| {
                    let which = if depth > 1 {
                        format!(" {} of {depth}", k + 1)
                    } else {
                        String::new()
                    };
                    io::Error::new(e.kind(), format!("response{which}: {e}"))
                })?;
        }
        responses.expect_nothing_more()?;
        counts.all_requests += depth as u64;
        if shared.measuring.get() && !shared.stop.get() {
            counts.requests += depth as u64;
            let us = began.elapsed().as_micros().min(u32::MAX as u128) as u32;
            counts.latencies_us.push(us);
        }
    }
    Ok(())
}

/// The reading side of a connection: one buffer, reused for every read,
/// and the parser that checks what arrives in it.
struct Responses {
    /// Bytes read; `start..end` is what the parser has not used yet.
    buf: Vec<u8>,
    /// Where the unparsed bytes begin.
    start: usize,
    /// Where they end.
    end: usize,
    /// Checks each response as its bytes come.
    parser: ResponseParser,
}

impl Responses {
    fn new() -> Responses {
        Responses {
            buf: vec![0u8; READ_BUF],
            start: 0,
            end: 0,
            parser: ResponseParser::new(),
        }
    }

    /// Reads until one whole response is in and checked against its
    /// `expected` body.
    async fn next(&mut self, stream: &mut TcpStream, expected: &[u8]) -> io::Result<()> {
        loop {
            let (used, done) = self
                .parser
                .advance(&self.buf[self.start..self.end], expected)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            self.start += used;
            if done {
                return Ok(());
            }
            // What is left unparsed is at most a head (the parser refuses
            // longer ones): move it to the front when the space behind it
            // runs short.
            if self.start == self.end {
                (self.start, self.end) = (0, 0);
            } else if READ_BUF - self.end < MAX_HEAD {
                self.buf.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            }
            let n = stream.read(&mut self.buf[self.end..]).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection before answering",
                ));
            }
            self.end += n;
        }
    }

    /// After a batch's last response nothing more may have come: the
    /// server would be answering requests nobody sent.
    fn expect_nothing_more(&self) -> io::Result<()> {
        debug_assert!(self.parser.is_idle());
        if self.start == self.end {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} bytes after the last response due: answers to nothing",
                self.end - self.start
            ),
        ))
    }
}
