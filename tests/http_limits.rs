//! Limits and timeouts, configured small so the tests stay fast.

mod http_support;

use std::io::{BufReader, Read, Write};
use std::time::{Duration, Instant};

use evloop::http::Server;
use http_support::{closed, connect, demo, demo_server, read_response, roundtrip, start};

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
    let server = start(|| Server::new(demo::app()).keep_alive_timeout(Duration::from_millis(200)));
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut reader = BufReader::new(stream);
    read_response(&mut reader, false).expect("answer");
    let idle_from = Instant::now();
    assert!(closed(&mut reader), "closed silently");
    let idle = idle_from.elapsed();
    assert!(
        idle >= Duration::from_millis(150),
        "not before the timeout: {idle:?}"
    );
    assert!(idle < Duration::from_secs(5), "soon after it: {idle:?}");
}

#[test]
fn a_slow_head_gets_408_and_a_close() {
    let server = start(|| Server::new(demo::app()).header_read_timeout(Duration::from_millis(200)));
    let mut stream = connect(server.addr);
    let started = Instant::now();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n")
        .expect("half a head");
    let mut all = Vec::new();
    let _ = stream.read_to_end(&mut all);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(
        all.starts_with(b"HTTP/1.1 408 "),
        "{}",
        String::from_utf8_lossy(&all)
    );
}

#[test]
fn a_trickled_head_cannot_reset_the_head_timeout() {
    // Slowloris: one byte at a time, each within the idle time, never a whole head.
    let server = start(|| Server::new(demo::app()).header_read_timeout(Duration::from_millis(300)));
    let mut stream = connect(server.addr);
    let started = Instant::now();
    let mut answered = false;
    for byte in b"GET / HTTP/1.1\r\nX-Slow: "
        .iter()
        .chain([b'a'; 200].iter())
    {
        if stream.write_all(&[*byte]).is_err() {
            answered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        if started.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    let mut all = Vec::new();
    let _ = stream.read_to_end(&mut all);
    assert!(
        answered || all.starts_with(b"HTTP/1.1 408 "),
        "{}",
        String::from_utf8_lossy(&all)
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_long_request_line_is_414() {
    let server = demo_server();
    let long = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000));
    let resp = roundtrip(server.addr, long.as_bytes());
    assert_eq!(resp.status, 414);
    assert_eq!(resp.header("connection"), Some("close"));
    // Also when the line has not ended yet.
    let mut stream = connect(server.addr);
    stream
        .write_all(format!("GET /{}", "a".repeat(9000)).as_bytes())
        .expect("send");
    let resp = read_response(&mut BufReader::new(stream), false).expect("answer");
    assert_eq!(resp.status, 414);
}

#[test]
fn a_large_head_or_too_many_headers_is_431() {
    let server = demo_server();
    let big = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "b".repeat(17 * 1024)
    );
    assert_eq!(roundtrip(server.addr, big.as_bytes()).status, 431);
    let mut many = String::from("GET / HTTP/1.1\r\nHost: t\r\n");
    for i in 0..101 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(roundtrip(server.addr, many.as_bytes()).status, 431);
    let mut hundred = String::from("GET / HTTP/1.1\r\n");
    for i in 0..99 {
        hundred.push_str(&format!("X-H{i}: v\r\n"));
    }
    hundred.push_str("Host: t\r\n\r\n");
    assert_eq!(
        roundtrip(server.addr, hundred.as_bytes()).status,
        200,
        "100 headers are fine"
    );
}

#[test]
fn a_declared_body_over_the_limit_is_413_at_once() {
    let server = start(|| Server::new(demo::app()).max_body_size(1000));
    let started = Instant::now();
    // The body is never sent: the answer must not wait for it.
    let resp = roundtrip(
        server.addr,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n",
    );
    assert_eq!(resp.status, 413);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(started.elapsed() < Duration::from_secs(2));
    let raw = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n{}",
        "z".repeat(1000)
    );
    let resp = roundtrip(server.addr, raw.as_bytes());
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body.len(), 1000);
}

#[test]
fn a_chunked_body_over_the_limit_is_413() {
    let server = start(|| Server::new(demo::app()).max_body_size(1000));
    let raw = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3E9\r\n{}\r\n0\r\n\r\n",
        "x".repeat(1001)
    );
    let resp = roundtrip(server.addr, raw.as_bytes());
    assert_eq!(resp.status, 413);
    let raw = format!(
        "POST /anything HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1F4\r\n{0}\r\n1F5\r\n{1}\r\n0\r\n\r\n",
        "x".repeat(500),
        "y".repeat(501)
    );
    assert_eq!(roundtrip(server.addr, raw.as_bytes()).status, 413);
}

#[test]
fn past_the_connection_cap_accepts_wait() {
    let server = start(|| Server::new(demo::app()).max_connections(1));
    let mut first = connect(server.addr);
    first
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut first_reader = BufReader::new(first.try_clone().expect("clone"));
    read_response(&mut first_reader, false).expect("first served");

    let mut second = connect(server.addr); // the kernel completes the handshake
    second
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    second
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut byte = [0u8; 1];
    assert!(
        second.read(&mut byte).is_err(),
        "not served while the first is open"
    );

    drop(first_reader);
    drop(first);
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let resp = read_response(&mut BufReader::new(second), false).expect("served after");
    assert_eq!(resp.status, 200);
}

#[test]
fn a_body_that_stops_arriving_gets_408() {
    let server = start(|| Server::new(demo::app()).header_read_timeout(Duration::from_millis(200)));
    let started = Instant::now();
    let all = http_support::send_and_read_to_close(
        server.addr,
        b"POST /anything HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc",
    );
    assert!(
        all.starts_with(b"HTTP/1.1 408 "),
        "{}",
        String::from_utf8_lossy(&all)
    );
    // A streaming response had already begun: the connection closes short.
    let all = http_support::send_and_read_to_close(
        server.addr,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc",
    );
    assert!(
        all.ends_with(b"\r\n\r\nabc"),
        "{}",
        String::from_utf8_lossy(&all)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_client_that_never_reads_is_dropped_after_the_write_timeout() {
    let server = start(|| Server::new(demo::app()).write_timeout(Duration::from_millis(300)));
    std::thread::sleep(Duration::from_millis(50));
    let baseline = server.live();
    let stream = connect(server.addr);
    socket2::SockRef::from(&stream)
        .set_recv_buffer_size(4096)
        .expect("small receive buffer");
    let mut writer = stream.try_clone().expect("clone");
    // Echo 16 MiB back to a client that reads nothing: the server's writes
    // fill both socket buffers and then wait.
    let sender = std::thread::spawn(move || {
        let size = 16 * 1024 * 1024 - 1;
        let head = format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\n\r\n");
        let _ = writer.write_all(head.as_bytes());
        let block = vec![b'x'; 64 * 1024];
        let mut left = size;
        while left > 0 {
            let n = left.min(block.len());
            if writer.write_all(&block[..n]).is_err() {
                return true; // the server dropped the connection
            }
            left -= n;
        }
        false
    });
    assert!(
        http_support::eventually(Duration::from_secs(8), || sender.is_finished()),
        "the server stopped waiting for the client"
    );
    assert!(
        sender.join().expect("no panic"),
        "the connection was dropped"
    );
    assert!(http_support::eventually(Duration::from_secs(3), || server
        .live()
        == baseline));
    drop(stream);
}
