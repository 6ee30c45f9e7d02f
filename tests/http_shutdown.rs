//! Graceful shutdown: `serve_with_shutdown` stops accepting, serves what
//! the kernel queued, finishes in-flight requests with `connection: close`,
//! closes idle connections, refuses new ones, and returns when all are
//! done.

mod http_support;

use std::io::{BufReader, Write};
use std::time::{Duration, Instant};

use evloop::http::Server;
use http_support::{closed, connect, demo, eventually, read_response, start};

#[test]
fn shutdown_closes_idle_finishes_in_flight_and_returns() {
    let mut server = start(|| Server::new(demo::app()));
    let addr = server.addr;

    let mut idle = connect(addr);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut idle_reader = BufReader::new(idle);
    read_response(&mut idle_reader, false).expect("served");

    let mut busy = connect(addr);
    busy.write_all(b"GET /sleep?ms=1500 HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut streaming = connect(addr);
    streaming
        .write_all(b"GET /stream?n=5&delay_ms=60 HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    std::thread::sleep(Duration::from_millis(100));

    let begun = Instant::now();
    server.begin_shutdown();
    assert!(closed(&mut idle_reader), "the idle connection is closed");
    assert!(
        begun.elapsed() < Duration::from_millis(1000),
        "at once, not after the busy request"
    );

    // The listener is closed while the busy request still runs: a new
    // client is refused, not queued where nobody accepts it.
    assert!(
        eventually(Duration::from_secs(1), || std::net::TcpStream::connect(
            addr
        )
        .is_err()),
        "new connections refused during the drain"
    );

    let mut busy_reader = BufReader::new(busy);
    let resp = read_response(&mut busy_reader, false).expect("the in-flight request finishes");
    assert_eq!(resp.text(), "slept 1500 ms\n");
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(closed(&mut busy_reader));

    let resp = read_response(&mut BufReader::new(streaming), false).expect("the stream finishes");
    assert_eq!(resp.text().lines().count(), 5);

    server
        .join(Duration::from_secs(10))
        .expect("serve returned Ok");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the listener is closed"
    );
}

#[test]
fn connections_queued_before_shutdown_are_served() {
    // With a cap of one, a second client waits in the kernel's backlog;
    // shutdown must still accept and answer it.
    let mut server = start(|| Server::new(demo::app()).max_connections(1));
    let mut first = connect(server.addr);
    first
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut first_reader = BufReader::new(first);
    read_response(&mut first_reader, false).expect("served");

    let mut queued = connect(server.addr);
    queued
        .write_all(b"GET /hello/late HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    std::thread::sleep(Duration::from_millis(100));

    server.begin_shutdown();
    let resp =
        read_response(&mut BufReader::new(queued), false).expect("the queued client is served");
    assert_eq!(resp.json()["message"], "Hello, late!");
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(closed(&mut first_reader));
    server
        .join(Duration::from_secs(10))
        .expect("serve returned Ok");
}

#[test]
fn dropping_the_serve_future_cancels_what_remains() {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        evloop::block_on(async {
            let listener = evloop::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            addr_tx
                .send(listener.local_addr().expect("addr"))
                .expect("send");
            let server = Server::new(demo::app());
            let shutdown = evloop::time::sleep(Duration::from_millis(200));
            // The drain deadline is the caller's: 300 ms, then drop.
            let drained = evloop::time::timeout(
                Duration::from_millis(500),
                server.serve_with_shutdown(listener, shutdown),
            )
            .await;
            assert!(drained.is_err(), "the 5 s request kept the drain going");
            // Give the aborted tasks a turn to be dropped.
            evloop::time::sleep(Duration::from_millis(50)).await;
        })
    });
    let addr = addr_rx.recv().expect("started");
    let mut slow = connect(addr);
    slow.write_all(b"GET /sleep?ms=5000 HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let started = Instant::now();
    assert!(closed(&mut slow), "the connection is dropped, not answered");
    assert!(started.elapsed() < Duration::from_secs(3));
    thread.join().expect("no panic");
}
