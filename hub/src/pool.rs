//! `GreenPool` (bounded spawning) and `GreenPile` (results in order).

use crate::event::Event;
use crate::green::{try_spawn, JoinError, JoinHandle};
use crate::semaphore::Semaphore;
use std::cell::Cell;
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;

/// Runs at most `size` green threads at once; `spawn` parks while full.
#[derive(Clone)]
pub struct GreenPool {
    slots: Semaphore,
    size: usize,
    running: Rc<Cell<usize>>,
    idle: Event,
}

struct Running {
    running: Rc<Cell<usize>>,
    idle: Event,
}

impl Drop for Running {
    fn drop(&mut self) {
        let n = self.running.get() - 1;
        self.running.set(n);
        if n == 0 {
            self.idle.set();
        }
    }
}

impl GreenPool {
    pub fn new(size: usize) -> GreenPool {
        let idle = Event::new();
        idle.set();
        GreenPool { slots: Semaphore::new(size), size, running: Rc::new(Cell::new(0)), idle }
    }

    /// Spawns `f`, first parking until a slot is free. Fails if a
    /// `Timeout` guard expires while waiting for a slot, or if no stack
    /// can be allocated (then `f` is dropped unrun and the slot is free
    /// again).
    pub fn spawn<T: 'static, F: FnOnce() -> T + 'static>(&self, f: F) -> io::Result<JoinHandle<T>> {
        let permit = self.slots.acquire()?;
        self.running.set(self.running.get() + 1);
        self.idle.clear();
        let guard = Running { running: self.running.clone(), idle: self.idle.clone() };
        try_spawn(move || {
            let _permit = permit;
            let _guard = guard;
            f()
        })
    }

    /// Waits until no green thread of the pool is running.
    pub fn wait_all(&self) -> io::Result<()> {
        while self.running.get() > 0 {
            self.idle.wait()?;
        }
        Ok(())
    }

    /// Green threads running now.
    pub fn running(&self) -> usize {
        self.running.get()
    }

    /// Slots free now.
    pub fn free(&self) -> usize {
        self.slots.available()
    }

    pub fn size(&self) -> usize {
        self.size
    }
}

/// Spawns work on a pool and hands the results back in spawn order.
pub struct GreenPile<T> {
    pool: GreenPool,
    pending: VecDeque<JoinHandle<T>>,
}

impl<T: 'static> GreenPile<T> {
    /// A pile with its own pool of `size`.
    pub fn new(size: usize) -> GreenPile<T> {
        GreenPile::with_pool(GreenPool::new(size))
    }

    pub fn with_pool(pool: GreenPool) -> GreenPile<T> {
        GreenPile { pool, pending: VecDeque::new() }
    }

    pub fn spawn(&mut self, f: impl FnOnce() -> T + 'static) -> io::Result<()> {
        let h = self.pool.spawn(f)?;
        self.pending.push_back(h);
        Ok(())
    }

    /// Results not yet taken.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

impl<T> Iterator for GreenPile<T> {
    type Item = Result<T, JoinError>;

    /// The next result in spawn order, waiting for it if needed.
    fn next(&mut self) -> Option<Self::Item> {
        Some(self.pending.pop_front()?.join())
    }
}
