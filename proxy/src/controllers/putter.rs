//! The object PUT fan-out (Swift's `Putter`s).
//!
//! A body of at most [`MAX_BUFFERED_BODY`] (64 KiB) whose length the
//! client declared is read whole first (`put_buffered`): every replica
//! gets the head, the checksums and the body in one write, without the
//! `100 Continue` round trip, and a node that fails or answers 5xx/507
//! is replaced by the next one (handoffs), which gets the same bytes.
//!
//! Any other body is streamed:
//!
//! 1. One green thread per replica connects and sends the head with
//!    `Expect: 100-continue`; a node that fails, times out or answers
//!    5xx/507 is replaced by the next node of the shared iterator
//!    (primaries, then handoffs). Fewer than a quorum ready: 503.
//! 2. One writer green thread per ready backend takes chunks from its own
//!    bounded queue. The proxy reads the client body once, chunk by
//!    chunk, and puts each chunk (shared, not copied) on every queue, so
//!    memory is bounded by `QUEUE_DEPTH` chunks per backend whatever the
//!    object's size. A backend that fails or stalls past `node_timeout`
//!    is dropped (its writer keeps draining its queue, so it never holds
//!    the others back); the rest go on.
//! 3. Each writer ends the body and reads its backend's answer; once a
//!    quorum agrees, the others get `post_quorum_timeout` more
//!    ([`backend::gather`]).
//!
//! Checksums (docs/integrity.md): the proxy hashes the body once as it
//! reads it, MD5 (the ETag) and CRC32C; the object servers check the
//! CRC32C of what they received and take the ETag without hashing MD5
//! themselves. A buffered body has them in its head
//! (`X-Backend-Checksums: header`); a streamed body is chunked and ends
//! with a trailer carrying both (`X-Backend-Checksums: trailer`).

use crate::app::App;
use crate::controllers::backend::{self, node_addr, Answer, Failure, Payload, SharedNodes, Suspects};
use crate::error::{Error, Result};
use http::client::Failed;
use http::{ClientConn, Headers};
use md5::{Digest, Md5};
use ring::Device;
use std::cell::RefCell;
use std::io::Read;
use std::rc::Rc;
use std::sync::Arc;

/// Chunks waiting per backend.
pub const QUEUE_DEPTH: usize = 4;

/// The largest PUT body read whole and sent in one write
/// (`put_buffered`), whatever `client_chunk_size`: an object server
/// drains at most this much of a body it refuses before reading it
/// (`max_drain`, 64 KiB), so a refusal (409, 412) always reaches the
/// proxy as an answer, never as a reset. Not to be confused with
/// [`backend::MAX_ANSWER_BODY`] (64 MiB), the most read of a backend's
/// listing or error answer.
pub const MAX_BUFFERED_BODY: u64 = 64 << 10;

enum Start {
    /// `100 Continue`: send the body.
    Ready(ClientConn, Arc<Device>),
    /// A final answer before the body (412 for `If-None-Match`, 4xx).
    Final(Answer),
    /// No node left.
    Failed,
}

/// Connects to `node` and sends the head; the wait for its first answer
/// (`100 Continue` or a final one) is the node's timing (all of
/// `node_timeout` if it failed).
fn connect(ctx: &App, node: &Device, part: u32, path: &str, h: &Headers) -> std::io::Result<Start> {
    let mut h = h.clone();
    h.set("Host", format!("{}:{}", node.ip, node.port));
    let target = format!("/{}/{part}{path}", common::percent::quote(&node.device));
    let t0 = std::time::Instant::now();
    let started = node_addr(node).and_then(|addr| {
        ClientConn::pooled(addr, ctx.conf().conn_timeout, |conn| handshake(ctx, conn, node, &target, &h))
    });
    ctx.node_timing(node, if started.is_ok() { t0.elapsed() } else { ctx.conf().node_timeout });
    started
}

/// Sends the head and waits for `100 Continue` or a final answer; on
/// failure the connection comes back with the error.
fn handshake(
    ctx: &App,
    mut conn: ClientConn,
    node: &Device,
    target: &str,
    h: &Headers,
) -> std::result::Result<Start, Failed> {
    conn.stream().set_write_timeout(Some(ctx.conf().node_timeout));
    if let Err(e) = conn.send_head("PUT", target, h) {
        return Err(Box::new((conn, e)));
    }
    match conn.wait_continue(ctx.conf().node_timeout) {
        Ok(None) => Ok(Start::Ready(conn, Arc::new(node.clone()))),
        Ok(Some(head)) => Ok(Start::Final(Answer { status: head.status, headers: head.headers, body: Vec::new() })),
        Err(e) => Err(Box::new((conn, e))),
    }
}

