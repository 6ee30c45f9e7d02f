//! The same echo server as `examples/echo.rs`, on tokio's current-thread
//! runtime, so that the two can be compared under the same load
//! (`benches/echo.sh` does that).
//!
//! Run:  cargo run --release --example tokio_echo [ADDR] [--workers N]
//!       (default 127.0.0.1:7001, one worker)
//! Talk: nc 127.0.0.1 7001
//!
//! `--workers 1` runs tokio's current-thread runtime, the match for one
//! evloop loop; `--workers N` with N > 1 runs the multi-thread runtime with
//! N worker threads and one shared listener, as a tokio user deploys a
//! server on N cores (`benches/echo.sh` with `WORKERS=2` compares it with
//! evloop's workers).

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Reads `[ADDR] [--workers N]`, in any order.
fn parse_args() -> Result<(String, usize), String> {
    let (mut addr, mut workers) = ("127.0.0.1:7001".to_string(), 1);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--workers" => {
                let value = args.next().unwrap_or_default();
                workers = match value.parse() {
                    Ok(n) if n >= 1 => n,
                    _ => return Err(format!("bad --workers {value:?}: a whole number >= 1")),
                };
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            _ => addr = arg,
        }
    }
    Ok((addr, workers))
}

fn main() -> io::Result<()> {
    let (addr, workers) = parse_args().unwrap_or_else(|message| {
        eprintln!("tokio_echo: {message}\nusage: tokio_echo [ADDR] [--workers N]");
        std::process::exit(2)
    });
    let runtime = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_io()
            .build()?
    };
    runtime.block_on(async {
        let listener = TcpListener::bind(addr.as_str()).await?;
        let local = listener.local_addr()?;
        println!("tokio echo server listening on {local} ({workers} worker thread(s))");
        println!("talk to it with: nc {} {}", local.ip(), local.port());
        loop {
            match listener.accept().await {
                Ok((stream, _peer)) => {
                    tokio::spawn(async move {
                        if let Err(error) = echo(stream).await {
                            eprintln!("connection error: {error}");
                        }
                    });
                }
                Err(error) => eprintln!("accept error: {error}"),
            }
        }
    })
}

/// Writes back everything the client sends, until it closes its side.
async fn echo(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}
