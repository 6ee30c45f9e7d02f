//! The classic epoll echo server, on evloop: one task per connection, each
//! reading what arrives and writing it straight back; one loop per core.
//!
//! Run:  cargo run --release --example echo [ADDR] [--workers N] [--drain-timeout SECS]
//!       (default 127.0.0.1:7000, one worker per core, 30 s)
//! Talk: nc 127.0.0.1 7000        (type a line: it comes back)
//! Load: cargo run --release --example echo_bench -- --addr 127.0.0.1:7000
//! Stop: Ctrl-C (or SIGTERM) drains gracefully; a second Ctrl-C stops at once.
//!
//! Under the hood (see docs/06-one-read.md): the listener and every
//! connection are registered once with epoll, edge-triggered. A task that
//! finds no bytes parks its waker in the socket's reactor slot; when
//! epoll_wait reports the socket readable, the loop wakes that task, which
//! reads until the kernel says `WouldBlock` and parks again.
//!
//! With N workers (docs/11-workers-and-signals.md) each worker thread runs
//! its own loop and its own `SO_REUSEPORT` listener on the same port; the
//! kernel spreads the connections. On shutdown each worker stops accepting,
//! accepts what the kernel had already queued for it (closing a listener
//! would reset those), closes the listener, and waits for its clients to
//! finish: an echo has no request boundaries, so a connection is done when
//! its client closes its side (or at the drain deadline).

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use evloop::future::{Either, select};
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use evloop::workers::{Worker, Workers};

const USAGE: &str = "usage: echo [ADDR] [--workers N] [--drain-timeout SECS]";

fn main() -> io::Result<()> {
    let options = Options::parse(std::env::args().skip(1))?;
    let addr = one_port(options.addr)?;
    Workers::new()
        .count(options.workers)
        .drain_timeout(options.drain_timeout)
        .start_server(move |worker| serve(addr.clone(), worker))
}

/// Port 0 would give every worker a port of its own: pick one for all.
fn one_port(addr: String) -> io::Result<String> {
    match addr.parse::<std::net::SocketAddr>() {
        Ok(parsed) if parsed.port() == 0 => Ok(std::net::TcpListener::bind(parsed)?
            .local_addr()?
            .to_string()),
        _ => Ok(addr),
    }
}

/// One worker: accept until shutdown, drain the accept queue, wait for the
/// connections to end.
async fn serve(addr: String, worker: Worker) -> io::Result<()> {
    let listener = TcpListener::bind_reuseport(addr.as_str()).await?;
    if worker.index() == 0 {
        let local = listener.local_addr()?;
        println!("evloop echo server listening on {local}");
        println!("talk to it with: nc {} {}", local.ip(), local.port());
    }
    let connections = Rc::new(Connections::default());
    let mut stop = worker.shutdown().wait();
    loop {
        // One check per accept, none per message: the hot path is the
        // connection tasks', untouched.
        match select(&mut stop, listener.accept()).await {
            Either::Left(()) => break,
            Either::Right(Ok((stream, _peer))) => spawn_echo(stream, &connections),
            // Out of descriptors is handled inside accept (it sheds
            // connections instead of failing); what remains is rare.
            Either::Right(Err(error)) => eprintln!("accept error: {error}"),
        }
    }
    // Clients whose handshake the kernel completed before the shutdown are
    // queued on *this* listener: serve them, then close it.
    loop {
        match listener.try_accept() {
            Ok((stream, _peer)) => spawn_echo(stream, &connections),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
            Err(error) => {
                eprintln!("accept error while draining: {error}");
                break;
            }
        }
    }
    drop(listener);
    connections.all_closed().await;
    Ok(())
}

fn spawn_echo(stream: TcpStream, connections: &Rc<Connections>) {
    let guard = connections.open();
    // Detached: the task runs until its client goes away.
    let _task = evloop::spawn(async move {
        if let Err(error) = echo(stream).await {
            eprintln!("connection error: {error}");
        }
        drop(guard);
    });
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

/// The connections of one worker (one loop, so `Cell`s suffice).
#[derive(Default)]
struct Connections {
    /// How many are open.
    live: Cell<usize>,
    /// The drain, waiting for `live` to reach 0.
    waiter: Cell<Option<Waker>>,
}

/// Counts one connection until dropped.
struct Open(Rc<Connections>);

impl Connections {
    fn open(self: &Rc<Self>) -> Open {
        self.live.set(self.live.get() + 1);
        Open(self.clone())
    }

    /// Completes when no connection is open.
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
        let live = self.0.live.get() - 1;
        self.0.live.set(live);
        if live == 0
            && let Some(waker) = self.0.waiter.take()
        {
            waker.wake();
        }
    }
}

/// The command line.
struct Options {
    /// Where to listen.
    addr: String,
    /// How many workers.
    workers: usize,
    /// How long the graceful drain may take.
    drain_timeout: Duration,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> io::Result<Options> {
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
        let mut options = Options {
            addr: "127.0.0.1:7000".to_string(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            drain_timeout: evloop::workers::DEFAULT_DRAIN_TIMEOUT,
        };
        let mut positional = 0;
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .ok_or_else(|| invalid(format!("{name} needs a value\n{USAGE}")))
            };
            match arg.as_str() {
                "--workers" => {
                    let text = value("--workers")?;
                    options.workers = text
                        .parse()
                        .ok()
                        .filter(|&n: &usize| n > 0)
                        .ok_or_else(|| invalid(format!("bad --workers {text:?}\n{USAGE}")))?;
                }
                "--drain-timeout" => {
                    let text = value("--drain-timeout")?;
                    let secs: f64 = text
                        .parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                        .ok_or_else(|| invalid(format!("bad --drain-timeout {text:?}\n{USAGE}")))?;
                    options.drain_timeout = Duration::from_secs_f64(secs);
                }
                flag if flag.starts_with("--") => {
                    return Err(invalid(format!("unknown option {flag}\n{USAGE}")));
                }
                addr if positional == 0 => {
                    options.addr = addr.to_string();
                    positional += 1;
                }
                extra => return Err(invalid(format!("unexpected argument {extra:?}\n{USAGE}"))),
            }
        }
        Ok(options)
    }
}
