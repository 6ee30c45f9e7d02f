//! Body framing in and out, keep-alive rules, `Expect: 100-continue`.

mod http_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use http_support::{closed, connect, demo_server, read_response, roundtrip};

/// 1 MiB of bytes that are not all alike.
fn mib() -> Vec<u8> {
    (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

/// `body` in chunks of the given sizes (cycled), with an extension on the
/// first size line and a trailer at the end.
fn chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        let ext = if i == 0 { ";name=value" } else { "" };
        out.extend_from_slice(format!("{n:X}{ext}\r\n").as_bytes());
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
        i += 1;
    }
    out.extend_from_slice(b"0\r\nX-Trailer: skipped\r\n\r\n");
    out
}

#[test]
fn a_mib_with_content_length_comes_back_with_content_length() {
    let server = demo_server();
    let body = mib();
    let mut stream = connect(server.addr);
    let writer = {
        let mut stream = stream.try_clone().expect("clone");
        let body = body.clone();
        std::thread::spawn(move || {
            let head = format!(
                "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).expect("head");
            stream.write_all(&body).expect("body");
        })
    };
    let resp = read_response(&mut BufReader::new(&mut stream), false).expect("answer");
    writer.join().expect("writer");
    assert_eq!(resp.header("content-length"), Some("1048576"));
    assert!(resp.header("transfer-encoding").is_none());
    assert!(resp.body == body, "the body comes back byte for byte");
}

#[test]
fn a_mib_chunked_comes_back_chunked() {
    let server = demo_server();
    let body = mib();
    let mut stream = connect(server.addr);
    let writer = {
        let mut stream = stream.try_clone().expect("clone");
        let wire = chunked(&body, &[1, 7000, 65536, 333]);
        std::thread::spawn(move || {
            stream
                .write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
                .expect("head");
            // Uneven writes, so chunk lines are split across reads.
            for piece in wire.chunks(4093) {
                stream.write_all(piece).expect("body");
            }
            // Then a second request on the same connection.
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                .expect("next");
        })
    };
    let mut reader = BufReader::new(&mut stream);
    let resp = read_response(&mut reader, false).expect("answer");
    writer.join().expect("writer");
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert!(resp.body == body, "the body comes back byte for byte");
    let next = read_response(&mut reader, false).expect("keep-alive");
    assert_eq!(next.text(), "Hello, world!");
}

#[test]
fn expect_100_continue_gets_an_interim_response_before_the_body_is_sent() {
    let server = demo_server();
    let mut stream = connect(server.addr);
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        )
        .expect("head");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("interim");
    assert_eq!(line, "HTTP/1.1 100 Continue\r\n");
    line.clear();
    reader.read_line(&mut line).expect("blank");
    assert_eq!(line, "\r\n");
    stream.write_all(b"hello").expect("body");
    let resp = read_response(&mut reader, false).expect("answer");
    assert_eq!(resp.text(), "hello");
}

#[test]
fn expect_100_continue_is_not_sent_when_the_body_is_not_read() {
    let server = demo_server();
    let mut stream = connect(server.addr);
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
        )
        .expect("send");
    let mut reader = BufReader::new(stream);
    let resp = read_response(&mut reader, false).expect("answer");
    assert_eq!(resp.status, 200, "a final response instead of 100");
    // No late `100 Continue` after it: the connection closes instead.
    assert!(closed(&mut reader));
}

#[test]
fn http_1_0_closes_by_default_and_keeps_alive_on_request() {
    let server = demo_server();
    let mut stream = connect(server.addr);
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("send");
    let mut reader = BufReader::new(stream);
    let resp = read_response(&mut reader, false).expect("answer");
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(closed(&mut reader));

    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n")
        .expect("send");
    let mut reader = BufReader::new(stream);
    let first = read_response(&mut reader, false).expect("first");
    assert_eq!(first.header("connection"), Some("keep-alive"));
    let second = read_response(&mut reader, false).expect("second on the same connection");
    assert_eq!(second.text(), "Hello, world!");
    assert!(closed(&mut reader));
}

#[test]
fn http_1_0_gets_a_stream_delimited_by_close() {
    let server = demo_server();
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET /stream?n=2 HTTP/1.0\r\n\r\n")
        .expect("send");
    let resp = read_response(&mut BufReader::new(stream), false).expect("answer");
    assert!(
        resp.header("transfer-encoding").is_none(),
        "1.0 cannot read chunks"
    );
    assert_eq!(resp.text(), "chunk 0\nchunk 1\n");
}

#[test]
fn head_of_a_stream_has_the_same_framing_and_no_body() {
    let server = demo_server();
    let mut stream = connect(server.addr);
    stream
        .write_all(b"HEAD /stream?n=3 HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut reader = BufReader::new(stream);
    let head = read_response(&mut reader, true).expect("HEAD answer");
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    let next = read_response(&mut reader, false).expect("next");
    assert_eq!(next.text(), "Hello, world!");
}

#[test]
fn connection_close_closes_after_the_response() {
    let server = demo_server();
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut reader = BufReader::new(stream);
    let resp = read_response(&mut reader, false).expect("answer");
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(closed(&mut reader), "the second request is not answered");
}

#[test]
fn an_unread_body_is_skipped_to_keep_the_connection() {
    let server = demo_server();
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabcGET /hello/x HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut reader = BufReader::new(stream);
    assert_eq!(
        read_response(&mut reader, false).expect("first").status,
        200
    );
    let second = read_response(&mut reader, false).expect("second");
    assert_eq!(
        second.json()["message"],
        "Hello, x!",
        "the body was not taken for a request"
    );
}

#[test]
fn a_body_split_into_single_bytes_still_echoes() {
    let server = demo_server();
    let mut stream = connect(server.addr);
    let raw = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
    for byte in raw {
        stream.write_all(&[*byte]).expect("byte");
        std::thread::sleep(Duration::from_micros(200));
    }
    let resp = read_response(&mut BufReader::new(&mut stream), false).expect("answer");
    assert_eq!(resp.text(), "abcde");
    let mut rest = [0u8; 1];
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    assert!(
        stream.read(&mut rest).is_err(),
        "nothing more, connection still open"
    );
}

#[test]
fn content_length_body_read_as_bytes_by_a_handler() {
    let server = demo_server();
    let resp = roundtrip(
        server.addr,
        b"POST /anything HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n",
    );
    assert_eq!(resp.json()["body"], "wikipedia");
}
