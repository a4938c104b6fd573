//! Talking to storage nodes: the rings, node order with handoffs (a
//! read's primaries sorted by `sorting_method`, [`sorting`]), error
//! limiting, one backend request, and Swift's quorum rules.

pub mod sorting;

use crate::app::App;
use crate::error::{Error, Result};
use common::percent::quote;
use http::client::Failed;
use http::{ClientConn, Headers};
use ring::{Device, Ring};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Swift's `quorum_size`: `(n + 1) // 2`, a majority for odd n and half
/// for even n (2 of 4), so an even-replica cluster split in halves can
/// still write; docs/proxy.md.
pub fn quorum_size(n: usize) -> usize {
    n.div_ceil(2)
}

/// Swift's `best_response` choice: the highest status of the first class
/// (1xx, 2xx, 3xx, 4xx) that a quorum of replicas answered; `None` if no
/// class has a quorum (the caller answers 503).
pub fn best_status(statuses: &[u16], replicas: usize) -> Option<u16> {
    let quorum = quorum_size(replicas);
    [100, 200, 300, 400].into_iter().find_map(|hundred| {
        let class: Vec<u16> = statuses.iter().copied().filter(|s| (hundred..hundred + 100).contains(s)).collect();
        (class.len() >= quorum).then(|| class.into_iter().max().unwrap_or(hundred))
    })
}

/// A node's address for the error limiter and logs.
fn node_key(d: &Device) -> String {
    format!("{}:{}/{}", d.ip, d.port, d.device)
}

pub fn node_addr(d: &Device) -> io::Result<SocketAddr> {
    let ip: std::net::IpAddr =
        d.ip.trim_matches(['[', ']'])
            .parse()
            .map_err(|_| io::Error::other(format!("bad ip {:?} in the ring", d.ip)))?;
    Ok(SocketAddr::new(ip, d.port))
}

thread_local! {
    /// Per worker, as in Swift: errors and the time of the last one.
    static ERRORS: RefCell<HashMap<String, (u32, Instant)>> = RefCell::new(HashMap::new());
}

impl App {
    /// Counts an error against a node (Swift's `error_occurred`). Most
    /// callers go through [`Suspects`], which counts only what a node did.
    pub fn error_occurred(&self, d: &Device, why: &str) {
        crate::log::warn(&format!("ERROR with node {}: {why}", node_key(d)));
        ERRORS.with(|e| {
            let mut e = e.borrow_mut();
            let entry = e.entry(node_key(d)).or_insert((0, Instant::now()));
            entry.0 += 1;
            entry.1 = Instant::now();
        });
    }

    /// Limits a node at once (507, Swift's `error_limit`).
    pub fn error_limit(&self, d: &Device, why: &str) {
        crate::log::warn(&format!("node {} error limited: {why}", node_key(d)));
        let n = self.conf().error_suppression_limit + 1;
        ERRORS.with(|e| e.borrow_mut().insert(node_key(d), (n, Instant::now())));
    }

    /// Errors counted against a node (tests).
    #[cfg(test)]
    pub fn error_count(&self, d: &Device) -> u32 {
        ERRORS.with(|e| e.borrow().get(&node_key(d)).map_or(0, |&(n, _)| n))
    }

    /// Whether a node is skipped now (Swift's `error_limited`).
    pub fn error_limited(&self, d: &Device) -> bool {
        ERRORS.with(|e| {
            let mut e = e.borrow_mut();
            if e.is_empty() {
                // No error held against any node: the usual case, checked
                // for every node of every request without making its key.
                return false;
            }
            let key = node_key(d);
            let Some(&(count, last)) = e.get(&key) else { return false };
            if last.elapsed() > self.conf().error_suppression_interval {
                e.remove(&key);
                return false;
            }
            count > self.conf().error_suppression_limit
        })
    }

