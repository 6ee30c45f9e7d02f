//! The request codec: bytes in, request heads and body framing out. No I/O.
//!
//! Everything a peer can lie about is decided here, in plain functions over
//! byte slices, so that property tests and the fuzz target can drive it
//! without a socket:
//!
//! - [`parse_head`] turns the front of the read buffer into a [`Head`], or
//!   says "not yet" (`Ok(None)`: the head is incomplete), or rejects it with
//!   the status to answer ([`Reject`]). `httparse` checks the grammar
//!   (tokens, header bytes, line endings); the limits and the *meaning* of
//!   the framing headers are ours.
//! - [`Framing`] is the one decision that keeps a connection in sync with
//!   its peer: where this request's body ends and the next request begins.
//!   A request with both `Content-Length` and `Transfer-Encoding`, two
//!   different lengths, or a coding we do not know is exactly the ambiguity
//!   a request-smuggling attack needs (a proxy in front reads one framing,
//!   we read another), so it is refused and the connection closed.
//! - [`ChunkedDecoder`] is the state machine for `Transfer-Encoding:
//!   chunked`: it is fed whatever bytes arrived and says which of them are
//!   data, so a chunk may be split across any number of reads.

use std::mem::MaybeUninit;
use std::ops::Range;

/// The limits the codec enforces; [`Server`](super::Server) fills them from
/// its configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest request line (method, target, version) in bytes → 414.
    pub max_request_line: usize,
    /// Longest head (request line and headers) in bytes → 431.
    pub max_head: usize,
    /// Most header fields → 431.
    pub max_headers: usize,
    /// Largest body in bytes → 413.
    pub max_body: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_request_line: 8 * 1024,
            max_head: 16 * 1024,
            max_headers: 100,
            max_body: 16 * 1024 * 1024,
        }
    }
}

/// The most header slots `httparse` is ever given; `Limits::max_headers`
/// above this is clamped.
pub const HEADER_SLOTS: usize = 128;

/// A request refused before its handler runs: the status to answer. Every
/// rejection closes the connection, since after one the framing of what
/// follows cannot be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reject(pub u16);

/// HTTP versions we speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: close after the response unless the client asks otherwise.
    Http10,
    /// HTTP/1.1: keep-alive by default.
    Http11,
}

/// Where the request body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Exactly this many bytes follow the head (0: no body).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head. The bytes are copied out of the read buffer once;
/// names and values are ranges into them.
#[derive(Debug, Clone)]
pub struct Head {
    /// The head's bytes, as received.
    pub bytes: Vec<u8>,
    /// The method token.
    pub method: Range<usize>,
    /// The path (origin form, without the query).
    pub path: Range<usize>,
    /// The raw query, after `?`, if any.
    pub query: Option<Range<usize>>,
    /// The protocol version.
    pub version: Version,
    /// Where the header lines begin (after the request line); they are
    /// found again by [`Head::headers`] when asked for, so that a request
    /// whose headers nobody reads costs no list of them.
    pub headers_start: usize,
    /// How the body is framed.
    pub framing: Framing,
    /// Whether the connection may stay open after this request.
    pub keep_alive: bool,
    /// `Expect: 100-continue` was sent.
    pub expect_continue: bool,
}

impl Head {
    /// The bytes of a range, as text (heads hold only visible ASCII and
    /// obs-text; obs-text is replaced).
    pub fn text(&self, range: &Range<usize>) -> &str {
        std::str::from_utf8(&self.bytes[range.clone()]).unwrap_or("\u{fffd}")
    }

    /// The header (name, value) ranges, in the order received.
    pub fn headers(&self) -> HeaderLines<'_> {
        HeaderLines {
            bytes: &self.bytes,
            pos: self.headers_start,
        }
    }
}

/// The header lines of a head that httparse has accepted, found again.
///
/// httparse has already checked every byte (tokens for names, no bare CR,
/// no NUL, no obs-fold), so finding them again is a plain scan: a line up
/// to LF (a CR before it dropped), the name up to the colon, the value with
/// spaces and tabs trimmed on both sides, as httparse trims it.
#[derive(Debug, Clone)]
pub struct HeaderLines<'a> {
    /// The whole head.
    bytes: &'a [u8],
    /// The start of the next line.
    pos: usize,
}

