//! Pipelining: many requests in one write, answered in order.

mod http_support;

use std::io::{BufReader, Write};

use http_support::{connect, demo_server, read_response};

#[test]
fn a_hundred_requests_in_one_write_are_answered_in_order() {
    let server = demo_server();
    let mut stream = connect(server.addr);
    let mut batch = Vec::new();
    for i in 0..100 {
        batch.extend_from_slice(format!("GET /hello/n{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    }
    stream.write_all(&batch).expect("one write");
    let mut reader = BufReader::new(stream);
    for i in 0..100 {
        let resp = read_response(&mut reader, false).expect("answer");
        assert_eq!(resp.json()["message"], format!("Hello, n{i}!"));
    }
}

#[test]
fn pipelined_bodies_slow_handlers_and_streams_keep_their_order() {
    let server = demo_server();
    let mut stream = connect(server.addr);
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\none\
              GET /sleep?ms=50 HTTP/1.1\r\nHost: t\r\n\r\n\
              POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n\
              GET /stream?n=2&delay_ms=10 HTTP/1.1\r\nHost: t\r\n\r\n\
              HEAD / HTTP/1.1\r\nHost: t\r\n\r\n\
              GET / HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .expect("one write");
    let mut reader = BufReader::new(stream);
    assert_eq!(read_response(&mut reader, false).expect("1").text(), "one");
    assert_eq!(
        read_response(&mut reader, false).expect("2").text(),
        "slept 50 ms\n"
    );
    assert_eq!(read_response(&mut reader, false).expect("3").text(), "two");
    assert_eq!(
        read_response(&mut reader, false).expect("4").text(),
        "chunk 0\nchunk 1\n"
    );
    assert_eq!(read_response(&mut reader, true).expect("5").status, 200);
    assert_eq!(
        read_response(&mut reader, false).expect("6").text(),
        "Hello, world!"
    );
}

#[test]
fn a_pipelined_batch_is_answered_in_one_write() {
    // Sixteen requests in one segment: all sixteen answers arrive together,
    // so one read of the client gets them all (they were one write).
    let server = demo_server();
    let mut stream = connect(server.addr);
    let batch = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n".repeat(16);
    stream.write_all(&batch).expect("send");
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let first = read_response(&mut reader, false).expect("answer");
    assert_eq!(first.text(), "Hello, world!");
    let buffered = reader.buffer().len();
    let one = b"Hello, world!".len();
    assert!(
        buffered >= 15 * one,
        "the other 15 came in the same read ({buffered} bytes)"
    );
}
