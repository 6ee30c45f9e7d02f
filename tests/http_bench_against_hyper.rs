//! The benchmark's two tools agree with each other: the hyper peer
//! (`examples/hyper_echo.rs`) answers the routes the way evloop's demo
//! does, and the load generator (`examples/http_bench`) passes every
//! workload of `benches/http.sh` against it, and fails when told to expect
//! something else.
//!
//! Both examples' code is compiled into this test as it is; hyper runs on
//! a tokio runtime in a thread of its own, the generator on evloop.

#![allow(dead_code)] // the examples' `main`s and flag parsing are not used here

#[path = "../examples/hyper_echo.rs"]
mod hyper_echo;
#[path = "../examples/http_bench/load.rs"]
mod load;
#[path = "../examples/http_bench/response.rs"]
mod response;
#[path = "../examples/http_bench/settings.rs"]
mod settings;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Starts the hyper peer on a free loopback port, on tokio's current-thread
/// runtime (`workers == 1`) or its multi-thread runtime.
fn start_hyper(workers: usize) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("bound");
    std::thread::spawn(move || {
        let runtime = if workers == 1 {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
        }
        .expect("a tokio runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            hyper_echo::serve(listener, false).await
        })
    });
    addr
}

fn quick(addr: SocketAddr, extra: &[&str]) -> settings::Settings {
    let mut args = vec!["--addr".to_string(), addr.to_string()];
    args.extend(["--conns", "4", "--secs", "0.3", "--warmup", "0.05"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    settings::parse_args(args).expect("valid flags")
}

#[test]
fn every_workload_of_the_script_passes_against_hyper() {
    let addr = start_hyper(1);
    let workloads: [&[&str]; 4] = [
        &["--method", "GET", "--path", "/"],
        &["--method", "GET", "--path", "/", "--pipeline", "16"],
        &["--method", "POST", "--path", "/echo", "--body-size", "1024"],
        &[
            "--method",
            "POST",
            "--body-size",
            "200000",
            "--pipeline",
            "2",
        ],
    ];
    for workload in workloads {
        let outcome = load::run(&quick(addr, workload)).expect("connects");
        assert_eq!(outcome.failure, None, "{workload:?}");
        assert!(outcome.all_requests > 0, "{workload:?}: nothing answered");
    }
}

#[test]
fn the_multi_thread_peer_passes_too() {
    let addr = start_hyper(2);
    let outcome = load::run(&quick(addr, &["--pipeline", "4"])).expect("connects");
    assert_eq!(outcome.failure, None);
    assert!(outcome.all_requests > 0);
}

#[test]
fn expecting_another_body_fails_the_run() {
    let addr = start_hyper(1);
    let outcome = load::run(&quick(
        addr,
        &["--expect-body", "Hello, World!", "--secs", "30"],
    ))
    .expect("connects");
    let failure = outcome.failure.expect("hyper says 'world', not 'World'");
    assert!(failure.contains("body differs"), "{failure}");
    let outcome = load::run(&quick(addr, &["--path", "/missing"])).expect("connects");
    let failure = outcome.failure.expect("a 404 is not counted");
    assert!(failure.contains("404"), "{failure}");
}

/// Sends one request with `Connection: close` and returns all of the
/// answer, lower-cased (header names differ in case between servers).
fn exchange(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("answer");
    String::from_utf8_lossy(&answer).to_lowercase()
}

#[test]
fn the_hyper_peer_answers_the_routes_as_the_demo_does() {
    let addr = start_hyper(1);
    let get = exchange(
        addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(get.starts_with("http/1.1 200"), "{get}");
    assert!(get.contains("content-type: text/plain") && get.ends_with("\r\n\r\nhello, world!"));
    let head = exchange(
        addr,
        "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        head.starts_with("http/1.1 200") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    let delete = exchange(
        addr,
        "DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(delete.starts_with("http/1.1 405"), "{delete}");
    assert!(delete.contains("allow: get, head"), "{delete}");
    let echo = exchange(
        addr,
        "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/x-test\r\n\
         Content-Length: 7\r\nConnection: close\r\n\r\necho me",
    );
    assert!(echo.starts_with("http/1.1 200"), "{echo}");
    assert!(echo.contains("content-type: text/x-test") && echo.ends_with("\r\n\r\necho me"));
    let missing = exchange(
        addr,
        "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(missing.starts_with("http/1.1 404"), "{missing}");
}
