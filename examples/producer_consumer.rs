//! A producer feeding a bounded queue read by three workers, shedding load
//! when the queue is nearly full.
//!
//! Run: `cargo run --example producer_consumer`
//! (no network: it prints what each worker does and, at the end, how many
//! jobs were processed and how many were shed).
//!
//! It mirrors the asyncio program behind a ZeroMQ work queue: an
//! `asyncio.Queue(maxsize=10)` filled by one producer coroutine and drained
//! by three `worker()` coroutines with random processing times; when
//! `queue.qsize()` comes close to `maxsize`, the producer drops the job and
//! logs it instead of blocking. Here the queue is an
//! `evloop::sync::mpsc::channel(10)`; `Sender::capacity()` is the free room
//! (`maxsize - qsize()`), and since an mpsc channel has one receiver, the
//! three workers share it behind an `evloop::sync::Mutex`, just as asyncio's
//! workers share one `Queue`.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use evloop::sync::{Mutex, mpsc};
use evloop::time::sleep;

const CAPACITY: usize = 10;
/// Shed a job when fewer free slots than this remain.
const LOW_WATER: usize = 2;
const JOBS: u32 = 60;
const WORKERS: u32 = 3;

thread_local! {
    /// Seed of a tiny xorshift generator: "random" processing times without
    /// a dependency.
    static SEED: Cell<u64> = const { Cell::new(0x2545_F491_4F6C_DD1D) };
}

/// A pseudo-random duration in `min..max` milliseconds.
fn random_ms(min: u64, max: u64) -> Duration {
    let x = SEED.with(|seed| {
        let mut x = seed.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        seed.set(x);
        x
    });
    Duration::from_millis(min + x % (max - min))
}

async fn producer(tx: mpsc::Sender<u32>) -> u32 {
    let mut shed = 0;
    for job in 0..JOBS {
        let free = tx.capacity();
        if free < LOW_WATER {
            shed += 1;
            println!("producer: queue nearly full ({free} of {CAPACITY} free), shedding job {job}");
        } else if tx.send(job).await.is_err() {
            break; // every worker is gone
        }
        sleep(Duration::from_millis(10)).await; // a new job every 10 ms
    }
    shed
    // `tx` is dropped here: the workers' `recv` returns `None` once the
    // queue is drained, and they exit.
}

async fn worker(id: u32, queue: Arc<Mutex<mpsc::Receiver<u32>>>) -> u32 {
    let mut done = 0;
    loop {
        // Hold the lock only to take a job, not while working on it.
        let job = queue.lock().await.recv().await;
        let Some(job) = job else { break };
        let cost = random_ms(20, 90);
        sleep(cost).await;
        done += 1;
        println!("worker {id}: job {job:2} took {:3} ms", cost.as_millis());
    }
    println!("worker {id}: queue closed, {done} jobs done");
    done
}

fn main() {
    evloop::block_on(async {
        let start = Instant::now();
        let (tx, rx) = mpsc::channel(CAPACITY);
        let queue = Arc::new(Mutex::new(rx));
        let workers: Vec<_> = (1..=WORKERS)
            .map(|id| evloop::spawn(worker(id, queue.clone())))
            .collect();
        let shed = producer(tx).await;
        let mut processed = 0;
        for worker in workers {
            processed += worker.await.expect("a worker does not panic");
        }
        println!(
            "{processed} jobs processed, {shed} shed, of {JOBS}, in {:.2?}",
            start.elapsed()
        );
        assert_eq!(processed + shed, JOBS, "every job was either done or shed");
    });
}