/// Connects one replica's putter, trying nodes until one is ready.
fn start(ctx: &App, suspects: &Suspects, nodes: &SharedNodes, part: u32, path: &str, h: &Headers) -> Start {
    loop {
        let next = nodes.borrow_mut().next();
        let Some((node, handoff)) = next else { return Start::Failed };
        match connect(ctx, &node, part, path, h) {
            Ok(Start::Final(a)) if !suspects.status(ctx, &node, handoff, a.status, || "PUT".into()) => {}
            Ok(s) => return s,
            Err(e) => suspects.failed(ctx, &node, format!("PUT connect: {e}"), Failure::Error),
        }
    }
}

/// What a writer's queue carries: body bytes (shared by every writer),
/// then the end of the body with its trailer (the checksums).
#[derive(Clone)]
enum Chunk {
    Data(Rc<Vec<u8>>),
    End(Rc<Headers>),
}

/// A writer: sends the chunks of its queue, then reads the answer.
fn write(ctx: &App, suspects: &Suspects, mut conn: ClientConn, node: &Device, q: &hub::Queue<Chunk>) -> Option<Answer> {
    let mut alive = true;
    let trailers = loop {
        match q.get() {
            Ok(Chunk::Data(chunk)) if alive => {
                if let Err(e) = conn.write_body(&chunk) {
                    suspects.failed(ctx, node, format!("PUT body: {e}"), Failure::Error);
                    alive = false;
                }
            }
            Ok(Chunk::Data(_)) => {}
            Ok(Chunk::End(trailers)) => break trailers,
            Err(_) => return None,
        }
    };
    if !alive {
        return None;
    }
    let answer = (|| {
        conn.finish_body_with(&trailers)?;
        let mut r = conn.read_response("PUT", ctx.conf().node_timeout)?;
        let body = r.read_all(64 * 1024)?;
        Ok::<_, std::io::Error>(Answer { status: r.status(), headers: std::mem::take(&mut r.head.headers), body })
    })();
    conn.release();
    match answer {
        Ok(a) => {
            suspects.status(ctx, node, false, a.status, || "PUT".into());
            Some(a)
        }
        Err(e) => {
            suspects.failed(ctx, node, format!("PUT answer: {e}"), Failure::Error);
            None
        }
    }
}

/// Sends `body` (of `len` bytes if known) to the replicas of `part` and
/// returns their answers (one per replica that answered). `headers` carry
/// no body framing; `updates[i]` are replica `i`'s container-update
/// headers. `body` is the client's body or, for a copy, the source's;
/// `read_err` maps its read errors. 503 if fewer than a quorum of a
/// streamed body's replicas could start.
#[allow(clippy::too_many_arguments)]
pub fn put(
    ctx: &App,
    part: u32,
    path: &str,
    headers: &Headers,
    updates: &[Vec<(String, String)>],
    len: Option<u64>,
    body: &mut dyn Read,
    read_err: fn(std::io::Error) -> Error,
) -> Result<Vec<Answer>> {
    if let Some(n) = len.filter(|&n| n <= MAX_BUFFERED_BODY.min(ctx.conf().client_chunk_size as u64)) {
        let whole = read_exactly(body, n as usize).map_err(read_err)?;
        return Ok(put_buffered(ctx, part, path, headers, updates, whole));
    }
    // Streamed: chunked, with the checksums in the trailer.
    let mut headers = headers.clone();
    headers.set("Expect", "100-continue");
    headers.set("Transfer-Encoding", "chunked");
    headers.set("X-Backend-Checksums", "trailer");
    if let Some(n) = len {
        headers.set("X-Backend-Obj-Content-Length", n.to_string());
    }
    let headers = &headers;
    let replicas = updates.len();
    let nodes: SharedNodes = Rc::new(RefCell::new(ctx.nodes(ctx.object_ring(), part)));
    let suspects = Suspects::default();
    let starters: Vec<_> = updates
        .iter()
        .map(|u| {
            let mut h = headers.clone();
            for (k, v) in u {
                h.set(k.clone(), v.clone());
            }
            let (ctx, nodes, path, suspects) = (ctx.clone(), nodes.clone(), path.to_string(), suspects.clone());
            hub::spawn(move || start(&ctx, &suspects, &nodes, part, &path, &h))
        })
        .collect();
    let mut finals = Vec::new();
    let mut writers = Vec::new();
    let results = hub::Queue::new(replicas.max(1));
    for s in starters {
        match s.join() {
            Ok(Start::Ready(conn, node)) => {
                let q: hub::Queue<Chunk> = hub::Queue::new(QUEUE_DEPTH);
                let (ctx, q2, results, suspects) = (ctx.clone(), q.clone(), results.clone(), suspects.clone());
                writers.push((
                    q,
                    hub::spawn(move || {
                        let _ = results.put(write(&ctx, &suspects, conn, &node, &q2));
                    }),
                ));
            }
            Ok(Start::Final(a)) => finals.push(a),
            _ => {}
        }
    }
    let quorum = backend::quorum_size(replicas);
    if writers.len() < quorum {
        for (_, w) in &writers {
            w.kill();
        }
        if finals.len() >= quorum {
            return Ok(finals);
        }
        return Err(Error::Unavailable(format!("{} of {replicas} object servers ready", writers.len())));
    }
    let mut sums = Sums::new();
    let mut buf = vec![0u8; ctx.conf().client_chunk_size];
    let (mut sent, max) = (0u64, ctx.conf().constraints.max_file_size);
    loop {
        let read = read_full(body, &mut buf).map_err(read_err).and_then(|n| {
            // A chunked body is counted as it arrives (a declared one was
            // checked before): 413 the moment it passes max_file_size.
            sent += n as u64;
            if sent > max {
                return Err(Error::TooLarge(format!("Your request is too large (max {max}).")));
            }
            Ok(n)
        });
        let n = match read {
            Ok(n) => n,
            Err(e) => {
                for (_, w) in &writers {
                    w.kill();
                }
                return Err(e);
            }
        };
        let chunk = if n == 0 {
            Chunk::End(Rc::new(std::mem::replace(&mut sums, Sums::new()).fields()))
        } else {
            sums.update(&buf[..n]);
            Chunk::Data(Rc::new(buf[..n].to_vec()))
        };
        for (q, _) in &writers {
            let _ = q.put(chunk.clone());
        }
        if n == 0 {
            break;
        }
    }
    Ok(backend::gather(ctx, &results, writers.len(), replicas, finals))
}