    /// The nodes a write tries for a partition (Swift's `iter_nodes`):
    /// the primaries that are not error-limited in ring order (replica
    /// `i` pairs with container replica `i`), then handoffs, at most
    /// `request_node_count` in all. `bool` is true for a handoff.
    pub fn nodes(&self, ring: &Ring, part: u32) -> NodeIter {
        let primaries = ring.part_nodes(part);
        let left = self.conf().request_node_factor.resolve(primaries.len());
        NodeIter {
            ctx: self.clone(),
            primaries: primaries.into_iter(),
            sorted: false,
            handoffs: ring.handoffs(part),
            limited: Vec::new(),
            left,
        }
    }

    /// The nodes a read (GET or HEAD) tries for a partition: the
    /// primaries in `sorting_method`'s order (Swift's `sort_nodes`) that
    /// are not error-limited, then the handoffs that are not, then the
    /// error-limited primaries (they hold the data: a last try), at most
    /// `request_node_count` in all.
    pub fn read_nodes(&self, ring: &Ring, part: u32) -> NodeIter {
        self.read_nodes_at(ring, part, Instant::now())
    }

    /// [`App::read_nodes`] with timings seen at `now` (tests).
    pub fn read_nodes_at(&self, ring: &Ring, part: u32, now: Instant) -> NodeIter {
        let mut primaries = ring.part_nodes(part);
        let conf = self.conf();
        sorting::sort_primaries(
            conf.sorting_method,
            &conf.read_affinity,
            &mut primaries,
            |d| self.error_limited(d),
            now,
        );
        let left = conf.request_node_factor.resolve(primaries.len());
        NodeIter {
            ctx: self.clone(),
            primaries: primaries.into_iter(),
            sorted: true,
            handoffs: ring.handoffs(part),
            limited: Vec::new(),
            left,
        }
    }

    /// Records that `d` took `took` to begin its answer (Swift's
    /// `set_node_timing`, only with `sorting_method = timing`). A node
    /// that gave no answer is recorded as taking the whole timeout it was
    /// given.
    pub fn node_timing(&self, d: &Device, took: Duration) {
        self.node_timing_at(d, took, Instant::now());
    }

    /// [`App::node_timing`] at `now` (tests).
    pub fn node_timing_at(&self, d: &Device, took: Duration, now: Instant) {
        if self.conf().sorting_method != sorting::SortingMethod::Timing {
            return;
        }
        if let Ok(addr) = node_addr(d) {
            sorting::record(addr, took, now, self.conf().timing_expiry);
        }
    }
}

/// One request's node failures, held until the request shows whose
/// fault they were. A failure (a 5xx, a 507, a connection error or
/// timeout) counts against its node (Swift's `error_occurred`, or
/// `error_limit` for 507) only once *another* node has answered the same
/// request below 500: then the request was fine and the failing node was
/// at fault. A request that every node it tried fails is its own fault
/// (a hostile header, a name or body no node can take), and counts
/// against none: otherwise any client allowed one request could
/// error-limit every primary for every tenant. A node that really is
/// broken fails other requests that its peers answer, and is counted
/// there. A handoff's 404 is no answer (it never held the data), and a
/// node's own answer never excuses its later failure. Cheap to clone: the
/// replicas' green threads share one.
#[derive(Clone, Default)]
pub struct Suspects(Rc<RefCell<Held>>);

#[derive(Default)]
struct Held {
    /// The devices that answered below 500 (ring ids: a request reads one
    /// ring).
    answered: Vec<ring::DevId>,
    failures: Vec<(Arc<Device>, String, Failure)>,
}

/// How a failure counts once confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// One more error (`error_occurred`).
    Error,
    /// Limited at once (507, `error_limit`).
    Limit,
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.failures.is_empty() {
            let nodes: Vec<String> =
                self.failures.iter().map(|(d, why, _)| format!("{} ({why})", node_key(d))).collect();
            crate::log::warn(&format!(
                "not counted against their nodes, no other node answered the request: {}",
                nodes.join(", ")
            ));
        }
    }
}