impl Iterator for HeaderLines<'_> {
    type Item = (Range<usize>, Range<usize>);

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.pos;
        let rest = self.bytes.get(start..)?;
        if rest.is_empty() || rest.starts_with(b"\n") || rest.starts_with(b"\r\n") {
            return None; // the blank line that ends the head
        }
        // A name is a token (no colon, no line end in it): the first colon
        // ends it, and the line ends at the next LF after that colon. One
        // pass over the line instead of one to its end and one back over
        // the name. (A line without a colon, which httparse never lets
        // through, ends the headers here as it did before.)
        let colon = start + rest.iter().position(|&b| b == b':' || b == b'\n')?;
        if self.bytes[colon] != b':' {
            return None;
        }
        let newline = colon + self.bytes[colon..].iter().position(|&b| b == b'\n')?;
        let mut end = newline;
        if self.bytes[end - 1] == b'\r' {
            end -= 1;
        }
        self.pos = newline + 1;
        let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
        let value = &self.bytes[colon + 1..end];
        let first = value.iter().position(|b| !is_ws(b)).unwrap_or(value.len());
        let last = value
            .iter()
            .rposition(|b| !is_ws(b))
            .map_or(first, |i| i + 1);
        Some((start..colon, colon + 1 + first..colon + 1 + last))
    }
}

/// Parses the head at the front of `buf`.
///
/// `Ok(Some((head, n)))`: a whole head of `n` bytes; `Ok(None)`: incomplete,
/// read more; `Err`: refuse with that status and close.
pub fn parse_head(buf: &[u8], limits: &Limits) -> Result<Option<(Head, usize)>, Reject> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; HEADER_SLOTS];
    let slots = &mut slots[..limits.max_headers.min(HEADER_SLOTS)];
    let mut req = httparse::Request::new(&mut []);
    let parsed =
        httparse::ParserConfig::default().parse_request_with_uninit_headers(&mut req, buf, slots);
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        incomplete_or_refused => {
            // An overlong request line is 414 whatever else is wrong, and
            // whether or not it has ended: scan for it only here. A
            // complete head (the usual case) has its line measured from
            // what httparse found, in `request_line_end`.
            check_request_line(buf, limits)?;
            return match incomplete_or_refused {
                Ok(httparse::Status::Partial) if buf.len() >= limits.max_head => Err(Reject(431)),
                Ok(_) => Ok(None),
                Err(httparse::Error::TooManyHeaders) => Err(Reject(431)),
                Err(httparse::Error::Version) => Err(version_reject(buf)),
                Err(_) => Err(Reject(400)),
            };
        }
    };
    let headers_start = request_line_end(buf, &req, limits)?;
    if len > limits.max_head {
        return Err(Reject(431));
    }
    let head = build_head(&buf[..len], &req, headers_start, limits)?;
    Ok(Some((head, len)))
}

/// Where the header lines of a complete head begin (just after the
/// request line's LF), or 414 when the request line is longer than
/// allowed. Only the bytes after the target are scanned (` HTTP/1.1\r\n`):
/// httparse has already found where the method and the target are.
fn request_line_end(
    buf: &[u8],
    req: &httparse::Request<'_, '_>,
    limits: &Limits,
) -> Result<usize, Reject> {
    let method = offset(
        buf,
        req.method.expect("complete parse has a method").as_bytes(),
    );
    let target = offset(
        buf,
        req.path.expect("complete parse has a target").as_bytes(),
    );
    let newline = buf[target.end..]
        .iter()
        .position(|&b| b == b'\n')
        .expect("a complete head has lines");
    let newline = target.end + newline;
    // The same measure as `check_request_line`: the LF's distance from the
    // start of the line.
    if newline - method.start > limits.max_request_line {
        return Err(Reject(414));
    }
    Ok(newline + 1)
}