/// A whole (buffered) body to every replica, head and body in one write,
/// the checksums in the head.
fn put_buffered(
    ctx: &App,
    part: u32,
    path: &str,
    headers: &Headers,
    updates: &[Vec<(String, String)>],
    body: Vec<u8>,
) -> Vec<Answer> {
    let mut h = headers.clone();
    h.set("X-Backend-Checksums", "header");
    let mut sums = Sums::new();
    sums.update(&body);
    for (k, v) in sums.fields().iter() {
        h.set(k, v);
    }
    let payload = Payload { body: Rc::new(body), hold: None };
    backend::make_requests_with(ctx, ctx.object_ring(), part, "PUT", path, &h, &|i| updates[i].clone(), payload)
}

/// Exactly `n` bytes of `body`, reading one more: a source that is
/// longer (or fails after the last byte) is refused, not cut short.
fn read_exactly(body: &mut dyn Read, n: usize) -> std::io::Result<Vec<u8>> {
    let mut whole = vec![0u8; n + 1];
    let got = read_full(body, &mut whole)?;
    match got.cmp(&n) {
        std::cmp::Ordering::Less => Err(std::io::ErrorKind::UnexpectedEof.into()),
        std::cmp::Ordering::Greater => {
            Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "body longer than declared"))
        }
        std::cmp::Ordering::Equal => {
            whole.truncate(n);
            Ok(whole)
        }
    }
}

