//! Reading an object from its nodes (Swift's `GetOrHeadHandler`).
//!
//! [`fetch`] tries the nodes in read order (the primaries as
//! `sorting_method` sorts them, then handoffs; newest first with
//! `X-Newest`) and hands the first answer that is not 404 or
//! 5xx to its caller, with the [`Getter`] holding the nodes not tried yet.
//!
//! [`relay_body`] streams that answer's body and, when the backend fails
//! mid-body (an error, an early close, or no byte for
//! `recoverable_node_timeout`), resumes on the next of those nodes:
//!
//! ```text
//! first answer   200, or 206 "Content-Range: bytes s-e/len"
//! sent so far    k bytes: the object's bytes [s, s+k)
//! resume request Range: bytes=(s+k)-e, If-Match: <etag of the first answer>
//! accepted if    206, same ETag, same X-Timestamp, Content-Range starting at s+k
//! ```
//!
//! [`pull`] does the same in a green thread and hands the body on as a
//! `Read` ([`Piped`]), for a copy's source.
//!
//! An answer that is not the same object is skipped (a node holding
//! another version answers 412 to the `If-Match`; one that ignored it is
//! caught by the ETag and timestamp check). With no node left the
//! response is cut (the connection closes short of its length): the
//! client never gets bytes of another version. A multipart/byteranges
//! answer is not resumed.

use crate::app::App;
use crate::controllers::backend::{self, node_addr, Failure, Suspects};
use crate::controllers::base::Resource;
use crate::error::{Error, Result};
use common::percent::quote;
use http::{ClientConn, ClientResponse, Headers};
use hub::Queue;
use ring::Device;
use std::io::{self, Read, Write};
use std::sync::Arc;

/// One object read: the request sent to each node and the nodes left.
pub struct Getter {
    ctx: App,
    part: u32,
    /// The backend path, %-encoded.
    path: String,
    method: String,
    headers: Headers,
    nodes: std::vec::IntoIter<(Arc<Device>, bool)>,
    /// Statuses of the answers that were not sources (for 404 vs 503).
    statuses: Vec<u16>,
    /// Failures held against their nodes until another node answers.
    suspects: Suspects,
}

/// A backend answer's `X-Timestamp` (`None` if absent or bad).
fn timestamp_of(h: &Headers) -> Option<common::Timestamp> {
    let v = h.get("X-Timestamp").or_else(|| h.get("X-Backend-Timestamp"))?;
    common::Timestamp::parse(v).ok()
}

/// For `X-Newest` (Swift's `newest` in `GETorHEAD_base`): HEADs every
/// primary that is not error-limited at once and moves the ones holding the newest object (by
/// `X-Timestamp`) to the front; nodes without the object keep their order
/// after them.
fn newest_first(ctx: &App, part: u32, path: &str, h: &Headers, nodes: &mut [(Arc<Device>, bool)]) {
    let mut h = h.clone();
    for k in ["Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"] {
        h.remove(k);
    }
    let suspects = Suspects::default();
    let heads: Vec<_> = nodes
        .iter()
        .map(|(node, handoff)| {
            let (ctx, node, h, path, handoff) = (ctx.clone(), node.clone(), h.clone(), path.to_string(), *handoff);
            let suspects = suspects.clone();
            hub::spawn(move || {
                // Handoffs never held it; a limited primary is not waited
                // for (it keeps its place after the newest).
                if handoff || ctx.error_limited(&node) {
                    return None;
                }
                backend::request_node(&ctx, &suspects, (&node, false), part, "HEAD", &path, &h, b"")
                    .filter(|a| a.status / 100 == 2)
                    .and_then(|a| timestamp_of(&a.headers))
            })
        })
        .collect();
    let stamps: Vec<Option<common::Timestamp>> = heads.into_iter().map(|j| j.join().ok().flatten()).collect();
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    // Newest first; nodes without a timestamp (None sorts lowest) last.
    order.sort_by(|&a, &b| stamps[b].cmp(&stamps[a]));
    let sorted: Vec<_> = order.iter().map(|&i| nodes[i].clone()).collect();
    nodes.clone_from_slice(&sorted);
}

