//! Async reading and writing: the traits, and the `read`/`write_all` helpers.
//!
//! # Two halves of one idea
//!
//! A blocking `read(2)` parks the *thread* until bytes arrive. An async read
//! cannot do that: the loop thread runs every task. So an async read is a
//! `poll_read(cx, buf)` that either returns bytes at once or returns
//! `Pending` after arranging for `cx`'s waker to be woken when bytes may have
//! arrived (see [`crate::reactor`] for how a socket arranges that).
//!
//! The traits for this, [`AsyncRead`] and [`AsyncWrite`], are not evloop's:
//! they are re-exported from the `futures-io` crate, the vocabulary that
//! `futures`, `async-std`, `smol` and many protocol crates share. Because
//! evloop's sockets implement *these* traits, `futures::io::copy`,
//! `futures::io::BufReader`, codecs and TLS wrappers work on them unchanged.
//!
//! # The extension traits
//!
//! `poll_read` is the interface a runtime implements; nobody wants to call it
//! by hand. [`AsyncReadExt`] and [`AsyncWriteExt`] add the methods you do
//! want (`read`, `read_exact`, `read_to_end`, `write`, `write_all`, `flush`,
//! `close`), each returning a small named future that calls the `poll_*`
//! method until it is done. They are the same shape as the `futures` crate's
//! (which evloop does not depend on); if you import both, name the one you
//! mean (`evloop::io::AsyncReadExt::read(&mut s, buf)`).
//!
//! ```
//! use evloop::io::{AsyncReadExt, AsyncWriteExt};
//!
//! evloop::block_on(async {
//!     let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let client = evloop::spawn(async move {
//!         let mut stream = evloop::net::TcpStream::connect(addr).await?;
//!         stream.write_all(b"ping").await?;
//!         stream.close().await // shuts down our write side: the server sees EOF
//!     });
//!     let (mut stream, _) = listener.accept().await?;
//!     let mut got = Vec::new();
//!     stream.read_to_end(&mut got).await?;
//!     assert_eq!(got, b"ping");
//!     client.await.expect("the client does not panic")
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod read;
mod ready;
mod write;

pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use read::{AsyncReadExt, Read, ReadExact, ReadToEnd};
pub use ready::{Interest, Ready};
pub use write::{AsyncWriteExt, Close, Flush, Write, WriteAll};