/// Reads until `buf` is full or the body ends: a client that sends small
/// pieces (chunked uploads, a slow link) still gives each replica whole
/// `client_chunk_size` chunks, not one small write per read.
fn read_full(body: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match body.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The body's checksums, computed once for every replica.
struct Sums {
    md5: Md5,
    crc: u32,
}

impl Sums {
    fn new() -> Sums {
        Sums { md5: Md5::new(), crc: 0 }
    }

    fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        self.crc = crc32c::crc32c_append(self.crc, data);
    }

    /// `X-Backend-Etag` and `X-Backend-Crc32c`.
    fn fields(self) -> Headers {
        let mut h = Headers::new();
        h.set("X-Backend-Etag", common::hex::hex(&self.md5.finalize()));
        h.set("X-Backend-Crc32c", format!("{:08x}", self.crc));
        h
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::{call, call_with, FakeReq, Fakes, Reply};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    #[test]
    fn writes_wait_post_quorum_timeout_not_node_timeout_for_a_slow_replica() {
        let slow: Arc<Mutex<u16>> = Arc::default();
        let s = slow.clone();
        let script = Arc::new(move |r: &FakeReq| {
            let ok = match r.method.as_str() {
                "PUT" => 201,
                "DELETE" => 204,
                _ => return Reply::status(204),
            };
            let late = if r.port == *s.lock().unwrap() { Duration::from_secs(3) } else { Duration::ZERO };
            Reply::status(ok).after(late)
        });
        let f = Fakes::start("post-quorum", 4, "node_timeout = 5\npost_quorum_timeout = 0.2", script);
        *slow.lock().unwrap() = f.order("AUTH_test", "c", "o")[0];
        let token = f.token("tester");
        for (method, status) in [("PUT", 201), ("DELETE", 204)] {
            let t = Instant::now();
            let got = call(&f.ctx, method, "/v1/AUTH_test/c/o", &[("X-Auth-Token", &token)]);
            assert_eq!(got.status, status, "{method}");
            assert!(t.elapsed() < Duration::from_secs(2), "{method} waited {:?} for the slow replica", t.elapsed());
        }
    }

    #[test]
    fn a_small_body_goes_whole_with_its_checksums_in_the_head_and_a_507_node_is_replaced() {
        let full: Arc<Mutex<u16>> = Arc::default();
        let f2 = full.clone();
        let script = Arc::new(move |r: &FakeReq| match r.method.as_str() {
            "PUT" if r.port == *f2.lock().unwrap() => Reply::status(507),
            "PUT" => Reply::status(201),
            _ => Reply::status(204),
        });
        let f = Fakes::start("small", 4, "", script);
        let order = f.order("AUTH_test", "c", "o");
        *full.lock().unwrap() = order[1];
        let token = f.token("tester");
        let body = b"a small object".to_vec();
        let got = call_with(&f.ctx, "PUT", "/v1/AUTH_test/c/o", &[("X-Auth-Token", &token)], &body);
        assert_eq!(got.status, 201);
        let puts: Vec<FakeReq> = f.seen().into_iter().filter(|r| r.method == "PUT").collect();
        // The three primaries, then the handoff that replaced the full one.
        assert_eq!(puts.len(), 4, "{:?}", puts.iter().map(|r| r.port).collect::<Vec<_>>());
        assert!(puts.iter().any(|r| r.port == order[3]));
        let md5 = common::hex::hex(&<md5::Md5 as md5::Digest>::digest(&body));
        for r in &puts {
            assert!(r.body == body);
            assert_eq!(r.header("Content-Length"), Some("14"));
            assert_eq!(r.header("Transfer-Encoding"), None);
            assert_eq!(r.header("Expect"), None);
            assert_eq!(r.header("X-Backend-Checksums"), Some("header"));
            assert_eq!(r.header("X-Backend-Etag"), Some(md5.as_str()));
            assert_eq!(r.header("X-Backend-Crc32c"), Some(format!("{:08x}", crc32c::crc32c(&body)).as_str()));
        }
    }

    #[test]
    fn every_replica_gets_the_body_chunked_with_the_proxys_md5_and_crc32c_in_its_trailer() {
        let script = Arc::new(|r: &FakeReq| Reply::status(if r.method == "PUT" { 201 } else { 204 }));
        let f = Fakes::start("trailer", 4, "", script);
        let token = f.token("tester");
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 249) as u8).collect();
        let got = call_with(&f.ctx, "PUT", "/v1/AUTH_test/c/o", &[("X-Auth-Token", &token)], &body);
        assert_eq!(got.status, 201);
        let puts: Vec<FakeReq> = f.seen().into_iter().filter(|r| r.method == "PUT").collect();
        assert_eq!(puts.len(), 3);
        let md5 = common::hex::hex(&<md5::Md5 as md5::Digest>::digest(&body));
        for r in &puts {
            assert!(r.body == body);
            assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
            assert_eq!(r.header("X-Backend-Checksums"), Some("trailer"));
            assert_eq!(r.header("X-Backend-Obj-Content-Length"), Some("200000"));
            assert_eq!(r.trailers.get("X-Backend-Etag"), Some(md5.as_str()));
            assert_eq!(r.trailers.get("X-Backend-Crc32c"), Some(format!("{:08x}", crc32c::crc32c(&body)).as_str()));
        }
    }

    #[test]
    fn a_chunked_body_past_max_file_size_is_413_and_stored_nowhere() {
        let script = Arc::new(|r: &FakeReq| Reply::status(if r.method == "PUT" { 201 } else { 204 }));
        let f = Fakes::start_with("too-large", 4, "", |c| c.constraints.max_file_size = 100_000, script);
        let token = f.token("tester");
        let chunked = [("X-Auth-Token", token.as_str()), ("Transfer-Encoding", "chunked")];
        let got = call_with(&f.ctx, "PUT", "/v1/AUTH_test/c/o", &chunked, &vec![7u8; 100_000]);
        assert_eq!(got.status, 201, "exactly max_file_size is taken");
        let got = call_with(&f.ctx, "PUT", "/v1/AUTH_test/c/big", &chunked, &vec![7u8; 300_000]);
        assert_eq!(got.status, 413);
        let big: Vec<FakeReq> =
            f.seen().into_iter().filter(|r| r.method == "PUT" && r.path.ends_with("/big")).collect();
        assert!(big.iter().all(|r| r.body.len() <= 100_000), "no replica got more than max_file_size");
        assert!(big.iter().all(|r| r.trailers.get("X-Backend-Etag").is_none()), "no replica's body was ended");
    }
}
