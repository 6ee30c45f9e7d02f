//! `Response`: what a handler returns, and how its head is written.
//!
//! The framing headers are the server's business, not the handler's: a
//! full body gets `content-length`, a stream gets `transfer-encoding:
//! chunked` (or, for an HTTP/1.0 client that cannot read chunks, no length
//! and a close), and `date` and `connection` are added on the way out. A
//! handler's own `content-length`, `transfer-encoding`, `connection` or
//! `date` header is dropped, so a handler cannot desynchronise the framing.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::body::Body;

/// A header's name and value.
type Header = (Cow<'static, str>, Cow<'static, str>);

/// An HTTP response: status, headers and body.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    status: u16,
    /// The first header the handler set, kept inline: most responses set
    /// one (`content-type`), and this way it costs no allocation.
    first_header: Option<Header>,
    /// The headers after the first, in order.
    more_headers: Vec<Header>,
    /// The body.
    body: Body,
}

impl Response {
    /// A response with this status and no body.
    ///
    /// # Panics
    /// If `status` is not in 100..=999.
    pub fn new(status: u16) -> Response {
        assert!((100..=999).contains(&status), "bad HTTP status {status}");
        Response {
            status,
            first_header: None,
            more_headers: Vec::new(),
            body: Body::empty(),
        }
    }

    /// 200 with a `text/plain` body.
    pub fn text(text: impl Into<String>) -> Response {
        Response::new(200)
            .header("content-type", "text/plain; charset=utf-8")
            .body(text.into())
    }

    /// 200 with an `application/json` body (already serialised).
    pub fn json(json: impl Into<String>) -> Response {
        Response::new(200)
            .header("content-type", "application/json")
            .body(json.into())
    }

    /// Adds a header.
    ///
    /// # Panics
    /// If the name is not a token or the value holds CR, LF or NUL: a
    /// header that could split the response is a bug in the handler.
    pub fn header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Response {
        let (name, value) = (name.into(), value.into());
        assert!(
            !name.is_empty() && name.bytes().all(is_token),
            "bad header name {name:?}"
        );
        assert!(
            !value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0),
            "bad header value {value:?}"
        );
        if self.first_header.is_none() {
            self.first_header = Some((name, value));
        } else {
            self.more_headers.push((name, value));
        }
        self
    }

    /// Sets the body: bytes, text, a stream ([`Body::from_stream`]) or a
    /// request's body.
    pub fn body(mut self, body: impl Into<Body>) -> Response {
        self.body = body.into();
        self
    }

    /// Changes the status.
    pub fn with_status(mut self, status: u16) -> Response {
        assert!((100..=999).contains(&status), "bad HTTP status {status}");
        self.status = status;
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers the handler set.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.header_pairs().map(|(n, v)| (&**n, &**v))
    }

    /// The headers the handler set, in order, as stored.
    fn header_pairs(&self) -> impl Iterator<Item = &Header> {
        self.first_header.iter().chain(&self.more_headers)
    }

    /// Whether the body is full bytes (or empty), not a stream.
    pub(super) fn is_full(&self) -> bool {
        self.body.is_full()
    }

    /// The body, to read or replace.
    pub fn body_mut(&mut self) -> &mut Body {
        &mut self.body
    }

    /// The body, taken out.
    pub fn into_body(self) -> Body {
        self.body
    }

    /// A bare error response the server itself sends (400, 413, 500 ...).
    pub(super) fn error(status: u16) -> Response {
        Response::new(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(format!("{} {}\n", status, reason(status)))
    }
}

/// How the body will be framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OutFraming {
    /// `content-length: n`.
    Length(u64),
    /// `transfer-encoding: chunked`.
    Chunked,
    /// No length: the body ends when the connection closes (HTTP/1.0).
    Close,
    /// No body may be sent (1xx, 204, 304); no length header.
    None,
}

/// The `connection` header a response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConnectionHeader {
    /// None: HTTP/1.1 keeps the connection by default.
    Default,
    /// `connection: close`: this is the last response.
    Close,
    /// `connection: keep-alive`: an HTTP/1.0 client asked to keep it, and
    /// it is kept (1.0 closes by default).
    KeepAlive,
}

/// Writes the status line and headers of `response` into `out`.
pub(super) fn write_head(
    out: &mut Vec<u8>,
    response: &Response,
    framing: OutFraming,
    connection: ConnectionHeader,
) {
    // One reservation for the whole head, so that the appends below never
    // stop to grow the buffer (each growth is a reallocation and a copy).
    out.reserve(HEAD_RESERVE + headers_len(response));
    match status_line(response.status) {
        // The common statuses are one constant line: one copy instead of
        // formatting the number and looking up its reason.
        Some(line) => out.extend_from_slice(line),
        None => {
            out.extend_from_slice(b"HTTP/1.1 ");
            push_status(out, response.status);
            out.extend_from_slice(b"\r\n");
        }
    }
    for (name, value) in response.header_pairs() {
        if is_framing_header(name) {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        OutFraming::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            push_decimal(out, n);
            out.extend_from_slice(b"\r\n");
        }
        OutFraming::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        OutFraming::Close | OutFraming::None => {}
    }
    match connection {
        ConnectionHeader::Default => {}
        ConnectionHeader::Close => out.extend_from_slice(b"connection: close\r\n"),
        ConnectionHeader::KeepAlive => out.extend_from_slice(b"connection: keep-alive\r\n"),
    }
    out.extend_from_slice(b"date: ");
    with_date(|date| out.extend_from_slice(date));
    out.extend_from_slice(b"\r\n\r\n");
}

/// Room for what the server adds to every head: status line, framing,
/// `connection` and `date` headers.
const HEAD_RESERVE: usize = 128;

