//! A closed-loop load generator for echo servers, running on evloop itself.
//!
//! Each of N connections sends one message, waits for all of it to come
//! back, checks every byte, and sends the next: the classic ping-pong
//! load. Prints messages per second, MiB/s (one direction) and the p50 and
//! p99 round-trip latency of the measured period.
//!
//! Run a server first (`cargo run --release --example echo`), then:
//!   cargo run --release --example echo_bench -- \
//!       --addr 127.0.0.1:7000 --conns 64 --size 64 --secs 5 --warmup 1
//!
//! The last line is `key=value` pairs, for scripts (`benches/echo.sh`);
//! `all_msgs` counts the warm-up too, to divide a server's CPU time by.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::TcpStream;

/// Command-line settings.
struct Settings {
    /// The echo server to load.
    addr: String,
    /// Concurrent connections.
    conns: usize,
    /// Bytes per message.
    size: usize,
    /// Measured seconds.
    secs: f64,
    /// Seconds of load before measuring.
    warmup: f64,
}

fn parse_args() -> Settings {
    let mut settings = Settings {
        addr: "127.0.0.1:7000".into(),
        conns: 64,
        size: 64,
        secs: 5.0,
        warmup: 1.0,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let (flag, value) = (
            &pair[0],
            pair.get(1).map(String::as_str).unwrap_or_default(),
        );
        match flag.as_str() {
            "--addr" => settings.addr = value.to_string(),
            "--conns" => settings.conns = parse(flag, value),
            "--size" => settings.size = parse(flag, value),
            "--secs" => settings.secs = parse(flag, value),
            "--warmup" => settings.warmup = parse(flag, value),
            other => panic!("unknown option {other}; see the top of examples/echo_bench.rs"),
        }
    }
    settings
}

fn parse<T: std::str::FromStr>(flag: &str, value: &str) -> T {
    value
        .parse()
        .unwrap_or_else(|_| panic!("bad value {value:?} for {flag}"))
}

/// What all connections measured.
#[derive(Default)]
struct Totals {
    /// Round-trip times (µs) of the measured period.
    latencies_us: Vec<u32>,
    /// Messages completed, warm-up included.
    all_msgs: u64,
}

fn main() -> io::Result<()> {
    let settings = parse_args();
    // evloop has no timers yet in this build: a thread raises the flags.
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let (warmup, secs) = (settings.warmup, settings.secs);
    let (m, s) = (measuring.clone(), stop.clone());
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs_f64(warmup));
        m.store(true, Ordering::Relaxed);
        std::thread::sleep(Duration::from_secs_f64(secs));
        s.store(true, Ordering::Relaxed);
    });
    let totals = Rc::new(RefCell::new(Totals::default()));
    evloop::block_on(async {
        let mut tasks = Vec::new();
        for id in 0..settings.conns {
            let mut stream = TcpStream::connect(settings.addr.as_str()).await?;
            stream.set_nodelay(true)?;
            let (measuring, stop, totals) = (measuring.clone(), stop.clone(), totals.clone());
            let size = settings.size;
            tasks.push(evloop::spawn(async move {
                ping_pong(&mut stream, id, size, &measuring, &stop, &totals).await
            }));
        }
        for task in tasks {
            task.await.map_err(|e| io::Error::other(e.to_string()))??;
        }
        Ok::<(), io::Error>(())
    })?;
    report(&settings, &mut totals.borrow_mut());
    Ok(())
}

/// One connection's closed loop.
async fn ping_pong(
    stream: &mut TcpStream,
    id: usize,
    size: usize,
    measuring: &AtomicBool,
    stop: &AtomicBool,
    totals: &RefCell<Totals>,
) -> io::Result<()> {
    let mut message = vec![0u8; size];
    let mut echoed = vec![0u8; size];
    let mut latencies = Vec::new();
    let mut all_msgs = 0u64;
    for seq in 0u64.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        // A pattern that differs per connection and per message.
        let tag = (id as u64).wrapping_mul(0x9E37_79B9).wrapping_add(seq);
        message
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = (tag as usize + i) as u8);
        let started = Instant::now();
        stream.write_all(&message).await?;
        stream.read_exact(&mut echoed).await?;
        if echoed != message {
            return Err(io::Error::other(format!("connection {id}: echo differs")));
        }
        all_msgs += 1;
        if measuring.load(Ordering::Relaxed) {
            latencies.push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
        }
    }
    let mut totals = totals.borrow_mut();
    totals.latencies_us.extend(latencies);
    totals.all_msgs += all_msgs;
    Ok(())
}

fn report(settings: &Settings, totals: &mut Totals) {
    let lat = &mut totals.latencies_us;
    lat.sort_unstable();
    let percentile = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let msgs = lat.len() as f64;
    let per_sec = msgs / settings.secs;
    let mib_per_sec = per_sec * settings.size as f64 / (1024.0 * 1024.0);
    println!(
        "{} conns x {} B for {:.1} s: {:.0} msgs/s, {:.2} MiB/s, p50 {} us, p99 {} us",
        settings.conns,
        settings.size,
        settings.secs,
        per_sec,
        mib_per_sec,
        percentile(0.50),
        percentile(0.99)
    );
    println!(
        "conns={} size={} msgs={} all_msgs={} msgs_per_sec={:.0} mib_per_sec={:.2} p50_us={} p99_us={}",
        settings.conns,
        settings.size,
        lat.len(),
        totals.all_msgs,
        per_sec,
        mib_per_sec,
        percentile(0.50),
        percentile(0.99)
    );
}
