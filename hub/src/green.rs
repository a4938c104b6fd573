//! Green threads: `spawn`, `JoinHandle::join`, `kill`.
//!
//! A green thread never leaves the OS thread whose hub spawned it, so
//! `spawn` takes closures that are neither `Send` nor `Sync`. A panic in a
//! green thread is caught and handed to its joiner; it never takes the hub
//! down. Killing a green thread unwinds its stack (running destructors,
//! closing its sockets) and returns the stack to the pool.

use crate::hub::{self, GreenId, KillSignal, Waiter};
use crate::switcher::Wake;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

/// Why a green thread produced no value.
pub enum JoinError {
    /// It panicked; the payload is the panic's.
    Panicked(Box<dyn Any + Send>),
    /// It was killed.
    Killed,
    /// The joiner's own deadline (a `Timeout` guard) passed first; the
    /// green thread goes on running, detached.
    TimedOut,
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked(p) => {
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string payload".into());
                write!(f, "Panicked({msg:?})")
            }
            JoinError::Killed => f.write_str("Killed"),
            JoinError::TimedOut => f.write_str("TimedOut"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for JoinError {}

struct Shared<T> {
    result: RefCell<Option<Result<T, JoinError>>>,
    /// The one green thread waiting in `join` or `kill` (a `JoinHandle` is
    /// not `Clone`, so there is never more than one).
    joiner: Cell<Option<Waiter>>,
}

impl<T> Shared<T> {
    /// Parks the caller until the result is there (or its wait fails).
    fn wait(&self, guards: bool) -> io::Result<()> {
        self.joiner.set(Some(hub::waiter()));
        let r = hub::park_with(None, None, guards).map(|_| ());
        self.joiner.set(None);
        r
    }
}

/// Owns the right to join (or kill) a green thread. Dropping it detaches
/// the thread.
pub struct JoinHandle<T> {
    id: GreenId,
    shared: Rc<Shared<T>>,
}

/// True if `payload` is the unwind of a killed green thread. Code that
/// catches panics on a green thread must resume such payloads
/// (`std::panic::resume_unwind`) so a kill is never swallowed.
pub fn is_kill(payload: &(dyn Any + Send)) -> bool {
    payload.is::<KillSignal>()
}

/// Spawns a green thread on this OS thread's hub. It starts at the hub's
/// next pass; the caller keeps running. Panics if no stack can be
/// allocated; code that must outlive that (an accept loop) uses
/// [`try_spawn`].
pub fn spawn<T: 'static, F: FnOnce() -> T + 'static>(f: F) -> JoinHandle<T> {
    try_spawn(f).expect("cannot allocate a green thread stack")
}

/// [`spawn`], or the error of a stack that could not be allocated (`f` is
/// dropped unrun).
pub fn try_spawn<T: 'static, F: FnOnce() -> T + 'static>(f: F) -> io::Result<JoinHandle<T>> {
    let shared = Rc::new(Shared { result: RefCell::new(None), joiner: Cell::new(None) });
    let s2 = shared.clone();
    let id = hub::spawn_raw(move |first| {
        let res = if first == Wake::Killed {
            drop(f);
            Err(JoinError::Killed)
        } else {
            match panic::catch_unwind(AssertUnwindSafe(f)) {
                Ok(v) => Ok(v),
                Err(p) if p.is::<KillSignal>() => Err(JoinError::Killed),
                Err(p) => Err(JoinError::Panicked(p)),
            }
        };
        *s2.result.borrow_mut() = Some(res);
        if let Some(w) = s2.joiner.take() {
            hub::wake(w);
        }
    })?;
    Ok(JoinHandle { id, shared })
}

impl<T> JoinHandle<T> {
    /// True once the green thread has returned, panicked or been killed.
    pub fn is_finished(&self) -> bool {
        self.shared.result.borrow().is_some()
    }

    /// Waits for the green thread and returns its value, or why there is
    /// none. Honours the caller's `Timeout` guards.
    pub fn join(self) -> Result<T, JoinError> {
        loop {
            if let Some(r) = self.shared.result.borrow_mut().take() {
                return r;
            }
            if self.shared.wait(true).is_err() {
                return Err(JoinError::TimedOut);
            }
        }
    }

    /// Kills the green thread: it unwinds from the point where it is
    /// parked (or never starts), its destructors run and its stack returns
    /// to the pool. Returns once it has finished. Killing oneself unwinds
    /// at once.
    pub fn kill(&self) {
        if hub::current() == Some(self.id) {
            panic::resume_unwind(Box::new(KillSignal));
        }
        if !hub::request_kill(self.id) {
            return;
        }
        while !self.is_finished() {
            // A kill must complete even past the killer's own deadline.
            let _ = self.shared.wait(false);
        }
    }

    pub(crate) fn try_result(&self) -> Option<Result<T, JoinError>> {
        self.shared.result.borrow_mut().take()
    }
}