impl Getter {
    fn new(ctx: &App, t: &Resource, method: &str, h: &Headers, newest: bool) -> Result<Getter> {
        let part = ctx
            .object_ring()
            .partition(&t.account, t.container.as_deref(), t.object.as_deref())
            .map_err(|e| Error::bad_request(e.to_string()))?;
        let path = quote(&t.path());
        let mut nodes: Vec<(Arc<Device>, bool)> = ctx.read_nodes(ctx.object_ring(), part).collect();
        if newest {
            newest_first(ctx, part, &path, h, &mut nodes);
        }
        let mut headers = h.clone();
        headers.remove("Connection");
        Ok(Getter {
            ctx: ctx.clone(),
            part,
            path,
            method: method.to_string(),
            headers,
            nodes: nodes.into_iter(),
            statuses: Vec::new(),
            suspects: Suspects::default(),
        })
    }

    /// Connects to the next node, sends the request and waits (up to
    /// `recoverable_node_timeout`) for the first byte of its answer, once
    /// more on a new connection if a pooled one was stale; a node that
    /// fails counts an error and the next one is tried. The wait is the
    /// node's timing (`sorting_method = timing`; all of the timeout for a
    /// node that failed).
    fn next_conn(&mut self) -> Option<(Arc<Device>, bool, ClientConn)> {
        let timeout = self.ctx.conf().recoverable_node_timeout;
        while let Some((node, handoff)) = self.nodes.next() {
            let started = std::time::Instant::now();
            self.headers.set("Host", format!("{}:{}", node.ip, node.port));
            let target = format!("/{}/{}{}", quote(&node.device), self.part, self.path);
            let (method, headers) = (&self.method, &self.headers);
            let opened = node_addr(&node).and_then(|addr| {
                ClientConn::pooled(addr, self.ctx.conf().conn_timeout, |mut conn| {
                    match conn.send_head(method, &target, headers).and_then(|()| conn.await_answer(timeout)) {
                        Ok(()) => Ok(conn),
                        Err(e) => Err(Box::new((conn, e))),
                    }
                })
            });
            match opened {
                Ok(conn) => {
                    self.ctx.node_timing(&node, started.elapsed());
                    return Some((node, handoff, conn));
                }
                Err(e) => {
                    self.ctx.node_timing(&node, timeout);
                    self.failed(&node, format!("object {}: {e}", self.method));
                }
            }
        }
        None
    }

    /// A node failed this request (held until another answers it).
    fn failed(&self, node: &Device, why: String) {
        self.suspects.failed(&self.ctx, node, why, Failure::Error);
    }

    /// Whether an answer is a source (below 500, not 404); records the
    /// others for [`Getter::failure`] and holds 5xx against the node.
    fn is_source(&mut self, node: &Device, handoff: bool, r: &ClientResponse<'_>) -> bool {
        let status = r.status();
        let what = || format!("object {}", self.method);
        if !self.suspects.status(&self.ctx, node, handoff, status, what) {
            if status != 507 {
                self.statuses.push(status);
            }
        } else if status == 404 && handoff && r.header("X-Backend-Timestamp").is_none() {
            // A handoff that never held the object knows nothing.
            self.statuses.push(503);
        } else if status == 404 {
            self.statuses.push(status);
        } else {
            return true;
        }
        false
    }

    /// No node gave a source: 404 by quorum, else 503.
    fn failure(&self) -> Error {
        let replicas = self.ctx.object_ring().part_nodes(self.part).len();
        match backend::best_status(&self.statuses, replicas) {
            Some(404) => Error::NotFound,
            _ => Error::Unavailable(format!("object {}: {:?}", self.method, self.statuses)),
        }
    }

    /// The request for the rest of a body: its bytes from `pos.next`, of
    /// the same object only.
    fn resume_at(&mut self, pos: &Position) {
        for k in ["If-None-Match", "If-Modified-Since", "If-Unmodified-Since"] {
            self.headers.remove(k);
        }
        self.headers.set("If-Match", format!("\"{}\"", pos.etag));
        let end = pos.end.map(|e| e.to_string()).unwrap_or_default();
        self.headers.set("Range", format!("bytes={}-{end}", pos.next));
    }
}

