//! A worker whose function panics is reported and restarted, within its
//! budget of restarts per minute, and the other workers keep serving.
//! The server runs in a child process (see `child_support`).

mod child_support;
mod workers_support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use child_support::{ChildProcess, is_child};
use evloop::workers::Workers;
use workers_support::{Client, run_server};

/// Connects until a connection lands on `worker`.
fn client_of(addr: SocketAddr, worker: u8) -> Client {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // A worker being restarted has no listener yet: refused, retry.
        if let Ok(client) = Client::connect(addr)
            && client.worker == worker
        {
            return client;
        }
        assert!(
            Instant::now() < deadline,
            "no connection reached worker {worker}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn echoes(client: &mut Client) -> bool {
    let mut back = [0u8; 5];
    client.stream.write_all(b"hello").is_ok()
        && client.stream.read_exact(&mut back).is_ok()
        && &back == b"hello"
}

#[test]
fn a_panicking_worker_is_restarted_and_the_others_keep_serving() {
    const NAME: &str = "a_panicking_worker_is_restarted_and_the_others_keep_serving";
    if is_child(NAME) {
        run_server(Workers::new().count(2).max_restarts_per_minute(1));
    }
    let child = ChildProcess::start(NAME);
    let port: u16 = child
        .expect_line("PORT=", Duration::from_secs(20))
        .parse()
        .expect("port");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    child.expect_line("LISTENING", Duration::from_secs(20));
    child.expect_line("LISTENING", Duration::from_secs(20));

    // A conversation with worker 1 that must survive worker 0's panics.
    let mut survivor = client_of(addr, 1);
    survivor.send("echo").expect("send");
    assert!(echoes(&mut survivor));

    // Worker 0 panics; it is restarted (it listens again).
    client_of(addr, 0).send("panic").expect("send");
    child.expect_line("LISTENING 0", Duration::from_secs(10));
    assert!(echoes(&mut survivor), "worker 1 noticed worker 0's panic");
    let mut again = client_of(addr, 0);
    again.send("echo").expect("send");
    assert!(echoes(&mut again), "the restarted worker 0 serves");
    drop(again);

    // A second panic within the minute is over the budget: not restarted.
    client_of(addr, 0).send("panic").expect("send");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        echoes(&mut survivor),
        "worker 1 noticed worker 0's second panic"
    );
    drop(survivor);

    child.signal(libc::SIGTERM);
    let (status, stderr) = child.wait(Duration::from_secs(15));
    assert!(
        stderr.contains("worker 0 panicked: worker 0 asked to panic; restarting it"),
        "stderr:\n{stderr}"
    );
    assert!(stderr.contains("not restarted"), "stderr:\n{stderr}");
    assert!(!stderr.contains("worker 1 panicked"), "stderr:\n{stderr}");
    // A worker lost for good makes the run a failure.
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
}

#[test]
fn a_single_worker_on_the_calling_thread_is_restarted_too() {
    const NAME: &str = "a_single_worker_on_the_calling_thread_is_restarted_too";
    if is_child(NAME) {
        run_server(Workers::new().count(1).max_restarts_per_minute(1));
    }
    let child = ChildProcess::start(NAME);
    let port: u16 = child
        .expect_line("PORT=", Duration::from_secs(20))
        .parse()
        .expect("port");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    child.expect_line("LISTENING 0", Duration::from_secs(20));

    // The worker panics; it is restarted on a fresh loop and serves again.
    client_of(addr, 0).send("panic").expect("send");
    child.expect_line("LISTENING 0", Duration::from_secs(10));
    let mut again = client_of(addr, 0);
    again.send("echo").expect("send");
    assert!(echoes(&mut again), "the restarted worker serves");

    // Over the budget: the run ends, a failure.
    drop(again);
    client_of(addr, 0).send("panic").expect("send");
    let (status, stderr) = child.wait(Duration::from_secs(15));
    assert!(
        stderr.contains("worker 0 panicked: worker 0 asked to panic; restarting it"),
        "stderr:\n{stderr}"
    );
    assert!(stderr.contains("not restarted"), "stderr:\n{stderr}");
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
}
