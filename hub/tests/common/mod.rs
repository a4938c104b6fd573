//! Every hub test runs under a hard deadline, so that a lost wake-up fails
//! fast instead of hanging CI.
#![allow(dead_code)]

use std::time::Duration;

pub use hub::run_within as within;

/// A connected pair of green TCP streams on loopback.
pub fn tcp_pair() -> (hub::TcpStream, hub::TcpStream) {
    let l = hub::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = l.local_addr().unwrap();
    let c = hub::TcpStream::connect(addr, Some(Duration::from_secs(2))).unwrap();
    let (s, _) = l.accept().unwrap();
    (c, s)
}
