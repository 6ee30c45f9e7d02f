//! `examples/http_echo.rs --workers N` under signals: the connections
//! spread over the workers; SIGTERM during a load of streaming responses
//! and keep-alive requests finishes every response already started (to the
//! chunked terminator), closes idle keep-alive connections cleanly, marks
//! the responses written during the drain `connection: close`, refuses new
//! connections within a second and exits 0; the drain deadline and a
//! second signal cut the drain short. Each server is the demo's own `run`
//! in a child process (see `child_support`), on a free port.

mod child_support;
mod http_support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use child_support::{ChildProcess, is_child};
use evloop::http::{Request, Response};
use http_support::{connect, demo, read_response};

/// The child: the demo's `run` with these arguments, plus a `GET /worker`
/// route answering the index of the worker that served it. Exits 0 when
/// `run` returned `Ok`.
fn run_child(args: &[&str]) -> ! {
    let options = demo::Options::parse(args.iter().map(|arg| arg.to_string()))
        .expect("the test's arguments parse");
    let result = demo::run(options, |worker| {
        let index = worker.index();
        demo::app().get("/worker", move |_: Request| async move {
            Response::text(index.to_string())
        })
    });
    println!("RESULT={result:?}");
    std::process::exit(if result.is_ok() { 0 } else { 1 })
}

/// Starts the child for `test_name` and waits until `workers` workers
/// listen; their (shared) address.
fn start(test_name: &str, workers: usize) -> (ChildProcess, SocketAddr) {
    let child = ChildProcess::start(test_name);
    let mut addr = None;
    for _ in 0..workers {
        let at = child.expect_line("listening on http://", Duration::from_secs(30));
        addr = Some(at.parse().expect("an address"));
    }
    (child, addr.expect("at least one worker"))
}

/// Sends one request on `stream`.
fn send(stream: &mut impl Write, path: &str) {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").expect("send");
}

/// A keep-alive connection that has been answered once (`GET /`).
fn served_once(addr: SocketAddr) -> BufReader<TcpStream> {
    let mut stream = connect(addr);
    send(&mut stream, "/");
    let mut reader = BufReader::new(stream);
    let resp = read_response(&mut reader, false).expect("served");
    assert_eq!(resp.text(), "Hello, world!");
    assert_eq!(
        resp.header("connection"),
        None,
        "kept alive before the drain"
    );
    reader
}

/// One line, CRLF stripped.
fn line(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).expect("no reset");
    line.trim_end_matches(['\r', '\n']).to_string()
}

/// Reads a response head; its header lines, names lowercased.
fn read_head(reader: &mut impl BufRead) -> Vec<String> {
    assert_eq!(line(reader), "HTTP/1.1 200 OK");
    std::iter::from_fn(|| Some(line(reader)).filter(|header| !header.is_empty()))
        .map(|header| header.to_ascii_lowercase())
        .collect()
}

/// Reads a chunked body to its terminator (`0\r\n\r\n`); the data.
fn read_chunked(reader: &mut impl BufRead) -> String {
    let mut body = Vec::new();
    loop {
        let size_line = line(reader);
        let size = usize::from_str_radix(&size_line, 16)
            .unwrap_or_else(|_| panic!("a chunk size, not {size_line:?} (cut short?)"));
        if size == 0 {
            assert_eq!(line(reader), "", "the chunked terminator");
            return String::from_utf8(body).expect("text chunks");
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).expect("no reset");
        assert_eq!(line(reader), "", "CRLF after chunk data");
    }
}

/// The server closed the connection cleanly: end of stream, not a reset.
fn assert_clean_close(reader: &mut impl Read) {
    let mut byte = [0u8; 1];
    match reader.read(&mut byte) {
        Ok(0) => {}
        Ok(_) => panic!("more bytes after the last response"),
        Err(error) => panic!("not a clean close: {error}"),
    }
}

