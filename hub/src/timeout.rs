//! Deadlines for green threads.
//!
//! A [`Timeout`] guard sets a deadline for the running green thread until
//! it is dropped. Deadlines are checked where the thread parks (eventlet
//! throws its `Timeout` into the green thread at any switch; we only ever
//! fail an operation that was going to wait): a park past the deadline
//! returns `io::ErrorKind::TimedOut`, and no timer is armed unless the
//! thread really parks. Guards nest; the earliest deadline wins.

use crate::hub;
use std::io;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// A deadline for the running green thread, in force until dropped.
#[must_use = "the deadline is lifted when the guard is dropped"]
pub struct Timeout {
    id: u64,
    at: Instant,
    // The guard belongs to the green thread that made it.
    _not_send: PhantomData<*const ()>,
}

impl Timeout {
    /// A deadline `d` from now.
    pub fn new(d: Duration) -> Timeout {
        Timeout::at(Instant::now() + d)
    }

    /// A deadline at `at`.
    pub fn at(at: Instant) -> Timeout {
        Timeout { id: hub::push_deadline(at), at, _not_send: PhantomData }
    }

    /// True once the deadline has passed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.at
    }

    pub fn deadline(&self) -> Instant {
        self.at
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        hub::pop_deadline(self.id);
    }
}

/// Runs `f` under a deadline `d` from now. Every park inside `f` that
/// would outlast it fails with `TimedOut`.
pub fn with_timeout<T>(d: Duration, f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let _t = Timeout::new(d);
    f()
}
