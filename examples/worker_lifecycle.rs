//! Per-worker setup and teardown: each worker opens a resource when it
//! starts, serves with it, and closes it when the server shuts down.
//!
//! Run:  cargo run --example worker_lifecycle [--workers N] [--run-for SECS]
//!       (default 2 workers, until Ctrl-C)
//! Talk: nc 127.0.0.1 7001        (the worker that accepted you greets you)
//! Stop: Ctrl-C or SIGTERM; every worker prints its teardown, then the
//!       process exits 0.
//!
//! For readers who know them:
//! - aiotools' `start_server(worker_main, num_workers=N)` runs an async
//!   generator per worker: code before its `yield` is the setup, code after
//!   it the teardown; here that is the code before and after the accept loop.
//! - uvicorn `--workers N` runs N server processes on one port, and ASGI
//!   "lifespan" startup/shutdown events play the same role per worker.
//!
//! The resource is a visit log: a file per worker, opened (created) at
//! start through the blocking pool, counting visitors, and written with the
//! final count and closed (removed) at shutdown.

use std::cell::Cell;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use evloop::future::{Either, select};
use evloop::io::AsyncWriteExt;
use evloop::net::TcpListener;
use evloop::workers::{Shutdown, Worker, Workers};

const ADDR: &str = "127.0.0.1:7001";
const USAGE: &str = "usage: worker_lifecycle [--workers N] [--run-for SECS]";

fn main() -> io::Result<()> {
    let (workers, run_for) = parse_args()?;
    let shutdown = Shutdown::new();
    if let Some(run_for) = run_for {
        // What Ctrl-C would do, after a while: for a run without a terminal.
        let shutdown = shutdown.clone();
        std::thread::spawn(move || {
            std::thread::sleep(run_for);
            shutdown.trigger();
        });
    }
    println!("serving on {ADDR} with {workers} workers; Ctrl-C to stop");
    Workers::new()
        .count(workers)
        .with_shutdown(shutdown)
        .start_server(worker_main)
}

/// One worker's life: setup, serve until shutdown, teardown.
async fn worker_main(worker: Worker) -> io::Result<()> {
    let index = worker.index();
    // Setup: runs once per worker, on the worker's own loop.
    let log = Rc::new(VisitLog::open(index).await?);
    println!("worker {index}: setup: opened {}", log.path.display());

    let listener = TcpListener::bind_reuseport(ADDR).await?;
    let mut stop = worker.shutdown().wait();
    while let Either::Right(accepted) = select(&mut stop, listener.accept()).await {
        let (mut stream, _) = accepted?;
        let visitor = log.visit();
        let _greeting = evloop::spawn(async move {
            let line = format!("hello from worker {index}, visitor #{visitor}\n");
            let _ = stream.write_all(line.as_bytes()).await;
        });
    }
    drop(listener);

    // Teardown: after the shutdown began, before the worker ends.
    let visits = log.close().await?;
    println!("worker {index}: teardown: closed the log after {visits} visit(s)");
    Ok(())
}

/// The per-worker resource.
struct VisitLog {
    /// The worker's log file.
    path: PathBuf,
    /// Visitors so far (one loop: a `Cell` is enough).
    visits: Cell<u64>,
}

impl VisitLog {
    async fn open(index: usize) -> io::Result<VisitLog> {
        let path =
            std::env::temp_dir().join(format!("evloop-worker-{}-{index}.log", std::process::id()));
        evloop::fs::write(&path, b"open\n").await?;
        Ok(VisitLog {
            path,
            visits: Cell::new(0),
        })
    }

    fn visit(&self) -> u64 {
        self.visits.set(self.visits.get() + 1);
        self.visits.get()
    }

    async fn close(&self) -> io::Result<u64> {
        let visits = self.visits.get();
        evloop::fs::write(&self.path, format!("closed after {visits} visits\n")).await?;
        evloop::fs::remove_file(&self.path).await?;
        Ok(visits)
    }
}

fn parse_args() -> io::Result<(usize, Option<Duration>)> {
    let invalid =
        |what: String| io::Error::new(io::ErrorKind::InvalidInput, format!("{what}\n{USAGE}"));
    let mut args = std::env::args().skip(1);
    let (mut workers, mut run_for) = (2, None);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| invalid(format!("{arg} needs a value")))?;
        match arg.as_str() {
            "--workers" => {
                workers = value
                    .parse()
                    .ok()
                    .filter(|&n: &usize| n > 0)
                    .ok_or_else(|| invalid(format!("bad --workers {value:?}")))?;
            }
            "--run-for" => {
                let secs: f64 = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| invalid(format!("bad --run-for {value:?}")))?;
                run_for = Some(Duration::from_secs_f64(secs));
            }
            _ => return Err(invalid(format!("unknown option {arg}"))),
        }
    }
    Ok((workers, run_for))
}
