//! Start several async resources concurrently, use them, and shut them all
//! down together.
//!
//! Run: `cargo run --example task_group`
//! It opens three resources: a "database" (slow to open and close), a
//! "cache", and a line-echo server on 127.0.0.1 (an ephemeral port,
//! printed; while it runs, `nc 127.0.0.1 <port>` and type a line). After a
//! few seconds of work it closes them all at once.
//!
//! It mirrors aiotools' `actxgroup` (async context groups):
//!
//! ```python
//! async with aiotools.actxgroup([database(), cache(), echo_server()]) as ag:
//!     ...  # use ag.contexts' results
//! ```
//!
//! which enters every async context manager concurrently (`__aenter__`
//! together, like `asyncio.gather`) and exits them concurrently too. Here
//! opening is `evloop::future::join_all`, each resource's life after opening
//! is a task in one `JoinSet`, and shutting down is a `Notify::notify_waiters()`
//! that every resource awaits, followed by `join_next()` until the set is
//! empty. Dropping the set would abort anything still running: no resource
//! outlives the group.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::{Duration, Instant};

use evloop::future::{Either, join_all, select};
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use evloop::sync::Notify;
use evloop::task::JoinSet;
use evloop::time::sleep;

/// A boxed future: the three resources' futures have different types.
type BoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// A started resource.
struct Resource {
    /// For the log.
    name: &'static str,
    /// How to reach it, if it is a server.
    port: Option<u16>,
    /// Its life from now on: background work until shutdown, then its
    /// close; returns its name once closed.
    run: BoxFuture<&'static str>,
}

/// A resource that takes `open` to start and `close` to shut down, with
/// background work in between (a pool's keep-alive, a cache's eviction...).
async fn simple_resource(
    name: &'static str,
    open: Duration,
    close: Duration,
    shutdown: Arc<Notify>,
) -> Resource {
    sleep(open).await;
    println!("{name}: open after {open:?}");
    let run = async move {
        // Created once, before the loop: a `notify_waiters` can never fall
        // between two iterations.
        let mut stop = pin!(shutdown.notified());
        let mut ticks = 0u32;
        while let Either::Right(()) = select(stop.as_mut(), sleep(Duration::from_millis(500))).await
        {
            ticks += 1;
        }
        println!("{name}: closing after {ticks} ticks of background work");
        sleep(close).await;
        name
    };
    Resource {
        name,
        port: None,
        run: Box::pin(run),
    }
}

/// A line-echo server as a resource.
async fn echo_server(shutdown: Arc<Notify>) -> Resource {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding an ephemeral port on 127.0.0.1");
    let port = listener.local_addr().expect("bound").port();
    println!("echo: listening on 127.0.0.1:{port} (try: nc 127.0.0.1 {port})");
    let run = async move {
        let mut stop = pin!(shutdown.notified());
        let mut connections = JoinSet::new();
        loop {
            match select(stop.as_mut(), listener.accept()).await {
                Either::Left(()) => break,
                Either::Right(Ok((stream, _))) => {
                    connections.spawn(echo(stream));
                }
                Either::Right(Err(error)) => eprintln!("echo: accept failed: {error}"),
            }
        }
        println!("echo: closing, {} connection(s) cut", connections.len());
        drop(connections); // aborts the connection tasks
        "echo"
    };
    Resource {
        name: "echo",
        port: Some(port),
        run: Box::pin(run),
    }
}

async fn echo(mut stream: TcpStream) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

fn main() {
    evloop::block_on(async {
        let shutdown = Arc::new(Notify::new());
        let start = Instant::now();
        // Opened concurrently: the group is ready after the slowest open
        // (300 ms), not after the sum of them (400 ms and more).
        let opening: [BoxFuture<Resource>; 3] = [
            Box::pin(simple_resource(
                "database",
                Duration::from_millis(300),
                Duration::from_millis(200),
                shutdown.clone(),
            )),
            Box::pin(simple_resource(
                "cache",
                Duration::from_millis(100),
                Duration::from_millis(50),
                shutdown.clone(),
            )),
            Box::pin(echo_server(shutdown.clone())),
        ];
        let resources = join_all(opening).await;
        let names: Vec<_> = resources.iter().map(|r| r.name).collect();
        println!("group open in {:.0?}: {names:?}", start.elapsed());
        let port = resources
            .iter()
            .find_map(|r| r.port)
            .expect("echo has a port");
        let mut group = JoinSet::new();
        for resource in resources {
            group.spawn(resource.run);
        }

        // Use the resources: here, talk to the echo server once.
        let mut client = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("echo server accepts");
        client.write_all(b"hello group\n").await.expect("write");
        let mut reply = [0u8; 12];
        client.read_exact(&mut reply).await.expect("echoed");
        println!("echo answered {:?}", String::from_utf8_lossy(&reply));
        sleep(Duration::from_secs(2)).await; // the resources work meanwhile

        // Shut them all down together; they close concurrently, and report
        // in the order they finish closing.
        let closing = Instant::now();
        shutdown.notify_waiters();
        while let Some(closed) = group.join_next().await {
            let name = closed.expect("no resource panics");
            println!("{name}: closed at +{:.0?}", closing.elapsed());
        }
        println!(
            "group closed in {:.0?} (the slowest close, not the sum)",
            closing.elapsed()
        );
    });
}
