//! Reading HTTP/1.1 responses off a byte stream, checking each one as it
//! goes by.
//!
//! A load generator that only counts bytes measures nothing: a server that
//! answers every request with a 500, or echoes the wrong body, would win.
//! So every response is parsed properly and verified: the status line must
//! be `HTTP/1.1 200`, the body must be framed by `Content-Length` or by
//! `Transfer-Encoding: chunked` (a body that ends at the close cannot be
//! used on a keep-alive connection), and its bytes must equal the expected
//! body, compared as they arrive.
//!
//! The parser is a small state machine fed with whatever the last read
//! left in the buffer: `head → body (fixed length)` or `head → chunk size →
//! chunk data → CRLF → … → 0 → trailers`. It keeps no copy of the body: a
//! body is checked slice by slice against the expected bytes, so a 1 MiB
//! echo never has to sit whole in a buffer. Only the head (and a chunk-size
//! line) must be whole before it is parsed; both have a size limit.

use std::fmt;

/// The longest response head accepted.
pub const MAX_HEAD: usize = 64 * 1024;
/// The longest chunk-size line (or trailer line) accepted.
const MAX_LINE: usize = 4 * 1024;

/// A response that is not what the benchmark asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseError(pub String);

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ResponseError {}

fn fail<T>(message: impl Into<String>) -> Result<T, ResponseError> {
    Err(ResponseError(message.into()))
}

/// Where the parser is within the current response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a whole status line and headers.
    Head,
    /// Inside a `Content-Length` body, with this many bytes to come.
    Fixed(usize),
    /// Waiting for a chunk-size line.
    ChunkSize,
    /// Inside a chunk, with this many bytes to come.
    ChunkData(usize),
    /// Waiting for the CRLF that ends a chunk's data.
    ChunkEnd,
    /// After the last (zero-size) chunk: trailer lines up to an empty line.
    Trailers,
}

/// What one move of the parser did with the bytes in front of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Used this many bytes; the response goes on.
    Used(usize),
    /// Used this many bytes and needs more input.
    NeedMore(usize),
    /// Used this many bytes, which ended the response.
    Finished(usize),
}

/// How a response's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `Content-Length: n`.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Parses and verifies a sequence of responses on one connection.
#[derive(Debug)]
pub struct ResponseParser {
    /// Where within the current response the next byte belongs.
    state: State,
    /// Body bytes of the current response checked so far.
    body_seen: usize,
}

impl Default for ResponseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseParser {
    /// A parser expecting the start of a response.
    pub fn new() -> ResponseParser {
        ResponseParser {
            state: State::Head,
            body_seen: 0,
        }
    }

    /// Is the parser between responses (nothing of one consumed yet)?
    pub fn is_idle(&self) -> bool {
        self.state == State::Head
    }

    /// Consumes what it can of `input` for the response in progress, whose
    /// body must be exactly `expected`. Returns how many bytes it used and
    /// whether that finished the response; bytes after a finished response
    /// are left for the next call. `Ok((n, false))` means it needs more
    /// input (all it could use of this is used).
    pub fn advance(
        &mut self,
        input: &[u8],
        expected: &[u8],
    ) -> Result<(usize, bool), ResponseError> {
        let mut pos = 0;
        loop {
            match self.step(&input[pos..], expected)? {
                Step::Used(n) => pos += n,
                Step::NeedMore(n) => return Ok((pos + n, false)),
                Step::Finished(n) => return Ok((pos + n, true)),
            }
        }
    }

