//! The shared core of the mpsc channels: a queue, a receiver's waker and a
//! queue of waiting senders, behind one lock.
//!
//! ```text
//!   Sender ─┐                                          ┌─ Receiver
//!   Sender ─┼─▶ Chan { Mutex { queue: VecDeque<T>      │
//!   Sender ─┘              rx_waker ◀──────────────────┤ (parked when empty)
//!     ▲                    send_waiters: WaitList      │
//!     │                    reserved, senders, closed } │
//!     └──── woken (Served::Handed = "a slot is yours") ┘ after each recv
//! ```
//!
//! * **send**: if `queue.len() + reserved < capacity` and no sender waits,
//!   push the value and take the receiver's waker; otherwise join
//!   `send_waiters` and wait.
//! * **recv**: pop a value; if that frees a slot and a sender waits, *reserve*
//!   the slot for the longest-waiting sender (`reserved += 1`, its node
//!   marked `Handed`) and wake it. Reserving, not just waking, is what keeps
//!   senders in FIFO order: a newcomer sees the slot as taken.
//! * a woken sender pushes its value into its reserved slot (`reserved -= 1`).
//!   A sender dropped after being handed a slot passes the slot on.
//!
//! Wakers are taken under the lock and woken after it is released. The
//! receiver's waker is *taken* (not cloned) by the send that wakes it, so a
//! burst of sends to a sleeping receiver wakes it once.
//!
//! The unbounded channel is the same core with `capacity == usize::MAX`: its
//! senders never wait.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use super::waiters::{Served, WaitList};

/// The state both channel halves share. See the module docs.
pub(crate) struct Chan<T> {
    /// Everything, behind one lock.
    state: Mutex<State<T>>,
    /// How many values may be queued (plus reserved) at once.
    capacity: usize,
}

struct State<T> {
    /// Sent values not yet received, in order.
    queue: VecDeque<T>,
    /// Slots handed to waiting senders that have not filled them yet.
    reserved: usize,
    /// The receiver's task, parked on an empty queue.
    rx_waker: Option<Waker>,
    /// Senders waiting for a slot, oldest first.
    send_waiters: WaitList,
    /// Live senders; at zero the receiver gets `None` once the queue is empty.
    senders: usize,
    /// The receiver closed the channel or was dropped: sends fail.
    closed: bool,
    /// Senders waiting in `Sender::closed()` for the receiver to go.
    closed_waiters: WaitList,
}

/// What a send attempt did with the value.
pub(crate) enum TrySend<T> {
    /// It is queued.
    Sent,
    /// No slot: the value comes back.
    Full(T),
    /// The receiver is gone: the value comes back.
    Closed(T),
}

/// What a receive attempt found.
pub(crate) enum TryRecv<T> {
    /// A value.
    Value(T),
    /// Nothing now, but a sender may still send.
    Empty,
    /// Nothing, and nothing ever will come.
    Done,
}

