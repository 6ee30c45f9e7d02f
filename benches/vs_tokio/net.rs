//! Socket workloads: echo round trips over loopback TCP.
//!
//! Both runtimes serve their own echo server on the same thread as the
//! client (a current-thread runtime), so each round trip costs two task
//! switches, four socket syscalls plus the failed reads, and an epoll_wait.

use criterion::{BenchmarkId, Criterion};

const MESSAGE: [u8; 64] = [0x5a; 64];

pub fn tcp_echo_roundtrip(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp_echo_roundtrip");
    for (conns, trips) in [(1usize, 1_000usize), (64, 100)] {
        let param = format!("{conns}conn_x{trips}");
        group.bench_function(BenchmarkId::new("evloop", &param), |b| {
            evloop_echo::bench(b, conns, trips)
        });
        group.bench_function(BenchmarkId::new("tokio", &param), |b| {
            tokio_echo::bench(b, conns, trips)
        });
    }
    group.finish();
}

mod evloop_echo {
    use evloop::io::{AsyncReadExt, AsyncWriteExt};
    use evloop::net::{TcpListener, TcpStream};

    use super::MESSAGE;

    async fn serve(listener: TcpListener) {
        loop {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let _task = evloop::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    let n = match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if stream.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    }

    async fn trips(mut stream: TcpStream, n: usize) -> TcpStream {
        let mut buf = [0u8; 64];
        for _ in 0..n {
            stream.write_all(&MESSAGE).await.expect("write");
            stream.read_exact(&mut buf).await.expect("read");
        }
        stream
    }

    pub fn bench(b: &mut criterion::Bencher<'_>, conns: usize, n: usize) {
        let rt = evloop::Runtime::new().expect("runtime");
        let mut streams = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            let _server = evloop::spawn(serve(listener));
            let mut streams = Vec::new();
            for _ in 0..conns {
                let stream = TcpStream::connect(addr).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                streams.push(stream);
            }
            streams
        });
        b.iter(|| {
            streams = rt.block_on(async {
                let tasks: Vec<_> = std::mem::take(&mut streams)
                    .into_iter()
                    .map(|stream| evloop::spawn(trips(stream, n)))
                    .collect();
                let mut back = Vec::with_capacity(tasks.len());
                for task in tasks {
                    back.push(task.await.expect("client task"));
                }
                back
            });
        });
    }
}

mod tokio_echo {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::MESSAGE;

    async fn serve(listener: TcpListener) {
        loop {
            let (mut stream, _) = listener.accept().await.expect("accept");
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    let n = match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if stream.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    }

    async fn trips(mut stream: TcpStream, n: usize) -> TcpStream {
        let mut buf = [0u8; 64];
        for _ in 0..n {
            stream.write_all(&MESSAGE).await.expect("write");
            stream.read_exact(&mut buf).await.expect("read");
        }
        stream
    }

    pub fn bench(b: &mut criterion::Bencher<'_>, conns: usize, n: usize) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("runtime");
        let mut streams = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            tokio::spawn(serve(listener));
            let mut streams = Vec::new();
            for _ in 0..conns {
                let stream = TcpStream::connect(addr).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                streams.push(stream);
            }
            streams
        });
        b.iter(|| {
            streams = rt.block_on(async {
                let tasks: Vec<_> = std::mem::take(&mut streams)
                    .into_iter()
                    .map(|stream| tokio::spawn(trips(stream, n)))
                    .collect();
                let mut back = Vec::with_capacity(tasks.len());
                for task in tasks {
                    back.push(task.await.expect("client task"));
                }
                back
            });
        });
    }
}
