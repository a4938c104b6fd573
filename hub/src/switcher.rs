//! The coroutine switcher: green threads are corosensei coroutines on
//! pooled, guard-paged stacks.
//!
//! ```text
//!   OS thread stack                      green thread stacks (mmap, guard page below)
//!  +-----------------+   resume(Wake)    +-------------+ +-------------+
//!  | hub loop        | ----------------> | green 1     | | green 2     |
//!  |  (Hub::run)     | <---------------- |  park()     | |  ...        |
//!  +-----------------+   suspend(())     +-------------+ +-------------+
//! ```
//!
//! Invariants:
//! * Only the hub loop resumes a coroutine; a green thread only suspends
//!   back to the hub (never directly into another green thread).
//! * The `Yielder` of a running coroutine lives on that coroutine's stack
//!   for as long as its body runs. The hub keeps a raw pointer to it and
//!   uses it only from code running *inside* that same coroutine (see
//!   [`suspend`]), so the pointer is always valid when dereferenced.
//! * A suspended coroutine is never dropped while suspended: the hub kills
//!   it first (resumes it with [`Wake::Killed`], which unwinds its stack),
//!   so destructors on green stacks always run.
//! * Finished coroutines give their stack back to the pool
//!   (`into_stack`); creating a coroutine on a reused stack costs tens of
//!   nanoseconds instead of an mmap + mprotect + munmap.

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, Yielder};
use std::io;

/// Why a parked green thread was resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Something it waited for happened (or a spurious wake-up).
    Ready,
    /// Its own sleep timer fired.
    Expired,
    /// A deadline (a `Timeout` guard or an I/O timeout) passed.
    TimedOut,
    /// It was killed: unwind.
    Killed,
}

pub(crate) type GreenYielder = Yielder<Wake, ()>;
pub(crate) type Co = Coroutine<Wake, (), (), DefaultStack>;

/// Default stack size of a green thread (a guard page comes on top).
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// Finished coroutines' stacks, kept for reuse.
pub(crate) struct StackPool {
    size: usize,
    max: usize,
    free: Vec<DefaultStack>,
}

impl StackPool {
    pub(crate) fn new(size: usize, max: usize) -> StackPool {
        StackPool { size, max, free: Vec::new() }
    }

    pub(crate) fn get(&mut self) -> io::Result<DefaultStack> {
        match self.free.pop() {
            Some(s) => Ok(s),
            None => DefaultStack::new(self.size),
        }
    }

    pub(crate) fn put(&mut self, stack: DefaultStack) {
        if self.free.len() < self.max {
            self.free.push(stack);
        }
    }

    /// Stacks waiting for reuse (for tests and stats).
    pub(crate) fn idle(&self) -> usize {
        self.free.len()
    }
}

/// Creates a coroutine running `body` on `stack`.
pub(crate) fn coroutine(stack: DefaultStack, body: impl FnOnce(&GreenYielder, Wake) + 'static) -> Co {
    Coroutine::with_stack(stack, body)
}

/// Switches from the running green thread back to the hub and returns the
/// reason it was resumed.
///
/// # Safety
/// `y` must be the yielder of the coroutine that is running right now,
/// i.e. the caller is executing on that coroutine's stack.
pub(crate) unsafe fn suspend(y: *const GreenYielder) -> Wake {
    // SAFETY: per this function's contract `y` points to the yielder of the
    // running coroutine, which lives on that coroutine's stack until its
    // body returns; we are inside that body, so it is alive.
    unsafe { (*y).suspend(()) }
}
