//! A closed-loop HTTP/1.1 load generator on evloop that verifies every
//! response.
//!
//! Each of N keep-alive connections sends a batch of D requests in one
//! write (D = `--pipeline`, 1 by default), reads the D responses, checks
//! each (status 200, framing, the body byte for byte) and sends the next
//! batch. A response that is wrong ends the run with an error and a
//! non-zero exit: a benchmark that counts a 500 as a request served
//! measures nothing.
//!
//! Run a server first (`cargo run --release --example hyper_echo`), then:
//!   cargo run --release --example http_bench -- --addr 127.0.0.1:8081 \
//!       --conns 64 --secs 5 --warmup 1                    # GET /
//!   cargo run --release --example http_bench -- --addr 127.0.0.1:8081 --pipeline 16
//!   cargo run --release --example http_bench -- --addr 127.0.0.1:8081 \
//!       --method POST --path /echo --body-size 1024       # bodies echoed and compared
//!
//! `GET` expects the body `Hello, world!` (evloop's and hyper's demo) unless
//! `--expect-body TEXT` says otherwise; `POST` sends a body of
//! `--body-size` bytes, a pattern different for every request, and expects
//! it back. The last line printed is `key=value` pairs for scripts
//! (`benches/http.sh`); `all_requests` counts the warm-up too, to divide a
//! server's CPU time by.
//!
//! The generator is meant to cost little per request, so that the server,
//! not the client, is measured: requests are built once per connection
//! (only a POST body's bytes are rewritten per request), responses are
//! parsed in place in one reused buffer, and bodies are compared as they
//! arrive (see `response.rs`).

mod load;
mod response;
mod settings;

use load::Outcome;
use settings::{Settings, USAGE, parse_args};

fn main() {
    let settings = parse_args(std::env::args().skip(1)).unwrap_or_else(|message| {
        eprintln!("http_bench: {message}\n{USAGE}");
        std::process::exit(2)
    });
    match load::run(&settings) {
        Ok(outcome) => {
            report(&settings, &outcome);
            if let Some(message) = outcome.failure {
                eprintln!("http_bench: {message}");
                std::process::exit(1);
            }
        }
        Err(error) => {
            eprintln!("http_bench: {error}");
            std::process::exit(1);
        }
    }
}

/// Prints the human summary and the `key=value` line scripts read.
fn report(settings: &Settings, outcome: &Outcome) {
    let latencies = &outcome.latencies_us;
    let percentile = |p: f64| {
        let i = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(i).copied().unwrap_or(0)
    };
    let (requests, all_requests, secs) = (outcome.requests, outcome.all_requests, outcome.secs);
    let rps = if secs > 0.0 {
        requests as f64 / secs
    } else {
        0.0
    };
    let (p50, p99) = (percentile(0.50), percentile(0.99));
    let errors = u8::from(outcome.failure.is_some());
    println!(
        "{} {} x {} conns, pipeline {}: {requests} requests in {secs:.2} s = {rps:.0} req/s, \
         batch round trip p50 {p50} us, p99 {p99} us, {errors} error(s)",
        settings.method, settings.path, settings.conns, settings.pipeline
    );
    println!(
        "conns={} pipeline={} requests={requests} all_requests={all_requests} secs={secs:.3} \
         rps={rps:.0} p50_us={p50} p99_us={p99} errors={errors}",
        settings.conns, settings.pipeline
    );
}
