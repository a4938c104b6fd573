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
//!   for as long as its body runs. `RUNNING` holds a pointer to the yielder
//!   of the coroutine executing right now, and is null whenever the hub's
//!   own stack runs: it is set when a body starts and each time one of its
//!   suspends returns, and cleared just before it suspends or ends. So
//!   [`suspend`] is safe: a non-null `RUNNING` is always the live yielder
//!   of the caller's own coroutine.
//! * A suspended coroutine is never dropped while suspended: the hub kills
//!   it first (resumes it with [`Wake::Killed`], which unwinds its stack),
//!   so destructors on green stacks always run.
//! * Finished coroutines give their stack back to the pool
//!   (`into_stack`); creating a coroutine on a reused stack costs tens of
//!   nanoseconds instead of an mmap + mprotect + munmap.

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, Yielder};
use std::cell::Cell;
use std::io;
use std::ptr;

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

thread_local! {
    /// The yielder of the coroutine running now; null on the hub's stack.
    static RUNNING: Cell<*const GreenYielder> = const { Cell::new(ptr::null()) };
}

/// Clears `RUNNING` when a body ends, even by unwinding.
struct Leaving;

impl Drop for Leaving {
    fn drop(&mut self) {
        RUNNING.set(ptr::null());
    }
}

/// Creates a coroutine running `body` on `stack`. `body` gets the reason
/// of its first resume.
pub(crate) fn coroutine(stack: DefaultStack, body: impl FnOnce(Wake) + 'static) -> Co {
    Coroutine::with_stack(stack, move |y: &GreenYielder, first: Wake| {
        RUNNING.set(y as *const GreenYielder);
        let _leaving = Leaving;
        body(first)
    })
}

/// Switches from the running green thread back to the hub and returns the
/// reason it was resumed.
///
/// # Panics
/// If called on the hub's own stack (outside any green thread).
pub(crate) fn suspend() -> Wake {
    let y = RUNNING.get();
    assert!(!y.is_null(), "cannot park outside a green thread");
    RUNNING.set(ptr::null());
    // SAFETY: a non-null `RUNNING` is the yielder of the coroutine executing
    // now (see the module invariants); it lives on this coroutine's stack
    // until the body returns, and we are inside the body.
    let why = unsafe { (*y).suspend(()) };
    RUNNING.set(y);
    why
}
