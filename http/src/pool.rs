//! Idle keep-alive client connections, kept per hub and per address so
//! that the next backend request to the same server skips the connect
//! (and the server's accept and close): Swift opens a connection per
//! backend request; swiftlet reuses them.
//!
//! A connection goes back only after a complete exchange
//! ([`ClientConn::release`]): the whole request body sent, the whole
//! response read, the server not closing. On the way out it must still be
//! open and quiet: a peek that would block. A server that closed it while
//! idle (restart, its keep-alive timeout) shows an end of stream there
//! and the connection is dropped. What is left is the race of a server
//! closing it just as the request goes out: [`ClientConn::went_stale`]
//! tells that case (a reused connection, no byte of an answer, an end of
//! stream or a reset), and the callers send the request once more on a
//! new connection.
//!
//! The connections are registered with this thread's hub, so the pool
//! belongs to that hub: a new hub on the same thread finds it empty.

use crate::client::ClientConn;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Most idle connections kept per address, per hub.
pub const MAX_IDLE_PER_ADDR: usize = 32;

/// How long a connection may wait in the pool. Well under any server
/// keep-alive timeout (swiftlet's and Swift's servers keep idle
/// connections for 600 s by default).
pub const MAX_IDLE: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Idle {
    hub: u64,
    /// Oldest at the front; connections are taken from the back.
    by_addr: HashMap<SocketAddr, VecDeque<(ClientConn, Instant)>>,
}

thread_local! {
    static IDLE: RefCell<Idle> = RefCell::default();
}

/// Runs `f` on this hub's pool; connections `f` removes are dropped after
/// the pool is released (a drop deregisters from the hub).
fn with_pool<R>(f: impl FnOnce(&mut Idle, &mut Vec<ClientConn>) -> R) -> R {
    let hub = hub::id();
    let mut dropped = Vec::new();
    let r = IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        if idle.hub != hub {
            dropped.extend(idle.by_addr.drain().flat_map(|(_, q)| q.into_iter().map(|(c, _)| c)));
            idle.hub = hub;
        }
        f(&mut idle, &mut dropped)
    });
    drop(dropped);
    r
}

/// An idle connection to `addr` that is still open and quiet, if any.
pub(crate) fn take(addr: SocketAddr) -> Option<ClientConn> {
    with_pool(|idle, dropped| {
        let q = idle.by_addr.get_mut(&addr)?;
        let mut found = None;
        while let Some((conn, since)) = q.pop_back() {
            let mut one = [0u8; 1];
            let quiet = matches!(conn.stream().try_peek(&mut one), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
            if since.elapsed() < MAX_IDLE && quiet {
                found = Some(conn);
                break;
            }
            dropped.push(conn);
        }
        if q.is_empty() {
            idle.by_addr.remove(&addr);
        }
        found
    })
}

/// Keeps `conn` for the next request to `addr`; the oldest idle ones go
/// beyond [`MAX_IDLE_PER_ADDR`] or [`MAX_IDLE`].
pub(crate) fn put(addr: SocketAddr, conn: ClientConn) {
    with_pool(|idle, dropped| {
        let q = idle.by_addr.entry(addr).or_default();
        while q.front().is_some_and(|(_, since)| since.elapsed() >= MAX_IDLE) || q.len() >= MAX_IDLE_PER_ADDR {
            dropped.extend(q.pop_front().map(|(c, _)| c));
        }
        q.push_back((conn, Instant::now()));
    })
}

/// Idle connections in this hub's pool (tests).
pub fn idle_count() -> usize {
    with_pool(|idle, _| idle.by_addr.values().map(VecDeque::len).sum())
}
