//! A handler that blocks the loop, and how `EVLOOP_DEBUG=1` finds it.
//!
//! Run:  EVLOOP_DEBUG=1 cargo run --example blocking_handler
//! Then: EVLOOP_DEBUG=1 cargo run --example blocking_handler -- --fixed
//!
//! The server answers each line with `ok`, after "logging" it through a
//! synchronous call that takes 150 ms (think of a log file on a slow disk,
//! or Python's `logging` inside a coroutine). Three clients connect at
//! once. With the blocking call on the loop, the three log writes run one
//! after the other and nothing else runs meanwhile, not even the clients:
//! every client waits about 450 ms, and the slow-poll detector prints one
//! line per blocking poll naming the task's spawn site (the
//! `evloop::spawn` in `serve`). With `--fixed` the log write goes to the
//! blocking pool (`spawn_blocking`), every client is answered in about
//! 150 ms, and the detector stays quiet.
//!
//! Everything runs on 127.0.0.1 with an OS-chosen port; the program exits
//! once the three clients are served.

use std::io;
use std::time::{Duration, Instant};

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};

/// A synchronous log write that takes a while.
fn log_line(line: &str) {
    std::thread::sleep(Duration::from_millis(150));
    let _ = line; // a real logger would write it somewhere
}

fn main() -> io::Result<()> {
    let fixed = std::env::args().any(|arg| arg == "--fixed");
    evloop::block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = evloop::spawn(serve(listener, fixed));
        let clients: Vec<_> = (0..3).map(|n| evloop::spawn(client(addr, n))).collect();
        for client in clients {
            let (n, took) = client.await.expect("clients do not panic")?;
            println!("client {n}: answered after {took:?}");
        }
        server.abort();
        Ok(())
    })
}

/// Accepts connections and answers every line with `ok`.
async fn serve(listener: TcpListener, fixed: bool) -> io::Result<()> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let _task = evloop::spawn(async move {
            let mut buf = [0u8; 1024];
            let n = stream.read(&mut buf).await?;
            let line = String::from_utf8_lossy(&buf[..n]).into_owned();
            if fixed {
                // The pool thread blocks; the loop serves the others.
                evloop::spawn_blocking(move || log_line(&line))
                    .await
                    .map_err(io::Error::other)?;
            } else {
                log_line(&line); // blocks the whole loop
            }
            stream.write_all(b"ok\n").await
        });
    }
}

/// Sends one line and times the answer.
async fn client(addr: std::net::SocketAddr, n: usize) -> io::Result<(usize, Duration)> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(format!("hello from client {n}\n").as_bytes())
        .await?;
    let mut answer = [0u8; 3];
    stream.read_exact(&mut answer).await?;
    Ok((n, started.elapsed()))
}
