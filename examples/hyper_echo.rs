//! The benchmarked routes of `examples/http_echo.rs`, served by hyper 1.x on
//! tokio: the peer `benches/http.sh` measures evloop's HTTP server against.
//!
//! Run:  cargo run --release --example hyper_echo                (127.0.0.1:8081)
//!       cargo run --release --example hyper_echo -- --addr 127.0.0.1:8081 --workers 2
//!       cargo run --release --example hyper_echo -- --pipeline-flush
//! Talk: curl -i http://127.0.0.1:8081/
//!       curl -i -X POST --data-binary 'echo me' -H 'Content-Type: text/plain' http://127.0.0.1:8081/echo
//!       curl -i -X DELETE http://127.0.0.1:8081/           (405, Allow: GET, HEAD)
//! Load: cargo run --release --example http_bench -- --addr 127.0.0.1:8081
//!
//! Routes, as evloop's demo answers them:
//! - `GET /` (and `HEAD /`) → 200 `text/plain` `Hello, world!`; any other
//!   method on `/` → 405 with `Allow: GET, HEAD`;
//! - `POST /echo` and `PUT /echo` → 200, the request body streamed back as it
//!   arrives (hyper's `Incoming` body is the response body), `Content-Type`
//!   copied;
//! - anything else → 404.
//!
//! This is hyper as its own examples write it, with nothing tuned for the
//! contest: `http1::Builder::new().serve_connection(io, service_fn(..))` on a
//! `TokioIo`, one spawned task per connection, keep-alive on (hyper's
//! default), `TCP_NODELAY` set as any latency-minded server does. The one
//! choice made for speed is the response body type: an
//! `http_body_util::Either` of a full body and the request's body, where
//! hyper's examples box it (`BoxBody`), so hyper pays no allocation per
//! response that evloop does not.
//!
//! hyper writes each pipelined response as it is ready; `--pipeline-flush`
//! turns on its `pipeline_flush` option (off by default, "experimental"),
//! which holds responses back while more requests are buffered and sends
//! them in one write, as evloop's server does. The benchmark runs hyper as
//! its users do, with the default; the flag is there to measure how much
//! of the pipelined gap that option closes.
//!
//! `--workers 1` (the default) runs tokio's current-thread runtime: one
//! thread, the match for one evloop loop. `--workers N` with N > 1 runs the
//! multi-thread runtime with N worker threads and one shared listener, the
//! way a tokio user deploys a server on N cores (work stealing included).

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;

use http_body_util::{Either, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A response body: a fixed text, or the request's own body echoed back.
type Body = Either<Full<Bytes>, Either<Incoming, Empty<Bytes>>>;

/// Command-line settings.
struct Settings {
    /// Where to listen.
    addr: SocketAddr,
    /// Runtime threads: 1 is tokio's current-thread runtime.
    workers: usize,
    /// Turn on hyper's `pipeline_flush` (one write for a batch of
    /// pipelined responses).
    pipeline_flush: bool,
}

fn parse_args() -> Result<Settings, String> {
    let mut settings = Settings {
        addr: SocketAddr::from(([127, 0, 0, 1], 8081)),
        workers: 1,
        pipeline_flush: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--pipeline-flush" => settings.pipeline_flush = true,
            "--addr" => {
                let v = value()?;
                settings.addr = v.parse().map_err(|e| format!("bad --addr {v:?}: {e}"))?;
            }
            "--workers" => {
                let v = value()?;
                settings.workers = match v.parse() {
                    Ok(n) if n >= 1 => n,
                    _ => return Err(format!("bad --workers {v:?}: a whole number >= 1")),
                };
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(settings)
}

fn main() -> io::Result<()> {
    let settings = match parse_args() {
        Ok(settings) => settings,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("hyper_echo: {message}");
            }
            eprintln!("usage: hyper_echo [--addr 127.0.0.1:8081] [--workers N] [--pipeline-flush]");
            std::process::exit(if message.is_empty() { 0 } else { 2 });
        }
    };
    let runtime = if settings.workers == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(settings.workers)
            .enable_all()
            .build()?
    };
    runtime.block_on(async {
        let listener = TcpListener::bind(settings.addr).await?;
        let local = listener.local_addr()?;
        println!(
            "hyper echo server on http://{local}/ ({} tokio worker thread{})",
            settings.workers,
            if settings.workers == 1 { "" } else { "s" }
        );
        println!("try: curl -i http://{local}/");
        println!("     curl -i -X POST --data-binary 'echo me' http://{local}/echo");
        serve(listener, settings.pipeline_flush).await
    })
}

/// Accepts forever; each connection is one task running hyper's HTTP/1.1
/// state machine.
pub(crate) async fn serve(listener: TcpListener, pipeline_flush: bool) -> io::Result<()> {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                eprintln!("accept error: {error}");
                continue;
            }
        };
        if let Err(error) = stream.set_nodelay(true) {
            eprintln!("set_nodelay: {error}");
            continue;
        }
        tokio::spawn(async move {
            let io = TokioIo::new(stream);
            if let Err(error) = http1::Builder::new()
                .pipeline_flush(pipeline_flush)
                .serve_connection(io, service_fn(route))
                .await
            {
                // A client that goes away mid-request is routine under load.
                if !error.is_incomplete_message() {
                    eprintln!("connection error: {error}");
                }
            }
        });
    }
}

/// The router: the two benchmarked routes and their method rules.
async fn route(request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let response = match (request.method(), request.uri().path()) {
        // hyper leaves out the body of a HEAD response by itself.
        (&Method::GET | &Method::HEAD, "/") => {
            let mut response = Response::new(Either::Left(Full::new(Bytes::from_static(
                b"Hello, world!",
            ))));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            response
        }
        (_, "/") => {
            let mut response = empty(StatusCode::METHOD_NOT_ALLOWED);
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        }
        (&Method::POST | &Method::PUT, "/echo") => {
            let content_type = request.headers().get(CONTENT_TYPE).cloned();
            let mut response = Response::new(Either::Right(Either::Left(request.into_body())));
            if let Some(content_type) = content_type {
                response.headers_mut().insert(CONTENT_TYPE, content_type);
            }
            response
        }
        _ => empty(StatusCode::NOT_FOUND),
    };
    Ok(response)
}

/// A response with a status and no body.
fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Either::Right(Either::Right(Empty::new())));
    *response.status_mut() = status;
    response
}
