//! The echo server with no runtime at all: one hand-written `mio` loop.
//!
//! This is the floor the evloop and tokio echo servers are measured
//! against (`benches/echo.sh`): the fewest system calls and the least
//! user-space work an edge-triggered echo server can do. No tasks, no
//! wakers, no futures: each event goes straight to its connection's state
//! machine. Everything evloop adds on top of this loop (docs/01 to 07) is
//! what lets you write `echo` in `examples/echo.rs` as five lines of
//! straight-line code instead of this file.
//!
//! Run:  cargo run --release --example mio_echo [ADDR]   (default 127.0.0.1:7002)
//! Talk: nc 127.0.0.1 7002
//!
//! The loop makes the same system calls per message as the two runtimes
//! (one `recvfrom`, one `sendto`, a share of `epoll_wait`), and takes the
//! same shortcut they take: a read that returns less than the buffer has
//! emptied the socket, so the next read waits for the next edge instead of
//! asking the kernel again only to hear `WouldBlock`.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

const LISTENER: Token = Token(usize::MAX);

/// One client: its socket, the bytes read but not yet written back, and
/// what the kernel last said it could do.
struct Conn {
    stream: TcpStream,
    /// Echo bytes the socket's send buffer had no room for.
    pending: Vec<u8>,
    /// The last read or an event says there may be bytes to read.
    readable: bool,
    /// The last write or an event says there may be room to write.
    writable: bool,
}

fn main() -> io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7002".to_string())
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut listener = TcpListener::bind(addr)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let local = listener.local_addr()?;
    println!("mio echo server listening on {local}");
    println!("talk to it with: nc {} {}", local.ip(), local.port());

    let mut conns: Slab<Conn> = Slab::new();
    let mut buf = vec![0u8; 4096];
    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                accept_all(&listener, &poll, &mut conns);
                continue;
            }
            let key = event.token().0;
            // The connection may have closed earlier in this same batch
            // (its slot then holds nothing, or a newer connection that a
            // spurious look at costs one `WouldBlock`).
            let Some(conn) = conns.get_mut(key) else {
                continue;
            };
            conn.readable |= event.is_readable() || event.is_read_closed();
            conn.writable |= event.is_writable();
            if event.is_error() || !serve(conn, &mut buf) {
                // Closing the socket also takes it out of the epoll set.
                drop(conns.remove(key));
            }
        }
    }
}

/// Accepts until `WouldBlock` (edge-triggered: one event, any number of
/// connections). A failed accept (out of fds, say) drops that attempt and
/// waits for the next edge; the other connections keep being served.
fn accept_all(listener: &TcpListener, poll: &Poll, conns: &mut Slab<Conn>) {
    loop {
        match listener.accept() {
            Ok((mut stream, _peer)) => {
                // Fails only for a peer that is already gone; its first
                // read will say so.
                let _ = stream.set_nodelay(true);
                let entry = conns.vacant_entry();
                let registered = poll.registry().register(
                    &mut stream,
                    Token(entry.key()),
                    Interest::READABLE | Interest::WRITABLE,
                );
                if let Err(e) = registered {
                    eprintln!("cannot watch a new connection: {e}");
                    continue; // dropping the stream closes it
                }
                entry.insert(Conn {
                    stream,
                    pending: Vec::new(),
                    readable: true,
                    writable: true,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("accept error: {e}");
                return;
            }
        }
    }
}

/// Moves bytes from the socket back into it for as long as the kernel
/// lets us. Returns `false` when the connection is over (EOF or an error).
fn serve(conn: &mut Conn, buf: &mut [u8]) -> bool {
    loop {
        // First, what the send buffer refused last time.
        if !conn.pending.is_empty() {
            if !conn.writable {
                return true; // wait for room: stop reading meanwhile (backpressure)
            }
            match conn.stream.write(&conn.pending) {
                Ok(n) => {
                    conn.pending.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.writable = false;
                    return true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
            continue;
        }
        if !conn.readable {
            return true;
        }
        let n = match conn.stream.read(buf) {
            Ok(0) => return false, // the client closed its side
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                conn.readable = false;
                return true;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        // A short read emptied the receive buffer: the next byte raises a
        // new edge, so do not ask again now.
        if n < buf.len() {
            conn.readable = false;
        }
        match conn.stream.write(&buf[..n]) {
            Ok(written) => conn.pending.extend_from_slice(&buf[written..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                conn.writable = false;
                conn.pending.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                conn.pending.extend_from_slice(&buf[..n]);
            }
            Err(_) => return false,
        }
    }
}
