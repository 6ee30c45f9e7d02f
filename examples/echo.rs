//! The classic epoll echo server, on evloop: one task per connection, each
//! reading what arrives and writing it straight back.
//!
//! Run:  cargo run --release --example echo [ADDR]     (default 127.0.0.1:7000)
//! Talk: nc 127.0.0.1 7000        (type a line: it comes back)
//! Load: cargo run --release --example echo_bench -- --addr 127.0.0.1:7000
//!
//! Under the hood (see docs/06-one-read.md): the listener and every
//! connection are registered once with epoll, edge-triggered. A task that
//! finds no bytes parks its waker in the socket's reactor slot; when
//! epoll_wait reports the socket readable, the loop wakes that task, which
//! reads until the kernel says `WouldBlock` and parks again.

use std::io;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".to_string());
    evloop::block_on(async {
        let listener = TcpListener::bind(addr.as_str()).await?;
        let local = listener.local_addr()?;
        println!("evloop echo server listening on {local}");
        println!("talk to it with: nc {} {}", local.ip(), local.port());
        loop {
            match listener.accept().await {
                Ok((stream, _peer)) => {
                    // Detached: the task runs until its client goes away.
                    let _task = evloop::spawn(async move {
                        if let Err(error) = echo(stream).await {
                            eprintln!("connection error: {error}");
                        }
                    });
                }
                // Out of descriptors is handled inside accept (it sheds
                // connections instead of failing); what remains is rare.
                Err(error) => eprintln!("accept error: {error}"),
            }
        }
    })
}

/// Writes back everything the client sends, until it closes its side.
async fn echo(mut stream: TcpStream) -> io::Result<()> {
    // Small messages go out at once rather than waiting to be merged.
    stream.set_nodelay(true)?;
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(()); // the client closed: end of stream
        }
        stream.write_all(&buf[..n]).await?;
    }
}
