//! A fixed amount of echo work on one loop, for instruction counts.
//!
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!       target/release/examples/echo_count 10000
//!
//! One task echoes on a loopback connection (127.0.0.1, any free port),
//! another sends `N` 64-byte messages and waits for each to come back. Run
//! it with two values of `N` and divide the difference in instructions by
//! the difference in `N`: that is the cost of one echoed message (both
//! ends, both syscalls, both wakes), without the start-up. This is the
//! one-waiter path of the reactor: each direction of each socket has at
//! most one task parked on it. See `docs/performance.md`.

use std::io;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};

/// The size of one message.
const SIZE: usize = 64;

fn main() -> io::Result<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "usage: echo_count N"))?,
        None => 10_000,
    };
    evloop::block_on(async move {
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
    })
}