/// 414 when the request line is longer than allowed, whether or not it has
/// ended yet. Leading empty lines (which a server may skip) are not counted.
fn check_request_line(buf: &[u8], limits: &Limits) -> Result<(), Reject> {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = &buf[start..];
    let window = &line[..line.len().min(limits.max_request_line + 1)];
    match window.iter().position(|&b| b == b'\n') {
        Some(_) => Ok(()),
        None if line.len() > limits.max_request_line => Err(Reject(414)),
        None => Ok(()),
    }
}

/// A request line httparse could not read a version from: 505 when it is
/// three parts ending in another `HTTP/x` (HTTP/2's preface included), 400
/// when it is not a request line at all (a space in the target, say).
fn version_reject(buf: &[u8]) -> Reject {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = buf[start..]
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    match parts.as_slice() {
        [_, _, version] if version.starts_with(b"HTTP/") => Reject(505),
        _ => Reject(400),
    }
}

/// The offset of a subslice of `buf`.
fn offset(buf: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - buf.as_ptr() as usize;
    start..start + part.len()
}

/// Turns httparse's borrowed view into an owned [`Head`] and decides the
/// framing and connection semantics.
fn build_head(
    buf: &[u8],
    req: &httparse::Request<'_, '_>,
    headers_start: usize,
    limits: &Limits,
) -> Result<Head, Reject> {
    let method = req.method.expect("complete parse has a method");
    let target = req.path.expect("complete parse has a target");
    let version = match req.version {
        Some(0) => Version::Http10,
        Some(1) => Version::Http11,
        _ => return Err(Reject(505)),
    };
    let (path, query) = split_target(method, target)?;
    let path = offset(buf, path.as_bytes());
    let query = query.map(|q| offset(buf, q.as_bytes()));
    let mut semantics = Semantics::default();
    for header in req.headers.iter() {
        semantics.note(header.name, header.value)?;
    }
    let framing = semantics.framing(version, limits)?;
    let keep_alive = match version {
        Version::Http11 => !semantics.close,
        Version::Http10 => semantics.keep_alive && !semantics.close,
    };
    let expect_continue = semantics.expect_continue && version == Version::Http11;
    let method = offset(buf, method.as_bytes());
    let head = Head {
        bytes: buf.to_vec(),
        method,
        path,
        query,
        version,
        headers_start,
        framing,
        keep_alive,
        expect_continue,
    };
    debug_assert!(
        head.headers()
            .map(|(n, v)| (&buf[n], &buf[v]))
            .eq(req.headers.iter().map(|h| (h.name.as_bytes(), h.value))),
        "the header scan agrees with httparse"
    );
    Ok(head)
}

/// The path and query of a request target: origin form (`/a?b`), absolute
/// form (`http://host/a?b`, whose path is used) or `*` for `OPTIONS`.
fn split_target<'a>(method: &str, target: &'a str) -> Result<(&'a str, Option<&'a str>), Reject> {
    let origin = if target.starts_with('/') {
        target
    } else if target == "*" && method == "OPTIONS" {
        return Ok((target, None));
    } else if let Some(rest) = strip_scheme(target) {
        match rest.find('/') {
            Some(i) => &rest[i..],
            None => return Err(Reject(400)),
        }
    } else {
        return Err(Reject(400));
    };
    // A byte search: `split_once('?')` runs the general `char` searcher,
    // several times the cost for the short paths most requests have. `?`
    // is ASCII, so the split falls on a character boundary.
    Ok(match origin.bytes().position(|b| b == b'?') {
        Some(i) => (&origin[..i], Some(&origin[i + 1..])),
        None => (origin, None),
    })
}

/// `example.com/a` from `http://example.com/a`.
fn strip_scheme(target: &str) -> Option<&str> {
    let lower = target.get(..8)?.to_ascii_lowercase();
    if lower.starts_with("http://") {
        Some(&target[7..])
    } else if lower == "https://" {
        Some(&target[8..])
    } else {
        None
    }
}

