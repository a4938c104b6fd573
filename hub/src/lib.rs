//! The hub: eventlet's design in Rust.
//!
//! One hub per OS thread owns an epoll selector, a timer heap and the green
//! threads (corosensei coroutines on pooled stacks) of that thread. A green
//! thread that would block parks and switches to the hub, which resumes it
//! when its fd is ready, its timer fires or another green thread wakes it.
//! Nothing here knows about HTTP.
//!
//! Read `CAVEATS.md` before writing code that runs on green threads.
//!
//! ```
//! let v = hub::run(|| {
//!     let h = hub::spawn(|| 40 + 2);
//!     hub::sleep(std::time::Duration::from_millis(1)).unwrap();
//!     h.join().unwrap()
//! });
//! assert_eq!(v, 42);
//! ```

#[macro_use]
mod sys;

mod event;
mod green;
mod hub;
mod net;
mod pool;
mod queue;
mod semaphore;
mod switcher;
mod timeout;
mod timer;
pub mod tpool;
mod waiters;
pub mod workers;

pub use event::Event;
pub use green::{is_kill, spawn, try_spawn, JoinError, JoinHandle};
pub use hub::{handle, id, run, run_with, run_within, sleep, stop_event, yield_now, Config, HubHandle};
pub use net::{sd_notify, TcpListener, TcpStream, UnixDatagram};
pub use pool::{GreenPile, GreenPool};
pub use queue::Queue;
pub use semaphore::{Permit, Semaphore};
pub use switcher::DEFAULT_STACK_SIZE;
pub use sys::{open_fd_count, raise_fd_limit, set_io_priority, thread_cpu_time, IoClass};
pub use timeout::{with_timeout, Timeout};

/// Hub statistics, for tests and diagnostics.
pub mod stats {
    /// Live green threads on this thread's hub.
    pub fn live_green_threads() -> usize {
        crate::hub::live()
    }

    /// Stacks waiting in this hub's pool for reuse.
    pub fn pooled_stacks() -> usize {
        crate::hub::pooled_stacks()
    }

    /// Timers armed on this hub (sleeps and parked deadlines).
    pub fn pending_timers() -> usize {
        crate::hub::pending_timers()
    }
}

/// A timer running a callback on the hub's stack; see [`call_later`].
pub struct Timer(u64);

impl Timer {
    /// Cancels the timer; a no-op if it already fired.
    pub fn cancel(self) {
        hub::cancel_timer(self.0)
    }
}

/// Runs `f` on the hub's own stack after `d` (eventlet's
/// `hub.schedule_call_global`). `f` must not park; it may spawn green
/// threads, set events or wake waiters. A timer added while timers are
/// firing waits for the next pass.
pub fn call_later(d: std::time::Duration, f: impl FnOnce() + 'static) -> Timer {
    Timer(hub::add_timer(std::time::Instant::now() + d, Box::new(f)))
}
