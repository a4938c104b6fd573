//! Every hub test runs under a hard deadline, so that a lost wake-up fails
//! fast instead of hanging CI.
#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` as the main green thread of a fresh hub on a new OS thread and
/// returns its value; panics if it takes longer than `secs`.
pub fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hub::run(f)));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("hub test did not finish within {secs} s (lost wake-up?)"),
    }
}

/// A connected pair of green TCP streams on loopback.
pub fn tcp_pair() -> (hub::TcpStream, hub::TcpStream) {
    let l = hub::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = l.local_addr().unwrap();
    let c = hub::TcpStream::connect(addr, Some(Duration::from_secs(2))).unwrap();
    let (s, _) = l.accept().unwrap();
    (c, s)
}
