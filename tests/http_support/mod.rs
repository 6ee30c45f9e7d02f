//! What the HTTP tests share: a server on its own thread and loop, and
//! blocking std clients that speak raw bytes to it (so every byte a test
//! sends is under its control, malformed ones included).

#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use evloop::http::Server;

/// The demo's routes, shared with `examples/http_echo.rs`.
#[path = "../../examples/http_echo.rs"]
pub mod demo;

/// How long any single read in a test may wait.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A server running on its own thread.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The server loop's live task count, refreshed every few milliseconds.
    pub live_tasks: Arc<AtomicUsize>,
    /// Resolves the shutdown future.
    stop: Option<evloop::sync::oneshot::Sender<()>>,
    /// The server thread; its result is `serve_with_shutdown`'s.
    thread: Option<JoinHandle<io::Result<()>>>,
}

/// Starts the server `make` builds (on the server's thread: a `Server` is
/// not `Send`) on 127.0.0.1 with an ephemeral port.
pub fn start(make: impl FnOnce() -> Server + Send + 'static) -> TestServer {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = evloop::sync::oneshot::channel::<()>();
    let live_tasks = Arc::new(AtomicUsize::new(0));
    let live = live_tasks.clone();
    let thread = std::thread::spawn(move || {
        let rt = evloop::Runtime::new()?;
        rt.block_on(async {
            let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await?;
            addr_tx.send(listener.local_addr()?).expect("test waits");
            let rt = &rt;
            let monitor = async {
                loop {
                    live.store(rt.metrics().live_tasks, Ordering::SeqCst);
                    evloop::time::sleep(Duration::from_millis(5)).await;
                }
            };
            let server = make();
            let serving = server.serve_with_shutdown(listener, async {
                let _ = stopped.await;
            });
            match evloop::future::select(serving, monitor).await {
                evloop::future::Either::Left(result) => result,
                evloop::future::Either::Right(never) => never,
            }
        })
    });
    let addr = addr_rx.recv().expect("server started");
    TestServer {
        addr,
        live_tasks,
        stop: Some(stop),
        thread: Some(thread),
    }
}

impl TestServer {
    /// Starts the shutdown.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits (bounded) for `serve_with_shutdown` to return.
    pub fn join(&mut self, within: Duration) -> io::Result<()> {
        let thread = self.thread.take().expect("joined once");
        let deadline = Instant::now() + within;
        while !thread.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the server did not finish draining"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        thread.join().expect("server thread did not panic")
    }

    /// The live task count of the server's loop.
    pub fn live(&self) -> usize {
        self.live_tasks.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.begin_shutdown();
    }
}

/// The demo server with default settings.
pub fn demo_server() -> TestServer {
    start(|| Server::new(demo::app()))
}

/// A client connection with bounded reads.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .expect("timeout");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// A response as a client sees it.
#[derive(Debug)]
pub struct Resp {
    /// The status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Resp {
    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// Reads one line, CRLF stripped.
fn line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Reads one response. `head_request`: the request was HEAD (no body).
pub fn read_response(reader: &mut impl BufRead, head_request: bool) -> io::Result<Resp> {
    let status_line = line(reader)?;
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(
        parts.next(),
        Some("HTTP/1.1"),
        "status line {status_line:?}"
    );
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).expect("status");
    let mut headers = Vec::new();
    loop {
        let header = line(reader)?;
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').expect("header line");
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut resp = Resp {
        status,
        headers,
        body: Vec::new(),
    };
    if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(resp);
    }
    if resp.header("transfer-encoding") == Some("chunked") {
        loop {
            let size = usize::from_str_radix(&line(reader)?, 16).expect("chunk size");
            if size == 0 {
                assert_eq!(line(reader)?, "", "no trailers from the server");
                break;
            }
            let start = resp.body.len();
            resp.body.resize(start + size, 0);
            reader.read_exact(&mut resp.body[start..])?;
            assert_eq!(line(reader)?, "", "CRLF after chunk data");
        }
    } else if let Some(length) = resp.header("content-length") {
        let length: usize = length.parse().expect("content-length");
        resp.body.resize(length, 0);
        reader.read_exact(&mut resp.body)?;
    } else {
        reader.read_to_end(&mut resp.body)?;
    }
    Ok(resp)
}

/// Sends `raw` on a fresh connection and reads one response.
pub fn roundtrip(addr: SocketAddr, raw: &[u8]) -> Resp {
    let mut stream = connect(addr);
    stream.write_all(raw).expect("send");
    let head = raw.starts_with(b"HEAD ");
    read_response(&mut BufReader::new(stream), head).expect("a response")
}

/// Whether the server closed the connection (a read sees end of stream or
/// a reset) within the read timeout.
pub fn closed(reader: &mut impl Read) -> bool {
    let mut byte = [0u8; 1];
    match reader.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
        ),
    }
}

/// Sends `raw`, then reads everything until the server closes.
pub fn send_and_read_to_close(addr: SocketAddr, raw: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(raw).expect("send");
    let mut all = Vec::new();
    let _ = stream.read_to_end(&mut all);
    all
}

/// Half-closes the write side (the server sees end of stream).
pub fn shut_write(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
}

/// Polls `condition` every 10 ms until it holds or `within` passes.
pub fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
