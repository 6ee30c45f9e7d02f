//! A test server on `evloop::workers`, run in a child process (see
//! `child_support`), and the client side of its small protocol.
//!
//! On each connection the server first writes one byte, the index of the
//! worker that accepted it, then reads one command line:
//!
//! - `stream N`: writes N chunks of `CHUNK` bytes, 20 ms apart, then closes
//!   its side and reads until the client closes (so nothing is reset);
//! - `hang`: writes `ok\n`, then never finishes;
//! - `panic`: makes the worker function itself panic;
//! - `echo`: echoes until the client closes;
//! - `pause`: the worker's accept loop, after its next accept, sleeps for
//!   `PAUSE` without accepting, so that connections pile up in the kernel's
//!   accept queue.
//!
//! Each worker drains like `examples/echo.rs`: stop accepting, accept what
//! is queued, close the listener, wait for its connections.
#![allow(dead_code)]

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use evloop::future::{Either, select};
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use evloop::sync::mpsc;
use evloop::workers::{Worker, Workers};

/// The size of one chunk of a `stream` response.
pub const CHUNK: usize = 1024;

/// How long a `pause` keeps a worker from accepting.
pub const PAUSE: Duration = Duration::from_secs(2);

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// The child: serves on a free port (printed as `PORT=`) until stopped,
/// then prints `RESULT=` and exits with 0 if `start_server` returned Ok.
pub fn run_server(workers: Workers) -> ! {
    let port = free_port();
    println!("PORT={port}");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let result = workers.start_server(move |worker| serve(addr, worker));
    println!("RESULT={result:?}");
    std::process::exit(if result.is_ok() { 0 } else { 1 })
}

async fn serve(addr: SocketAddr, worker: Worker) -> io::Result<()> {
    let listener = TcpListener::bind_reuseport(addr).await?;
    println!("LISTENING {}", worker.index());
    let connections = Rc::new(Connections::default());
    let (panic_tx, mut panic_rx) = mpsc::unbounded_channel::<()>();
    let env = Env {
        index: worker.index(),
        connections,
        panic_tx,
        pause: Rc::new(Cell::new(false)),
    };
    let mut stop = worker.shutdown().wait();
    loop {
        match select(&mut stop, select(panic_rx.recv(), listener.accept())).await {
            Either::Left(()) => break,
            Either::Right(Either::Left(_)) => panic!("worker {} asked to panic", worker.index()),
            Either::Right(Either::Right(accepted)) => {
                let (stream, _) = accepted?;
                spawn_connection(stream, &env);
                if env.pause.replace(false) {
                    evloop::time::sleep(PAUSE).await;
                }
            }
        }
    }
    println!("DRAINING {}", worker.index());
    loop {
        match listener.try_accept() {
            Ok((stream, _)) => spawn_connection(stream, &env),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
            Err(error) => return Err(error),
        }
    }
    drop(listener);
    env.connections.all_closed().await;
    Ok(())
}

/// What a worker's connections share with it.
struct Env {
    /// The worker's index.
    index: usize,
    /// Its open connections.
    connections: Rc<Connections>,
    /// Asks the worker function to panic.
    panic_tx: mpsc::UnboundedSender<()>,
    /// Asks the accept loop to pause after its next accept.
    pause: Rc<Cell<bool>>,
}

fn spawn_connection(stream: TcpStream, env: &Env) {
    let open = env.connections.open();
    let (index, panic_tx, pause) = (env.index, env.panic_tx.clone(), env.pause.clone());
    let _detached = evloop::spawn(async move {
        if let Err(error) = handle(stream, index, panic_tx, pause).await {
            eprintln!("connection error: {error}");
        }
        drop(open);
    });
}

async fn handle(
    mut stream: TcpStream,
    index: usize,
    panic_tx: mpsc::UnboundedSender<()>,
    pause: Rc<Cell<bool>>,
) -> io::Result<()> {
    stream.write_all(&[index as u8]).await?;
    let command = read_line(&mut stream).await?;
    let mut words = command.split_whitespace();
    match words.next() {
        Some("stream") => {
            let chunks: usize = words.next().and_then(|n| n.parse().ok()).unwrap_or(1);
            for _ in 0..chunks {
                stream.write_all(&[b'x'; CHUNK]).await?;
                evloop::time::sleep(Duration::from_millis(20)).await;
            }
            stream.shutdown(std::net::Shutdown::Write)?;
            let mut sink = [0u8; 256];
            while stream.read(&mut sink).await? > 0 {}
        }
        Some("hang") => {
            stream.write_all(b"ok\n").await?;
            std::future::pending::<()>().await;
        }
        Some("panic") => {
            let _ = panic_tx.send(());
        }
        Some("pause") => {
            pause.set(true);
            stream.write_all(b"ok\n").await?;
        }
        Some("echo") => {
            let mut buf = [0u8; 1024];
            loop {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                stream.write_all(&buf[..n]).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

async fn read_line(stream: &mut TcpStream) -> io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while stream.read(&mut byte).await? == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// The open connections of one worker.
#[derive(Default)]
struct Connections {
    /// How many are open.
    live: Cell<usize>,
    /// The drain, waiting for `live` to reach 0.
    waiter: Cell<Option<Waker>>,
}

struct Open(Rc<Connections>);

impl Connections {
    fn open(self: &Rc<Self>) -> Open {
        self.live.set(self.live.get() + 1);
        Open(self.clone())
    }

    async fn all_closed(&self) {
        std::future::poll_fn(|cx| {
            if self.live.get() == 0 {
                return Poll::Ready(());
            }
            self.waiter.set(Some(cx.waker().clone()));
            Poll::Pending
        })
        .await
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.live.set(self.0.live.get() - 1);
        if self.0.live.get() == 0
            && let Some(waker) = self.0.waiter.take()
        {
            waker.wake();
        }
    }
}

/// A client connection: connected, with the index of the worker that
/// accepted it.
pub struct Client {
    pub stream: std::net::TcpStream,
    pub worker: u8,
}

impl Client {
    /// Connects and reads the worker's index.
    pub fn connect(addr: SocketAddr) -> io::Result<Client> {
        let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        let mut index = [0u8; 1];
        stream.read_exact(&mut index)?;
        Ok(Client {
            stream,
            worker: index[0],
        })
    }

    /// Sends a command line.
    pub fn send(&mut self, command: &str) -> io::Result<()> {
        self.stream.write_all(format!("{command}\n").as_bytes())
    }

    /// Reads to end of stream; the number of bytes (an error on a reset).
    pub fn read_to_end(&mut self) -> io::Result<usize> {
        let mut all = Vec::new();
        self.stream.read_to_end(&mut all)?;
        Ok(all.len())
    }
}
