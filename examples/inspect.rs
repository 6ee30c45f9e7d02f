//! The task dump: what every task of a loop is doing, and where it came from.
//!
//! Run: cargo run --example inspect
//!
//! The program starts a few tasks that behave like a small server's: a
//! ticker on a timer, workers parked on a channel, one that waits for a
//! blocking-pool job. Then it lists them twice: from inside the loop with
//! `Handle::current().dump()` (which answers at once), and from another
//! thread, whose request travels through the loop's injection queue and is
//! answered at the loop's next turn. Each line shows the task's id, its
//! state (scheduled, waiting, running), how often it was polled, how long
//! ago, and the line of this file that spawned it.

use std::time::Duration;

fn main() {
    let rt = evloop::Runtime::new().expect("the OS gives us an epoll instance");
    let handle = rt.handle();
    rt.block_on(async {
        let ticker = evloop::spawn(async {
            let mut interval = evloop::time::interval(Duration::from_millis(10));
            loop {
                interval.tick().await;
            }
        });
        let (tx, mut rx) = evloop::sync::mpsc::channel::<u32>(8);
        let consumer = evloop::spawn(async move {
            while let Some(job) = rx.recv().await {
                println!("consumer got job {job}");
            }
        });
        let pool_waiter = evloop::spawn(async {
            evloop::spawn_blocking(|| std::thread::sleep(Duration::from_millis(200))).await
        });
        tx.send(1).await.expect("the consumer listens");
        evloop::time::sleep(Duration::from_millis(35)).await;

        println!("-- dump from inside the loop (the asking task shows as running):");
        let asker = evloop::spawn(async {
            evloop::Handle::current()
                .dump()
                .await
                .expect("our own loop answers")
        });
        for task in asker.await.expect("no panic") {
            println!("{task}");
        }

        println!("-- dump from another thread, through the injection queue:");
        let from_thread = std::thread::spawn(move || evloop::block_on(handle.dump()));
        while !from_thread.is_finished() {
            evloop::time::sleep(Duration::from_millis(5)).await;
        }
        for task in from_thread
            .join()
            .expect("thread")
            .expect("the loop answers")
        {
            println!("{task}");
        }

        ticker.abort();
        drop((consumer, pool_waiter, tx));
    });
    println!("-- metrics: {:#?}", rt.metrics());
}