    /// One move of the state machine over the front of `rest`.
    fn step(&mut self, rest: &[u8], expected: &[u8]) -> Result<Step, ResponseError> {
        match self.state {
            State::Head => self.head(rest, expected),
            State::Fixed(remaining) | State::ChunkData(remaining) => {
                let take = remaining.min(rest.len());
                self.check_body(&rest[..take], expected)?;
                let left = remaining - take;
                let fixed = matches!(self.state, State::Fixed(_));
                if left > 0 {
                    self.state = if fixed {
                        State::Fixed(left)
                    } else {
                        State::ChunkData(left)
                    };
                    return Ok(Step::NeedMore(take));
                }
                if fixed {
                    self.state = State::Head;
                    return Ok(Step::Finished(take));
                }
                self.state = State::ChunkEnd;
                Ok(Step::Used(take))
            }
            State::ChunkSize => {
                let Some(line) = take_line(rest)? else {
                    return Ok(Step::NeedMore(0));
                };
                self.state = match parse_chunk_size(line)? {
                    0 => State::Trailers,
                    size => State::ChunkData(size),
                };
                Ok(Step::Used(line.len() + 2))
            }
            State::ChunkEnd => match rest.get(..2) {
                None => Ok(Step::NeedMore(0)),
                Some(b"\r\n") => {
                    self.state = State::ChunkSize;
                    Ok(Step::Used(2))
                }
                Some(_) => fail("chunk data not followed by CRLF"),
            },
            State::Trailers => {
                let Some(line) = take_line(rest)? else {
                    return Ok(Step::NeedMore(0));
                };
                if !line.is_empty() {
                    return Ok(Step::Used(line.len() + 2)); // a trailer: skipped
                }
                if self.body_seen != expected.len() {
                    return fail(format!(
                        "chunked body of {} bytes, expected {}",
                        self.body_seen,
                        expected.len()
                    ));
                }
                self.state = State::Head;
                Ok(Step::Finished(2))
            }
        }
    }

    /// The head, once all of it is in `rest`: checked, and the body's
    /// framing chosen.
    fn head(&mut self, rest: &[u8], expected: &[u8]) -> Result<Step, ResponseError> {
        let Some(end) = find(rest, b"\r\n\r\n") else {
            if rest.len() > MAX_HEAD {
                return fail(format!("response head longer than {MAX_HEAD} bytes"));
            }
            return Ok(Step::NeedMore(0));
        };
        self.body_seen = 0;
        let used = end + 4;
        match parse_head(&rest[..end])? {
            Framing::Length(n) if n != expected.len() => fail(format!(
                "Content-Length {n}, expected a body of {} bytes",
                expected.len()
            )),
            Framing::Length(0) => Ok(Step::Finished(used)),
            Framing::Length(n) => {
                self.state = State::Fixed(n);
                Ok(Step::Used(used))
            }
            Framing::Chunked => {
                self.state = State::ChunkSize;
                Ok(Step::Used(used))
            }
        }
    }

    /// Checks the next `piece` of the body against `expected`.
    fn check_body(&mut self, piece: &[u8], expected: &[u8]) -> Result<(), ResponseError> {
        let at = self.body_seen;
        let Some(want) = expected.get(at..at + piece.len()) else {
            return fail(format!(
                "body longer than the expected {} bytes",
                expected.len()
            ));
        };
        if piece != want {
            let offset = piece
                .iter()
                .zip(want)
                .position(|(a, b)| a != b)
                .map_or(0, |i| at + i);
            return fail(format!(
                "body differs from the expected one at byte {offset}: got {:?}, expected {:?}",
                excerpt(&piece[offset - at..]),
                excerpt(&want[offset - at..])
            ));
        }
        self.body_seen += piece.len();
        Ok(())
    }
}

