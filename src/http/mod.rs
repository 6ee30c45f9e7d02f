//! HTTP/1.1 on one loop: a server layer built on the public socket API.
//!
//! # What HTTP/1.1 asks of a server
//!
//! HTTP/1.1 is text over one TCP connection: a request head (a request line
//! and header lines, ended by an empty line), then a body whose end is given
//! by the head (`Content-Length`, or `Transfer-Encoding: chunked`), then the
//! next request on the same connection (keep-alive), possibly sent before
//! the previous answer arrived (pipelining). The server must answer in
//! order, and must agree with the client, byte for byte, on where each
//! request ends: a disagreement lets a request hide inside another's body
//! (request smuggling).
//!
//! # How this module does it
//!
//! A connection is one task and a small state machine (`conn.rs`): read,
//! parse every complete head in the buffer (`codec.rs`, with `httparse` for
//! the grammar), run each handler inline, append each response to one
//! buffer, write the buffer once. Bodies are streams in both directions
//! (`body.rs`), so a request body can flow into a response without being
//! held whole. Limits and timeouts sit where the bytes arrive: the request
//! line and head sizes in the codec, the head and idle timeouts around the
//! read, the body size in the framing decoder, and the connection cap in the
//! accept loop (`server.rs`). The [`Router`] picks a handler by path and
//! method.
//!
//! Defaults: keep-alive idle timeout 5 s; a head must arrive whole within
//! 10 s (else 408); request line ≤ 8 KiB (else 414); head ≤ 16 KiB and ≤ 100
//! header fields (else 431); body ≤ 16 MiB (else 413); a body that stops
//! arriving for 10 s → 408; a client that reads nothing for 30 s while a
//! write waits is dropped; 10,000 connections (past it, accepts wait).
//!
//! # An app
//!
//! ```
//! use evloop::http::{Request, Response, Router, Server, any};
//!
//! async fn hello(_: Request) -> Response {
//!     Response::text("Hello, world!")
//! }
//!
//! // Streams the request body back as it arrives.
//! async fn echo(request: Request) -> Response {
//!     Response::new(200).body(request.into_body())
//! }
//!
//! async fn greet(request: Request) -> Response {
//!     let name = request.param("name").unwrap_or("stranger").to_string();
//!     let greeting = request.query_param("greeting").unwrap_or_else(|| "Hello".into());
//!     Response::text(format!("{greeting}, {name}!"))
//! }
//!
//! let app = Router::new()
//!     .get("/", hello)
//!     .post("/echo", echo)
//!     .get("/hello/{name}", greet)
//!     .route("/anything", any(|r: Request| async move { Response::text(r.method().to_string()) }));
//!
//! evloop::block_on(async {
//!     use evloop::io::{AsyncReadExt, AsyncWriteExt};
//!     let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = Server::new(app);
//!     let (stop, stopped) = evloop::sync::oneshot::channel::<()>();
//!     let serving = evloop::spawn(async move {
//!         server.serve_with_shutdown(listener, async { let _ = stopped.await; }).await
//!     });
//!
//!     let mut client = evloop::net::TcpStream::connect(addr).await?;
//!     client.write_all(b"GET /hello/ann?greeting=Hi HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await?;
//!     let mut answer = Vec::new();
//!     client.read_to_end(&mut answer).await?;
//!     let answer = String::from_utf8_lossy(&answer);
//!     assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//!     assert!(answer.ends_with("Hi, ann!"));
//!
//!     let _ = stop.send(());
//!     serving.await.expect("no panic")
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod body;
pub mod codec;
mod conn;
mod request;
mod response;
mod router;
mod server;

pub use body::Body;
pub use request::{Request, RequestBuilder, decode_query, percent_decode};
pub use response::{Response, format_date, reason};
pub use router::{Handler, HandlerFuture, MethodRouter, Router, any, get, post};
pub use server::Server;
