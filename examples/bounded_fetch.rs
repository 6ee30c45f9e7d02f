//! Fetch many resources over TCP with at most N requests in flight, printing
//! each result as it completes.
//!
//! Run: `cargo run --example bounded_fetch`
//! It starts its own server on 127.0.0.1 (an ephemeral port, printed). The
//! protocol is one line: send `GET <n>\n`, receive `OK <body>` or `ERR
//! <reason>`, then the server closes. While it runs you can talk to the
//! server yourself: `printf 'GET 7\n' | nc 127.0.0.1 <port>`. Resources
//! whose number is a multiple of 5 answer slowly; multiples of 7 fail.
//!
//! It mirrors the asyncio download programs of *Fluent Python* (`flags2_asyncio.py`):
//! an `asyncio.Semaphore(concur_req)` caps the concurrent downloads, the
//! requests are created all at once, and `asyncio.as_completed` yields them
//! in completion order while a counter tallies the failures. Here the cap
//! is an `Arc<Semaphore>` and `acquire_owned()`, and `as_completed` is a
//! `JoinSet` with `join_next()`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use evloop::sync::Semaphore;
use evloop::task::JoinSet;
use evloop::time::sleep;

const RESOURCES: u32 = 30;
const MAX_IN_FLIGHT: usize = 4;

/// The server: one task per connection, answering one request each.
async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            continue;
        };
        let _detached = evloop::spawn(async move {
            if let Err(error) = answer(stream).await {
                eprintln!("server: {error}");
            }
        });
    }
}

async fn answer(mut stream: TcpStream) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while stream.read(&mut byte).await? == 1 && byte[0] != b'\n' {
        request.push(byte[0]);
    }
    let request = String::from_utf8_lossy(&request);
    let reply = match request.strip_prefix("GET ").map(str::parse::<u32>) {
        Some(Ok(n)) if n % 7 == 0 => format!("ERR resource {n} is unavailable"),
        Some(Ok(n)) => {
            let delay = if n % 5 == 0 {
                400
            } else {
                30 + u64::from(n % 4) * 20
            };
            sleep(Duration::from_millis(delay)).await;
            format!("OK contents of resource {n}")
        }
        _ => "ERR bad request".to_string(),
    };
    stream.write_all(reply.as_bytes()).await?;
    stream.flush().await?;
    stream.close().await
}

/// The client side of one request.
async fn fetch(addr: SocketAddr, n: u32) -> Result<String, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let request = format!("GET {n}\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .await
        .map_err(|e| e.to_string())?;
    let reply = String::from_utf8_lossy(&reply).into_owned();
    match reply.strip_prefix("OK ") {
        Some(body) => Ok(body.to_string()),
        None => Err(reply),
    }
}

fn main() -> std::io::Result<()> {
    evloop::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        println!(
            "server listening on {addr} (try: printf 'GET 7\\n' | nc 127.0.0.1 {})",
            addr.port()
        );
        let server = evloop::spawn(serve(listener));

        let start = Instant::now();
        let semaphore = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut requests = JoinSet::new();
        for n in 1..=RESOURCES {
            let (semaphore, in_flight, peak) = (semaphore.clone(), in_flight.clone(), peak.clone());
            requests.spawn(async move {
                let _permit = semaphore.acquire_owned().await.expect("never closed");
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let result = fetch(addr, n).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                (n, result)
            });
        }

        let mut failures = 0;
        while let Some(outcome) = requests.join_next().await {
            let (n, result) = outcome.expect("a request task does not panic");
            match result {
                Ok(body) => println!("{:>6.0?}  #{n:2}: {body}", start.elapsed()),
                Err(error) => {
                    failures += 1;
                    println!("{:>6.0?}  #{n:2}: failed: {error}", start.elapsed());
                }
            }
        }
        println!(
            "{RESOURCES} requests, {failures} failed, at most {} in flight (limit {MAX_IN_FLIGHT}), {:.2?}",
            peak.load(Ordering::SeqCst),
            start.elapsed()
        );
        server.abort();
        Ok(())
    })
}
