//! A list of parked green threads, the building block of Event, Queue,
//! Semaphore and join. Entries are park tickets: a ticket left behind by a
//! thread that timed out or was killed is stale and skipped on wake-up.

use crate::hub::{self, Waiter};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;

#[derive(Default)]
pub(crate) struct Waiters(RefCell<VecDeque<Waiter>>);

impl Waiters {
    pub(crate) fn new() -> Waiters {
        Waiters::default()
    }

    /// Parks the running green thread on this list until woken (or its
    /// `Timeout` guard passes). Callers re-check their condition.
    pub(crate) fn wait(&self) -> io::Result<()> {
        let me = hub::waiter();
        self.0.borrow_mut().push_back(me);
        let r = hub::park();
        if r.is_err() {
            // Timed out: take our ticket out so the list does not grow.
            self.0.borrow_mut().retain(|w| *w != me);
        }
        r
    }

    /// Wakes the first waiter whose ticket is still valid.
    pub(crate) fn wake_one(&self) -> bool {
        loop {
            let Some(w) = self.0.borrow_mut().pop_front() else {
                return false;
            };
            if hub::wake(w) {
                return true;
            }
        }
    }

    pub(crate) fn wake_all(&self) {
        let all = std::mem::take(&mut *self.0.borrow_mut());
        for w in all {
            hub::wake(w);
        }
    }
}
