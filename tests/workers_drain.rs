//! Workers under signals: connections spread over the workers; SIGTERM
//! during a load of streaming responses drains every accepted connection
//! to its end with nothing reset, refuses new connections within a second
//! and exits 0; the drain deadline and a second signal cut the drain
//! short. Each server runs in a child process (see `child_support`).

mod child_support;
mod workers_support;

use std::collections::HashSet;
use std::io::{ErrorKind, Read};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use child_support::{ChildProcess, is_child};
use evloop::workers::Workers;
use workers_support::{CHUNK, Client, run_server};

/// Starts the child server and waits until `workers` workers listen.
fn start(test_name: &str, workers: usize) -> (ChildProcess, SocketAddr) {
    let child = ChildProcess::start(test_name);
    let port: u16 = child
        .expect_line("PORT=", Duration::from_secs(20))
        .parse()
        .expect("a port number");
    for _ in 0..workers {
        child.expect_line("LISTENING", Duration::from_secs(20));
    }
    (child, SocketAddr::from(([127, 0, 0, 1], port)))
}

#[test]
fn connections_spread_over_the_workers() {
    const NAME: &str = "connections_spread_over_the_workers";
    if is_child(NAME) {
        run_server(Workers::new().count(2));
    }
    let (child, addr) = start(NAME, 2);
    // Many connections, each from its own source port: the kernel hashes
    // them over the two listeners of the port.
    let clients: Vec<Client> = (0..64)
        .map(|_| Client::connect(addr).expect("connect"))
        .collect();
    let workers: HashSet<u8> = clients.iter().map(|client| client.worker).collect();
    assert_eq!(workers, HashSet::from([0, 1]), "every worker accepts");
    drop(clients);
    child.signal(libc::SIGTERM);
    let (status, stderr) = child.wait(Duration::from_secs(15));
    assert!(status.success(), "exit {status}; stderr:\n{stderr}");
}

#[test]
fn sigterm_during_load_drains_every_accepted_connection() {
    const NAME: &str = "sigterm_during_load_drains_every_accepted_connection";
    const CHUNKS: usize = 40; // 40 x 20 ms: the responses outlive the signal
    if is_child(NAME) {
        run_server(
            Workers::new()
                .count(2)
                .drain_timeout(Duration::from_secs(20)),
        );
    }
    let (child, addr) = start(NAME, 2);
    // Streams in flight: their responses have started.
    let mut streaming: Vec<Client> = (0..24)
        .map(|_| {
            let mut client = Client::connect(addr).expect("connect");
            client.send(&format!("stream {CHUNKS}")).expect("send");
            let mut first = [0u8; 1];
            client
                .stream
                .read_exact(&mut first)
                .expect("the response starts");
            client
        })
        .collect();
    // Accepted but quiet: they ask only after the signal.
    let mut quiet: Vec<Client> = (0..8)
        .map(|_| Client::connect(addr).expect("connect"))
        .collect();
    // Completed by the kernel, maybe not yet accepted: a bare connect.
    let queued: Vec<std::net::TcpStream> = (0..8)
        .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
        .collect();

    let signalled = Instant::now();
    child.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(50));
    for client in &mut quiet {
        client
            .send("stream 5")
            .expect("a quiet client still gets served");
    }
    let mut queued: Vec<Client> = queued
        .into_iter()
        .map(|mut stream| {
            use std::io::Write;
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            let mut index = [0u8; 1];
            stream
                .read_exact(&mut index)
                .expect("a queued connection is accepted");
            stream.write_all(b"stream 5\n").expect("send");
            Client {
                stream,
                worker: index[0],
            }
        })
        .collect();

    // New connections are refused soon after the signal.
    loop {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Err(error) if error.kind() == ErrorKind::ConnectionRefused => break,
            _ => {}
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(1),
            "new connections still accepted a second after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Every response completes whole; nothing is reset.
    for client in &mut streaming {
        let rest = client.read_to_end().expect("no reset");
        assert_eq!(rest + 1, CHUNKS * CHUNK, "a stream was cut short");
    }
    for client in quiet.iter_mut().chain(queued.iter_mut()) {
        assert_eq!(client.read_to_end().expect("no reset"), 5 * CHUNK);
    }
    drop((streaming, quiet, queued));
    let (status, stderr) = child.wait(Duration::from_secs(15));
    assert!(status.success(), "exit {status}; stderr:\n{stderr}");
}

