//! Every route of the demo (`examples/http_echo.rs`), over raw sockets.

mod http_support;

use std::io::{BufReader, Read, Write};
use std::time::{Duration, Instant};

use http_support::{connect, demo_server, eventually, read_response, roundtrip};

#[test]
fn root_says_hello_and_head_has_no_body() {
    let server = demo_server();
    let resp = roundtrip(server.addr, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "Hello, world!");
    assert_eq!(resp.header("content-type"), Some("text/plain"));
    assert!(resp.header("date").is_some_and(|d| d.ends_with(" GMT")));

    let mut stream = connect(server.addr);
    stream
        .write_all(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut reader = BufReader::new(stream);
    let head = read_response(&mut reader, true).expect("HEAD answer");
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some("13"),
        "same headers as GET"
    );
    // The next response follows at once: HEAD sent no body bytes.
    let get = read_response(&mut reader, false).expect("GET answer");
    assert_eq!(get.text(), "Hello, world!");
}

#[test]
fn root_refuses_other_methods_with_allow() {
    let server = demo_server();
    let resp = roundtrip(server.addr, b"DELETE / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD"));
}

#[test]
fn echo_returns_the_body_and_content_type() {
    let server = demo_server();
    for method in ["POST", "PUT"] {
        let raw = format!(
            "{method} /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-test\r\nContent-Length: 11\r\n\r\nhello world"
        );
        let resp = roundtrip(server.addr, raw.as_bytes());
        assert_eq!(resp.status, 200);
        assert_eq!(resp.text(), "hello world");
        assert_eq!(resp.header("content-type"), Some("application/x-test"));
        assert_eq!(resp.header("content-length"), Some("11"));
    }
    let resp = roundtrip(server.addr, b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("POST, PUT"));
}

#[test]
fn anything_reports_the_request_as_json() {
    let server = demo_server();
    let raw = b"PATCH /anything/a/b?x=1&name=J%C3%BCrgen+K HTTP/1.1\r\nHost: t\r\nX-Thing: yes\r\nContent-Length: 4\r\n\r\nbody";
    let resp = roundtrip(server.addr, raw);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let json = resp.json();
    assert_eq!(json["method"], "PATCH");
    assert_eq!(json["path"], "/anything/a/b");
    assert_eq!(json["query"]["x"], "1");
    assert_eq!(json["query"]["name"], "Jürgen K");
    assert_eq!(json["headers"]["X-Thing"], "yes");
    assert_eq!(json["body"], "body");

    let resp = roundtrip(server.addr, b"GET /anything HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(resp.json()["path"], "/anything");
}

#[test]
fn hello_name_greets_with_the_query_greeting() {
    let server = demo_server();
    let resp = roundtrip(
        server.addr,
        b"GET /hello/ann?greeting=Hi HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(resp.json(), serde_json::json!({"message": "Hi, ann!"}));
    let resp = roundtrip(
        server.addr,
        b"GET /hello/J%C3%BCrgen HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(resp.json()["message"], "Hello, Jürgen!");
}

#[test]
fn stream_sends_n_chunks_apart() {
    let server = demo_server();
    let started = Instant::now();
    let resp = roundtrip(
        server.addr,
        b"GET /stream?n=4&delay_ms=30 HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resp.text(), "chunk 0\nchunk 1\nchunk 2\nchunk 3\n");
    assert!(
        started.elapsed() >= Duration::from_millis(90),
        "delays are on a timer"
    );
}

#[test]
fn a_client_leaving_a_stream_stops_its_producer() {
    let server = demo_server();
    // Let the idle loop settle to its baseline (the monitor task).
    std::thread::sleep(Duration::from_millis(50));
    let baseline = server.live();
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET /stream?n=1000000&delay_ms=10 HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut first = [0u8; 64];
    let n = stream.read(&mut first).expect("the stream starts");
    assert!(n > 0);
    assert!(
        eventually(Duration::from_secs(2), || server.live() >= baseline + 2),
        "connection and producer tasks run"
    );
    drop(stream);
    assert!(
        eventually(Duration::from_secs(3), || server.live() == baseline),
        "connection and producer end: live {} baseline {baseline}",
        server.live()
    );
}

#[test]
fn sleep_waits_on_a_timer() {
    let server = demo_server();
    let started = Instant::now();
    let resp = roundtrip(
        server.addr,
        b"GET /sleep?ms=100 HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(resp.text(), "slept 100 ms\n");
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[test]
fn blocking_does_not_stall_the_loop() {
    let server = demo_server();
    let mut slow = connect(server.addr);
    slow.write_all(b"GET /blocking?ms=1500 HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let resp = roundtrip(server.addr, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(resp.status, 200);
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "/ answered while /blocking sleeps: {:?}",
        started.elapsed()
    );
    let resp = read_response(&mut BufReader::new(slow), false).expect("blocking answer");
    assert_eq!(resp.text(), "blocked 1500 ms on the pool\n");
}

#[test]
fn bad_numbers_are_400_and_unknown_paths_404() {
    let server = demo_server();
    for target in [
        "/sleep?ms=x",
        "/blocking?ms=-1",
        "/stream?n=1e3",
        "/sleep?ms=99999999",
    ] {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(
            roundtrip(server.addr, raw.as_bytes()).status,
            400,
            "{target}"
        );
    }
    for target in ["/nope", "/hello", "/hello/", "/echo/x", "/anythingelse"] {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(
            roundtrip(server.addr, raw.as_bytes()).status,
            404,
            "{target}"
        );
    }
}
