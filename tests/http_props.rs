//! Property tests of the request codec and the connection.
//!
//! 1. Any valid request (pipelined after another), split at random points
//!    into any number of reads, parses to the same heads and bodies as when
//!    it arrives in one read, and to what was sent.
//! 2. Random or mutated bytes never panic the codec, and over a socket they
//!    always end in a status line or a close, never a hang.

mod http_support;

use std::io::{Read, Write};
use std::time::Duration;

use evloop::http::Server;
use evloop::http::codec::{ChunkedDecoder, Framing, Limits, parse_head};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// A request as generated.
#[derive(Debug, Clone)]
struct Generated {
    /// Method token.
    method: String,
    /// Path.
    path: String,
    /// Extra headers.
    headers: Vec<(String, String)>,
    /// Body bytes.
    body: Vec<u8>,
    /// `None`: Content-Length; `Some(sizes)`: chunked with these chunk sizes.
    chunks: Option<Vec<usize>>,
}

impl Generated {
    /// The request's bytes.
    fn encode(&self) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/1.1\r\nHost: t\r\n", self.method, self.path).into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        match &self.chunks {
            None => {
                out.extend_from_slice(
                    format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes(),
                );
                out.extend_from_slice(&self.body);
            }
            Some(sizes) => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                let mut rest = &self.body[..];
                let mut i = 0;
                while !rest.is_empty() {
                    let n = sizes[i % sizes.len()].clamp(1, rest.len());
                    out.extend_from_slice(format!("{n:x};e=1\r\n").as_bytes());
                    out.extend_from_slice(&rest[..n]);
                    out.extend_from_slice(b"\r\n");
                    rest = &rest[n..];
                    i += 1;
                }
                out.extend_from_slice(b"0\r\nTrailer-Field: x\r\n\r\n");
            }
        }
        out
    }
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "X-CUSTOM"]),
        prop::collection::vec("[a-z0-9%]{0,6}", 0..4),
        proptest::option::of("[a-z0-9=&+%]{0,12}"),
        prop::collection::vec(("x-[a-z0-9-]{1,10}", "[!-~]([ -~]{0,20}[!-~])?"), 0..6),
        prop::collection::vec(any::<u8>(), 0..3000),
        proptest::option::of(prop::collection::vec(1usize..700, 1..5)),
    )
        .prop_map(|(method, segments, query, headers, body, chunks)| {
            let mut path = format!("/{}", segments.join("/"));
            if let Some(query) = query {
                path.push('?');
                path.push_str(&query);
            }
            Generated {
                method: method.to_string(),
                path,
                headers,
                body,
                chunks,
            }
        })
}

/// What the codec made of a request: method, target, headers, body.
type Parsed = (String, String, Vec<(String, String)>, Vec<u8>);

