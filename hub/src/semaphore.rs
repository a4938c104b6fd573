//! `Semaphore`: a counter of permits; `acquire` parks while none is left.

use crate::waiters::Waiters;
use std::cell::Cell;
use std::io;
use std::rc::Rc;

struct Inner {
    permits: Cell<usize>,
    waiters: Waiters,
}

/// A counting semaphore for green threads of one hub (clones share it).
#[derive(Clone)]
pub struct Semaphore(Rc<Inner>);

/// A held permit; dropping it releases the permit.
pub struct Permit(Rc<Inner>);

impl Semaphore {
    pub fn new(permits: usize) -> Semaphore {
        Semaphore(Rc::new(Inner { permits: Cell::new(permits), waiters: Waiters::new() }))
    }

    /// Takes a permit, parking while none is free. Honours `Timeout` guards.
    pub fn acquire(&self) -> io::Result<Permit> {
        loop {
            if let Some(p) = self.try_acquire() {
                return Ok(p);
            }
            self.0.waiters.wait()?;
        }
    }

    /// Takes a permit if one is free now.
    pub fn try_acquire(&self) -> Option<Permit> {
        let n = self.0.permits.get();
        if n == 0 {
            return None;
        }
        self.0.permits.set(n - 1);
        Some(Permit(self.0.clone()))
    }

    /// Free permits now.
    pub fn available(&self) -> usize {
        self.0.permits.get()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.permits.set(self.0.permits.get() + 1);
        self.0.waiters.wake_one();
    }
}
