//! The waiter queue every primitive of [`crate::sync`] is built on.
//!
//! A task that must wait (for a permit, a message slot, a notification)
//! leaves two things behind: its [`Waker`], so that whoever frees the
//! resource can wake it, and a place where that someone can write "this one
//! is yours". [`WaitList`] is that place: a FIFO of waiter *nodes*, kept in a
//! [`Slab`] and linked front to back by slab keys, so that
//!
//! * joining the queue is a push at the back, O(1);
//! * serving the queue is a pop at the front, O(1), and the waiter popped
//!   is the one that has waited longest (fairness);
//! * leaving the queue, when a waiting future is dropped, is O(1) too: the
//!   future knows its key and unlinks its node from the middle.
//!
//! ```text
//!            head                                   tail
//!             │                                      │
//!   slab: [ key 4 ]──next──▶[ key 0 ]──next──▶[ key 7 ]
//!          waker A           waker B           waker C
//!          ◀──prev──         ◀──prev──
//!
//!   pop_front(): unlink key 4, mark it served, wake A (after unlocking)
//!   B's future dropped: unlink key 0; A and C are linked directly
//! ```
//!
//! **Who frees a node.** A node belongs to the future that pushed it. The
//! server only *unlinks* a node and records how it served it; the slot stays
//! allocated until the owning future reads the flag (or is dropped) and
//! calls [`WaitList::remove`]. So a key never names somebody else's node:
//! the ABA problem of reused slab keys cannot arise.
//!
//! The list is plain data: the primitives keep it inside a `std::sync::Mutex`
//! and wake the wakers they collect only after releasing that lock.

use std::task::Waker;

use slab::Slab;

/// How a node was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Served {
    /// It was handed something (a permit, a queue slot, a notification).
    /// If its owner is dropped without using it, the owner must pass it on,
    /// or it is lost for everyone.
    Handed,
    /// It was woken with nothing owed: the primitive was closed, or
    /// `notify_waiters` woke everyone.
    Released,
}

/// One waiting future's entry.
#[derive(Debug)]
struct Node {
    /// Whom to wake when the node is served.
    waker: Option<Waker>,
    /// `Some` once a server has popped this node; says what it was given.
    served: Option<Served>,
    /// How many units it waits for (permits, for `acquire_many`); 1 for
    /// every primitive that hands out one thing at a time.
    need: usize,
    /// Key of the node before this one; meaningful only while linked.
    prev: Option<usize>,
    /// Key of the node after this one; meaningful only while linked.
    next: Option<usize>,
}

/// A FIFO of waiters with O(1) removal from the middle. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct WaitList {
    /// Every node not yet removed by its owner, linked or served.
    nodes: Slab<Node>,
    /// The longest-waiting linked node.
    head: Option<usize>,
    /// The most recent linked node.
    tail: Option<usize>,
}

impl WaitList {
    /// True if no node is waiting to be served.
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// Joins the queue at the back; returns the node's key.
    pub(crate) fn push_back(&mut self, waker: Waker) -> usize {
        self.push_back_needing(waker, 1)
    }

    /// Joins the queue at the back, waiting for `need` units at once.
    pub(crate) fn push_back_needing(&mut self, waker: Waker, need: usize) -> usize {
        let key = self.nodes.insert(Node {
            waker: Some(waker),
            served: None,
            need,
            prev: self.tail,
            next: None,
        });
        match self.tail {
            Some(tail) => self.nodes[tail].next = Some(key),
            None => self.head = Some(key),
        }
        self.tail = Some(key);
        key
    }

    /// How many units the longest-waiting node needs, if any node waits.
    pub(crate) fn front_need(&self) -> Option<usize> {
        self.head.map(|key| self.nodes[key].need)
    }

    /// How many units the node `key` asked for (0 if it is gone).
    pub(crate) fn need(&self, key: usize) -> usize {
        self.nodes.get(key).map_or(0, |node| node.need)
    }