#[test]
fn connections_spread_over_the_workers_under_load() {
    const NAME: &str = "connections_spread_over_the_workers_under_load";
    if is_child(NAME) {
        run_child(&["--addr", "127.0.0.1:0", "--workers", "2"]);
    }
    let (child, addr) = start(NAME, 2);
    // Four clients at once, each opening connections (each from its own
    // source port, hashed by the kernel over the two listeners) and
    // sending a few keep-alive requests on each.
    let clients: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut seen = HashSet::new();
                for _ in 0..16 {
                    let mut reader = BufReader::new(connect(addr));
                    for _ in 0..4 {
                        send(reader.get_mut(), "/worker");
                        let resp = read_response(&mut reader, false).expect("served");
                        seen.insert(resp.text());
                    }
                }
                seen
            })
        })
        .collect();
    let mut workers = HashSet::new();
    for client in clients {
        workers.extend(client.join().expect("the client does not panic"));
    }
    let expected: HashSet<String> = ["0", "1"].map(String::from).into();
    assert_eq!(workers, expected, "both workers serve");
    child.signal(libc::SIGTERM);
    let (status, stderr) = child.wait(Duration::from_secs(15));
    assert!(status.success(), "exit {status}; stderr:\n{stderr}");
}

#[test]
fn sigterm_under_load_finishes_every_started_response_and_exits_0() {
    const NAME: &str = "sigterm_under_load_finishes_every_started_response_and_exits_0";
    const CHUNKS: usize = 30; // 30 x 50 ms: the streams outlive the signal
    if is_child(NAME) {
        run_child(&[
            "--addr",
            "127.0.0.1:0",
            "--workers",
            "2",
            "--drain-timeout",
            "20",
        ]);
    }
    let (child, addr) = start(NAME, 2);
    // Streams whose responses have started (the head is in).
    let mut streams: Vec<BufReader<TcpStream>> = (0..16)
        .map(|_| {
            let mut reader = BufReader::new(connect(addr));
            send(reader.get_mut(), &format!("/stream?n={CHUNKS}&delay_ms=50"));
            let head = read_head(&mut reader);
            assert!(head.contains(&"transfer-encoding: chunked".to_string()));
            reader
        })
        .collect();
    // Keep-alive connections with a second request in flight.
    let mut busy: Vec<BufReader<TcpStream>> = (0..8)
        .map(|_| {
            let mut reader = served_once(addr);
            send(reader.get_mut(), "/sleep?ms=1000");
            reader
        })
        .collect();
    // Keep-alive connections idle between requests.
    let mut idle: Vec<BufReader<TcpStream>> = (0..8).map(|_| served_once(addr)).collect();
    std::thread::sleep(Duration::from_millis(100));

    let signalled = Instant::now();
    child.signal(libc::SIGTERM);

    // New connections are refused soon after the signal.
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Err(error) if error.kind() == ErrorKind::ConnectionRefused => break,
            _ => {}
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(1),
            "new connections still accepted a second after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Idle keep-alive connections are closed, cleanly.
    for reader in &mut idle {
        assert_clean_close(reader);
    }
    // The requests in flight are answered, with `connection: close`, and
    // their connections then closed.
    for reader in &mut busy {
        let resp = read_response(reader, false).expect("the request in flight is answered");
        assert_eq!(resp.text(), "slept 1000 ms\n");
        assert_eq!(resp.header("connection"), Some("close"));
        assert_clean_close(reader);
    }
    // Every stream completes whole: every chunk, then the terminator.
    let whole: String = (0..CHUNKS).map(|i| format!("chunk {i}\n")).collect();
    for reader in &mut streams {
        assert_eq!(read_chunked(reader), whole, "a stream was cut short");
        assert_clean_close(reader);
    }
    let (status, stderr) = child.wait(Duration::from_secs(15));
    assert!(status.success(), "exit {status}; stderr:\n{stderr}");
}

