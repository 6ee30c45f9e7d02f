//! Distinct deadlines complete in deadline order, whatever the order in which
//! the sleeps were created.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use evloop::time::sleep_until;

#[test]
fn distinct_deadlines_complete_in_deadline_order() {
    let order = Rc::new(RefCell::new(Vec::new()));
    evloop::block_on(async {
        let base = Instant::now() + Duration::from_millis(5);
        // 0, 37, 74, ... mod 64: a shuffled order of the numbers 0..64, with
        // deadlines 2 ms apart spanning several level-0 slots and a cascade.
        let handles: Vec<_> = (0..64u64)
            .map(|i| (i * 37) % 64)
            .map(|n| {
                let order = order.clone();
                evloop::spawn(async move {
                    sleep_until(base + Duration::from_millis(2 * n)).await;
                    order.borrow_mut().push(n);
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("no panic");
        }
    });
    let order = order.borrow();
    assert_eq!(*order, (0..64).collect::<Vec<_>>());
}

#[test]
fn deadlines_due_in_one_turn_still_complete_in_order() {
    let order = Rc::new(RefCell::new(Vec::new()));
    evloop::block_on(async {
        let base = Instant::now() + Duration::from_millis(2);
        let handles: Vec<_> = [5u64, 1, 4, 2, 3]
            .into_iter()
            .map(|n| {
                let order = order.clone();
                evloop::spawn(async move {
                    sleep_until(base + Duration::from_millis(n)).await;
                    order.borrow_mut().push(n);
                })
            })
            .collect();
        evloop::yield_now().await; // every task registers its sleep
        // Block the loop past every deadline: they all fire in one turn.
        std::thread::sleep(Duration::from_millis(15));
        for handle in handles {
            handle.await.expect("no panic");
        }
    });
    assert_eq!(*order.borrow(), [1, 2, 3, 4, 5]);
}