/// Parses a status line and headers (up to, not with, the CRLF CRLF),
/// insisting on `HTTP/1.1 200` and a usable body framing.
fn parse_head(head: &[u8]) -> Result<Framing, ResponseError> {
    // `head` stops before its last line's CRLF: every other line must end
    // in CR before the LF it was split at.
    let last = head.iter().filter(|&&b| b == b'\n').count();
    let mut lines =
        head.split(|&b| b == b'\n')
            .enumerate()
            .map(|(i, line)| match line.strip_suffix(b"\r") {
                Some(line) if i < last => Ok(line),
                None if i == last => Ok(line),
                _ => fail("a header line not ended by CRLF"),
            });
    let status = lines.next().expect("split yields at least one piece")?;
    check_status(status)?;
    let (mut length, mut chunked) = (None, false);
    for line in lines {
        let line = line?;
        let colon = line.iter().position(|&b| b == b':');
        let Some(colon) = colon.filter(|&c| c > 0 && is_token(&line[..c])) else {
            return fail(format!("malformed header line {:?}", excerpt(line)));
        };
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_length(value)?;
            if length.is_some_and(|m| m != n) {
                return fail("two different Content-Length headers");
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            if !value.eq_ignore_ascii_case(b"chunked") {
                return fail(format!(
                    "Transfer-Encoding {:?} is not chunked",
                    excerpt(value)
                ));
            }
            chunked = true;
        } else if name.eq_ignore_ascii_case(b"connection")
            && value
                .split(|&b| b == b',')
                .any(|token| trim(token).eq_ignore_ascii_case(b"close"))
        {
            return fail(
                "the server closes the connection (Connection: close) on a keep-alive run",
            );
        }
    }
    match (length, chunked) {
        (Some(_), true) => fail("both Content-Length and Transfer-Encoding"),
        (Some(n), false) => Ok(Framing::Length(n)),
        (None, true) => Ok(Framing::Chunked),
        (None, false) => fail("neither Content-Length nor chunked: a body ended by the close"),
    }
}

/// `HTTP/1.1 200 <reason>`, or an error naming what came instead.
fn check_status(line: &[u8]) -> Result<(), ResponseError> {
    let Some(rest) = line.strip_prefix(b"HTTP/1.1 ") else {
        return fail(format!("not an HTTP/1.1 status line: {:?}", excerpt(line)));
    };
    match rest.get(..3) {
        Some(b"200") if rest.len() == 3 || rest[3] == b' ' => Ok(()),
        _ => fail(format!("status {:?}, expected 200", excerpt(rest))),
    }
}

/// A Content-Length value: digits only, no sign, no overflow.
fn parse_length(value: &[u8]) -> Result<usize, ResponseError> {
    let bad = || ResponseError(format!("bad Content-Length {:?}", excerpt(value)));
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    value.iter().try_fold(0usize, |n, &d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(usize::from(d - b'0')))
            .ok_or_else(bad)
    })
}

/// A chunk-size line: hex digits, then optional `;extensions`.
fn parse_chunk_size(line: &[u8]) -> Result<usize, ResponseError> {
    let bad = || ResponseError(format!("bad chunk size line {:?}", excerpt(line)));
    let end = line.iter().position(|&b| b == b';').unwrap_or(line.len());
    let digits = trim(&line[..end]);
    if digits.is_empty() {
        return Err(bad());
    }
    digits.iter().try_fold(0usize, |n, &d| {
        let digit = (d as char).to_digit(16).ok_or_else(bad)?;
        n.checked_mul(16)
            .and_then(|n| n.checked_add(digit as usize))
            .ok_or_else(bad)
    })
}

/// The next CRLF-ended line of `input` (without the CRLF), `None` if it is
/// not all there yet, an error if it is too long to be a real one.
fn take_line(input: &[u8]) -> Result<Option<&[u8]>, ResponseError> {
    match find(input, b"\r\n") {
        Some(end) if end <= MAX_LINE => Ok(Some(&input[..end])),
        None if input.len() <= MAX_LINE => Ok(None),
        _ => fail(format!(
            "a chunk or trailer line longer than {MAX_LINE} bytes"
        )),
    }
}

/// The position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// `bytes` without leading and trailing spaces and tabs.
fn trim(bytes: &[u8]) -> &[u8] {
    let is_space = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Is `name` an HTTP token (the characters a header name may use)?
fn is_token(name: &[u8]) -> bool {
    name.iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The first bytes of `bytes`, readable, for an error message.
fn excerpt(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(40)];
    let mut text = String::from_utf8_lossy(shown).into_owned();
    if bytes.len() > shown.len() {
        text.push('…');
    }
    text
}