impl Suspects {
    /// A node failed this request: counted now if another node already
    /// answered it, else held.
    pub fn failed(&self, ctx: &App, node: &Device, why: String, how: Failure) {
        let mut held = self.0.borrow_mut();
        if held.answered.iter().any(|id| *id != node.id) {
            drop(held);
            count(ctx, node, &why, how);
        } else {
            held.failures.push((Arc::new(node.clone()), why, how));
        }
    }

    /// `node` answered this request below 500: what the other nodes did
    /// is theirs, and counts.
    pub fn answered(&self, ctx: &App, node: &Device) {
        let theirs = {
            let mut held = self.0.borrow_mut();
            if !held.answered.contains(&node.id) {
                held.answered.push(node.id);
            }
            if held.failures.is_empty() {
                return;
            }
            let (theirs, mine) = std::mem::take(&mut held.failures).into_iter().partition(|(d, _, _)| d.id != node.id);
            held.failures = mine;
            theirs
        };
        for (node, why, how) in theirs {
            count(ctx, &node, &why, how);
        }
    }

    /// Sorts a backend status: below 500 (and 501, Swift's answer to what
    /// it does not implement, about the request) is an answer, except a
    /// handoff's 404 (it knows nothing); 5xx is a failure (507 limits).
    /// True unless a failure. `what` names the request, for a failure's
    /// log line (made only then).
    pub fn status(&self, ctx: &App, node: &Device, handoff: bool, status: u16, what: impl Fn() -> String) -> bool {
        match status {
            507 => self.failed(ctx, node, format!("507 Insufficient Storage to {}", what()), Failure::Limit),
            501 => self.answered(ctx, node),
            500.. => self.failed(ctx, node, format!("{status} to {}", what()), Failure::Error),
            404 if handoff => {}
            _ => self.answered(ctx, node),
        }
        status < 500 || status == 501
    }
}

fn count(ctx: &App, node: &Device, why: &str, how: Failure) {
    match how {
        Failure::Error => ctx.error_occurred(node, why),
        Failure::Limit => ctx.error_limit(node, why),
    }
}

/// The nodes of one request ([`App::nodes`], [`App::read_nodes`]).
pub struct NodeIter {
    ctx: App,
    primaries: std::vec::IntoIter<Arc<Device>>,
    /// A read's primaries, already in order; a write's are checked here
    /// and the limited ones skipped.
    sorted: bool,
    handoffs: ring::Handoffs,
    /// A read's error-limited primaries, tried after the handoffs (but
    /// within `request_node_count`: handoffs take only the places they
    /// leave): they hold the data, but a read of a missing object (every
    /// healthy primary answers 404) should not wait on them first.
    limited: Vec<Arc<Device>>,
    left: usize,
}

impl Iterator for NodeIter {
    type Item = (Arc<Device>, bool);
    fn next(&mut self) -> Option<(Arc<Device>, bool)> {
        while self.left > 0 {
            // The error-limited primaries keep their places within
            // `request_node_count`: handoffs take only what is left.
            let reserved = self.primaries.len() == 0 && !self.limited.is_empty() && self.left <= self.limited.len();
            let next = match self.primaries.next() {
                Some(d) => Some((d, false)),
                None if reserved => None,
                None => self.handoffs.next().map(|d| (d, true)),
            };
            let Some((d, handoff)) = next else {
                if self.limited.is_empty() {
                    return None;
                }
                self.left -= 1;
                return Some((self.limited.remove(0), false));
            };
            if self.ctx.error_limited(&d) {
                if self.sorted && !handoff {
                    self.limited.push(d);
                }
                continue;
            }
            self.left -= 1;
            return Some((d, handoff));
        }
        None
    }
}

/// Shared between the green threads of one request.
pub type SharedNodes = Rc<RefCell<NodeIter>>;