/// The bytes the handler's own headers take in the head.
fn headers_len(response: &Response) -> usize {
    response
        .header_pairs()
        .map(|(name, value)| name.len() + value.len() + 4)
        .sum()
}

/// The whole status line of the statuses most responses carry.
fn status_line(status: u16) -> Option<&'static [u8]> {
    Some(match status {
        200 => b"HTTP/1.1 200 OK\r\n",
        204 => b"HTTP/1.1 204 No Content\r\n",
        404 => b"HTTP/1.1 404 Not Found\r\n",
        _ => return None,
    })
}

/// Headers the server writes itself.
fn is_framing_header(name: &str) -> bool {
    // Only four lengths can match: most names are passed over after one
    // comparison instead of four.
    match name.len() {
        14 => name.eq_ignore_ascii_case("content-length"),
        17 => name.eq_ignore_ascii_case("transfer-encoding"),
        10 => name.eq_ignore_ascii_case("connection"),
        4 => name.eq_ignore_ascii_case("date"),
        _ => false,
    }
}

/// A token character (RFC 9110 `tchar`), by table: checked for every
/// header of every response.
fn is_token(b: u8) -> bool {
    const TABLE: [bool; 256] = {
        let mut table = [false; 256];
        let mut i = 0;
        while i < 256 {
            let c = i as u8;
            table[i] = c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                );
            i += 1;
        }
        table
    };
    TABLE[usize::from(b)]
}

/// `200 OK`.
fn push_status(out: &mut Vec<u8>, status: u16) {
    push_decimal(out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
}

/// A number in decimal, without allocating.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The reason phrase of a status.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

thread_local! {
    /// The `Date` value and the second it was formatted for: formatted at
    /// most once per second per thread (per loop), however many responses.
    static DATE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
    /// How many date tickers run on this thread's loop. While one does, the
    /// cached value is kept current by it and a response reads no clock.
    static TICKERS: Cell<usize> = const { Cell::new(0) };
}

/// Calls `f` with the current `Date` header value (IMF-fixdate).
pub(super) fn with_date<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    if TICKERS.with(Cell::get) == 0 {
        refresh_date();
    }
    DATE.with(|cell| f(&cell.borrow().1))
}

/// Reformats the cached date if the second has changed; returns the time
/// to the next second.
fn refresh_date() -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            *cached = (secs, format_date(secs));
        }
    });
    Duration::from_secs(1).saturating_sub(Duration::from_nanos(u64::from(now.subsec_nanos())))
}

/// Keeps this loop's cached `Date` current, refreshing it just after each
/// second begins, so that responses never read the clock. Runs until
/// dropped (the server aborts it when it stops).
pub(super) async fn date_ticker() {
    /// Counts this ticker in `TICKERS` for as long as it lives.
    struct Ticking;
    impl Drop for Ticking {
        fn drop(&mut self) {
            TICKERS.with(|n| n.set(n.get() - 1));
        }
    }
    let _ticking = {
        refresh_date();
        TICKERS.with(|n| n.set(n.get() + 1));
        Ticking
    };
    loop {
        let until_next = refresh_date();
        crate::time::sleep(until_next + Duration::from_millis(1)).await;
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` for seconds since the epoch.
pub fn format_date(secs: u64) -> [u8; 29] {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    let text = format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    let mut out = [b' '; 29];
    let n = text.len().min(29);
    out[..n].copy_from_slice(&text.as_bytes()[..n]);
    out
}

/// Year, month (1-12) and day (1-31) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_rfc_example_date() {
        assert_eq!(&format_date(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    // Writes a head, whose Date reads the wall clock: miri's isolation has none.
    #[cfg_attr(miri, ignore)]
    fn headers_keep_their_order_past_the_inline_first() {
        let response = Response::new(204)
            .header("x-a", "1")
            .header("Date", "yesterday")
            .header("x-b", "2")
            .header("x-c", "3");
        let names: Vec<&str> = response.headers().map(|(n, _)| n).collect();
        assert_eq!(names, ["x-a", "Date", "x-b", "x-c"]);
        let mut out = Vec::new();
        write_head(
            &mut out,
            &response,
            OutFraming::None,
            ConnectionHeader::Close,
        );
        let text = String::from_utf8(out).expect("ascii");
        assert!(text.starts_with("HTTP/1.1 204 No Content\r\nx-a: 1\r\nx-b: 2\r\nx-c: 3\r\n"));
        assert!(text.contains("connection: close\r\n"));
        assert!(!text.contains("yesterday"));
    }

    #[test]
    // Writes a head, whose Date reads the wall clock: miri's isolation has none.
    #[cfg_attr(miri, ignore)]
    fn uncommon_status_lines_are_formatted() {
        let mut out = Vec::new();
        let response = Response::new(418);
        write_head(
            &mut out,
            &response,
            OutFraming::Length(0),
            ConnectionHeader::Default,
        );
        assert!(out.starts_with(b"HTTP/1.1 418 Unknown\r\ncontent-length: 0\r\n"));
    }

    #[test]
    // Reads the wall clock (the Date header): miri's isolation has none.
    #[cfg_attr(miri, ignore)]
    fn head_has_framing_and_date() {
        let mut out = Vec::new();
        let response = Response::text("hi").header("Content-Length", "99");
        write_head(
            &mut out,
            &response,
            OutFraming::Length(2),
            ConnectionHeader::Default,
        );
        let text = String::from_utf8(out).expect("ascii");
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("content-length: 2\r\n"));
        assert!(!text.contains("99"));
        assert!(text.contains("date: "));
        assert!(text.ends_with("\r\n\r\n"));
    }
}
