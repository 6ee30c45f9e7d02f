//! A whole event loop in one file, and a TCP echo server on it.
//!
//! Run:  cargo run --example mini_loop [ADDR] [--once]   (default 127.0.0.1:7070)
//! Talk: nc 127.0.0.1 7070        (type a line: it comes back)
//!
//! `--once` serves one connection and exits when it closes. Nothing here
//! uses evloop: mio for readiness, a slab of tasks, a waker that sends its
//! task's index down a channel (the run queue), and a loop that alternates
//! "poll every woken task" with "sleep in `epoll_wait`". `docs/00-mini-loop.md`
//! walks through it. Its shortcuts, each one a thing evloop does properly:
//! a new `Waker` per poll (evloop: one per task, made at spawn); a task may
//! be queued many times (evloop: `scheduled`, ch. 3); a stale wake may poll
//! the slot's next task (evloop: generations, ch. 3); the run queue is
//! emptied before looking at the OS again, so a task that always wakes
//! itself starves the sockets (evloop: a budget, ch. 4); one waker per
//! socket and no cached readiness, so every wait costs a failed syscall
//! first (evloop: ch. 6 and 7); no timers, no other threads (ch. 4, 5, 8).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::task::{Context, Poll, Wake, Waker};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Registry, Token};
use slab::Slab;

/// A task: a future of `()` on the heap, pinned there for good.
type Task = Pin<Box<dyn Future<Output = ()>>>;

/// The waker of the task in slot `index`: waking it queues the index.
struct TaskWaker {
    /// The task's slot in `MiniLoop::tasks`.
    index: usize,
    /// The run queue's sending end (a `Sender` is `Send + Sync`, as a waker must be).
    run_queue: Sender<usize>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Fails only once the loop is gone, when there is nobody to wake.
        let _ = self.run_queue.send(self.index);
    }
}

/// The loop's state, shared by its tasks through an `Rc`: one thread only.
pub struct MiniLoop {
    /// The tasks; `None` while a task is out of its slot being polled.
    tasks: RefCell<Slab<Option<Task>>>,
    /// Given to every waker.
    sender: Sender<usize>,
    /// The run queue: indices of woken tasks, in wake order.
    run_queue: Receiver<usize>,
    /// Where sockets are registered with the OS poller.
    registry: Registry,
    /// The waker of the task waiting on each socket.
    waiting: RefCell<HashMap<Token, Waker>>,
    /// The next socket's token.
    next_token: Cell<usize>,
}

impl MiniLoop {
    /// Puts a future in the table and queues its first poll.
    fn spawn(&self, future: impl Future<Output = ()> + 'static) {
        let index = self.tasks.borrow_mut().insert(Some(Box::pin(future)));
        let _ = self.sender.send(index);
    }

    /// Polls the task in slot `index` once, if it is still there.
    fn run_task(&self, index: usize) {
        // Taken out of the slab, so that the task may spawn while it runs.
        let slot = self.tasks.borrow_mut().get_mut(index).map(Option::take);
        let Some(Some(mut task)) = slot else {
            return; // finished since it was woken
        };
        let waker = Waker::from(Arc::new(TaskWaker {
            index,
            run_queue: self.sender.clone(),
        }));
        let mut cx = Context::from_waker(&waker);
        if task.as_mut().poll(&mut cx).is_ready() {
            self.tasks.borrow_mut().remove(index);
        } else {
            self.tasks.borrow_mut()[index] = Some(task);
        }
    }

    /// Registers a socket once, edge-triggered, for both directions.
    fn register(&self, source: &mut impl mio::event::Source) -> io::Result<Token> {
        let token = Token(self.next_token.replace(self.next_token.get() + 1));
        self.registry
            .register(source, token, Interest::READABLE | Interest::WRITABLE)?;
        Ok(token)
    }

    /// Runs `op` until it does not say `WouldBlock`; on `WouldBlock`, parks
    /// the task's waker under `token` until the socket's next event.
    async fn io<R>(&self, token: Token, mut op: impl FnMut() -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| {
            loop {
                match op() {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.waiting.borrow_mut().insert(token, cx.waker().clone());
                        return Poll::Pending;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    result => return Poll::Ready(result),
                }
            }
        })
        .await
    }
}

