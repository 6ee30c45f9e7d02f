//! Out of file descriptors: the accept loop must not spin, existing
//! connections keep being served, and accepting resumes when descriptors
//! are freed (libuv's reserve-descriptor trick; see `src/net/accept.rs`).
//!
//! The server runs in a child process (this test binary, started again with
//! `EVLOOP_EMFILE_CHILD` set) whose `RLIMIT_NOFILE` is lowered to 64, so the
//! test's own descriptors are not limited. The server is the naive loop that
//! spins on a runtime without the trick: on an accept error it just tries
//! again.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "EVLOOP_EMFILE_CHILD";
const TEST_NAME: &str = "out_of_descriptors_the_server_sleeps_serves_and_recovers";
const FD_LIMIT: libc::rlim_t = 64;

/// The child: an echo server under a low descriptor limit. Never returns.
fn run_child_server() -> ! {
    let limit = libc::rlimit {
        rlim_cur: FD_LIMIT,
        rlim_max: FD_LIMIT,
    };
    // SAFETY: `limit` is a valid `struct rlimit` for the duration of the call.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    evloop::block_on(async {
        let listener = evloop::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("PORT={}", listener.local_addr().expect("addr").port());
        loop {
            // A naive server: any error, try again at once.
            if let Ok((stream, _)) = listener.accept().await {
                let _detached = evloop::spawn(async move {
                    let _ = common::echo(stream).await;
                });
            }
        }
    });
    unreachable!("the server loop never ends")
}

/// Kills the child however the test ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_child() -> (KillOnDrop, SocketAddr) {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the child server");
    let stdout = child.stdout.take().expect("piped stdout");
    let child = KillOnDrop(child);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("child stdout");
        // The harness prints "test NAME ... " on the same line first.
        if let Some((_, port)) = line.split_once("PORT=") {
            let port = port.trim().parse().expect("port number");
            return (child, SocketAddr::from(([127, 0, 0, 1], port)));
        }
    }
    panic!("the child server exited before printing its port");
}

/// Connects and checks one echo round trip; `None` if the server closed
/// or reset the connection instead of echoing.
fn echoing_client(addr: SocketAddr) -> Option<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    check_echo(&mut stream).then_some(stream)
}

fn check_echo(stream: &mut TcpStream) -> bool {
    let mut buf = [0; 5];
    stream.write_all(b"hello").is_ok() && stream.read_exact(&mut buf).is_ok() && &buf == b"hello"
}

/// CPU time (user + system) the process has used so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line, in clock ticks.
    let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

#[test]
fn out_of_descriptors_the_server_sleeps_serves_and_recovers() {
    if std::env::var_os(CHILD_ENV).is_some() {
        run_child_server();
    }
    let (child, addr) = start_child();
    let pid = child.0.id();

    // 1. Fill the server's descriptor table with served connections.
    let mut held = Vec::new();
    while let Some(stream) = echoing_client(addr) {
        held.push(stream);
        assert!(held.len() < FD_LIMIT as usize, "the limit never bit");
    }
    assert!(
        held.len() > 20,
        "only {} connections before EMFILE",
        held.len()
    );

    // 2. A flood of connections the server has no descriptor for.
    let flood: Vec<TcpStream> = (0..200)
        .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    // 3. The server must be (nearly) idle, not spinning on accept.
    let before = cpu_time(pid);
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_time(pid) - before;
    assert!(
        used < Duration::from_millis(250),
        "server used {used:?} of CPU in 1 s"
    );

    // The flooding clients were closed, not left hanging in the queue.
    for mut stream in flood {
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let mut byte = [0];
        match stream.read(&mut byte) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("a flooding client was not closed: {other:?}"),
        }
    }

    // 4. Connections made before the limit are still served.
    for stream in &mut held {
        assert!(check_echo(stream), "an existing connection stopped echoing");
    }

    // 5. Free descriptors: accepting resumes.
    held.truncate(held.len() / 2);
    let deadline = Instant::now() + Duration::from_secs(5);
    let recovered = loop {
        if let Some(stream) = echoing_client(addr) {
            break stream;
        }
        assert!(Instant::now() < deadline, "accepting never resumed");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(recovered);
    drop(child);
}
