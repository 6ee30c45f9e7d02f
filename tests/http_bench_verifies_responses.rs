//! The HTTP load generator (`examples/http_bench`) counts only responses it
//! has checked: a wrong status, a wrong body or broken framing ends the run
//! with the reason, whichever way the bytes are split across reads.
//!
//! The example's modules are compiled into this test as they are, so the
//! parser and the closed loop tested here are the ones the benchmark runs;
//! the servers are small blocking fakes on loopback that say exactly what
//! each test needs them to say.

#![allow(dead_code)] // the example's modules have items only its main uses

#[path = "../examples/http_bench/load.rs"]
mod load;
#[path = "../examples/http_bench/response.rs"]
mod response;
#[path = "../examples/http_bench/settings.rs"]
mod settings;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};

use response::{ResponseError, ResponseParser};

const HELLO: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";
const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
5;ext=1\r\nHello\r\n8\r\n, world!\r\n0\r\nX-Trailer: yes\r\n\r\n";

/// Feeds `input` to a fresh parser in pieces cut at `cuts`, as reads would
/// deliver it, and returns how many responses it completed.
fn feed(input: &[u8], cuts: &[usize], expected: &[u8]) -> Result<usize, ResponseError> {
    let mut parser = ResponseParser::new();
    let (mut pending, mut done, mut last) = (Vec::new(), 0, 0);
    for &cut in cuts.iter().chain([&input.len()]) {
        pending.extend_from_slice(&input[last..cut]);
        last = cut;
        loop {
            let (used, complete) = parser.advance(&pending, expected)?;
            pending.drain(..used);
            if !complete {
                break;
            }
            done += 1;
        }
    }
    assert!(pending.is_empty(), "bytes left over: {pending:?}");
    assert!(parser.is_idle(), "a response left half parsed");
    Ok(done)
}

fn error_of(input: &[u8], expected: &[u8]) -> String {
    match feed(input, &[], expected) {
        Ok(n) => panic!(
            "accepted {n} response(s) from {:?}",
            String::from_utf8_lossy(input)
        ),
        Err(error) => error.0,
    }
}

#[test]
fn every_split_of_a_response_parses_the_same() {
    for response in [HELLO, CHUNKED] {
        let two = [response, response].concat();
        for cut in 0..=two.len() {
            assert_eq!(feed(&two, &[cut], b"Hello, world!"), Ok(2), "cut at {cut}");
        }
        let every_byte: Vec<usize> = (1..two.len()).collect();
        assert_eq!(feed(&two, &every_byte, b"Hello, world!"), Ok(2));
    }
}

#[test]
fn empty_bodies_and_mixed_framings_in_one_read() {
    let empty = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_eq!(feed(empty, &[], b""), Ok(2));
}

#[test]
fn a_wrong_status_is_an_error() {
    let not_found = b"HTTP/1.1 404 Not Found\r\ncontent-length: 13\r\n\r\nHello, world!";
    assert!(error_of(not_found, b"Hello, world!").contains("404"));
    let old = b"HTTP/1.0 200 OK\r\ncontent-length: 13\r\n\r\nHello, world!";
    assert!(error_of(old, b"Hello, world!").contains("not an HTTP/1.1 status line"));
    let long_code = b"HTTP/1.1 2000 OK\r\ncontent-length: 0\r\n\r\n";
    assert!(error_of(long_code, b"").contains("expected 200"));
}

#[test]
fn a_wrong_body_is_an_error_naming_the_byte() {
    let message = error_of(HELLO, b"Hello, World!");
    assert!(message.contains("at byte 7"), "{message}");
    let message = error_of(CHUNKED, b"Hello, World!");
    assert!(message.contains("at byte 7"), "{message}");
}

#[test]
fn a_body_of_the_wrong_length_is_an_error() {
    assert!(error_of(HELLO, b"Hello").contains("Content-Length 13"));
    assert!(error_of(CHUNKED, b"Hello").contains("body longer"));
    assert!(error_of(CHUNKED, b"Hello, world!!").contains("chunked body of 13 bytes"));
}

#[test]
fn broken_framing_is_an_error() {
    let cases: [(&[u8], &str); 10] = [
        (
            b"HTTP/1.1 200 OK\r\n\r\n",
            "neither Content-Length nor chunked",
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\ntransfer-encoding: chunked\r\n\r\n",
            "both",
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: +0\r\n\r\n",
            "bad Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999999\r\n\r\n",
            "bad Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\ncontent-length: 1\r\n\r\n",
            "two different",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
            "not chunked",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            "bad chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n",
            "bad chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nno colon here\r\ncontent-length: 0\r\n\r\n",
            "malformed header",
        ),
        (
            b"HTTP/1.1 200 OK\ncontent-length: 0\r\n\r\n",
            "not ended by CRLF",
        ),
    ];
    for (input, wanted) in cases {
        let message = error_of(input, b"");
        assert!(message.contains(wanted), "{message:?} lacks {wanted:?}");
    }
    let no_crlf = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\naXY";
    assert!(error_of(no_crlf, b"a").contains("not followed by CRLF"));
}

#[test]
fn connection_close_is_an_error_on_a_keep_alive_run() {
    let close = b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\ncontent-length: 0\r\n\r\n";
    assert!(error_of(close, b"").contains("Connection: close"));
}