/// A small backend answer, body read whole (listings, HEADs, errors).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// Most bytes of an [`Answer`]'s body (a listing, a HEAD's, an error's)
/// read whole from a backend; a longer body fails the request to that
/// node. Object bodies are streamed instead (`getter`, `putter`).
pub const MAX_ANSWER_BODY: usize = 64 << 20;

/// One request to one node with a small body; the answer is read whole.
/// `path` is already %-encoded and may carry a `?query`.
pub fn request(
    ctx: &App,
    node: &Device,
    part: u32,
    method: &str,
    path: &str,
    headers: &Headers,
    body: &[u8],
) -> io::Result<Answer> {
    let mut h = headers.clone();
    h.set("Host", format!("{}:{}", node.ip, node.port));
    h.set("Content-Length", body.len().to_string());
    let target = format!("/{}/{part}{path}", quote(&node.device));
    let started = Instant::now();
    let answered = std::cell::Cell::new(false);
    let out = node_addr(node).and_then(|addr| {
        ClientConn::pooled(addr, ctx.conf().conn_timeout, |conn| {
            exchange(ctx, conn, (node, started, &answered), method, &target, &h, body)
        })
    });
    if !answered.get() {
        ctx.node_timing(node, ctx.conf().node_timeout);
    }
    out
}

/// One request and its whole answer on `conn`, which goes back to the
/// pool after a complete exchange; on failure it comes back with the error.
/// The time to the answer's head is the node's timing (`answered` says
/// there was one).
fn exchange(
    ctx: &App,
    mut conn: ClientConn,
    (node, started, answered): (&Device, Instant, &std::cell::Cell<bool>),
    method: &str,
    target: &str,
    h: &Headers,
    body: &[u8],
) -> std::result::Result<Answer, Failed> {
    conn.stream().set_write_timeout(Some(ctx.conf().node_timeout));
    let sent = conn.send_request(method, target, h, body);
    if let Err(e) = sent {
        return Err(Box::new((conn, e)));
    }
    let answer = (|| {
        let mut resp = conn.read_response(method, ctx.conf().node_timeout)?;
        if !answered.replace(true) {
            ctx.node_timing(node, started.elapsed());
        }
        let body = resp.read_all(MAX_ANSWER_BODY)?;
        Ok(Answer { status: resp.status(), headers: std::mem::take(&mut resp.head.headers), body })
    })();
    match answer {
        Ok(a) => {
            conn.release();
            Ok(a)
        }
        Err(e) => Err(Box::new((conn, e))),
    }
}

/// `request` whose failures are held against the node in `suspects`
/// (a connection error or timeout, a 5xx, or 507). `None` for a failure
/// that gave no answer, or 507.
#[allow(clippy::too_many_arguments)]
pub fn request_node(
    ctx: &App,
    suspects: &Suspects,
    (node, handoff): (&Device, bool),
    part: u32,
    method: &str,
    path: &str,
    headers: &Headers,
    body: &[u8],
) -> Option<Answer> {
    match request(ctx, node, part, method, path, headers, body) {
        Ok(a) => {
            suspects.status(ctx, node, handoff, a.status, || format!("{method} {path}"));
            (a.status != 507).then_some(a)
        }
        Err(e) => {
            suspects.failed(ctx, node, format!("{method} {path}: {e}"), Failure::Error);
            None
        }
    }
}

/// Swift's post-quorum wait: takes the `pending` answers from `results`
/// as they come (after the `answers` already there); once a quorum of one
/// class has answered, waits at most `post_quorum_timeout` for the rest
/// and returns without them. Their green threads go on detached, so the
/// late nodes still finish and count their own errors.
pub fn gather(
    ctx: &App,
    results: &hub::Queue<Option<Answer>>,
    pending: usize,
    replicas: usize,
    mut answers: Vec<Answer>,
) -> Vec<Answer> {
    let mut deadline: Option<Instant> = None;
    for _ in 0..pending {
        if deadline.is_none() {
            let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
            if best_status(&statuses, replicas).is_some() {
                deadline = Some(Instant::now() + ctx.conf().post_quorum_timeout);
            }
        }
        let got = match deadline {
            None => results.get(),
            Some(d) => hub::with_timeout(d.saturating_duration_since(Instant::now()), || results.get()),
        };
        match got {
            Ok(Some(a)) => answers.push(a),
            Ok(None) => {}
            Err(_) => break,
        }
    }
    answers
}

