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
            #[cfg(test)]
            None if tests::NO_NEW_STACKS.with(|n| n.get()) => Err(io::Error::from_raw_os_error(libc::ENOMEM)),
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

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    thread_local! {
        /// Set: a new stack fails as a failed `mmap` would (pooled ones
        /// are still handed out).
        pub(crate) static NO_NEW_STACKS: Cell<bool> = const { Cell::new(false) };
    }

    #[test]
    fn a_failed_stack_allocation_is_an_error_not_a_panic() {
        crate::run(|| {
            let pool = crate::GreenPool::new(4);
            NO_NEW_STACKS.with(|n| n.set(true));
            let dropped = std::rc::Rc::new(Cell::new(false));
            let d = dropped.clone();
            let flag = DropFlag(d);
            let r = pool.spawn(move || drop(flag));
            NO_NEW_STACKS.with(|n| n.set(false));
            let e = r.err().expect("no stack, no green thread");
            assert_eq!(e.raw_os_error(), Some(libc::ENOMEM));
            assert!(dropped.get(), "the closure was dropped unrun");
            assert_eq!((pool.running(), pool.free()), (0, 4), "the slot is free again");
            assert!(crate::try_spawn(|| 1).unwrap().join().is_ok(), "stacks come again once memory does");
        });
    }

    struct DropFlag(std::rc::Rc<Cell<bool>>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
}
