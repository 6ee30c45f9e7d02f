//! The demo HTTP/1.1 server: routes a Starlette/uvicorn user would write,
//! on `evloop::http`.
//!
//! Run:  cargo run --release --example http_echo [-- --addr 127.0.0.1:8080 --workers N --drain-timeout SECS]
//!       (default: one worker per core, a 30 s drain)
//! Talk: curl -i http://127.0.0.1:8080/            (it prints more curl lines)
//! Stop: Ctrl-C (or SIGTERM) drains gracefully; a second Ctrl-C stops at once.
//!
//! Routes:
//!   GET  /                      200 text/plain "Hello, world!" (HEAD too; else 405)
//!   POST /echo  (and PUT)       the body back, streamed, Content-Type copied
//!   ANY  /anything[/...]        httpbin-style JSON: method, path, query, headers, body
//!   GET  /hello/{name}?greeting=Hi   {"message": "Hi, {name}!"}
//!   GET  /stream?n=N&delay_ms=D N chunks "chunk i\n", D ms apart, chunked
//!   GET  /sleep?ms=M            waits M ms on a timer
//!   GET  /blocking?ms=M         std::thread::sleep on the blocking pool
//!   anything else               404
//!
//! Workers (docs/11-workers-and-signals.md): each worker is a thread with
//! its own loop, its own `SO_REUSEPORT` listener on the port and its own
//! `Server` (the app is built on the worker's thread); the kernel spreads
//! the connections over the listeners, and a connection stays on the loop
//! that accepted it. The first signal begins the drain
//! (`serve_with_shutdown`, docs/10-http.md): every worker stops accepting,
//! serves the connections the kernel had already queued for it, lets the
//! requests and streams in flight finish (their responses say
//! `connection: close`) and closes idle keep-alive connections. The process
//! exits 0 once every worker is done; past the drain deadline, or at a
//! second signal, what remains is cancelled and it exits 1.

use std::io;
use std::time::Duration;

use evloop::http::{Body, Request, Response, Router, Server, any};
use evloop::net::TcpListener;
use evloop::workers::{Worker, Workers};

const USAGE: &str = "usage: http_echo [--addr ADDR] [--workers N] [--drain-timeout SECS]";

/// The largest `ms` or `delay_ms` accepted (a minute).
const MAX_MS: u64 = 60_000;
/// The most chunks `/stream` sends.
const MAX_CHUNKS: u64 = 1_000_000;

/// `GET /`: kept lean, it is what the benchmark measures.
async fn hello(_: Request) -> Response {
    Response::new(200)
        .header("content-type", "text/plain")
        .body("Hello, world!")
}

/// `POST /echo`: the request body streams into the response.
async fn echo(request: Request) -> Response {
    let content_type = request.header("content-type").map(str::to_owned);
    let response = Response::new(200);
    let response = match content_type {
        Some(value) => response.header("content-type", value),
        None => response,
    };
    response.body(request.into_body())
}

/// `/anything`: what the server saw, as JSON.
async fn anything(mut request: Request) -> Response {
    let body = match request.body_mut().to_bytes(16 * 1024 * 1024).await {
        Ok(body) => body,
        Err(error) => return bad_request(&format!("cannot read the body: {error}")),
    };
    let query: serde_json::Map<String, serde_json::Value> = request
        .query_pairs()
        .into_iter()
        .map(|(name, value)| (name, value.into()))
        .collect();
    let headers: serde_json::Map<String, serde_json::Value> = request
        .headers()
        .map(|(name, value)| (name.to_string(), value.into()))
        .collect();
    let json = serde_json::json!({
        "method": request.method(),
        "path": request.path(),
        "query": query,
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    });
    Response::json(json.to_string())
}

/// `GET /hello/{name}?greeting=Hi`.
async fn hello_name(request: Request) -> Response {
    let name = request.param("name").unwrap_or_default();
    let greeting = request
        .query_param("greeting")
        .unwrap_or_else(|| "Hello".to_string());
    let json = serde_json::json!({ "message": format!("{greeting}, {name}!") });
    Response::json(json.to_string())
}

/// `GET /stream?n=N&delay_ms=D`: a producer task feeds a channel that is
/// the response body. When the client goes away, the server drops the
/// receiver and the producer's next send fails: it stops.
async fn stream(request: Request) -> Response {
    let (n, delay) = match (
        number(&request, "n", 10, MAX_CHUNKS),
        number(&request, "delay_ms", 0, MAX_MS),
    ) {
        (Ok(n), Ok(delay)) => (n, Duration::from_millis(delay)),
        (Err(error), _) | (_, Err(error)) => return bad_request(&error),
    };
    let (tx, rx) = evloop::sync::mpsc::channel::<io::Result<Vec<u8>>>(1);
    let _producer = evloop::spawn(async move {
        for i in 0..n {
            if i > 0 && !delay.is_zero() {
                evloop::time::sleep(delay).await;
            }
            if tx
                .send(Ok(format!("chunk {i}\n").into_bytes()))
                .await
                .is_err()
            {
                return; // the client is gone
            }
        }
    });
    Response::new(200)
        .header("content-type", "text/plain")
        .body(Body::from_stream(rx))
}

/// `GET /sleep?ms=M`: waits on the loop's timer (asyncio.sleep).
async fn sleep(request: Request) -> Response {
    let ms = match number(&request, "ms", 0, MAX_MS) {
        Ok(ms) => ms,
        Err(error) => return bad_request(&error),
    };
    evloop::time::sleep(Duration::from_millis(ms)).await;
    Response::text(format!("slept {ms} ms\n"))
}