/// What [`make_requests_with`] sends after the head, and what it holds.
#[derive(Default)]
pub struct Payload {
    /// The request body, the same for every replica (with its
    /// `Content-Length` in the headers): empty for most requests, a whole
    /// small object for a PUT (putter.rs).
    pub body: Rc<Vec<u8>>,
    /// Kept by every replica's green thread until its node has answered
    /// or failed, after the caller has gone on: its drop marks the end of
    /// the whole write.
    pub hold: Option<Rc<dyn std::any::Any>>,
}

/// Swift's `make_requests`: the same bodiless request to every primary of
/// `part` at once, each failed one retried on the next node (handoffs),
/// with per-replica headers from `per_replica(i)`. Returns the final
/// answers, not waiting past `post_quorum_timeout` once a quorum agrees.
pub fn make_requests(
    ctx: &App,
    ring: &Ring,
    part: u32,
    method: &str,
    path: &str,
    headers: &Headers,
    per_replica: &dyn Fn(usize) -> Vec<(String, String)>,
) -> Vec<Answer> {
    make_requests_with(ctx, ring, part, method, path, headers, per_replica, Payload::default())
}

/// [`make_requests`] with a body and a hold.
#[allow(clippy::too_many_arguments)]
pub fn make_requests_with(
    ctx: &App,
    ring: &Ring,
    part: u32,
    method: &str,
    path: &str,
    headers: &Headers,
    per_replica: &dyn Fn(usize) -> Vec<(String, String)>,
    payload: Payload,
) -> Vec<Answer> {
    let replicas = ring.part_nodes(part).len();
    let nodes: SharedNodes = Rc::new(RefCell::new(ctx.nodes(ring, part)));
    let results = hub::Queue::new(replicas.max(1));
    let suspects = Suspects::default();
    for i in 0..replicas {
        let (ctx, nodes, method, path) = (ctx.clone(), nodes.clone(), method.to_string(), path.to_string());
        let suspects = suspects.clone();
        let results = results.clone();
        let mut h = headers.clone();
        for (k, v) in per_replica(i) {
            h.set(k, v);
        }
        let (body, hold) = (payload.body.clone(), payload.hold.clone());
        hub::spawn(move || {
            let _hold = hold;
            let answer = loop {
                let next = nodes.borrow_mut().next();
                let Some((node, handoff)) = next else { break None };
                match request_node(&ctx, &suspects, (&node, handoff), part, &method, &path, &h, &body) {
                    Some(a) if a.status < 500 || a.status == 501 => break Some(a),
                    _ => continue,
                }
            };
            let _ = results.put(answer);
        });
    }
    gather(ctx, &results, replicas, replicas, Vec::new())
}

/// Reads from the nodes in read order ([`App::read_nodes`]) until one
/// answers below 500 and not 404 (Swift's `GETorHEAD_base` for accounts
/// and containers); else the quorum answer of what was seen (404), or 503.
pub fn read_first(ctx: &App, ring: &Ring, part: u32, method: &str, path: &str, headers: &Headers) -> Result<Answer> {
    let mut seen = Vec::new();
    let suspects = Suspects::default();
    for (node, handoff) in ctx.read_nodes(ring, part) {
        match request_node(ctx, &suspects, (&node, handoff), part, method, path, headers, b"") {
            Some(a) if a.status < 500 && a.status != 404 => return Ok(a),
            Some(a) if a.status == 404 && !handoff => seen.push(a),
            _ => {}
        }
    }
    best_answer(seen, ring.part_nodes(part).len(), method)
}

