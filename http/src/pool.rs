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
    /// When every address's expired connections were last dropped.
    swept: Option<Instant>,
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
/// beyond [`MAX_IDLE_PER_ADDR`] or [`MAX_IDLE`]. Once per [`MAX_IDLE`],
/// the expired ones of every address go too, so a server no longer asked
/// (a node gone from the ring) does not keep connections open.
pub(crate) fn put(addr: SocketAddr, conn: ClientConn) {
    with_pool(|idle, dropped| {
        let expired = |q: &VecDeque<(ClientConn, Instant)>| q.front().is_some_and(|(_, t)| t.elapsed() >= MAX_IDLE);
        let q = idle.by_addr.entry(addr).or_default();
        while expired(q) || q.len() >= MAX_IDLE_PER_ADDR {
            dropped.extend(q.pop_front().map(|(c, _)| c));
        }
        q.push_back((conn, Instant::now()));
        if idle.swept.is_none_or(|t| t.elapsed() >= MAX_IDLE) {
            idle.swept = Some(Instant::now());
            idle.by_addr.retain(|_, q| {
                while expired(q) {
                    dropped.extend(q.pop_front().map(|(c, _)| c));
                }
                !q.is_empty()
            });
        }
    })
}

/// Idle connections in this hub's pool (tests).
pub fn idle_count() -> usize {
    with_pool(|idle, _| idle.by_addr.values().map(VecDeque::len).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_put_drops_the_expired_connections_of_every_address() {
        hub::run_within(10, || {
            let listen = || hub::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let (l1, l2) = (listen(), listen());
            let (a1, a2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
            let connect = |a| ClientConn::connect(a, Duration::from_secs(1)).unwrap();
            // An idle connection to a1 that has waited too long (a1 is
            // never asked again), and a fresh one.
            let old = Instant::now() - MAX_IDLE - Duration::from_secs(1);
            with_pool(|idle, _| {
                let q = idle.by_addr.entry(a1).or_default();
                q.push_back((connect(a1), old));
                q.push_back((connect(a1), Instant::now()));
            });
            assert_eq!(idle_count(), 2);
            put(a2, connect(a2));
            assert_eq!(idle_count(), 2, "the expired connection to a1 is dropped, the fresh one kept");
            // Not again within MAX_IDLE: the sweep costs one pass at most
            // that often.
            with_pool(|idle, _| idle.by_addr.entry(a1).or_default().push_front((connect(a1), old)));
            put(a2, connect(a2));
            assert_eq!(idle_count(), 4);
        })
    }
}
