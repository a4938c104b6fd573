//! The hub's timer heap, with cancellation.
//!
//! Eventlet's rule holds: a timer added while timers are firing waits for
//! the next pass, even if it is already due, so a callback that re-arms
//! itself with a zero delay cannot starve I/O.

use crate::hub::Waiter;
use crate::switcher::Wake;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;

/// What a timer does when it fires.
pub(crate) enum Action {
    /// Wake a parked green thread with the given reason.
    Wake(Waiter, Wake),
    /// Run a callback on the hub's own stack (it must not park).
    Call(Box<dyn FnOnce()>),
}

#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    actions: HashMap<u64, Action>,
    next_id: u64,
}

impl Timers {
    pub(crate) fn add(&mut self, when: Instant, action: Action) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.heap.push(Reverse((when, id)));
        self.actions.insert(id, action);
        id
    }

    /// Cancels a timer; returns its action (for the caller to drop outside
    /// any hub borrow), or `None` if it already fired or was cancelled.
    pub(crate) fn cancel(&mut self, id: u64) -> Option<Action> {
        let a = self.actions.remove(&id);
        if self.actions.is_empty() {
            self.heap.clear();
        }
        a
    }

    /// The first pending timer's due time, skipping cancelled entries.
    pub(crate) fn next_due(&mut self) -> Option<Instant> {
        while let Some(Reverse((when, id))) = self.heap.peek() {
            if self.actions.contains_key(id) {
                return Some(*when);
            }
            self.heap.pop();
        }
        None
    }

    /// Marks the start of a firing pass: timers with an id at or above the
    /// returned value were added during the pass and wait for the next one.
    pub(crate) fn pass_limit(&self) -> u64 {
        self.next_id
    }

    /// Pops one timer due at `now` that was added before `limit`.
    pub(crate) fn pop_due(&mut self, now: Instant, limit: u64) -> Option<Action> {
        loop {
            let Reverse((when, id)) = *self.heap.peek()?;
            if when > now {
                return None;
            }
            if id >= limit {
                // Added during this pass. Every older entry that is due sorts
                // before it unless it is due later, so stop here.
                return None;
            }
            self.heap.pop();
            if let Some(a) = self.actions.remove(&id) {
                return Some(a);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.actions.len()
    }

    /// Takes every pending action (at hub shutdown).
    pub(crate) fn take_all(&mut self) -> Vec<Action> {
        self.heap.clear();
        self.actions.drain().map(|(_, a)| a).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call() -> Action {
        Action::Call(Box::new(|| ()))
    }

    #[test]
    fn pops_due_timers_in_time_order() {
        let mut t = Timers::default();
        let now = Instant::now();
        let late = t.add(now + Duration::from_millis(2), call());
        let early = t.add(now + Duration::from_millis(1), call());
        assert_eq!(t.next_due(), Some(now + Duration::from_millis(1)));
        let limit = t.pass_limit();
        assert!(t.pop_due(now, limit).is_none(), "nothing due yet");
        let later = now + Duration::from_millis(5);
        assert!(t.pop_due(later, limit).is_some());
        assert!(t.pop_due(later, limit).is_some());
        assert!(t.pop_due(later, limit).is_none());
        assert!(t.cancel(late).is_none() && t.cancel(early).is_none(), "fired timers are gone");
    }

    #[test]
    fn cancelled_timers_are_skipped() {
        let mut t = Timers::default();
        let now = Instant::now();
        let a = t.add(now, call());
        t.add(now + Duration::from_millis(1), call());
        assert!(t.cancel(a).is_some());
        assert_eq!(t.next_due(), Some(now + Duration::from_millis(1)));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn timers_added_during_a_pass_wait_for_the_next() {
        let mut t = Timers::default();
        let now = Instant::now();
        t.add(now, call());
        let limit = t.pass_limit();
        assert!(t.pop_due(now, limit).is_some());
        t.add(now, call()); // added while firing, already due
        assert!(t.pop_due(now, limit).is_none());
        assert!(t.pop_due(now, t.pass_limit()).is_some());
    }
}