/// What the framing and connection headers said, collected over the head.
#[derive(Debug, Default)]
struct Semantics {
    /// The `Content-Length` value, once seen.
    content_length: Option<u64>,
    /// Some `Transfer-Encoding` header was present.
    transfer_encoding: bool,
    /// Every coding named so far was `chunked`, and the last one is.
    chunked_last: bool,
    /// A coding other than `chunked` was named.
    unknown_coding: bool,
    /// `Connection: close`.
    close: bool,
    /// `Connection: keep-alive`.
    keep_alive: bool,
    /// `Expect: 100-continue`.
    expect_continue: bool,
    /// An `Expect` we cannot meet (→ 417).
    bad_expect: bool,
    /// How many `Host` headers (HTTP/1.1 requires exactly one).
    hosts: usize,
}

impl Semantics {
    /// Takes one header into account.
    fn note(&mut self, name: &str, value: &[u8]) -> Result<(), Reject> {
        if name.eq_ignore_ascii_case("content-length") {
            for item in value.split(|&b| b == b',') {
                let n = parse_length(trim(item))?;
                if self.content_length.is_some_and(|seen| seen != n) {
                    return Err(Reject(400));
                }
                self.content_length = Some(n);
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            self.transfer_encoding = true;
            for item in value.split(|&b| b == b',') {
                let coding = trim(item);
                if coding.is_empty() {
                    continue;
                }
                if self.chunked_last {
                    // `chunked` must be the last coding, applied once.
                    return Err(Reject(400));
                }
                if coding.eq_ignore_ascii_case(b"chunked") {
                    self.chunked_last = true;
                } else {
                    self.unknown_coding = true;
                }
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for item in value.split(|&b| b == b',') {
                let option = trim(item);
                self.close |= option.eq_ignore_ascii_case(b"close");
                self.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case("expect") {
            if trim(value).eq_ignore_ascii_case(b"100-continue") {
                self.expect_continue = true;
            } else {
                self.bad_expect = true;
            }
        } else if name.eq_ignore_ascii_case("host") {
            self.hosts += 1;
        }
        Ok(())
    }

    /// The body's framing, or why the request is refused.
    fn framing(&self, version: Version, limits: &Limits) -> Result<Framing, Reject> {
        // One Host, and for HTTP/1.1 exactly one (RFC 9112 §3.2).
        if self.hosts > 1 || (self.hosts == 0 && version == Version::Http11) {
            return Err(Reject(400));
        }
        if self.transfer_encoding {
            if self.content_length.is_some() || version == Version::Http10 {
                return Err(Reject(400));
            }
            if self.unknown_coding {
                return Err(Reject(501));
            }
            if !self.chunked_last {
                return Err(Reject(400));
            }
        }
        if self.bad_expect {
            return Err(Reject(417));
        }
        if self.transfer_encoding {
            return Ok(Framing::Chunked);
        }
        let length = self.content_length.unwrap_or(0);
        if length > limits.max_body {
            return Err(Reject(413));
        }
        Ok(Framing::Length(length))
    }
}

/// Strips optional whitespace (spaces and tabs) around a list item.
fn trim(item: &[u8]) -> &[u8] {
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let start = item.iter().position(|b| !is_ws(b)).unwrap_or(item.len());
    let end = item
        .iter()
        .rposition(|b| !is_ws(b))
        .map_or(start, |i| i + 1);
    &item[start..end]
}

/// A `Content-Length` value: one or more decimal digits, nothing else (no
/// sign, no spaces inside), and no overflow.
fn parse_length(digits: &[u8]) -> Result<u64, Reject> {
    if digits.is_empty() {
        return Err(Reject(400));
    }
    let mut n: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return Err(Reject(400));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(Reject(400))?;
    }
    Ok(n)
}

/// Where the chunked decoder is inside the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading the hex digits of a chunk size (how many seen so far).
    Size(u8),
    /// After the size: a chunk extension up to CR (how many bytes seen).
    Extension(u16),
    /// The LF after the size line's CR.
    SizeLf,
    /// Inside a chunk's data.
    Data,
    /// The CR after a chunk's data.
    DataCr,
    /// The LF after a chunk's data.
    DataLf,
    /// At the start of a trailer line (or of the final CRLF).
    TrailerStart,
    /// Inside a trailer field line, which is skipped.
    Trailer,
    /// The LF ending a trailer line.
    TrailerLf,
    /// The LF of the final CRLF.
    EndLf,
    /// The body is over.
    Done,
}

/// The `Transfer-Encoding: chunked` decoder: a state machine over bytes.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    /// Where we are.
    state: ChunkState,
    /// The size of the chunk being read, then the bytes left in it.
    remaining: u64,
    /// Data bytes delivered so far, against `limit`.
    total: u64,
    /// The most data bytes allowed (→ 413).
    limit: u64,
    /// Trailer bytes seen, against `TRAILER_LIMIT`.
    trailer: usize,
}

/// What one call of [`ChunkedDecoder::decode`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Input bytes used.
    pub consumed: usize,
    /// Data bytes within the input, if any (only one run per call).
    pub data: Option<Range<usize>>,
}

