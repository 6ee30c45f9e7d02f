//! The same echo server as `examples/echo.rs`, on tokio's current-thread
//! runtime, so that the two can be compared under the same load
//! (`benches/echo.sh` does that).
//!
//! Run:  cargo run --release --example tokio_echo [ADDR]   (default 127.0.0.1:7001)
//! Talk: nc 127.0.0.1 7001

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7001".to_string());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr.as_str()).await?;
        let local = listener.local_addr()?;
        println!("tokio echo server listening on {local}");
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
