//! The demo HTTP/1.1 server: routes a Starlette/uvicorn user would write,
//! on `evloop::http`.
//!
//! Run:  cargo run --release --example http_echo [-- --addr 127.0.0.1:8080 --workers 1]
//! Talk: curl -i http://127.0.0.1:8080/            (it prints more curl lines)
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

use std::io;
use std::time::Duration;

use evloop::http::{Body, Request, Response, Router, Server, any};
use evloop::net::TcpListener;

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

/// `--addr ADDR` and `--workers N`.
fn parse_args() -> Result<(String, usize), String> {
    let mut addr = "127.0.0.1:8080".to_string();
    let mut workers = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--addr" => addr = value()?,
            "--workers" => {
                workers = value()?
                    .parse()
                    .map_err(|_| "--workers takes a number".to_string())?
            }
            "-h" | "--help" => return Err("usage: http_echo [--addr ADDR] [--workers N]".into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((addr, workers))
}

fn main() -> io::Result<()> {
    let (addr, workers) =
        parse_args().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    if workers != 1 {
        eprintln!("multi-worker mode comes with evloop::workers; run with --workers 1");
        std::process::exit(2);
    }
    evloop::block_on(async {
        let listener = TcpListener::bind(addr.as_str()).await?;
        let at = listener.local_addr()?;
        println!("evloop http_echo listening on http://{at}");
        println!("  curl -i http://{at}/");
        println!("  curl -i -X POST --data-binary 'hello' http://{at}/echo");
        println!("  curl -i 'http://{at}/anything/x?a=1&b=two' -d 'some body'");
        println!("  curl -i 'http://{at}/hello/ann?greeting=Hi'");
        println!("  curl -N 'http://{at}/stream?n=5&delay_ms=500'");
        println!("  curl -i 'http://{at}/sleep?ms=1000'");
        println!("  curl -i 'http://{at}/blocking?ms=1000'");
        Server::new(app()).serve(listener).await
    })
}
