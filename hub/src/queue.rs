//! `Queue`: a bounded FIFO between green threads of one hub.

use crate::waiters::Waiters;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;

struct Inner<T> {
    items: RefCell<VecDeque<T>>,
    cap: usize,
    getters: Waiters,
    putters: Waiters,
}

/// A bounded queue (clones share it). `put` parks while full, `get` while
/// empty; both honour `Timeout` guards.
pub struct Queue<T>(Rc<Inner<T>>);

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue(self.0.clone())
    }
}

impl<T> Queue<T> {
    /// A queue holding at most `cap` items (`cap` ≥ 1).
    pub fn new(cap: usize) -> Queue<T> {
        assert!(cap > 0, "a queue needs room for one item");
        Queue(Rc::new(Inner {
            items: RefCell::new(VecDeque::new()),
            cap,
            getters: Waiters::new(),
            putters: Waiters::new(),
        }))
    }

    pub fn put(&self, item: T) -> io::Result<()> {
        let mut item = Some(item);
        loop {
            if let Err(back) = self.try_put(item.take().expect("item")) {
                item = Some(back);
                self.0.putters.wait()?;
            } else {
                return Ok(());
            }
        }
    }

    /// Adds `item` if there is room now; gives it back otherwise.
    pub fn try_put(&self, item: T) -> Result<(), T> {
        let mut items = self.0.items.borrow_mut();
        if items.len() >= self.0.cap {
            return Err(item);
        }
        items.push_back(item);
        drop(items);
        self.0.getters.wake_one();
        Ok(())
    }

    pub fn get(&self) -> io::Result<T> {
        loop {
            if let Some(v) = self.try_get() {
                return Ok(v);
            }
            self.0.getters.wait()?;
        }
    }

    pub fn try_get(&self) -> Option<T> {
        let v = self.0.items.borrow_mut().pop_front()?;
        self.0.putters.wake_one();
        Some(v)
    }

    pub fn len(&self) -> usize {
        self.0.items.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
