//! Edge-triggered epoll in the raw: why a reader must drain until
//! `WouldBlock` (quoted in docs/07-edge-triggered.md).

use std::io::{Read, Write};
use std::time::Duration;

use mio::net::UnixStream;
use mio::{Events, Interest, Poll, Token};

#[test]
fn an_undrained_edge_is_never_reported_again() -> std::io::Result<()> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(8);
    let (mut reader, mut writer) = UnixStream::pair()?;
    poll.registry()
        .register(&mut reader, Token(0), Interest::READABLE)?;

    writer.write_all(&[1; 100])?;
    poll.poll(&mut events, Some(Duration::from_millis(100)))?;
    assert_eq!(events.iter().count(), 1, "one edge");

    // Read only part of what is there, as a careless reader would.
    let mut buf = [0; 10];
    reader.read_exact(&mut buf)?;

    // 90 bytes are still waiting, yet no new event comes: nothing *changed*.
    poll.poll(&mut events, Some(Duration::from_millis(100)))?;
    assert_eq!(events.iter().count(), 0, "edge-triggered: no second report");

    // A reader that drains until WouldBlock knows it has seen everything...
    let mut rest = [0; 256];
    assert_eq!(reader.read(&mut rest)?, 90);
    let error = reader.read(&mut rest).expect_err("drained");
    assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);

    // ... and that the next bytes will be reported: they are a change.
    writer.write_all(&[2; 5])?;
    poll.poll(&mut events, Some(Duration::from_millis(100)))?;
    assert_eq!(events.iter().count(), 1, "new data, new edge");
    Ok(())
}