/// Writes back everything the client sends, until it closes its side.
async fn echo(lp: Rc<MiniLoop>, mut stream: TcpStream) -> io::Result<()> {
    let token = lp.register(&mut stream)?;
    let mut buf = [0u8; 4096];
    loop {
        let n = lp.io(token, || (&stream).read(&mut buf)).await?;
        if n == 0 {
            break; // end of stream
        }
        let mut sent = 0;
        while sent < n {
            sent += lp.io(token, || (&stream).write(&buf[sent..n])).await?;
        }
    }
    lp.waiting.borrow_mut().remove(&token);
    lp.registry.deregister(&mut stream)
}

/// Accepts connections (at most `max`) and spawns an echo task for each.
async fn serve(lp: Rc<MiniLoop>, mut listener: TcpListener, max: Option<usize>) -> io::Result<()> {
    let token = lp.register(&mut listener)?;
    for _ in 0..max.unwrap_or(usize::MAX) {
        let (stream, peer) = lp.io(token, || listener.accept()).await?;
        let conn = lp.clone();
        lp.spawn(async move {
            if let Err(e) = echo(conn, stream).await {
                eprintln!("mini_loop: {peer}: {e}");
            }
        });
    }
    lp.waiting.borrow_mut().remove(&token);
    lp.registry.deregister(&mut listener)
}

/// Serves echo on `listener` (at most `max` connections) until no task is
/// left: with `max == None`, forever.
pub fn run(listener: std::net::TcpListener, max: Option<usize>) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut poll = mio::Poll::new()?;
    let (sender, run_queue) = channel();
    let lp = Rc::new(MiniLoop {
        tasks: RefCell::default(),
        sender,
        run_queue,
        registry: poll.registry().try_clone()?,
        waiting: RefCell::default(),
        next_token: Cell::new(0),
    });
    let outcome = Rc::new(Cell::new(Ok(())));
    let server = serve(lp.clone(), TcpListener::from_std(listener), max);
    let result = outcome.clone();
    lp.spawn(async move { result.set(server.await) });
    let mut events = Events::with_capacity(256);
    loop {
        // 1. Poll every task that was woken (and every task they wake).
        while let Ok(index) = lp.run_queue.try_recv() {
            lp.run_task(index);
        }
        // 2. Nothing left to wait for: done.
        if lp.tasks.borrow().is_empty() {
            return outcome.replace(Ok(()));
        }
        // 3. Sleep until the OS has news, then wake whoever waits on it.
        match poll.poll(&mut events, None) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            result => result?,
        }
        for event in &events {
            let waker = lp.waiting.borrow_mut().remove(&event.token());
            if let Some(waker) = waker {
                waker.wake(); // after the borrow: a wake may run any code
            }
        }
    }
}

/// `[ADDR] [--once]`: the address to serve and how many connections.
pub fn parse_args(
    args: impl IntoIterator<Item = String>,
) -> Result<(SocketAddr, Option<usize>), String> {
    let (mut addr, mut max) = (SocketAddr::from(([127, 0, 0, 1], 7070)), None);
    for arg in args {
        match arg.as_str() {
            "--once" => max = Some(1),
            flag if flag.starts_with('-') => {
                return Err(format!(
                    "unknown flag {flag:?}; usage: mini_loop [ADDR] [--once]"
                ));
            }
            text => {
                addr = text
                    .parse()
                    .map_err(|e| format!("bad address {text:?}: {e}"))?
            }
        }
    }
    Ok((addr, max))
}

fn main() -> io::Result<()> {
    let (addr, max) = parse_args(std::env::args().skip(1))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let listener = std::net::TcpListener::bind(addr)?;
    let addr = listener.local_addr()?;
    println!(
        "mini_loop: echo on {addr}; talk to it with: nc {} {}",
        addr.ip(),
        addr.port()
    );
    run(listener, max)
}
