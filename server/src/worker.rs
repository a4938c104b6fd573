//! A server's workers, the same for every swiftlet server: N hubs on one
//! port until SIGTERM/SIGINT; each worker's start-up: listen on
//! the shared port, tell systemd `READY=1` once every worker listens and
//! `STOPPING=1` when the stop signal comes, the http `ServerConfig`
//! built from Swift's keys, and the serving loop with its access log.

use common::Logger;
use http::{AccessRecord, Server};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Binds `addr` once and lets it go, so that a port in use fails the
/// start-up before any worker thread starts.
pub fn check_port(addr: SocketAddr) -> io::Result<()> {
    drop(std::net::TcpListener::bind(addr)?);
    Ok(())
}

/// Runs `f(i, listening)` as the main green thread of each of `workers`
/// hubs (`hub::workers::run`) until SIGTERM/SIGINT, which is logged;
/// `listening` is the counter [`listen`] wants, shared by all workers.
pub fn run<F>(log: &'static Logger, workers: usize, f: F) -> io::Result<()>
where
    F: Fn(usize, &AtomicUsize) + Send + Sync + 'static,
{
    let listening = AtomicUsize::new(0);
    // The soft fd limit up to the hard one (Swift does the same): the
    // http server's per-process connection cap is half of it.
    match hub::raise_fd_limit() {
        Ok(n) => log.debug(&format!("open files limit: {n}")),
        Err(e) => log.warn(&format!("cannot raise the open files limit: {e}")),
    }
    hub::workers::run(
        workers,
        hub::Config::default(),
        |sig| log.info(&format!("signal {sig} received: stopping")),
        move |i| f(i, &listening),
    )
    .map(|_| ())
}

/// Sends `state` to systemd if it started us; a failure is logged, not
/// fatal.
pub fn notify_or_log(log: &Logger, state: &str) {
    if let Err(e) = hub::sd_notify(state) {
        log.error(&format!("sd_notify {state:?} failed: {e}"));
    }
}

/// Worker `i` of `workers` binds `addr` (with `SO_REUSEPORT`, backlog
/// 1024); `listening` counts the workers that did, and the last one sends
/// `READY=1`. Worker 0 also spawns the green thread that sends
/// `STOPPING=1` on stop. `None` (after logging why) if the bind failed.
pub fn listen(
    log: &'static Logger,
    i: usize,
    addr: SocketAddr,
    workers: usize,
    listening: &AtomicUsize,
) -> Option<hub::TcpListener> {
    let listener = match hub::TcpListener::bind_with(addr, 1024, true) {
        Ok(l) => l,
        Err(e) => {
            log.error(&format!("worker {i}: cannot listen on {addr}: {e}"));
            return None;
        }
    };
    if listening.fetch_add(1, Ordering::SeqCst) + 1 == workers {
        log.info(&format!("listening on {addr} with {workers} workers"));
        notify_or_log(log, "READY=1");
    }
    if i == 0 {
        hub::spawn(move || {
            if hub::stop_event().wait().is_ok() {
                notify_or_log(log, "STOPPING=1");
            }
        });
    }
    Some(listener)
}

/// Worker `i` serves `listener` with `server` until the stop, writing an
/// access line per request with `access` if given (`log_requests`); an
/// error that ends the accept loop is logged.
pub fn serve(
    log: &Logger,
    i: usize,
    listener: hub::TcpListener,
    mut server: Server,
    access: Option<fn(&AccessRecord<'_>)>,
) {
    if let Some(f) = access {
        server = server.access_log(f);
    }
    if let Err(e) = server.serve(listener) {
        log.error(&format!("worker {i}: {e}"));
    }
}
