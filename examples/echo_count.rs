//! A fixed amount of echo work on one loop, for instruction counts.
//!
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!       target/release/examples/echo_count 10000
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!       target/release/examples/echo_count 2000 accept
//!
//! One task echoes on a loopback connection (127.0.0.1, any free port),
//! another sends `N` 64-byte messages and waits for each to come back. Run
//! it with two values of `N` and divide the difference in instructions by
//! the difference in `N`: that is the cost of one echoed message (both
//! ends, both syscalls, both wakes), without the start-up. This is the
//! one-waiter path of the reactor: each direction of each socket has at
//! most one task parked on it. With `accept`, the client instead makes `N`
//! connections one after another and a task accepts each (the path of a
//! future that parks under a key, `Async::read_with`). See
//! `docs/performance.md`.

use std::io;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};

/// The size of one message.
const SIZE: usize = 64;

fn usage() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "usage: echo_count N [accept]")
}

fn main() -> io::Result<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse().map_err(|_| usage())?,
        None => 10_000,
    };
    match std::env::args().nth(2).as_deref() {
        None => evloop::block_on(echo(n)),
        Some("accept") => evloop::block_on(accept(n)),
        Some(_) => Err(usage()),
    }
}

/// `n` connections, each accepted by a task parked in `accept`.
async fn accept(n: usize) -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = evloop::spawn(async move {
        for _ in 0..n {
            drop(listener.accept().await?);
        }
        Ok::<(), io::Error>(())
    });
    for _ in 0..n {
        let client = TcpStream::connect(addr).await?;
        // Let the server take it before the next one: one wake per accept.
        evloop::yield_now().await;
        drop(client);
    }
    server.await.map_err(io::Error::other)??;
    println!("accepted {n} connections");
    Ok(())
}

/// `n` messages echoed on one connection.
async fn echo(n: usize) -> io::Result<()> {
    {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = evloop::spawn(async move {
            let (mut stream, _) = listener.accept().await?;
            let mut buf = [0; SIZE];
            loop {
                let got = stream.read(&mut buf).await?;
                if got == 0 {
                    return Ok::<(), io::Error>(());
                }
                stream.write_all(&buf[..got]).await?;
            }
        });
        let mut client = TcpStream::connect(addr).await?;
        client.set_nodelay(true)?;
        let message = [7; SIZE];
        let mut back = [0; SIZE];
        for _ in 0..n {
            client.write_all(&message).await?;
            client.read_exact(&mut back).await?;
        }
        client.close().await?;
        server.await.map_err(io::Error::other)??;
        println!("echoed {n} messages of {SIZE} bytes");
        Ok(())
    }
}