#[test]
fn the_drain_deadline_cancels_a_request_that_never_finishes() {
    const NAME: &str = "the_drain_deadline_cancels_a_request_that_never_finishes";
    if is_child(NAME) {
        run_child(&[
            "--addr",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--drain-timeout",
            "1",
        ]);
    }
    let (child, addr) = start(NAME, 1);
    let mut reader = served_once(addr);
    send(reader.get_mut(), "/sleep?ms=60000");
    std::thread::sleep(Duration::from_millis(200));
    let signalled = Instant::now();
    child.signal(libc::SIGTERM);
    // The cancelled request is not answered: its connection just ends.
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    assert!(
        rest.is_empty(),
        "an answer to a cancelled request: {rest:?}"
    );
    let (status, stderr) = child.wait(Duration::from_secs(15));
    let took = signalled.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "cancelled after {took:?}, before the deadline"
    );
    assert!(
        took < Duration::from_secs(10),
        "the deadline was not enforced"
    );
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains("drain deadline"), "stderr:\n{stderr}");
}

#[test]
fn a_second_signal_stops_at_once() {
    const NAME: &str = "a_second_signal_stops_at_once";
    if is_child(NAME) {
        run_child(&[
            "--addr",
            "127.0.0.1:0",
            "--workers",
            "2",
            "--drain-timeout",
            "60",
        ]);
    }
    second_signal_stops_at_once(NAME, 2);
}

#[test]
fn a_second_signal_stops_a_single_worker_at_once() {
    // One worker runs on the main thread, its loop doing the supervisor's
    // work: the same contract.
    const NAME: &str = "a_second_signal_stops_a_single_worker_at_once";
    if is_child(NAME) {
        run_child(&[
            "--addr",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--drain-timeout",
            "60",
        ]);
    }
    second_signal_stops_at_once(NAME, 1);
}

/// SIGTERM during a request that never ends, then SIGINT: the child exits
/// at once, with 1, and the request is never answered.
fn second_signal_stops_at_once(name: &str, workers: usize) {
    let (child, addr) = start(name, workers);
    let mut reader = served_once(addr);
    send(reader.get_mut(), "/sleep?ms=60000");
    std::thread::sleep(Duration::from_millis(200));
    child.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(200));
    let second = Instant::now();
    child.signal(libc::SIGINT);
    let (status, stderr) = child.wait(Duration::from_secs(10));
    assert!(second.elapsed() < Duration::from_secs(5), "not at once");
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains("second signal"), "stderr:\n{stderr}");
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    assert!(
        rest.is_empty(),
        "an answer to a cancelled request: {rest:?}"
    );
}

#[test]
fn bad_command_lines_are_refused_with_the_usage() {
    let parse = |args: &[&str]| demo::Options::parse(args.iter().map(|arg| arg.to_string()));
    for args in [
        &["--workers", "0"][..],
        &["--workers", "two"],
        &["--workers"],
        &["--drain-timeout", "-1"],
        &["--drain-timeout", "1e40"],
        &["--drain-timeout", "NaN"],
        &["--addr"],
        &["--port", "80"],
        &["extra"],
    ] {
        let error = parse(args)
            .err()
            .unwrap_or_else(|| panic!("{args:?} accepted"));
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{args:?}");
        assert!(error.to_string().contains("usage: http_echo"), "{error}");
    }
    let options = parse(&[
        "--workers",
        "3",
        "--drain-timeout",
        "0.5",
        "--addr",
        "127.0.0.1:1",
    ])
    .expect("good arguments");
    assert_eq!(options.workers, 3);
    assert_eq!(options.drain_timeout, Duration::from_millis(500));
    assert_eq!(options.addr, "127.0.0.1:1");
    let defaults = parse(&[]).expect("no arguments");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(defaults.workers, cores, "one worker per core by default");
    assert_eq!(defaults.addr, "127.0.0.1:8080");
    assert_eq!(defaults.drain_timeout, Duration::from_secs(30));
}
