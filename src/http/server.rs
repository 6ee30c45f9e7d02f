//! `Server`: the accept loop, its limits, and a graceful shutdown.
//!
//! The accept loop takes a permit from a [`Semaphore`] before each accept:
//! past `max_connections` open connections it simply stops accepting, and
//! new clients wait in the kernel's backlog until a connection closes,
//! instead of being accepted and starved. Each accepted connection becomes
//! one task (see `conn.rs`).
//!
//! # Graceful shutdown
//!
//! When the shutdown future resolves, the loop stops accepting at once, then
//! accepts what the kernel already queued (until `WouldBlock`): those
//! clients connected before the decision and get served. Every connection
//! learns of the shutdown through a flag (those waiting between requests
//! are woken through the wakers they left in the server's table): an idle
//! one closes, one in the middle of a request finishes it and answers with
//! `connection: close`. `serve_with_shutdown` returns when the
//! last connection is done; dropping it instead aborts those that remain.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

use slab::Slab;

use super::codec::Limits;
use super::conn::serve_connection;
use super::router::Router;
use crate::future::{Either, select};
use crate::net::{TcpListener, TcpStream};
use crate::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use crate::task::AbortHandle;

/// The server's settings.
#[derive(Debug, Clone)]
pub(super) struct Config {
    /// How long a connection may sit idle between requests.
    pub(super) keep_alive_timeout: Duration,
    /// How long a request head may take to arrive whole (→ 408).
    pub(super) header_read_timeout: Duration,
    /// How long one write may wait for a client to read.
    pub(super) write_timeout: Duration,
    /// Size limits on heads and bodies.
    pub(super) limits: Limits,
    /// The most connections open at once.
    pub(super) max_connections: usize,
}

/// An HTTP/1.1 server for one listener, answering with a [`Router`].
///
/// ```no_run
/// use evloop::http::{Request, Response, Router, Server};
///
/// async fn hello(_: Request) -> Response {
///     Response::text("Hello, world!")
/// }
///
/// evloop::block_on(async {
///     let listener = evloop::net::TcpListener::bind("127.0.0.1:8080").await?;
///     Server::new(Router::new().get("/", hello)).serve(listener).await
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Server {
    /// The application.
    router: Router,
    /// Settings.
    config: Config,
}

/// What the connections of one `serve` share.
pub(super) struct Shared {
    /// The application.
    pub(super) router: Router,
    /// Settings.
    pub(super) config: Config,
    /// Set once shutdown begins.
    shutting_down: Cell<bool>,
    /// Open connections: abort handles, so that dropping `serve` ends
    /// them, and the wakers of those idle between requests, so that a
    /// shutdown can tell them.
    live: RefCell<Slab<Tracked>>,
    /// Notified as each connection ends, for the drain.
    ended: Notify,
}

/// One open connection, as the server tracks it.
struct Tracked {
    /// Ends the connection's task.
    task: AbortHandle,
    /// Its task's waker while it waits between requests (kept afterwards:
    /// a stale wake is harmless, and re-registering the same waker is a
    /// comparison, not a clone).
    idle: Option<Waker>,
}

impl Shared {
    /// Whether shutdown has begun.
    pub(super) fn is_shutting_down(&self) -> bool {
        self.shutting_down.get()
    }

    /// Records that connection `key` waits between requests, to be woken
    /// by `waker` if shutdown begins.
    pub(super) fn park_idle(&self, key: usize, waker: &Waker) {
        if let Some(tracked) = self.live.borrow_mut().get_mut(key) {
            match &tracked.idle {
                Some(parked) if parked.will_wake(waker) => {}
                _ => tracked.idle = Some(waker.clone()),
            }
        }
    }

