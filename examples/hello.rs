//! The smallest useful evloop program: spawn, join, yield.
//!
//! Run: `cargo run --example hello`
//!
//! Three tasks count in turns: each prints a line, then `yield_now` lets
//! the others run, so their lines interleave. The main future waits for
//! all of them through their `JoinHandle`s and adds up what they return.

fn main() {
    let total = evloop::block_on(async {
        let workers: Vec<_> = ["ada", "grace", "barbara"]
            .into_iter()
            .map(|name| {
                evloop::spawn(async move {
                    for step in 1..=3 {
                        println!("{name}: step {step}");
                        evloop::yield_now().await;
                    }
                    name.len()
                })
            })
            .collect();
        let mut total = 0;
        for worker in workers {
            total += worker.await.expect("workers do not panic");
        }
        total
    });
    println!("letters in all names: {total}");
}