/// A chunk-size line may carry at most this many hex digits (2^60).
const MAX_SIZE_DIGITS: u8 = 15;
/// Chunk extensions are skipped, but at most this long per line.
const MAX_EXTENSION: u16 = 4096;
/// Trailer fields are skipped, but at most this many bytes in all.
const TRAILER_LIMIT: usize = 16 * 1024;

impl ChunkedDecoder {
    /// A decoder at the start of a body of at most `limit` bytes.
    pub fn new(limit: u64) -> ChunkedDecoder {
        ChunkedDecoder {
            state: ChunkState::Size(0),
            remaining: 0,
            total: 0,
            limit,
            trailer: 0,
        }
    }

    /// Whether the final chunk and trailers have been read.
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Decodes from `input` until a run of data, the end of the body or
    /// the end of the input. A bad size line, a missing CRLF or an over-long
    /// extension is 400; more data than the limit is 413.
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, Reject> {
        let mut i = 0;
        while i < input.len() && self.state != ChunkState::Done {
            if self.state == ChunkState::Data {
                let take =
                    (input.len() - i).min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                self.remaining -= take as u64;
                if self.remaining == 0 {
                    self.state = ChunkState::DataCr;
                }
                return Ok(Decoded {
                    consumed: i + take,
                    data: Some(i..i + take),
                });
            }
            self.step(input[i])?;
            i += 1;
        }
        Ok(Decoded {
            consumed: i,
            data: None,
        })
    }

    /// One byte of framing (never data).
    fn step(&mut self, b: u8) -> Result<(), Reject> {
        use ChunkState::*;
        self.state = match (self.state, b) {
            (Size(n), _) if hex(b).is_some() => {
                if n == MAX_SIZE_DIGITS {
                    return Err(Reject(400));
                }
                self.remaining = self.remaining * 16 + u64::from(hex(b).expect("checked"));
                Size(n + 1)
            }
            (Size(0), _) => return Err(Reject(400)),
            (Size(_), b'\r') => SizeLf,
            (Size(_), b';' | b' ' | b'\t') => Extension(1),
            (Extension(n), _) if n >= MAX_EXTENSION => return Err(Reject(400)),
            (Extension(_), b'\r') => SizeLf,
            (Extension(_), b'\n' | 0) => return Err(Reject(400)),
            (Extension(n), _) => Extension(n + 1),
            (SizeLf, b'\n') => self.chunk_start()?,
            (DataCr, b'\r') => DataLf,
            (DataLf, b'\n') => Size(0),
            (TrailerStart, b'\r') => EndLf,
            (TrailerStart | Trailer, b'\n' | 0) => return Err(Reject(400)),
            (Trailer, b'\r') => TrailerLf,
            (TrailerStart | Trailer, _) => {
                self.trailer += 1;
                if self.trailer > TRAILER_LIMIT {
                    return Err(Reject(431));
                }
                Trailer
            }
            (TrailerLf, b'\n') => TrailerStart,
            (EndLf, b'\n') => Done,
            _ => return Err(Reject(400)),
        };
        Ok(())
    }

    /// After a size line: data, or the trailers when the size is 0.
    fn chunk_start(&mut self) -> Result<ChunkState, Reject> {
        if self.remaining == 0 {
            return Ok(ChunkState::TrailerStart);
        }
        self.total = self.total.saturating_add(self.remaining);
        if self.total > self.limit {
            return Err(Reject(413));
        }
        Ok(ChunkState::Data)
    }
}

/// The value of a hex digit.
fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