    /// Begins shutdown: sets the flag and wakes every idle connection (the
    /// wakers are collected first, and woken with no borrow held).
    fn begin_shutdown(&self) {
        self.shutting_down.set(true);
        let wakers: Vec<Waker> = self
            .live
            .borrow_mut()
            .iter_mut()
            .filter_map(|(_, tracked)| tracked.idle.take())
            .collect();
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl Server {
    /// A server with the default limits (see the module docs of
    /// [`evloop::http`](super)).
    pub fn new(router: Router) -> Server {
        Server {
            router,
            config: Config {
                keep_alive_timeout: Duration::from_secs(5),
                header_read_timeout: Duration::from_secs(10),
                write_timeout: Duration::from_secs(30),
                limits: Limits::default(),
                max_connections: 10_000,
            },
        }
    }

    /// Idle time allowed between requests on a connection (default 5 s).
    pub fn keep_alive_timeout(mut self, timeout: Duration) -> Server {
        self.config.keep_alive_timeout = timeout;
        self
    }

    /// Time allowed for a whole request head to arrive (default 10 s);
    /// past it the answer is 408 and the connection closes.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Server {
        self.config.header_read_timeout = timeout;
        self
    }

    /// How long a write of responses may wait for the client to read
    /// (default 30 s); past it the connection is dropped, so a client that
    /// never reads cannot hold it forever.
    pub fn write_timeout(mut self, timeout: Duration) -> Server {
        self.config.write_timeout = timeout;
        self
    }

    /// Longest request line in bytes (default 8 KiB; past it, 414).
    pub fn max_request_line(mut self, bytes: usize) -> Server {
        self.config.limits.max_request_line = bytes;
        self
    }

    /// Longest request head in bytes (default 16 KiB; past it, 431).
    pub fn max_head_size(mut self, bytes: usize) -> Server {
        self.config.limits.max_head = bytes;
        self
    }

    /// Most header fields in a request (default 100, at most 128; past it, 431).
    pub fn max_headers(mut self, count: usize) -> Server {
        self.config.limits.max_headers = count.min(super::codec::HEADER_SLOTS);
        self
    }

    /// Largest request body in bytes (default 16 MiB; past it, 413).
    pub fn max_body_size(mut self, bytes: u64) -> Server {
        self.config.limits.max_body = bytes;
        self
    }

    /// Most connections open at once (default 10,000); past it, accepting
    /// waits until one closes.
    pub fn max_connections(mut self, count: usize) -> Server {
        self.config.max_connections = count.max(1);
        self
    }

    /// Serves `listener` forever (or until an error on the listener).
    pub async fn serve(&self, listener: TcpListener) -> io::Result<()> {
        self.serve_with_shutdown(listener, std::future::pending())
            .await
    }

    /// Serves `listener` until `shutdown` resolves, then drains: see the
    /// module docs. Returns when every connection is done.
    pub async fn serve_with_shutdown(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let shared = Rc::new(Shared {
            router: self.router.clone(),
            config: self.config.clone(),
            shutting_down: Cell::new(false),
            live: RefCell::new(Slab::new()),
            ended: Notify::new(),
        });
        let _abort_on_drop = AbortRemaining(shared.clone());
        let ticker = crate::spawn(super::response::date_ticker());
        let _stop_ticker = AbortOnDrop(ticker.abort_handle());
        let permits = Arc::new(Semaphore::new(self.config.max_connections));
        let mut shutdown = pin!(shutdown);
        loop {
            let permit = match select(shutdown.as_mut(), permits.clone().acquire_owned()).await {
                Either::Left(()) => break,
                Either::Right(permit) => permit.expect("the semaphore is never closed"),
            };
            match select(shutdown.as_mut(), listener.accept()).await {
                Either::Left(()) => break,
                Either::Right(Ok((stream, _))) => spawn_connection(stream, Some(permit), &shared),
                // A connection that failed between SYN and accept, or the
                // like: it costs that one client. Pause a little in case the
                // cause persists.
                Either::Right(Err(_)) => crate::time::sleep(Duration::from_millis(5)).await,
            }
        }
        shared.begin_shutdown();
        drain_backlog(&listener, &shared).await;
        // Closed now, not when the drain ends: from here a new client is
        // refused at once (it can retry elsewhere) instead of completing
        // its handshake into a queue nobody accepts from, to be reset later.
        drop(listener);
        loop {
            let ended = shared.ended.notified();
            if shared.live.borrow().is_empty() {
                return Ok(());
            }
            ended.await;
        }
    }
}

/// Accepts what the kernel queued before shutdown, until `WouldBlock`.
async fn drain_backlog(listener: &TcpListener, shared: &Rc<Shared>) {
    loop {
        let accepted = poll_fn(|cx| Poll::Ready(listener.poll_accept(cx))).await;
        match accepted {
            Poll::Ready(Ok((stream, _))) => spawn_connection(stream, None, shared),
            Poll::Ready(Err(_)) => continue,
            Poll::Pending => return,
        }
    }
}

/// Starts the task serving `stream`.
fn spawn_connection(stream: TcpStream, permit: Option<OwnedSemaphorePermit>, shared: &Rc<Shared>) {
    let key = shared.live.borrow().vacant_key();
    let guard = Live {
        shared: shared.clone(),
        key,
        _permit: permit,
    };
    let task = crate::spawn(async move {
        let guard = guard;
        serve_connection(stream, guard.shared.clone(), guard.key).await;
    });
    // The task runs only after this (spawn queues it), so its key is valid.
    shared.live.borrow_mut().insert(Tracked {
        task: task.abort_handle(),
        idle: None,
    });
}

/// Held by a connection task: on drop (finished, aborted or panicked) it
/// leaves the live set, frees its permit and tells the drain.
struct Live {
    /// The server's shared state.
    shared: Rc<Shared>,
    /// This connection's key in `Shared::live`.
    key: usize,
    /// Its place under the connection cap.
    _permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Ok(mut live) = self.shared.live.try_borrow_mut() {
            if live.contains(self.key) {
                live.remove(self.key);
            }
        }
        self.shared.ended.notify_waiters();
    }
}

/// Aborts one task when dropped (the date ticker, when serving ends).
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Aborts every connection still open when `serve_with_shutdown` is dropped.
struct AbortRemaining(Rc<Shared>);

impl Drop for AbortRemaining {
    fn drop(&mut self) {
        let live = std::mem::take(&mut *self.0.live.borrow_mut());
        for (_, tracked) in live {
            tracked.task.abort();
        }
    }
}