/// Picks the answer to return from `make_requests` results, or 503.
pub fn best_answer(answers: Vec<Answer>, replicas: usize, what: &str) -> Result<Answer> {
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    let best = best_status(&statuses, replicas)
        .ok_or_else(|| Error::Unavailable(format!("no quorum for {what}: {statuses:?}")))?;
    answers.into_iter().find(|a| a.status == best).ok_or_else(|| Error::Unavailable(what.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{call, call_with, FakeReq, Fakes, Reply};
    use std::time::Duration;

    fn ok(r: &FakeReq) -> Reply {
        Reply::status(match r.method.as_str() {
            "PUT" => 201,
            "GET" => 200,
            _ => 204,
        })
    }

    /// Fakes answering 2xx to everything, with `conf` in the proxy's.
    fn fakes(name: &str, conf: &str) -> Fakes {
        Fakes::start(name, 5, conf, Arc::new(ok))
    }

    /// The ids of the nodes `iter` gives, and whether each is a handoff.
    fn ids(iter: NodeIter) -> Vec<(ring::DevId, bool)> {
        iter.map(|(d, handoff)| (d.id, handoff)).collect()
    }

    /// The object ring's partition of `AUTH_test/c/o` and its primaries
    /// in ring order.
    fn part(f: &Fakes) -> (u32, Vec<ring::DevId>) {
        let ring = f.ctx.object_ring();
        let part = ring.partition("AUTH_test", Some("c"), Some("o")).unwrap();
        (part, ring.part_nodes(part).iter().map(|d| d.id).collect())
    }

    #[test]
    fn shuffled_reads_start_on_every_primary_and_try_each_once() {
        let f = fakes("sort-shuffle", "");
        let (part, primaries) = part(&f);
        let ring = f.ctx.object_ring();
        let handoffs: Vec<(ring::DevId, bool)> = ring.handoffs(part).take(3).map(|d| (d.id, true)).collect();
        let mut firsts = std::collections::HashMap::new();
        for _ in 0..300 {
            let order = ids(f.ctx.read_nodes(ring, part));
            assert!(order[..3].iter().all(|&(_, handoff)| !handoff));
            let mut read: Vec<ring::DevId> = order[..3].iter().map(|&(id, _)| id).collect();
            *firsts.entry(read[0]).or_insert(0) += 1;
            read.sort();
            let mut want = primaries.clone();
            want.sort();
            assert_eq!(read, want, "a permutation of the primaries");
            assert_eq!(order[3..], handoffs, "then the handoffs in ring order");
        }
        assert_eq!(firsts.len(), 3, "every primary is read first sometimes: {firsts:?}");
        assert!(firsts.values().all(|&n| n > 30), "{firsts:?}");
    }

    #[test]
    fn writes_keep_ring_order() {
        let f = fakes("sort-writes", "");
        let (part, primaries) = part(&f);
        let ring = f.ctx.object_ring();
        for _ in 0..50 {
            let order = ids(f.ctx.nodes(ring, part));
            let got: Vec<ring::DevId> = order[..3].iter().map(|&(id, _)| id).collect();
            assert_eq!(got, primaries);
        }
        // End to end: object replica i (ring order) is told container
        // replica i, and a container PUT's replica i account replica i.
        let token = f.token("tester");
        let got = call_with(&f.ctx, "PUT", "/v1/AUTH_test/c/o", &[("X-Auth-Token", &token)], b"data");
        assert_eq!(got.status, 201);
        let got = call(&f.ctx, "PUT", "/v1/AUTH_test/c2", &[("X-Auth-Token", &token)]);
        assert_eq!(got.status, 201);
        let seen = f.seen();
        let port_of = |ring: &Ring, a: &str, c: Option<&str>, o: Option<&str>| -> Vec<u16> {
            ring.nodes(a, c, o).unwrap().1.iter().map(|d| d.port).collect()
        };
        for (path, ring, told, header) in [
            (
                "/AUTH_test/c/o",
                f.ctx.object_ring(),
                port_of(f.ctx.container_ring(), "AUTH_test", Some("c"), None),
                "X-Container-Host",
            ),
            (
                "/AUTH_test/c2",
                f.ctx.container_ring(),
                port_of(f.ctx.account_ring(), "AUTH_test", None, None),
                "X-Account-Host",
            ),
        ] {
            let mut parts = path.trim_start_matches('/').splitn(3, '/');
            let (a, c, o) = (parts.next().unwrap(), parts.next(), parts.next());
            for (i, port) in port_of(ring, a, c, o).into_iter().enumerate() {
                let put = seen.iter().find(|r| r.method == "PUT" && r.path == path && r.port == port).unwrap();
                assert_eq!(put.header(header), Some(format!("127.0.0.1:{}", told[i]).as_str()), "{path} replica {i}");
            }
        }
    }

    #[test]
    fn error_limited_primaries_are_read_after_the_handoffs_and_skipped_by_writes() {
        let f = fakes("sort-limited", "");
        let (part, primaries) = part(&f);
        let ring = f.ctx.object_ring();
        let limited = ring.part_nodes(part)[0].clone();
        f.ctx.error_limit(&limited, "test");
        for _ in 0..50 {
            let order = ids(f.ctx.read_nodes(ring, part));
            assert!(!order[..2].iter().any(|&(id, h)| id == limited.id || h));
            assert!(order[2..4].iter().all(|&(_, h)| h), "then the handoffs: {order:?}");
            assert_eq!(order[4], (limited.id, false), "the limited primary last: {order:?}");
            assert_eq!(order.len(), 5, "all 5 nodes: 3 primaries, 2 handoffs");
        }
        let write = ids(f.ctx.nodes(ring, part));
        assert_eq!(write[..2], [(primaries[1], false), (primaries[2], false)]);
        assert!(write[2..].iter().all(|&(id, h)| h && id != limited.id), "handoffs reached: {write:?}");
    }

    #[test]
    fn error_limited_primaries_keep_their_places_within_request_node_count() {
        let f = fakes("sort-limited-count", "request_node_count = 3");
        let (part, _) = part(&f);
        let ring = f.ctx.object_ring();
        let limited = ring.part_nodes(part)[0].clone();
        f.ctx.error_limit(&limited, "test");
        for _ in 0..20 {
            let order = ids(f.ctx.read_nodes(ring, part));
            assert_eq!(order.len(), 3, "{order:?}");
            assert!(order[..2].iter().all(|&(id, h)| !h && id != limited.id), "{order:?}");
            assert_eq!(order[2], (limited.id, false), "no handoff takes its place: {order:?}");
        }
    }

    #[test]
    fn timing_reads_the_fastest_first_and_forgets_after_timing_expiry() {
        let f = fakes("sort-timing", "sorting_method = timing\ntiming_expiry = 60");
        let (part, primaries) = part(&f);
        let ring = f.ctx.object_ring();
        let nodes = ring.part_nodes(part);
        let now = Instant::now();
        f.ctx.node_timing_at(&nodes[0], Duration::from_millis(3), now);
        f.ctx.node_timing_at(&nodes[1], Duration::from_millis(90), now);
        f.ctx.node_timing_at(&nodes[2], Duration::from_millis(40), now);
        for _ in 0..20 {
            let order = ids(f.ctx.read_nodes_at(ring, part, now + Duration::from_secs(1)));
            assert_eq!(order[..3], [(primaries[0], false), (primaries[2], false), (primaries[1], false)]);
        }
        // The slow one gets faster: its average moves halfway.
        f.ctx.node_timing_at(&nodes[1], Duration::from_millis(2), now + Duration::from_secs(2));
        let order = ids(f.ctx.read_nodes_at(ring, part, now + Duration::from_secs(3)));
        assert_eq!(order[..3], [(primaries[0], false), (primaries[2], false), (primaries[1], false)], "46 ms");
        f.ctx.node_timing_at(&nodes[1], Duration::from_millis(2), now + Duration::from_secs(4));
        let order = ids(f.ctx.read_nodes_at(ring, part, now + Duration::from_secs(5)));
        assert_eq!(order[..3], [(primaries[0], false), (primaries[1], false), (primaries[2], false)], "24 ms");
        // 60 s after their last samples the first and third are forgotten:
        // untimed, they go before the timed one.
        let later = now + Duration::from_secs(61);
        for _ in 0..20 {
            let order = ids(f.ctx.read_nodes_at(ring, part, later));
            assert_eq!(order[2], (primaries[1], false), "{order:?}");
        }
        let gone = now + Duration::from_secs(65);
        let mut firsts = std::collections::HashSet::new();
        for _ in 0..100 {
            firsts.insert(ids(f.ctx.read_nodes_at(ring, part, gone))[0].0);
        }
        assert_eq!(firsts.len(), 3, "all forgotten: shuffled again");
    }

    #[test]
    fn timing_is_recorded_only_when_sorting_by_it() {
        let f = fakes("sort-no-timing", "");
        let d = f.ctx.object_ring().part_nodes(0)[0].clone();
        f.ctx.node_timing(&d, Duration::from_millis(5));
        assert_eq!(sorting::timing(node_addr(&d).unwrap(), Instant::now()), None);
    }

    #[test]
    fn timing_learns_from_answers_and_stops_reading_a_slow_node() {
        let slow: Arc<std::sync::Mutex<u16>> = Arc::default();
        let s = slow.clone();
        let f = Fakes::start(
            "sort-timing-e2e",
            4,
            "sorting_method = timing",
            Arc::new(move |r: &FakeReq| {
                let late = if r.port == *s.lock().unwrap() { Duration::from_millis(60) } else { Duration::ZERO };
                ok(r).after(late)
            }),
        );
        let primaries = f.order("AUTH_test", "c", "o");
        *slow.lock().unwrap() = primaries[1];
        let token = f.token("tester");
        // Untimed nodes go first: three GETs time the three primaries.
        for _ in 0..13 {
            assert_eq!(call(&f.ctx, "GET", "/v1/AUTH_test/c/o", &[("X-Auth-Token", &token)]).status, 200);
        }
        let gets = |port: u16| f.seen().iter().filter(|r| r.method == "GET" && r.port == port).count();
        assert!(gets(primaries[1]) <= 1, "the slow node was read once at most: {}", gets(primaries[1]));
        assert_eq!(gets(primaries[0]) + gets(primaries[1]) + gets(primaries[2]), 13);
        let d = f.ctx.object_ring().part_nodes(part(&f).0)[1].clone();
        assert!(sorting::timing(node_addr(&d).unwrap(), Instant::now()) >= Some(Duration::from_millis(60)));
    }

    #[test]
    fn quorum_is_swifts() {
        assert_eq!([1, 2, 3, 4, 5, 6].map(quorum_size), [1, 1, 2, 2, 3, 3]);
    }

    #[test]
    fn best_status_needs_a_quorum_of_one_class() {
        assert_eq!(best_status(&[201, 201, 503], 3), Some(201));
        assert_eq!(best_status(&[201, 202, 201], 3), Some(202));
        assert_eq!(best_status(&[201, 503, 503], 3), None);
        assert_eq!(best_status(&[404, 404, 201], 3), Some(404));
        assert_eq!(best_status(&[204, 404, 409], 3), Some(409));
        assert_eq!(best_status(&[201, 201], 4), Some(201));
        assert_eq!(best_status(&[], 3), None);
    }
}