#[test]
fn the_drain_deadline_cancels_a_connection_that_never_finishes() {
    const NAME: &str = "the_drain_deadline_cancels_a_connection_that_never_finishes";
    if is_child(NAME) {
        run_server(
            Workers::new()
                .count(1)
                .drain_timeout(Duration::from_millis(300)),
        );
    }
    let (child, addr) = start(NAME, 1);
    let mut client = Client::connect(addr).expect("connect");
    client.send("hang").expect("send");
    let mut ok = [0u8; 3];
    client
        .stream
        .read_exact(&mut ok)
        .expect("the request is in flight");
    let signalled = Instant::now();
    child.signal(libc::SIGTERM);
    // The cancelled connection is closed, not left hanging.
    let mut rest = Vec::new();
    let _ = client.stream.read_to_end(&mut rest);
    let (status, stderr) = child.wait(Duration::from_secs(10));
    let took = signalled.elapsed();
    assert!(
        took >= Duration::from_millis(250),
        "cancelled after {took:?}, before the deadline"
    );
    assert!(
        took < Duration::from_secs(8),
        "the deadline was not enforced: {took:?}"
    );
    assert_eq!(
        status.code(),
        Some(1),
        "a cut-short drain is an error; stderr:\n{stderr}"
    );
    assert!(stderr.contains("drain deadline"), "stderr:\n{stderr}");
}

#[test]
fn a_second_signal_stops_at_once() {
    const NAME: &str = "a_second_signal_stops_at_once";
    if is_child(NAME) {
        run_server(
            Workers::new()
                .count(2)
                .drain_timeout(Duration::from_secs(60)),
        );
    }
    let (child, addr) = start(NAME, 2);
    let mut client = Client::connect(addr).expect("connect");
    client.send("hang").expect("send");
    let mut ok = [0u8; 3];
    client
        .stream
        .read_exact(&mut ok)
        .expect("the request is in flight");
    child.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(200));
    let second = Instant::now();
    child.signal(libc::SIGINT);
    let (status, stderr) = child.wait(Duration::from_secs(10));
    assert!(second.elapsed() < Duration::from_secs(5), "not at once");
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains("second signal"), "stderr:\n{stderr}");
}

#[test]
fn connections_queued_in_the_kernel_at_sigterm_are_served_not_reset() {
    const NAME: &str = "connections_queued_in_the_kernel_at_sigterm_are_served_not_reset";
    if is_child(NAME) {
        run_server(
            Workers::new()
                .count(1)
                .drain_timeout(Duration::from_secs(20)),
        );
    }
    let (child, addr) = start(NAME, 1);
    // Make the worker stop accepting for a while after its next accept.
    let mut pauser = Client::connect(addr).expect("connect");
    pauser.send("pause").expect("send");
    let mut ok = [0u8; 3];
    pauser
        .stream
        .read_exact(&mut ok)
        .expect("pause acknowledged");
    let _last_accepted = Client::connect(addr).expect("connect"); // now it sleeps
    // These complete their handshakes but sit in the accept queue.
    let started = Instant::now();
    let queued: Vec<std::net::TcpStream> = (0..10)
        .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
        .collect();
    child.signal(libc::SIGTERM);
    assert!(
        started.elapsed() < workers_support::PAUSE / 2,
        "the machine is too slow for this test's pause"
    );
    drop((pauser, _last_accepted));
    // After the pause the worker sees the shutdown, drains its queue and
    // serves every queued connection to the end.
    for mut stream in queued {
        use std::io::Write;
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let mut index = [0u8; 1];
        stream
            .read_exact(&mut index)
            .expect("a queued connection is accepted, not reset");
        stream.write_all(b"stream 3\n").expect("send");
        let mut client = Client {
            stream,
            worker: index[0],
        };
        assert_eq!(client.read_to_end().expect("no reset"), 3 * CHUNK);
    }
    child.expect_line("DRAINING 0", Duration::from_secs(5));
    let (status, stderr) = child.wait(Duration::from_secs(15));
    assert!(status.success(), "exit {status}; stderr:\n{stderr}");
}
