//! Byte-exact echo under load, half-close, and owned halves.

mod common;

use std::time::{Duration, Instant};

use common::{XorShift, round_trip, spawn_echo_server};
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::TcpStream;

const MIB: usize = 1024 * 1024;

/// Message sizes from 1 B to 1 MiB, skewed small so a debug build moves a
/// few tens of MiB in all: every 25th message is between 256 KiB and 1 MiB
/// (and the first is exactly 1 MiB), the rest spread log-uniformly from
/// 1 B to 64 KiB.
fn sizes(seed: u64, count: usize) -> Vec<usize> {
    let mut rng = XorShift(seed);
    (0..count)
        .map(|i| match i {
            0 => MIB,
            1 => 1,
            _ if i % 25 == 0 => 256 * 1024 + rng.below(768 * 1024 + 1) as usize,
            _ => {
                let bits = rng.below(17); // up to 2^16
                1 + rng.below(1 << bits) as usize
            }
        })
        .collect()
}

#[test]
fn two_hundred_concurrent_clients_get_byte_exact_echoes() {
    let started = Instant::now();
    evloop::block_on(async {
        let addr = spawn_echo_server().await;
        let mut rng = XorShift(0x5eed_1234_abcd_ef01);
        let clients: Vec<_> = sizes(42, 200)
            .into_iter()
            .map(|size| {
                let mut payload = vec![0; size];
                rng.fill(&mut payload);
                evloop::spawn(async move {
                    let echoed = round_trip(addr, payload.clone()).await.expect("round trip");
                    assert_eq!(echoed.len(), payload.len(), "echo length");
                    assert!(echoed == payload, "echo differs for a {size}-byte message");
                    size
                })
            })
            .collect();
        let mut total = 0;
        for client in clients {
            total += client.await.expect("client task does not panic");
        }
        assert!(total > 2 * MIB, "the mix includes large messages");
    });
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn half_close_gets_the_whole_echo_then_eof() {
    evloop::block_on(async {
        let addr = spawn_echo_server().await;
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut payload = vec![0; 300 * 1024];
        XorShift(7).fill(&mut payload);
        // Small enough to sit in the socket buffers: one task can write it
        // all, shut down, and only then read.
        let first = &payload[..100 * 1024];
        stream.write_all(first).await.expect("write");
        stream
            .shutdown(std::net::Shutdown::Write)
            .expect("shutdown");
        let mut echoed = Vec::new();
        stream.read_to_end(&mut echoed).await.expect("read to end");
        assert!(echoed == first, "echo after half-close");
        // EOF is sticky.
        let mut byte = [0];
        assert_eq!(stream.read(&mut byte).await.expect("read at eof"), 0);
        // Writing after our own shutdown is an error, not a hang.
        assert!(stream.write_all(b"late").await.is_err());
    });
}

#[test]
fn owned_halves_work_from_two_tasks_and_drop_shuts_down_writes() {
    evloop::block_on(async {
        let addr = spawn_echo_server().await;
        let stream = TcpStream::connect(addr).await.expect("connect");
        let local = stream.local_addr().expect("local addr");
        let (mut read, mut write) = stream.into_split();
        assert_eq!(read.as_ref().local_addr().expect("addr"), local);
        assert_eq!(write.as_ref().peer_addr().expect("addr"), addr);
        let writer = evloop::spawn(async move {
            for i in 0..100u8 {
                write.write_all(&[i; 1000]).await.expect("write");
            }
            // Dropping `write` here shuts down the write side.
        });
        let mut echoed = Vec::new();
        read.read_to_end(&mut echoed).await.expect("read to end");
        writer.await.expect("writer");
        assert_eq!(echoed.len(), 100_000);
        for (i, chunk) in echoed.chunks(1000).enumerate() {
            assert!(chunk.iter().all(|&b| b == i as u8));
        }
    });
}

#[test]
fn read_exact_reports_unexpected_eof() {
    evloop::block_on(async {
        let addr = spawn_echo_server().await;
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(b"abc").await.expect("write");
        stream.close().await.expect("close");
        let mut buf = [0; 8];
        let error = stream.read_exact(&mut buf).await.expect_err("only 3 bytes");
        assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
        assert_eq!(&buf[..3], b"abc");
    });
}

#[test]
fn nodelay_and_addresses() {
    evloop::block_on(async {
        let addr = spawn_echo_server().await;
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("set_nodelay");
        assert!(stream.nodelay().expect("nodelay"));
        stream.set_nodelay(false).expect("set_nodelay");
        assert!(!stream.nodelay().expect("nodelay"));
        assert_eq!(stream.peer_addr().expect("peer"), addr);
        assert!(stream.local_addr().expect("local").ip().is_loopback());
    });
}
