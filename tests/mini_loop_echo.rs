//! The mini loop of `docs/00-mini-loop.md` (`examples/mini_loop.rs`) really
//! is an event loop: it echoes, serves two clients at once on one thread,
//! and exits when its last connection closes.

#[path = "../examples/mini_loop.rs"]
#[allow(dead_code)] // its `main` is not called here
mod mini_loop;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Generous: the machine may be busy, but an echo takes microseconds.
const PATIENCE: Duration = Duration::from_secs(20);

/// Starts the mini loop on a thread for at most `max` connections; the
/// receiver yields its result when it returns.
fn start(max: usize) -> (std::net::SocketAddr, mpsc::Receiver<io::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
    let addr = listener.local_addr().expect("a bound address");
    let (done, finished) = mpsc::channel();
    thread::spawn(move || done.send(mini_loop::run(listener, Some(max))));
    (addr, finished)
}

fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to the mini loop");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("set a timeout");
    stream
}

fn round_trip(stream: &mut TcpStream, message: &[u8]) -> Vec<u8> {
    stream.write_all(message).expect("write");
    let mut echoed = vec![0; message.len()];
    stream.read_exact(&mut echoed).expect("the echo, in time");
    echoed
}

#[test]
fn it_echoes_and_exits_when_its_one_connection_closes() {
    let (addr, finished) = start(1);
    let mut client = connect(addr);
    assert_eq!(round_trip(&mut client, b"hello, loop\n"), b"hello, loop\n");
    // Bigger than one 4 KiB read: the echo task reads and writes in turns.
    // Small enough to sit in the socket buffers while this thread, which
    // writes it all before reading, is not yet reading.
    let big: Vec<u8> = (0..30_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(round_trip(&mut client, &big), big);
    drop(client);
    let result = finished
        .recv_timeout(PATIENCE)
        .expect("the loop ends once no task is left");
    result.expect("the loop ran without error");
}

#[test]
fn one_thread_serves_two_clients_at_once() {
    let (addr, finished) = start(2);
    let mut first = connect(addr);
    let mut second = connect(addr);
    // The first client is idle; the second is still served: nothing blocks
    // the loop's only thread while it waits for the first.
    assert_eq!(round_trip(&mut second, b"second"), b"second");
    assert_eq!(round_trip(&mut first, b"first"), b"first");
    assert_eq!(round_trip(&mut second, b"again"), b"again");
    drop((first, second));
    let result = finished.recv_timeout(PATIENCE).expect("the loop ends");
    result.expect("the loop ran without error");
}

#[test]
fn its_arguments_are_an_address_and_once() {
    let args = |list: &[&str]| mini_loop::parse_args(list.iter().map(|s| s.to_string()));
    assert_eq!(
        args(&[]),
        Ok(("127.0.0.1:7070".parse().expect("valid"), None))
    );
    assert_eq!(
        args(&["127.0.0.1:9000", "--once"]),
        Ok(("127.0.0.1:9000".parse().expect("valid"), Some(1)))
    );
    let error = args(&["--twice"]).expect_err("an unknown flag");
    assert!(
        error.contains("--twice") && error.contains("usage"),
        "{error}"
    );
    let error = args(&["localhost"]).expect_err("not a socket address");
    assert!(error.contains("bad address"), "{error}");
}
