//! A fixed amount of the loop's cheapest work, for counting instructions.
//!
//! Run: cargo build --release --example poll_cost
//!      valgrind --tool=callgrind target/release/examples/poll_cost yield
//!      EVLOOP_DEBUG=1 valgrind --tool=callgrind target/release/examples/poll_cost yield
//!
//! `yield`: 10 rounds of 200 tasks that each `yield_now` 1,000 times, so
//! 2 million polls that do nearly nothing; `spawn`: 10 rounds of 200 empty
//! tasks. Wall-clock benchmarks on a shared machine drift by tens of
//! percent; callgrind's instruction counts do not, which makes this the
//! way to see what a change to the loop's hot path costs (see
//! docs/performance.md, "What watching the loop costs"). The program
//! prints nothing.

fn main() {
    let yields = match std::env::args().nth(1).as_deref() {
        Some("spawn") => 0,
        _ => 1_000,
    };
    let rt = evloop::Runtime::new().expect("the OS gives us an epoll instance");
    for _ in 0..10 {
        rt.block_on(async {
            let tasks: Vec<_> = (0..200)
                .map(|_| {
                    evloop::spawn(async move {
                        for _ in 0..yields {
                            evloop::yield_now().await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("the tasks do not panic");
            }
        });
    }
}