    /// Serves the longest-waiting node: unlinks it, marks it served, and
    /// returns its waker for the caller to wake once its lock is released.
    pub(crate) fn pop_front(&mut self) -> Option<Waker> {
        let key = self.head?;
        self.unlink(key);
        let node = &mut self.nodes[key];
        node.served = Some(Served::Handed);
        node.waker.take()
    }

    /// Serves the most recent node (LIFO), as [`WaitList::pop_front`]
    /// serves the oldest; for `Notify::notify_last`.
    pub(crate) fn pop_back(&mut self) -> Option<Waker> {
        let key = self.tail?;
        self.unlink(key);
        let node = &mut self.nodes[key];
        node.served = Some(Served::Handed);
        node.waker.take()
    }

    /// Serves every node waiting right now with `how`; their wakers go into
    /// `wakers`.
    pub(crate) fn drain_into(&mut self, how: Served, wakers: &mut Vec<Waker>) {
        while let Some(key) = self.head {
            self.unlink(key);
            let node = &mut self.nodes[key];
            node.served = Some(how);
            wakers.extend(node.waker.take());
        }
    }

    /// How the node `key` was served, or `None` while it still waits.
    pub(crate) fn served(&self, key: usize) -> Option<Served> {
        self.nodes.get(key).and_then(|node| node.served)
    }

    /// Replaces the node's waker unless the stored one wakes the same task
    /// (a re-poll from the same task then costs no reference count).
    pub(crate) fn set_waker(&mut self, key: usize, waker: &Waker) {
        if let Some(node) = self.nodes.get_mut(key) {
            match &mut node.waker {
                Some(old) if old.will_wake(waker) => {}
                slot => *slot = Some(waker.clone()),
            }
        }
    }

    /// The owner gives its node up. Returns how it had been served, if it
    /// had (so the owner can pass on whatever the server handed it).
    pub(crate) fn remove(&mut self, key: usize) -> Option<Served> {
        let served = self.nodes.get(key)?.served;
        if served.is_none() {
            self.unlink(key);
        }
        self.nodes.remove(key);
        served
    }

    /// Takes a linked node out of the chain (it stays in the slab).
    fn unlink(&mut self, key: usize) {
        let (prev, next) = {
            let node = &self.nodes[key];
            (node.prev, node.next)
        };
        match prev {
            Some(prev) => self.nodes[prev].next = next,
            None => self.head = next,
        }
        match next {
            Some(next) => self.nodes[next].prev = prev,
            None => self.tail = prev,
        }
        let node = &mut self.nodes[key];
        node.prev = None;
        node.next = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn serves_in_fifo_order_and_skips_removed_nodes() {
        let mut list = WaitList::default();
        let a = list.push_back(Waker::noop().clone());
        let b = list.push_back(Waker::noop().clone());
        let c = list.push_back(Waker::noop().clone());
        assert_eq!(list.remove(b), None, "b was never served");
        assert!(list.pop_front().is_some());
        assert_eq!(list.served(a), Some(Served::Handed));
        assert_eq!(list.served(c), None);
        assert!(list.pop_front().is_some());
        assert_eq!(list.served(c), Some(Served::Handed));
        assert!(list.is_empty());
        assert_eq!(list.remove(a), Some(Served::Handed));
        assert_eq!(list.remove(c), Some(Served::Handed));
        assert!(list.pop_front().is_none());
    }

    #[test]
    fn removing_head_and_tail_keeps_the_chain() {
        let mut list = WaitList::default();
        let a = list.push_back(Waker::noop().clone());
        let b = list.push_back(Waker::noop().clone());
        let c = list.push_back(Waker::noop().clone());
        list.remove(a);
        list.remove(c);
        assert!(list.pop_front().is_some());
        assert_eq!(list.served(b), Some(Served::Handed));
        assert!(list.is_empty());
        let mut wakers = Vec::new();
        let d = list.push_back(Waker::noop().clone());
        let e = list.push_back(Waker::noop().clone());
        list.drain_into(Served::Released, &mut wakers);
        assert_eq!(wakers.len(), 2);
        assert_eq!(list.served(d), Some(Served::Released));
        assert_eq!(list.served(e), Some(Served::Released));
    }
}
