//! Hostile and malformed input: a status and a close, never a hang, a
//! panic or a smuggled request.

mod http_support;

use std::io::{BufReader, Write};
use std::time::Duration;

use evloop::http::{Request, Response, Router, Server};
use http_support::{
    closed, connect, demo_server, read_response, roundtrip, send_and_read_to_close, start,
};

/// Sends `raw`; expects one response with `status`, `connection: close`,
/// and then the connection closed (so nothing after it was taken as a
/// request). A `GET /` follows `raw` in the same write to prove it.
fn refused(addr: std::net::SocketAddr, raw: &str, status: u16) {
    let mut stream = connect(addr);
    let mut bytes = raw.as_bytes().to_vec();
    bytes.extend_from_slice(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    stream.write_all(&bytes).expect("send");
    let mut reader = BufReader::new(stream);
    let resp = read_response(&mut reader, false).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
    assert_eq!(resp.status, status, "{raw:?}");
    assert_eq!(resp.header("connection"), Some("close"), "{raw:?}");
    assert!(closed(&mut reader), "{raw:?}: nothing more is answered");
}

#[test]
fn content_length_with_transfer_encoding_is_400() {
    let server = demo_server();
    refused(
        server.addr,
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
    refused(
        server.addr,
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
        400,
    );
}

#[test]
fn bad_content_lengths_are_400() {
    let server = demo_server();
    for value in [
        "+5",
        "-1",
        "5a",
        "0x5",
        "",
        " ",
        "1 2",
        "99999999999999999999999",
    ] {
        let raw = format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {value}\r\n\r\n");
        refused(server.addr, &raw, 400);
    }
    refused(
        server.addr,
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        400,
    );
    refused(
        server.addr,
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 4\r\n\r\nabcd",
        400,
    );
    // Identical duplicates are one length.
    let resp = roundtrip(
        server.addr,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    );
    assert_eq!(resp.text(), "abc");
}

#[test]
fn unknown_transfer_codings_are_501_and_misplaced_chunked_400() {
    let server = demo_server();
    refused(
        server.addr,
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
        501,
    );
    refused(
        server.addr,
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        501,
    );
    refused(
        server.addr,
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        400,
    );
    refused(
        server.addr,
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n",
        501,
    );
    refused(
        server.addr,
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n",
        400,
    );
    refused(
        server.addr,
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
    );
    refused(
        server.addr,
        "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
}

#[test]
fn bad_chunk_sizes_are_400_and_close() {
    let server = demo_server();
    let cases = [
        "zz\r\nab\r\n0\r\n\r\n",
        "-1\r\n",
        "+1\r\na\r\n0\r\n\r\n",
        "0x1\r\na\r\n0\r\n\r\n",
        "fffffffffffffffff\r\n",
        "\r\n",
        "1\r\nab\r\n0\r\n\r\n",
        "1\na\r\n0\r\n\r\n",
        "1\r\na\n0\r\n\r\n",
    ];
    for body in cases {
        let raw = format!(
            "POST /anything HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
        );
        refused(server.addr, &raw, 400);
    }
}

#[test]
fn malformed_heads_are_400() {
    let server = demo_server();
    let cases = [
        "GET / HTTP/1.1\r\nHost: t\r\nX-Fold: a\r\n b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: t\r\nX-Nul: a\0b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: t\r\nX-Cr: a\rb\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: t\r\n: empty\r\n\r\n",
        "GET noslash HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nX-No-Host: 1\r\n\r\n",
        // Whitespace between a name and its colon: some parsers strip it,
        // so a framing header hidden this way must not count as anything.
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length : 5\r\n\r\nhello",
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        "GET /a b HTTP/1.1\r\nHost: t\r\n\r\n",
    ];
    for raw in cases {
        refused(server.addr, raw, 400);
    }
}

#[test]
fn other_versions_and_the_http2_preface_are_refused() {
    let server = demo_server();
    for raw in [
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: t\r\n\r\n",
        "GET / HTTP/1.2\r\nHost: t\r\n\r\n",
        "GET / HTTP/3\r\nHost: t\r\n\r\n",
    ] {
        let all = send_and_read_to_close(server.addr, raw.as_bytes());
        let text = String::from_utf8_lossy(&all);
        assert!(
            text.starts_with("HTTP/1.1 505 ") || text.starts_with("HTTP/1.1 400 "),
            "{raw:?} → {text}"
        );
    }
}

#[test]
fn an_unmeetable_expectation_is_417() {
    let server = demo_server();
    refused(
        server.addr,
        "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx",
        417,
    );
}

/// A server whose `/panic` handler panics.
fn panicking_server() -> http_support::TestServer {
    start(|| {
        Server::new(
            Router::new()
                .get("/", |_: Request| async { Response::text("ok") })
                .get("/panic", |_: Request| async { panic!("handler bug") })
                .get(
                    "/panic-at-once",
                    |_: Request| -> std::future::Ready<Response> {
                        panic!("handler bug before its future")
                    },
                )
                .get("/panic-later", |_: Request| async {
                    evloop::time::sleep(Duration::from_millis(5)).await;
                    panic!("handler bug after a wait")
                }),
        )
    })
}

#[test]
fn a_panicking_handler_is_500_and_close_and_the_server_goes_on() {
    let server = panicking_server();
    for path in ["/panic", "/panic-at-once", "/panic-later"] {
        refused(
            server.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"),
            500,
        );
    }
    assert_eq!(
        roundtrip(server.addr, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").text(),
        "ok"
    );
}

#[test]
fn a_truncated_body_or_a_reset_costs_only_that_connection() {
    let server = demo_server();
    let mut keep = connect(server.addr);
    keep.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut keep_reader = BufReader::new(keep.try_clone().expect("clone"));
    read_response(&mut keep_reader, false).expect("first");

    // Truncated: the peer half-closes in the middle of a body.
    let mut cut = connect(server.addr);
    cut.write_all(b"POST /anything HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
        .expect("send");
    http_support::shut_write(&cut);
    let mut rest = Vec::new();
    let _ = std::io::Read::read_to_end(&mut cut, &mut rest);

    // Reset: SO_LINGER 0 turns close into a RST mid-request.
    let reset = connect(server.addr);
    let sock = socket2::SockRef::from(&reset);
    sock.set_linger(Some(Duration::ZERO)).expect("linger");
    (&reset)
        .write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nabc")
        .expect("send");
    std::thread::sleep(Duration::from_millis(20));
    drop(reset);

    keep.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    assert_eq!(
        read_response(&mut keep_reader, false)
            .expect("still served")
            .text(),
        "Hello, world!"
    );
    assert_eq!(
        roundtrip(server.addr, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").status,
        200
    );
}

#[test]
fn a_smuggled_request_in_a_body_is_not_answered() {
    // The classic CL.TE attack: a front end reading Content-Length would
    // pass the whole thing as one request; a back end reading chunked would
    // see "0\r\n\r\n" end the body and the "GET /admin" after it as a second
    // request. We refuse the ambiguous head and close, so no second request.
    let server = demo_server();
    let raw = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 39\r\nTransfer-Encoding: chunked\r\n\r\n\
               0\r\n\r\nGET /hello/smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
    let all = send_and_read_to_close(server.addr, raw.as_bytes());
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    assert!(!text.contains("smuggled"), "{text}");
    assert_eq!(text.matches("HTTP/1.1").count(), 1, "{text}");
}