impl<T> Chan<T> {
    pub(crate) fn new(capacity: usize) -> Chan<T> {
        Chan {
            state: Mutex::new(State {
                // A small bounded queue is allocated once, up front, so the
                // steady state of a channel never allocates.
                queue: VecDeque::with_capacity(capacity.min(1024)),
                reserved: 0,
                rx_waker: None,
                send_waiters: WaitList::default(),
                senders: 1,
                closed: false,
                closed_waiters: WaitList::default(),
            }),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No user code runs under this lock (values are moved in and out,
        // never dropped inside it), so poisoning cannot corrupt it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn has_room(&self, state: &State<T>) -> bool {
        state.queue.len() + state.reserved < self.capacity
    }

    /// Sends without waiting.
    pub(crate) fn try_send(&self, value: T) -> TrySend<T> {
        let waker = {
            let mut state = self.lock();
            if state.closed {
                return TrySend::Closed(value);
            }
            if !self.has_room(&state) || !state.send_waiters.is_empty() {
                return TrySend::Full(value);
            }
            state.queue.push_back(value);
            state.rx_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        TrySend::Sent
    }

    /// The body of a waiting send. `key` is its node, once it waits;
    /// `value` is taken when it is sent or returned.
    pub(crate) fn poll_send(
        &self,
        key: &mut Option<usize>,
        value: &mut Option<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), T>> {
        let waker = {
            let mut state = self.lock();
            if state.closed {
                if let Some(k) = key.take()
                    && state.send_waiters.remove(k) == Some(Served::Handed)
                {
                    state.reserved -= 1;
                }
                let value = value.take().expect("Send polled after completion");
                return Poll::Ready(Err(value));
            }
            match *key {
                None if self.has_room(&state) && state.send_waiters.is_empty() => {}
                None => {
                    *key = Some(state.send_waiters.push_back(cx.waker().clone()));
                    return Poll::Pending;
                }
                Some(k) => match state.send_waiters.served(k) {
                    None => {
                        state.send_waiters.set_waker(k, cx.waker());
                        return Poll::Pending;
                    }
                    // `Released` only comes from `close`, handled above.
                    Some(_) => {
                        state.send_waiters.remove(k);
                        *key = None;
                        state.reserved -= 1;
                    }
                },
            }
            let value = value.take().expect("Send polled after completion");
            state.queue.push_back(value);
            state.rx_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Poll::Ready(Ok(()))
    }

    /// A waiting send was dropped: leave the queue, pass on a slot handed
    /// to it.
    pub(crate) fn cancel_send(&self, key: usize) {
        let waker = {
            let mut state = self.lock();
            if state.send_waiters.remove(key) != Some(Served::Handed) {
                return;
            }
            state.reserved -= 1;
            self.hand_slot(&mut state)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// If there is room and a sender waits, reserves a slot for it.
    fn hand_slot(&self, state: &mut State<T>) -> Option<Waker> {
        if state.closed || !self.has_room(state) || state.send_waiters.is_empty() {
            return None;
        }
        state.reserved += 1;
        state.send_waiters.pop_front()
    }

    /// Receives without waiting.
    pub(crate) fn try_recv(&self) -> TryRecv<T> {
        let (found, waker) = {
            let mut state = self.lock();
            match state.queue.pop_front() {
                Some(value) => (TryRecv::Value(value), self.hand_slot(&mut state)),
                None if state.senders == 0 || state.closed => (TryRecv::Done, None),
                None => (TryRecv::Empty, None),
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        found
    }

    /// Receives, parking the receiver's waker on an empty queue.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let (value, waker) = {
            let mut state = self.lock();
            match state.queue.pop_front() {
                Some(value) => (value, self.hand_slot(&mut state)),
                None if state.senders == 0 || state.closed => {
                    return Poll::Ready(None);
                }
                None => {
                    match &mut state.rx_waker {
                        Some(waker) if waker.will_wake(cx.waker()) => {}
                        slot => *slot = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                }
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Poll::Ready(Some(value))
    }

    /// The receiver closes the channel: sends fail from now on, waiting
    /// senders are woken to get their values back. Queued values stay.
    ///
    /// The receiver's own parked waker is released too: only the receiver
    /// closes, so nobody is waiting on it, and kept it would keep the
    /// receiver's task (and whatever its waker owns) alive until the last
    /// sender is gone.
    pub(crate) fn close(&self) {
        let mut wakers = Vec::new();
        let rx_waker = {
            let mut state = self.lock();
            state.closed = true;
            state.send_waiters.drain_into(Served::Released, &mut wakers);
            state
                .closed_waiters
                .drain_into(Served::Released, &mut wakers);
            state.rx_waker.take()
        };
        // After the lock: a waker's drop may run any code.
        drop(rx_waker);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// The receiver is dropped: close, and drop the queued values (after
    /// unlocking: their destructors are user code).
    pub(crate) fn close_and_drain(&self) {
        self.close();
        let queue = std::mem::take(&mut self.lock().queue);
        drop(queue);
    }

    /// True once the receiver closed the channel or is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    pub(crate) fn add_sender(&self) {
        self.lock().senders += 1;
    }

    /// A sender is dropped; the last one wakes the receiver so that it sees
    /// the end of the stream.
    pub(crate) fn drop_sender(&self) {
        let waker = {
            let mut state = self.lock();
            state.senders -= 1;
            if state.senders > 0 {
                return;
            }
            state.rx_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Free slots right now (`capacity` minus queued and reserved values).
    pub(crate) fn free_slots(&self) -> usize {
        let state = self.lock();
        self.capacity - state.queue.len() - state.reserved
    }

    /// The capacity the channel was created with.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Queued values (not counting reserved slots).
    pub(crate) fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// The body of `Sender::reserve`: a waiting send without a value. On
    /// success one slot is counted in `reserved` for the caller's `Permit`.
    pub(crate) fn poll_reserve(
        &self,
        key: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), ()>> {
        let mut state = self.lock();
        if state.closed {
            if let Some(k) = key.take()
                && state.send_waiters.remove(k) == Some(Served::Handed)
            {
                state.reserved -= 1;
            }
            return Poll::Ready(Err(()));
        }
        match *key {
            None if self.has_room(&state) && state.send_waiters.is_empty() => {
                state.reserved += 1;
                Poll::Ready(Ok(()))
            }
            None => {
                *key = Some(state.send_waiters.push_back(cx.waker().clone()));
                Poll::Pending
            }
            Some(k) => match state.send_waiters.served(k) {
                None => {
                    state.send_waiters.set_waker(k, cx.waker());
                    Poll::Pending
                }
                // Handed: `hand_slot` already counted the slot as reserved.
                Some(_) => {
                    state.send_waiters.remove(k);
                    *key = None;
                    Poll::Ready(Ok(()))
                }
            },
        }
    }

    /// `Sender::try_reserve`: a slot now, or why not.
    pub(crate) fn try_reserve(&self) -> TrySend<()> {
        let mut state = self.lock();
        if state.closed {
            TrySend::Closed(())
        } else if !self.has_room(&state) || !state.send_waiters.is_empty() {
            TrySend::Full(())
        } else {
            state.reserved += 1;
            TrySend::Sent
        }
    }

    /// A `Permit` is used: its reserved slot takes `value`. If the receiver
    /// is gone, the value comes back to be dropped outside the lock.
    pub(crate) fn send_reserved(&self, value: T) -> Option<T> {
        let waker = {
            let mut state = self.lock();
            state.reserved -= 1;
            if state.closed {
                return Some(value);
            }
            state.queue.push_back(value);
            state.rx_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        None
    }

    /// A `Permit` is dropped unused: its slot goes to the next waiting
    /// sender, or back to the free slots.
    pub(crate) fn release_reserved(&self) {
        let waker = {
            let mut state = self.lock();
            state.reserved -= 1;
            self.hand_slot(&mut state)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The body of `recv_many`: moves up to `limit` queued values into
    /// `buf`; 0 once the channel is done. Each freed slot is handed on.
    pub(crate) fn poll_recv_many(
        &self,
        cx: &mut Context<'_>,
        buf: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        let mut wakers = Vec::new();
        let taken = {
            let mut state = self.lock();
            if state.queue.is_empty() {
                if state.senders == 0 || state.closed {
                    return Poll::Ready(0);
                }
                match &mut state.rx_waker {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    slot => *slot = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            let taken = limit.min(state.queue.len());
            buf.reserve(taken);
            buf.extend(state.queue.drain(..taken));
            for _ in 0..taken {
                match self.hand_slot(&mut state) {
                    Some(waker) => wakers.push(waker),
                    None => break,
                }
            }
            taken
        };
        wakers.into_iter().for_each(Waker::wake);
        Poll::Ready(taken)
    }

    /// The body of `Sender::closed()`: ready once the receiver is gone.
    pub(crate) fn poll_closed(&self, key: &mut Option<usize>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.closed {
            if let Some(k) = key.take() {
                state.closed_waiters.remove(k);
            }
            return Poll::Ready(());
        }
        match *key {
            Some(k) => state.closed_waiters.set_waker(k, cx.waker()),
            None => *key = Some(state.closed_waiters.push_back(cx.waker().clone())),
        }
        Poll::Pending
    }

    /// A `Sender::closed()` future is dropped while waiting.
    pub(crate) fn cancel_closed(&self, key: usize) {
        self.lock().closed_waiters.remove(key);
    }

    /// The receiver's view: closed by it, or every sender gone.
    pub(crate) fn is_closed_for_receiver(&self) -> bool {
        let state = self.lock();
        state.closed || state.senders == 0
    }
}