/// Feeds `pieces` one at a time, as reads, through the codec, as the
/// connection does: heads from the front of the buffer, then bodies.
fn feed(pieces: &[&[u8]]) -> Result<Vec<Parsed>, u16> {
    let limits = Limits::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    let mut body: Option<(Parsed, Framing, Option<ChunkedDecoder>)> = None;
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            if let Some((parsed, framing, decoder)) = &mut body {
                let done = match (framing, decoder) {
                    (Framing::Length(n), _) => {
                        let take = buf.len().min(*n as usize);
                        parsed.3.extend(buf.drain(..take));
                        *n -= take as u64;
                        *n == 0
                    }
                    (Framing::Chunked, Some(decoder)) => {
                        let decoded = decoder.decode(&buf).map_err(|r| r.0)?;
                        if let Some(data) = decoded.data.clone() {
                            parsed.3.extend_from_slice(&buf[data]);
                        }
                        buf.drain(..decoded.consumed);
                        if !decoder.is_done() && decoded.consumed == 0 {
                            break;
                        }
                        decoder.is_done()
                    }
                    (Framing::Chunked, None) => unreachable!("chunked has a decoder"),
                };
                if done {
                    out.push(body.take().expect("in a body").0);
                    continue;
                }
                if buf.is_empty() {
                    break;
                }
                continue;
            }
            match parse_head(&buf, &limits).map_err(|r| r.0)? {
                None => break,
                Some((head, len)) => {
                    buf.drain(..len);
                    let target = match &head.query {
                        Some(q) => format!("{}?{}", head.text(&head.path), head.text(q)),
                        None => head.text(&head.path).to_string(),
                    };
                    let headers = head
                        .headers()
                        .map(|(n, v)| (head.text(&n).to_string(), head.text(&v).to_string()))
                        .collect();
                    let parsed = (
                        head.text(&head.method).to_string(),
                        target,
                        headers,
                        Vec::new(),
                    );
                    let decoder = (head.framing == Framing::Chunked)
                        .then(|| ChunkedDecoder::new(limits.max_body));
                    if head.framing == Framing::Length(0) {
                        out.push(parsed);
                    } else {
                        body = Some((parsed, head.framing, decoder));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Splits `bytes` at the given cut points.
fn split<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut at = 0;
    for cut in cuts {
        pieces.push(&bytes[at..cut]);
        at = cut;
    }
    pieces.push(&bytes[at..]);
    pieces
}

proptest! {
    #![proptest_config(Config { cases: 256, ..Config::default() })]

    #[test]
    fn any_split_parses_the_same(
        first in generated(),
        second in generated(),
        cuts in prop::collection::vec(any::<usize>(), 0..40),
    ) {
        let mut bytes = first.encode();
        bytes.extend_from_slice(&second.encode());
        let whole = feed(&[&bytes]).expect("valid requests parse");
        prop_assert_eq!(whole.len(), 2);
        for (parsed, sent) in whole.iter().zip([&first, &second]) {
            prop_assert_eq!(&parsed.0, &sent.method);
            prop_assert_eq!(&parsed.1, &sent.path);
            prop_assert_eq!(&parsed.3, &sent.body);
            for (name, value) in &sent.headers {
                prop_assert!(parsed.2.contains(&(name.clone(), value.clone())));
            }
            // Host and the framing header besides the generated ones.
            prop_assert_eq!(parsed.2.len(), sent.headers.len() + 2);
        }
        let pieces = split(&bytes, &cuts);
        prop_assert_eq!(feed(&pieces).expect("split requests parse"), whole);
    }

    #[test]
    fn random_bytes_never_panic_the_codec(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = parse_head(&bytes, &Limits::default());
        let mut decoder = ChunkedDecoder::new(1 << 20);
        let mut rest = &bytes[..];
        while let Ok(decoded) = decoder.decode(rest) {
            if decoded.consumed == 0 {
                break;
            }
            rest = &rest[decoded.consumed..];
        }
    }
}

/// A valid request with a few bytes changed, inserted or removed.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let base = prop::sample::select(vec![
        &b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"[..],
        &b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"[..],
        &b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"[..],
        &b"PUT /anything/x?a=1 HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"[..],
    ]);
    let edits = prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..6);
    let random = prop::collection::vec(any::<u8>(), 0..600);
    prop_oneof![
        (base, edits).prop_map(|(base, edits)| {
            let mut bytes = base.to_vec();
            for (at, byte, kind) in edits {
                let at = at % (bytes.len() + 1);
                match kind {
                    0 if at < bytes.len() => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => {}
                }
            }
            bytes
        }),
        random,
    ]
}

#[test]
fn hostile_bytes_end_in_a_status_or_a_close() {
    let server = http_support::start(|| {
        Server::new(http_support::demo::app())
            .header_read_timeout(Duration::from_millis(500))
            .keep_alive_timeout(Duration::from_millis(500))
    });
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&mutated(), |bytes| {
            let mut stream = http_support::connect(server.addr);
            // The server may answer and close before everything is sent.
            let _ = stream.write_all(&bytes);
            http_support::shut_write(&stream);
            let mut answer = Vec::new();
            match stream.read_to_end(&mut answer) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
                Err(e) => return Err(TestCaseError::fail(format!("no close: {e}"))),
            }
            prop_assert!(
                answer.is_empty() || answer.starts_with(b"HTTP/1.1 "),
                "{:?}",
                String::from_utf8_lossy(&answer)
            );
            Ok(())
        })
        .expect("every case ends in a status or a close");
    assert_eq!(
        http_support::roundtrip(server.addr, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").status,
        200,
        "the server goes on"
    );
}