#[test]
fn heads_and_lines_without_end_are_refused_not_buffered_forever() {
    let mut parser = ResponseParser::new();
    let endless = vec![b'a'; response::MAX_HEAD + 1];
    let error = parser.advance(&endless, b"").expect_err("too long");
    assert!(error.0.contains("longer than"));
    let mut parser = ResponseParser::new();
    let head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
    let endless_chunk_line = [&head[..], &[b'1'; 5000][..]].concat();
    let error = parser
        .advance(&endless_chunk_line, b"")
        .expect_err("too long");
    assert!(error.0.contains("longer than"));
}

#[test]
fn bad_flags_are_refused_with_the_reason() {
    let parse = |args: &[&str]| settings::parse_args(args.iter().map(|s| s.to_string()));
    let cases: [(&[&str], &str); 7] = [
        (&["--bogus", "1"], "unknown option"),
        (&["--conns"], "needs a value"),
        (&["--conns", "0"], "--conns"),
        (&["--secs", "-1"], "--secs"),
        (&["--method", "DELETE"], "GET or POST"),
        (&["--body-size", "10"], "--method POST"),
        (
            &["--method", "post", "--expect-body", "x"],
            "no --expect-body",
        ),
    ];
    for (args, wanted) in cases {
        let message = parse(args).expect_err("refused");
        assert!(message.contains(wanted), "{args:?}: {message:?}");
    }
    let post = parse(&["--method", "post", "--body-size", "3"]).expect("valid");
    assert_eq!(
        (post.method.as_str(), post.path.as_str()),
        ("POST", "/echo")
    );
}

/// A blocking fake server: answers every request head it reads with
/// `answer(request_number)` (counting on that connection).
fn fake_server(answer: fn(u64) -> Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("bound");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let (mut buf, mut seen, mut served) = ([0u8; 4096], Vec::new(), 0);
                while let Ok(n @ 1..) = stream.read(&mut buf) {
                    seen.extend_from_slice(&buf[..n]);
                    let mut out = Vec::new();
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        out.extend(answer(served));
                        served += 1;
                    }
                    if out.is_empty() {
                        continue;
                    }
                    if stream.write_all(&out).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn quick(addr: SocketAddr, extra: &[&str]) -> settings::Settings {
    let mut args = vec!["--addr".to_string(), addr.to_string()];
    args.extend(["--conns", "3", "--secs", "0.3", "--warmup", "0.05"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    settings::parse_args(args).expect("valid flags")
}

#[test]
fn a_run_against_a_correct_server_counts_requests() {
    let addr = fake_server(|n| {
        if n % 2 == 0 {
            HELLO.to_vec()
        } else {
            CHUNKED.to_vec()
        }
    });
    for depth in ["1", "4"] {
        let outcome = load::run(&quick(addr, &["--pipeline", depth])).expect("connects");
        assert_eq!(outcome.failure, None);
        assert!(outcome.all_requests > 0 && outcome.all_requests >= outcome.requests);
        assert!(outcome.secs >= 0.25, "measured {} s", outcome.secs);
        assert_eq!(
            outcome.all_requests % depth.parse::<u64>().expect("a number"),
            0
        );
    }
}

#[test]
fn a_wrong_body_mid_run_ends_it_with_the_reason() {
    let addr = fake_server(|n| {
        let body: &[u8] = if n == 50 {
            b"Hello, World!"
        } else {
            b"Hello, world!"
        };
        [&HELLO[..HELLO.len() - 13], body].concat()
    });
    let outcome = load::run(&quick(addr, &["--secs", "30"])).expect("connects");
    let failure = outcome.failure.expect("the wrong body is caught");
    assert!(failure.contains("body differs"), "{failure}");
    assert_eq!(
        outcome.secs, 0.0,
        "the run stopped at the error, not after 30 s"
    );
}

#[test]
fn a_server_that_hangs_up_ends_the_run() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("bound");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream); // accept and close at once
        }
    });
    let outcome = load::run(&quick(addr, &["--secs", "30"])).expect("connects");
    let failure = outcome.failure.expect("the close is caught");
    assert!(
        failure.contains("closed the connection")
            || failure.contains("reset")
            || failure.contains("pipe"),
        "{failure}"
    );
}

#[test]
fn a_response_to_no_request_ends_the_run() {
    // Two answers (in one write) for every request.
    let addr = fake_server(|_| [HELLO, HELLO].concat());
    let outcome = load::run(&quick(addr, &["--secs", "30"])).expect("connects");
    let failure = outcome.failure.expect("the extra response is caught");
    assert!(failure.contains("answers to nothing"), "{failure}");
}

#[test]
fn no_server_is_an_error_naming_the_address() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("bound");
    drop(listener); // nothing listens there now
    let error = load::run(&quick(addr, &[])).expect_err("refused");
    assert!(error.to_string().contains(&addr.to_string()), "{error}");
}

#[test]
fn post_bodies_are_compared_with_what_was_sent() {
    // A server that answers with a fixed body cannot pass an echo run.
    let addr = fake_server(|_| {
        let mut response = b"HTTP/1.1 200 OK\r\ncontent-length: 16\r\n\r\n".to_vec();
        response.extend([0u8; 16]);
        response
    });
    let outcome =
        load::run(&quick(addr, &["--method", "POST", "--body-size", "16"])).expect("connects");
    let failure = outcome.failure.expect("the body is not the one sent");
    assert!(failure.contains("body differs"), "{failure}");
}
