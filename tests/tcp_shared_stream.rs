//! Two tasks reading through `&TcpStream` (issue 11, "the hang"): the
//! `AsyncRead` impl is a `poll_*` method, with no drop point, yet both
//! readers must be woken.

mod common;

use std::rc::Rc;
use std::time::Duration;

use common::with_watchdog;
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use evloop::time::sleep;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn two_readers_through_a_shared_reference_are_both_woken() {
    with_watchdog(LIMIT, || {
        evloop::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let mut writer = TcpStream::connect(listener.local_addr()?).await?;
            writer.set_nodelay(true)?;
            let (stream, _) = listener.accept().await?;
            let stream = Rc::new(stream);
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let stream = stream.clone();
                    evloop::spawn(async move {
                        let mut reader = &*stream;
                        let mut byte = [0; 1];
                        reader.read(&mut byte).await?;
                        Ok::<u8, std::io::Error>(byte[0])
                    })
                })
                .collect();
            sleep(Duration::from_millis(20)).await;
            // One byte at a time: the first wakes both readers, one takes
            // it, the other parks again until the second.
            writer.write_all(b"a").await?;
            sleep(Duration::from_millis(20)).await;
            writer.write_all(b"b").await?;
            let mut got = Vec::new();
            for reader in readers {
                got.push(reader.await.expect("the reader does not panic")?);
            }
            got.sort_unstable();
            assert_eq!(got, b"ab");
            Ok::<(), std::io::Error>(())
        })
    })
    .expect("both readers get a byte");
}
