//! Workers: N hubs in N OS threads of one process, sharing a listening
//! port through SO_REUSEPORT (Swift's `workers = N`; `auto` = one per
//! core), and the process's SIGTERM/SIGINT handling.
//!
//! The calling (master) thread blocks SIGTERM and SIGINT before any worker
//! starts, so every thread inherits the mask and the signals arrive only
//! through the master's signalfd. On a signal the master sets each hub's
//! [`stop_event`](crate::stop_event); servers watching it stop accepting,
//! let in-flight requests finish within their grace period and return,
//! and `run` returns `Ok(Some(signal))` once every worker has finished.
//! Call it before starting any other thread (tpool included).

use crate::hub::{self, Config, HubHandle};
use crate::sys::eventfd::EventFd;
use crate::sys::signal::SignalFd;
use std::io;
use std::sync::{mpsc, Arc};
use std::thread;

/// How many hubs a process runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerCount {
    /// One per CPU core (`workers = auto`).
    Auto,
    Fixed(usize),
}

impl WorkerCount {
    /// Parses Swift's spelling: a number or `auto`.
    pub fn parse(s: &str) -> Option<WorkerCount> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auto") {
            return Some(WorkerCount::Auto);
        }
        s.parse().ok().map(WorkerCount::Fixed)
    }

    /// The number of hubs to run (at least one; Swift's `workers = 0`
    /// means "no forking", i.e. one).
    pub fn resolve(&self) -> usize {
        match self {
            WorkerCount::Auto => thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            WorkerCount::Fixed(n) => (*n).max(1),
        }
    }
}

/// Runs `f(i)` as the main green thread of hub `i` in each of `count`
/// threads and waits for them. `on_signal` runs in the master thread when
/// SIGTERM or SIGINT arrives, before the hubs are told to stop (for
/// `STOPPING=1`, a log line). Returns the signal that stopped the workers,
/// or `None` if they all returned by themselves.
pub fn run<F>(count: usize, cfg: Config, mut on_signal: impl FnMut(i32), f: F) -> io::Result<Option<i32>>
where
    F: Fn(usize) + Send + Sync + 'static,
{
    let signals = SignalFd::new(&[libc::SIGTERM, libc::SIGINT])?;
    let exited = Arc::new(EventFd::new()?);
    let f = Arc::new(f);
    let (tx, rx) = mpsc::channel::<HubHandle>();
    let mut threads = Vec::new();
    for i in 0..count.max(1) {
        let (f, tx, exited, cfg) = (f.clone(), tx.clone(), exited.clone(), cfg.clone());
        let t = thread::Builder::new().name(format!("worker-{i}")).spawn(move || {
            struct Exit(Arc<EventFd>);
            impl Drop for Exit {
                fn drop(&mut self) {
                    self.0.notify();
                }
            }
            let _exit = Exit(exited);
            hub::run_with(cfg, move || {
                let _ = tx.send(hub::handle());
                f(i)
            })
        })?;
        threads.push(t);
    }
    drop(tx);
    let handles: Vec<HubHandle> = rx.iter().take(threads.len()).collect();
    let mut stopped_by = None;
    // Each worker thread bumps the eventfd once as it ends (a thread may
    // still be finishing when we see it, so count, do not poll is_finished).
    let mut exited_count = 0;
    while exited_count < threads.len() as u64 {
        match signals.wait(exited.raw())? {
            Some(sig) => {
                if stopped_by.is_none() {
                    stopped_by = Some(sig);
                    on_signal(sig);
                    for h in &handles {
                        h.request_stop();
                    }
                }
            }
            None => {
                exited_count += exited.drain();
                // A worker ended on its own: stop the others too.
                for h in &handles {
                    h.request_stop();
                }
            }
        }
    }
    let mut failed = None;
    for t in threads {
        if let Err(p) = t.join() {
            failed = Some(p);
        }
    }
    if let Some(p) = failed {
        std::panic::resume_unwind(p);
    }
    Ok(stopped_by)
}

#[cfg(test)]
mod tests {
    use super::WorkerCount;

    #[test]
    fn worker_count_uses_swifts_spelling() {
        assert_eq!(WorkerCount::parse("auto"), Some(WorkerCount::Auto));
        assert_eq!(WorkerCount::parse(" 4 "), Some(WorkerCount::Fixed(4)));
        assert_eq!(WorkerCount::parse("four"), None);
        assert_eq!(WorkerCount::Fixed(0).resolve(), 1);
        assert!(WorkerCount::Auto.resolve() >= 1);
    }
}
