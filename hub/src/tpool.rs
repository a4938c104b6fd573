//! `tpool::execute`: run a blocking closure (fsync, open, stat, sqlite) on
//! a small pool of OS threads while the hub goes on serving. The caller
//! parks; the worker hands the result back and wakes it through the hub's
//! eventfd (eventlet's tpool, minus the pipe).

use crate::hub;
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread;

type Job = Box<dyn FnOnce() + Send>;

/// Default number of pool threads.
pub const DEFAULT_THREADS: usize = 8;

struct Pool {
    jobs: Mutex<Queue>,
    ready: Condvar,
}

struct Queue {
    jobs: VecDeque<Job>,
    /// Workers waiting on `ready`: a new job signals it only when one
    /// waits (a signal costs a syscall; a busy worker takes the job next).
    idle: usize,
}

static POOL: OnceLock<Arc<Pool>> = OnceLock::new();
static THREADS: Mutex<usize> = Mutex::new(DEFAULT_THREADS);

/// Sets the pool size; effective only before the first `execute`.
pub fn set_threads(n: usize) {
    *THREADS.lock().unwrap_or_else(|e| e.into_inner()) = n.max(1);
}

fn pool() -> &'static Arc<Pool> {
    POOL.get_or_init(|| {
        let p = Arc::new(Pool { jobs: Mutex::new(Queue { jobs: VecDeque::new(), idle: 0 }), ready: Condvar::new() });
        let n = *THREADS.lock().unwrap_or_else(|e| e.into_inner());
        for i in 0..n {
            let p = p.clone();
            thread::Builder::new()
                .name(format!("tpool-{i}"))
                .spawn(move || worker(&p))
                .expect("cannot start a tpool thread");
        }
        p
    })
}

fn worker(p: &Pool) {
    loop {
        let job = {
            let mut q = p.jobs.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(j) = q.jobs.pop_front() {
                    break j;
                }
                q.idle += 1;
                q = p.ready.wait(q).unwrap_or_else(|e| e.into_inner());
                q.idle -= 1;
            }
        };
        job();
    }
}

struct Completion<T> {
    value: Mutex<Done<T>>,
    /// Signalled only for a caller blocked on its OS thread.
    done: Condvar,
    /// The caller's current park ticket (renewed before every park).
    waiter: Mutex<hub::Waiter>,
}

struct Done<T> {
    result: Option<thread::Result<T>>,
    /// The caller waits on `done` (not parked on the hub): a condvar
    /// signal costs a syscall, so it is sent only then.
    blocking: bool,
}

/// Runs `f` on the thread pool and returns its value; the calling green
/// thread parks meanwhile and the hub keeps running the others. A panic in
/// `f` is resumed in the caller. `Timeout` guards do not interrupt it (the
/// work is under way either way); killing the caller abandons the result.
pub fn execute<T, F>(f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let slot = Arc::new(Completion {
        value: Mutex::new(Done { result: None, blocking: false }),
        done: Condvar::new(),
        waiter: Mutex::new(hub::waiter()),
    });
    let remote = hub::handle();
    let s2 = slot.clone();
    let p = pool();
    let mut q = p.jobs.lock().unwrap_or_else(|e| e.into_inner());
    q.jobs.push_back(Box::new(move || {
        let r = panic::catch_unwind(AssertUnwindSafe(f));
        let mut v = s2.value.lock().unwrap_or_else(|e| e.into_inner());
        v.result = Some(r);
        if v.blocking {
            s2.done.notify_all();
        }
        drop(v);
        let s3 = s2.clone();
        remote.remote().call(Box::new(move || {
            hub::wake(*s3.waiter.lock().unwrap_or_else(|e| e.into_inner()));
        }));
    }));
    let idle = q.idle > 0;
    drop(q);
    if idle {
        p.ready.notify_one();
    }
    loop {
        if let Some(r) = slot.value.lock().unwrap_or_else(|e| e.into_inner()).result.take() {
            return r.unwrap_or_else(|p| panic::resume_unwind(p));
        }
        *slot.waiter.lock().unwrap_or_else(|e| e.into_inner()) = hub::waiter();
        if hub::park_with(None, None, false).is_err() {
            // Killed while already unwinding: we may not park again, so wait
            // for the worker on this OS thread.
            let mut v = slot.value.lock().unwrap_or_else(|e| e.into_inner());
            v.blocking = true;
            while v.result.is_none() {
                v = slot.done.wait(v).unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}
