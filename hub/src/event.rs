//! `Event`: a flag that green threads wait for; setting it wakes them all.

use crate::waiters::Waiters;
use std::cell::Cell;
use std::io;
use std::rc::Rc;

struct Inner {
    set: Cell<bool>,
    waiters: Waiters,
}

/// A one-way flag shared by green threads of one hub (clones share it).
#[derive(Clone)]
pub struct Event(Rc<Inner>);

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl Event {
    pub fn new() -> Event {
        Event(Rc::new(Inner { set: Cell::new(false), waiters: Waiters::new() }))
    }

    /// Sets the flag and wakes every waiter. Allowed on the hub's own
    /// stack (timer callbacks, remote calls) since it never parks.
    pub fn set(&self) {
        self.0.set.set(true);
        self.0.waiters.wake_all();
    }

    pub fn is_set(&self) -> bool {
        self.0.set.get()
    }

    /// Clears the flag so that it can be waited for again.
    pub fn clear(&self) {
        self.0.set.set(false);
    }

    /// Waits until the flag is set. Honours `Timeout` guards.
    pub fn wait(&self) -> io::Result<()> {
        while !self.is_set() {
            self.0.waiters.wait()?;
        }
        Ok(())
    }
}