/// Most bytes of a skipped answer's body read to keep its connection.
const MAX_SKIPPED_BODY: u64 = 64 * 1024;

/// Swift's `GETorHEAD_base` for objects: the first answer that is not
/// 404 or 5xx goes to `f` with the node it came from and the [`Getter`]
/// (the nodes left, for [`relay_body`]). No such answer: 404 by quorum,
/// else 503.
pub fn fetch<T>(
    ctx: &App,
    t: &Resource,
    method: &str,
    h: &Headers,
    newest: bool,
    f: impl FnOnce(&Device, ClientResponse<'_>, Getter) -> Result<T>,
) -> Result<T> {
    first_source(Getter::new(ctx, t, method, h, newest)?, f)
}

/// [`fetch`] with the [`Getter`] already made.
fn first_source<T>(mut g: Getter, f: impl FnOnce(&Device, ClientResponse<'_>, Getter) -> Result<T>) -> Result<T> {
    let timeout = g.ctx.conf().recoverable_node_timeout;
    while let Some((node, handoff, mut conn)) = g.next_conn() {
        let mut r = match conn.read_response(&g.method, timeout) {
            Ok(r) => r,
            Err(e) => {
                g.failed(&node, format!("object {}: {e}", g.method));
                continue;
            }
        };
        if g.is_source(&node, handoff, &r) {
            let out = f(&node, r, g);
            conn.release();
            return out;
        }
        // A 404's short body: read, so the connection is reused (an
        // error's is not waited for: the next node is).
        if r.status() < 500 {
            let _ = r.body.drain(MAX_SKIPPED_BODY);
        }
        drop(r);
        conn.release();
    }
    Err(g.failure())
}

/// A body written by a green thread, read as a `Read` (for a PUT that
/// streams it on): the producer writes chunks into a queue of 4, the
/// reader takes them. A backend body borrows its connection, so it cannot
/// outlive the call that opened it; in its own green thread it can,
/// resuming on other nodes and walking DLO segments as a GET does.
/// Dropping the reader kills the producer.
pub struct Piped {
    queue: Queue<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
    done: bool,
    producer: hub::JoinHandle<()>,
}

/// The producer's end of a [`Piped`]: each write is one chunk.
pub struct Pipe(Queue<io::Result<Vec<u8>>>);

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.is_empty() {
            self.0.put(Ok(buf.to_vec()))?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `produce` in a green thread writing into the returned reader; its
/// error reaches the reader as an `io::Error` after the bytes before it.
pub fn piped(produce: impl FnOnce(&mut Pipe) -> Result<()> + 'static) -> Piped {
    /// Ends the pipe even if the producer panics (without parking: a
    /// killed producer has no reader left to tell).
    struct Unfinished(Queue<io::Result<Vec<u8>>>, bool);
    impl Drop for Unfinished {
        fn drop(&mut self) {
            if !self.1 {
                let _ = self.0.try_put(Err(io::Error::other("the body's producer ended early")));
            }
        }
    }
    let queue = Queue::new(4);
    let mut pipe = Pipe(queue.clone());
    let producer = hub::spawn(move || {
        let mut unfinished = Unfinished(pipe.0.clone(), false);
        let end = match produce(&mut pipe) {
            Ok(()) => Ok(Vec::new()),
            Err(e) => Err(io::Error::other(e.to_string())),
        };
        let _ = pipe.0.put(end);
        unfinished.1 = true;
    });
    Piped { queue, chunk: Vec::new(), at: 0, done: false, producer }
}

impl Read for Piped {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            // An empty chunk is the end.
            self.chunk = self.queue.get()??;
            self.at = 0;
            self.done = self.chunk.is_empty();
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        self.producer.kill();
    }
}

/// An object GET read by a green thread: the first good answer's status
/// and headers, and its body as a `Read` that resumes on the other nodes
/// if a backend fails mid-body ([`relay_body`]). For a copy's source.
pub struct Pulled {
    pub status: u16,
    pub headers: Headers,
    pub body: Piped,
}

/// The producer's promise of [`pull`]'s first answer: told exactly once,
/// by the producer or, if it ends early (a panic), by this guard.
struct Head(Queue<Result<(u16, Headers)>>, bool);

impl Head {
    fn tell(&mut self, head: Result<(u16, Headers)>) {
        if !self.1 {
            self.1 = true;
            let _ = self.0.put(head);
        }
    }
}

impl Drop for Head {
    fn drop(&mut self) {
        self.tell(Err(Error::Unavailable("object GET ended without an answer".into())));
    }
}

/// [`fetch`] of a GET whose body is read through a [`Piped`]; errors
/// before the first answer (404, 503) are returned as they are.
pub fn pull(ctx: &App, t: &Resource, h: &Headers, newest: bool) -> Result<Pulled> {
    let g = Getter::new(ctx, t, "GET", h, newest)?;
    let heads: Queue<Result<(u16, Headers)>> = Queue::new(1);
    let mut head = Head(heads.clone(), false);
    let chunk = ctx.conf().object_chunk_size;
    let body = piped(move |pipe| {
        let got = first_source(g, |node, r, mut g| {
            head.tell(Ok((r.status(), r.head.headers.clone())));
            relay_body(&mut g, node, r, pipe, chunk)
        });
        match got {
            Err(e) if !head.1 => {
                head.tell(Err(e));
                Ok(())
            }
            other => other,
        }
    });
    let (status, headers) = heads.get().map_err(|e| Error::Unavailable(format!("object GET: {e}")))??;
    Ok(Pulled { status, headers, body })
}

/// `bytes s-e/len` of a `Content-Range` as `(s, e)`.
fn content_range(v: &str) -> Option<(u64, u64)> {
    let (range, _len) = v.trim().strip_prefix("bytes")?.trim().split_once('/')?;
    let (s, e) = range.split_once('-')?;
    Some((s.trim().parse().ok()?, e.trim().parse().ok()?))
}

/// Where the body being relayed stands in the object.
#[derive(Debug, PartialEq, Eq)]
struct Position {
    etag: String,
    timestamp: Option<String>,
    /// The object offset of the next byte to send.
    next: u64,
    /// The object offset of the last byte to send, if known.
    end: Option<u64>,
}

impl Position {
    /// From the first answer; `None` if it cannot be resumed (not a 200
    /// or single-range 206, no ETag, or an empty body).
    fn of(h: &Headers, status: u16) -> Option<Position> {
        let etag = common::etag::normalize_etag(h.get("ETag")?).to_string();
        let timestamp = h.get("X-Timestamp").map(String::from);
        let (next, end) = match status {
            200 => {
                let len: Option<u64> = h.get("Content-Length").and_then(|v| v.trim().parse().ok());
                match len {
                    Some(0) => return None,
                    Some(n) => (0, Some(n - 1)),
                    None => (0, None),
                }
            }
            206 => {
                let (s, e) = content_range(h.get("Content-Range")?)?;
                (s, Some(e))
            }
            _ => return None,
        };
        Some(Position { etag, timestamp, next, end })
    }

    /// Whether a resumed answer is the rest of the same object.
    fn matches(&self, r: &ClientResponse<'_>) -> std::result::Result<(), String> {
        if r.status() != 206 {
            return Err(format!("answered {}", r.status()));
        }
        let etag = r.header("ETag").map(common::etag::normalize_etag).unwrap_or_default();
        if etag != self.etag {
            return Err(format!("ETag {etag:?}, not {:?}", self.etag));
        }
        if self.timestamp.is_some() && r.header("X-Timestamp") != self.timestamp.as_deref() {
            return Err(format!("X-Timestamp {:?}, not {:?}", r.header("X-Timestamp"), self.timestamp));
        }
        match r.header("Content-Range").and_then(content_range) {
            Some((s, e)) if s == self.next && self.end.is_none_or(|end| end == e) => Ok(()),
            other => Err(format!("Content-Range {other:?} for bytes {}-{:?}", self.next, self.end)),
        }
    }
}

/// Why copying a body stopped early.
enum Broken {
    Backend(io::Error),
    Client,
}

/// Copies `body` to `out` until it ends, advancing `pos` (if resumable).
/// With `fill` (the buffer holds all that is left of a small body) each
/// write waits for a full buffer: a small body goes out in one write,
/// with the response head.
fn pump(
    body: &mut dyn Read,
    out: &mut dyn Write,
    buf: &mut [u8],
    pos: &mut Option<Position>,
    fill: bool,
) -> std::result::Result<(), Broken> {
    loop {
        let (n, failed) = read_some(body, buf, fill);
        if n > 0 {
            out.write_all(&buf[..n]).map_err(|_| Broken::Client)?;
            if let Some(p) = pos {
                p.next += n as u64;
            }
        }
        if let Some(e) = failed {
            return Err(Broken::Backend(e));
        }
        if n == 0 {
            return Ok(());
        }
    }
}

/// One read, or with `fill` reads until `buf` is full or the body ends;
/// the bytes read come back with the error that stopped the reads.
fn read_some(body: &mut dyn Read, buf: &mut [u8], fill: bool) -> (usize, Option<io::Error>) {
    let mut n = 0;
    while n < buf.len() {
        match body.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) if fill => n += k,
            Ok(k) => return (k, None),
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

/// Streams the body of `first` (from `node`) to `out`, resuming on the
/// nodes left in `g` if the backend fails mid-body (module docs). `Err`
/// once nothing can complete it; bytes already written stay written, so
/// the caller must cut the response.
pub fn relay_body(
    g: &mut Getter,
    node: &Device,
    mut first: ClientResponse<'_>,
    out: &mut dyn Write,
    chunk: usize,
) -> Result<()> {
    let multipart = first.header("Content-Type").is_some_and(|ct| ct.trim_start().starts_with("multipart/byteranges"));
    let mut pos = if multipart { None } else { Position::of(&first.head.headers, first.status()) };
    // A small body gets a small buffer, not a zeroed `client_chunk_size`,
    // and goes out whole.
    let left = first.body.remaining();
    let fill = left.is_some_and(|n| n <= chunk as u64);
    let len = left.map_or(chunk, |n| n.clamp(1, chunk as u64) as usize);
    let mut buf = vec![0u8; len];
    let path = g.path.clone();
    let what = |e: &io::Error| format!("object GET body of {path}: {e}");
    // A body that breaks counts against its node only once another node
    // has sent the rest: every node failing the same way (a client
    // reading too slowly for any of them) is the request's doing.
    let broken = Suspects::default();
    let mut why = match pump(&mut first.body, out, &mut buf, &mut pos, fill) {
        Ok(()) => return Ok(()),
        Err(Broken::Client) => return Err(Error::ClientDisconnect),
        Err(Broken::Backend(e)) => {
            broken.failed(&g.ctx, node, what(&e), Failure::Error);
            e.to_string()
        }
    };
    drop(first);
    let Some(mut pos) = pos else {
        return Err(Error::Unavailable(format!("object GET body broke, not resumable: {why}")));
    };
    loop {
        g.resume_at(&pos);
        let Some((node, handoff, mut conn)) = g.next_conn() else {
            return Err(Error::Unavailable(format!("object GET body broke at byte {}, no node left: {why}", pos.next)));
        };
        let mut r = match conn.read_response("GET", g.ctx.conf().recoverable_node_timeout) {
            Ok(r) => r,
            Err(e) => {
                g.failed(&node, format!("object GET resume: {e}"));
                continue;
            }
        };
        if !g.is_source(&node, handoff, &r) {
            continue;
        }
        if let Err(differs) = pos.matches(&r) {
            crate::log::warn(&format!("not resuming object GET of {path} on {}: {differs}", node.ip));
            continue;
        }
        let mut p = Some(pos);
        match pump(&mut r.body, out, &mut buf, &mut p, fill) {
            Ok(()) => {
                drop(r);
                conn.release();
                broken.answered(&g.ctx, &node);
                return Ok(());
            }
            Err(Broken::Client) => return Err(Error::ClientDisconnect),
            Err(Broken::Backend(e)) => {
                broken.failed(&g.ctx, &node, what(&e), Failure::Error);
                why = e.to_string();
            }
        }
        pos = p.expect("the position stays set");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{call, End, FakeObject, FakeReq, Fakes, Reply, BY_ZONE};
    use std::sync::Mutex;
    use std::time::Duration;

    /// Fakes whose answer depends on the node's place in the object's
    /// read order (`c/o` of `AUTH_test`), fixed with [`BY_ZONE`]:
    /// `script(place, request)`.
    fn fakes_by_place(name: &str, script: impl Fn(usize, &FakeReq) -> Reply + Send + Sync + 'static) -> Fakes {
        let order: Arc<Mutex<Vec<u16>>> = Arc::default();
        let o = order.clone();
        let f = Fakes::start(
            name,
            4,
            BY_ZONE,
            Arc::new(move |req: &FakeReq| {
                let place = o.lock().unwrap().iter().position(|&p| p == req.port).unwrap();
                script(place, req)
            }),
        );
        *order.lock().unwrap() = places(&f).iter().map(|d| d.port).collect();
        assert_eq!(f.read_order("AUTH_test", "c", "o"), *order.lock().unwrap());
        f
    }

    /// The object's nodes by place: the primaries by zone, then the
    /// handoff (the read order while none is error-limited).
    fn places(f: &Fakes) -> Vec<Arc<Device>> {
        let ring = f.ctx.object_ring();
        let part = ring.partition("AUTH_test", Some("c"), Some("o")).unwrap();
        let mut nodes = ring.part_nodes(part);
        nodes.sort_by_key(|d| d.zone);
        nodes.extend(ring.handoffs(part).take(1));
        nodes
    }

    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8 ^ seed).collect()
    }

    fn gets_to(f: &Fakes, place: usize) -> Vec<FakeReq> {
        let port = places(f)[place].port;
        f.seen().into_iter().filter(|r| r.port == port && r.method == "GET").collect()
    }

    /// Errors counted against the primaries, by place.
    fn counts_by_place(f: &Fakes) -> Vec<u32> {
        places(f)[..3].iter().map(|d| f.ctx.error_count(d)).collect()
    }

    #[test]
    fn get_resumes_on_the_next_nodes_when_a_body_stalls_or_closes() {
        let obj = FakeObject::new(&pattern(200_000, 0), "1700000000.00000");
        let o = obj.clone();
        let f = fakes_by_place("resume", move |place, req| match place {
            0 => o.answer(req).cut(50_000, End::Stall(Duration::from_secs(3))),
            1 => o.answer(req).cut(30_000, End::Close),
            _ => o.answer(req),
        });
        let token = f.token("tester");
        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/o", &[("X-Auth-Token", &token)]);
        assert_eq!((got.status, got.complete), (200, true));
        assert_eq!(got.headers.get("Content-Length"), Some("200000"));
        assert_eq!(got.headers.get("Etag"), Some(obj.etag.as_str()));
        assert!(got.body == obj.body, "the client got the whole, correct body");
        let etag = format!("\"{}\"", obj.etag);
        let second = gets_to(&f, 1);
        assert_eq!(second[0].header("Range"), Some("bytes=50000-199999"));
        assert_eq!(second[0].header("If-Match"), Some(etag.as_str()));
        assert_eq!(gets_to(&f, 2)[0].header("Range"), Some("bytes=80000-199999"));
        assert!(gets_to(&f, 3).is_empty(), "the handoff was not needed");
        assert_eq!(counts_by_place(&f), [1, 1, 0]);
    }

    /// Errors counted against each device of the object ring.
    fn error_counts(f: &Fakes) -> Vec<u32> {
        f.ctx.object_ring().devices().iter().flatten().map(|d| f.ctx.error_count(d)).collect()
    }

    #[test]
    fn a_request_that_every_node_fails_error_limits_none() {
        let f = fakes_by_place("getter-all-fail", |_, _| Reply::status(500));
        let token = f.token("tester");
        for _ in 0..5 {
            let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/o", &[("X-Auth-Token", &token)]);
            assert_eq!(got.status, 503);
        }
        assert_eq!(gets_to(&f, 0).len(), 5, "the first primary was asked every time: never limited");
        assert_eq!(error_counts(&f), [0, 0, 0, 0]);
    }

    #[test]
    fn a_handoffs_404_does_not_make_the_primaries_failures_count() {
        let f = fakes_by_place("getter-handoff-404", |place, _| Reply::status(if place < 3 { 500 } else { 404 }));
        let token = f.token("tester");
        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/o", &[("X-Auth-Token", &token)]);
        assert_eq!(got.status, 503);
        assert_eq!(gets_to(&f, 3).len(), 1, "the handoff was asked");
        assert_eq!(error_counts(&f), [0, 0, 0, 0]);
    }

    #[test]
    fn a_body_every_node_breaks_counts_against_none() {
        let obj = FakeObject::new(&pattern(100_000, 0), "1700000000.00000");
        let o = obj.clone();
        let f = fakes_by_place("getter-all-break", move |_, req| o.answer(req).cut(10_000, End::Close));
        let token = f.token("tester");
        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/o", &[("X-Auth-Token", &token)]);
        assert!(!got.complete, "the response was cut");
        assert_eq!(error_counts(&f), [0, 0, 0, 0], "no node sent the rest: the request's doing");
    }

    #[test]
    fn a_5xx_counts_against_its_node_once_another_node_answers() {
        let obj = FakeObject::new(b"hello", "1700000000.00000");
        let o = obj.clone();
        let f = fakes_by_place("getter-one-fails", move |place, req| match place {
            0 => Reply::status(500),
            1 => Reply::status(507),
            _ => o.answer(req),
        });
        let token = f.token("tester");
        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/o", &[("X-Auth-Token", &token)]);
        assert_eq!((got.status, got.body.as_slice()), (200, b"hello".as_slice()));
        let limit = f.ctx.conf().error_suppression_limit + 1;
        assert_eq!(counts_by_place(&f), [1, limit, 0], "the 500 counted once, the 507 limited at once");
    }

    #[test]
    fn a_resumed_node_with_another_etag_cuts_the_response() {
        let v1 = FakeObject::new(&pattern(100_000, 0), "1700000000.00000");
        let v2 = FakeObject::new(&pattern(100_000, 7), "1700000001.00000");
        let (a, b) = (v1.clone(), v2.clone());
        let f = fakes_by_place("etag", move |place, req| match place {
            0 => a.answer(req).cut(10_000, End::Close),
            // Another version: 412 to the If-Match...
            1 => b.answer(req),
            // ...or, ignoring If-Match, a 206 of other bytes.
            2 => {
                let mut r = req.clone();
                r.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("If-Match"));
                b.answer(&r)
            }
            _ => Reply::status(404),
        });
        let token = f.token("tester");
        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/o", &[("X-Auth-Token", &token)]);
        assert_eq!(got.status, 200);
        assert!(!got.complete, "the response is cut, not completed with other bytes");
        assert!(got.body == v1.body[..10_000], "only the first version's bytes were sent");
        assert_eq!(gets_to(&f, 2)[0].header("Range"), Some("bytes=10000-99999"));
    }

    #[test]
    fn client_ranges_resume_inside_the_range() {
        let obj = FakeObject::new(&pattern(20_000, 3), "1700000000.00000");
        let o = obj.clone();
        let f = fakes_by_place("range", move |place, req| match place {
            0 => o.answer(req).cut(3_000, End::Close),
            _ => o.answer(req),
        });
        let token = f.token("tester");
        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/o", &[("X-Auth-Token", &token), ("Range", "bytes=1000-9999")]);
        assert_eq!((got.status, got.complete), (206, true));
        assert_eq!(got.headers.get("Content-Range"), Some("bytes 1000-9999/20000"));
        assert!(got.body == obj.body[1000..10_000]);
        assert_eq!(gets_to(&f, 1)[0].header("Range"), Some("bytes=4000-9999"));

        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/o", &[("X-Auth-Token", &token), ("Range", "bytes=-5000")]);
        assert_eq!((got.status, got.complete), (206, true));
        assert!(got.body == obj.body[15_000..]);
        assert_eq!(gets_to(&f, 1)[1].header("Range"), Some("bytes=18000-19999"));
    }

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn pulled_bodies_resume_too_and_errors_come_before_the_body() {
        let obj = FakeObject::new(&pattern(150_000, 5), "1700000000.00000");
        let o = obj.clone();
        let f = fakes_by_place("pull", move |place, req| match (req.path.as_str(), place) {
            ("/AUTH_test/c/o", 0) => o.answer(req).cut(40_000, End::Close),
            ("/AUTH_test/c/o", _) => o.answer(req),
            _ => Reply::status(404),
        });
        let ctx = f.ctx.clone();
        let (status, body, missing) = hub::run(move || {
            let t = |o: &str| Resource {
                account: "AUTH_test".into(),
                container: Some("c".into()),
                object: Some(o.into()),
                query: String::new(),
                identity: None,
                trans_id: "tx".into(),
                cors: None,
            };
            let mut p = pull(&ctx, &t("o"), &Headers::new(), false).unwrap();
            let mut body = Vec::new();
            p.body.read_to_end(&mut body).unwrap();
            let missing = pull(&ctx, &t("missing"), &Headers::new(), false).err().map(|e| e.status());
            (p.status, body, missing)
        });
        assert_eq!(status, 200);
        assert!(body == obj.body, "the whole body, resumed after byte 40000");
        assert_eq!(gets_to(&f, 1)[0].header("Range"), Some("bytes=40000-149999"));
        assert_eq!(missing, Some(404));
    }

    #[test]
    fn a_pipe_ends_with_its_producers_error_even_a_panic() {
        let got = hub::run(|| {
            let read = |p: Piped| {
                let mut p = p;
                let mut out = Vec::new();
                let r = p.read_to_end(&mut out);
                (out, r.map_err(|e| e.to_string()))
            };
            let ok = read(piped(|pipe| pipe.write_all(b"abc").map_err(|_| Error::ClientDisconnect)));
            let failed = read(piped(|pipe| {
                pipe.write_all(b"ab").map_err(|_| Error::ClientDisconnect)?;
                Err(Error::NotFound)
            }));
            let panicked = read(piped(|_| panic!("a bug in the producer")));
            (ok, failed, panicked)
        });
        assert_eq!(got.0, (b"abc".to_vec(), Ok(3)));
        assert_eq!(got.1 .0, b"ab");
        assert!(got.1 .1.is_err());
        assert_eq!(got.2 .1, Err("the body's producer ended early".to_string()));
    }

    #[test]
    fn positions_come_from_length_or_content_range() {
        let h = headers(&[("ETag", "\"abc\""), ("Content-Length", "100"), ("X-Timestamp", "1.00000")]);
        let p = Position::of(&h, 200).unwrap();
        assert_eq!((p.etag.as_str(), p.next, p.end, p.timestamp.as_deref()), ("abc", 0, Some(99), Some("1.00000")));
        let h = headers(&[("ETag", "abc"), ("Content-Range", "bytes 70-99/100")]);
        let p = Position::of(&h, 206).unwrap();
        assert_eq!((p.next, p.end), (70, Some(99)));
        assert_eq!(Position::of(&headers(&[("Content-Length", "5")]), 200), None, "no ETag");
        assert_eq!(Position::of(&headers(&[("ETag", "a"), ("Content-Length", "0")]), 200), None);
        assert_eq!(Position::of(&headers(&[("ETag", "a"), ("Content-Length", "5")]), 304), None);
        assert_eq!(content_range("bytes 1-2/3"), Some((1, 2)));
        assert_eq!(content_range("bytes */3"), None);
    }
}