/// `GET /blocking?ms=M`: a blocking call, run on the thread pool so the
/// loop keeps serving everyone else.
async fn blocking(request: Request) -> Response {
    let ms = match number(&request, "ms", 0, MAX_MS) {
        Ok(ms) => ms,
        Err(error) => return bad_request(&error),
    };
    let slept = evloop::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(ms));
        ms
    })
    .await;
    match slept {
        Ok(ms) => Response::text(format!("blocked {ms} ms on the pool\n")),
        Err(_) => Response::new(500).body("the blocking job panicked\n"),
    }
}

/// A numeric query parameter, `default` when absent, at most `max`.
fn number(request: &Request, name: &str, default: u64, max: u64) -> Result<u64, String> {
    match request.query_param(name) {
        None => Ok(default),
        Some(text) => match text.parse::<u64>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(format!("{name} must be a whole number up to {max}")),
        },
    }
}

/// 400 with a reason.
fn bad_request(reason: &str) -> Response {
    Response::new(400)
        .header("content-type", "text/plain")
        .body(format!("{reason}\n"))
}

/// The demo's routes.
pub fn app() -> Router {
    Router::new()
        .get("/", hello)
        .post("/echo", echo)
        .put("/echo", echo)
        .route("/anything", any(anything))
        .route("/anything/{*rest}", any(anything))
        .get("/hello/{name}", hello_name)
        .get("/stream", stream)
        .get("/sleep", sleep)
        .get("/blocking", blocking)
}

fn main() {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("http_echo: {error}");
            std::process::exit(2);
        }
    };
    // Exit 0 after a clean drain; 1 when it was cut short (deadline or a
    // second signal) or a worker failed.
    if let Err(error) = run(options, |_worker| app()) {
        eprintln!("http_echo: {error}");
        std::process::exit(1);
    }
}

/// Serves the router `app` builds (once per worker, on the worker's own
/// thread: a `Router` stays on its loop) on `options.workers` workers, until
/// a signal and the drain that follows. `Ok(())` after a clean drain.
pub fn run<A>(options: Options, app: A) -> io::Result<()>
where
    A: Fn(&Worker) -> Router + Send + Sync + 'static,
{
    let addr = one_port(&options.addr)?;
    let count = options.workers;
    Workers::new()
        .count(count)
        .drain_timeout(options.drain_timeout)
        .start_server(move |worker| serve(addr.clone(), app(&worker), worker, count))
}

/// Port 0 would give every worker a port of its own: pick one for all.
fn one_port(addr: &str) -> io::Result<String> {
    match addr.parse::<std::net::SocketAddr>() {
        Ok(parsed) if parsed.port() == 0 => Ok(std::net::TcpListener::bind(parsed)?
            .local_addr()?
            .to_string()),
        _ => Ok(addr.to_string()),
    }
}

/// One worker: its own listener and server, until the shutdown has
/// drained them. The shutdown is watched by the accept loop only (once per
/// accept); requests pay nothing for it.
async fn serve(addr: String, app: Router, worker: Worker, count: usize) -> io::Result<()> {
    let listener = TcpListener::bind_reuseport(addr.as_str()).await?;
    let at = listener.local_addr()?;
    println!(
        "evloop http_echo worker {}/{count} listening on http://{at}",
        worker.index()
    );
    if worker.index() == 0 {
        println!("  curl -i http://{at}/");
        println!("  curl -i -X POST --data-binary 'hello' http://{at}/echo");
        println!("  curl -i 'http://{at}/anything/x?a=1&b=two' -d 'some body'");
        println!("  curl -i 'http://{at}/hello/ann?greeting=Hi'");
        println!("  curl -N 'http://{at}/stream?n=5&delay_ms=500'");
        println!("  curl -i 'http://{at}/sleep?ms=1000'");
        println!("  curl -i 'http://{at}/blocking?ms=1000'");
    }
    Server::new(app)
        .serve_with_shutdown(listener, worker.shutdown().wait())
        .await
}

/// The command line.
pub struct Options {
    /// Where to listen (port 0: one free port, shared by the workers).
    pub addr: String,
    /// How many workers (loops, threads).
    pub workers: usize,
    /// How long the graceful drain may take.
    pub drain_timeout: Duration,
}

impl Options {
    /// Parses `--addr ADDR`, `--workers N` (default: the cores this process
    /// may use) and `--drain-timeout SECS` (default 30).
    pub fn parse(mut args: impl Iterator<Item = String>) -> io::Result<Options> {
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
        let mut options = Options {
            addr: "127.0.0.1:8080".to_string(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            drain_timeout: evloop::workers::DEFAULT_DRAIN_TIMEOUT,
        };
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .ok_or_else(|| invalid(format!("{name} needs a value\n{USAGE}")))
            };
            match arg.as_str() {
                "--addr" => options.addr = value("--addr")?,
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
                    options.drain_timeout = text
                        .parse()
                        .ok()
                        .and_then(|secs: f64| Duration::try_from_secs_f64(secs).ok())
                        .ok_or_else(|| invalid(format!("bad --drain-timeout {text:?}\n{USAGE}")))?;
                }
                "-h" | "--help" => return Err(invalid(USAGE.to_string())),
                other => return Err(invalid(format!("unknown argument {other:?}\n{USAGE}"))),
            }
        }
        Ok(options)
    }
}
