//! Several tasks receiving on one shared `UdpSocket` (issue 11, "the
//! hang"): each datagram wakes the waiters, and one that gave up strands
//! nobody.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use common::with_watchdog;
use evloop::net::UdpSocket;
use evloop::time::{sleep, timeout};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn several_tasks_in_recv_from_each_get_a_datagram() {
    with_watchdog(LIMIT, || {
        evloop::block_on(async {
            let socket = Rc::new(UdpSocket::bind("127.0.0.1:0").await?);
            let addr = socket.local_addr()?;
            let receivers: Vec<_> = (0..8)
                .map(|_| {
                    let socket = socket.clone();
                    evloop::spawn(async move {
                        let mut buf = [0; 16];
                        let (n, _) = socket.recv_from(&mut buf).await?;
                        Ok::<u8, std::io::Error>(buf[..n][0])
                    })
                })
                .collect();
            sleep(Duration::from_millis(20)).await;
            let sender = UdpSocket::bind("127.0.0.1:0").await?;
            for i in 0..8u8 {
                sender.send_to(&[i], addr).await?;
            }
            let mut got = Vec::new();
            for receiver in receivers {
                got.push(receiver.await.expect("the receiver does not panic")?);
            }
            got.sort_unstable();
            assert_eq!(got, (0..8).collect::<Vec<u8>>());
            Ok::<(), std::io::Error>(())
        })
    })
    .expect("each receiver gets one datagram");
}

#[test]
fn a_looping_receiver_survives_a_recv_that_timed_out() {
    with_watchdog(LIMIT, || {
        evloop::block_on(async {
            let socket = Rc::new(UdpSocket::bind("127.0.0.1:0").await?);
            let addr = socket.local_addr()?;
            let received = Rc::new(Cell::new(0));
            let looping = {
                let (socket, received) = (socket.clone(), received.clone());
                evloop::spawn(async move {
                    let mut buf = [0; 16];
                    while socket.recv_from(&mut buf).await.is_ok() {
                        received.set(received.get() + 1);
                    }
                })
            };
            sleep(Duration::from_millis(20)).await;
            let mut buf = [0; 16];
            let result = timeout(Duration::from_millis(50), socket.recv_from(&mut buf)).await;
            assert!(result.is_err(), "nothing sent yet: the recv times out");
            let sender = UdpSocket::bind("127.0.0.1:0").await?;
            for expected in 1..=3 {
                sender.send_to(b"x", addr).await?;
                while received.get() < expected {
                    sleep(Duration::from_millis(1)).await;
                }
            }
            looping.abort();
            Ok::<(), std::io::Error>(())
        })
    })
    .expect("the looping receiver gets every later datagram");
}
