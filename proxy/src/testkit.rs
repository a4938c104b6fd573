//! Test helpers for the controllers: an [`App`] whose rings point at
//! scripted fake backends (std threads on std::net, each connection
//! answered by a script that may cut a body short or stall), and one
//! request through the real proxy handler on a hub.

use crate::app::App;
use crate::config::Config;
use http::{ClientConn, Headers, Server, ServerConfig};
use ring::{NewDevice, RingBuilder};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request as a fake backend saw it.
#[derive(Clone, Debug)]
pub struct FakeReq {
    pub port: u16,
    pub method: String,
    /// After `/{device}/{partition}`, %-decoded, without the query.
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    /// The request body (`Content-Length` or chunked).
    pub body: Vec<u8>,
    /// A chunked body's trailer fields.
    pub trailers: Headers,
}

impl FakeReq {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A query parameter, %-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        let (_, v) = self.query.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == name)?;
        Some(crate::endpoint::unquote(v).unwrap_or_default())
    }
}

/// How a fake answer ends after `send` bytes of its body.
#[derive(Clone, Copy, Debug)]
pub enum End {
    Close,
    Stall(Duration),
}

/// A fake backend's answer: after `delay`, the head, then `send` bytes
/// of `body` (all of it if `None`), then `end`.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub send: Option<usize>,
    pub end: End,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: Vec::new(), send: None, end: End::Close, delay: Duration::ZERO }
    }

    /// Answers only after `d` (a slow node).
    pub fn after(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }

    /// Sends only the first `n` body bytes, then `end`.
    pub fn cut(mut self, n: usize, end: End) -> Reply {
        self.send = Some(n);
        self.end = end;
        self
    }
}

/// One stored object of a fake backend.
#[derive(Clone, Debug)]
pub struct FakeObject {
    pub body: Vec<u8>,
    pub etag: String,
    pub timestamp: String,
    pub headers: Vec<(String, String)>,
}

impl FakeObject {
    pub fn new(body: &[u8], timestamp: &str) -> FakeObject {
        let etag = common::hex::hex(&<md5::Md5 as md5::Digest>::digest(body));
        FakeObject { body: body.to_vec(), etag, timestamp: timestamp.into(), headers: Vec::new() }
    }

    /// What an object server answers to `req` for this object: If-Match
    /// (412), one `Range` (206), or the whole body.
    pub fn answer(&self, req: &FakeReq) -> Reply {
        let mut headers = vec![
            ("ETag".to_string(), format!("\"{}\"", self.etag)),
            ("X-Timestamp".to_string(), self.timestamp.clone()),
            ("X-Backend-Timestamp".to_string(), self.timestamp.clone()),
            ("Content-Type".to_string(), "application/octet-stream".to_string()),
        ];
        headers.extend(self.headers.iter().cloned());
        if let Some(m) = req.header("If-Match") {
            if !m.split(',').any(|t| t.trim().trim_matches('"') == self.etag || t.trim() == "*") {
                return Reply { headers, ..Reply::status(412) };
            }
        }
        let len = self.body.len() as u64;
        let range = req.header("Range").and_then(|r| r.strip_prefix("bytes=")).and_then(|r| r.split_once('-'));
        let (status, body) = match range {
            Some((s, e)) => {
                let (s, e) = match (s.parse::<u64>().ok(), e.parse::<u64>().ok()) {
                    (Some(s), e) => (s, e.unwrap_or(len - 1).min(len - 1)),
                    (None, Some(n)) => (len.saturating_sub(n), len - 1),
                    (None, None) => return Reply::status(400),
                };
                if s >= len {
                    let cr = ("Content-Range".to_string(), format!("bytes */{len}"));
                    return Reply { headers: vec![cr], ..Reply::status(416) };
                }
                headers.push(("Content-Range".into(), format!("bytes {s}-{e}/{len}")));
                (206, self.body[s as usize..=e as usize].to_vec())
            }
            None => (200, self.body.clone()),
        };
        Reply { status, headers, body, ..Reply::status(status) }
    }
}

/// A script: the answer of the backend on `port` to a request.
pub type Script = dyn Fn(&FakeReq) -> Reply + Send + Sync;

/// Config that makes reads try the primaries in a fixed order, by zone
/// (the fakes' device `i` is in zone `i + 1`), for tests that script nodes
/// by their place in the read order.
pub const BY_ZONE: &str = "sorting_method = affinity\nread_affinity = r1z1=1, r1z2=2, r1z3=3, r1z4=4, r1z5=5, r1z6=6";

/// Fake backends and the rings pointing at them.
pub struct Fakes {
    pub seen: Arc<Mutex<Vec<FakeReq>>>,
    pub ctx: App,
    dir: PathBuf,
}

impl Drop for Fakes {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn read_head(s: &mut TcpStream) -> Option<String> {
    let mut raw = Vec::new();
    let mut b = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).ok()? == 0 {
            return None;
        }
        raw.push(b[0]);
    }
    Some(String::from_utf8_lossy(&raw).into_owned())
}

fn parse_req(port: u16, head: &str) -> FakeReq {
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    // Skip `/{device}/{partition}`.
    let path = path.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap_or_default();
    let path = crate::endpoint::unquote(&path).unwrap_or_default();
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    FakeReq { port, method, path, query: query.to_string(), headers, body: Vec::new(), trailers: Headers::new() }
}

/// Reads a request body: `len` bytes, or a chunked body with its trailer.
fn read_body(s: &mut TcpStream, req: &mut FakeReq) -> std::io::Result<()> {
    let chunked = req.header("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if !chunked {
        let len: u64 = req.header("Content-Length").and_then(|v| v.parse().ok()).unwrap_or(0);
        return (&mut *s).take(len).read_to_end(&mut req.body).map(drop);
    }
    let mut dec = http::chunked::ChunkedDecoder::new();
    let mut pending = Vec::new();
    let mut buf = [0u8; 8192];
    while !dec.is_done() {
        let step = dec.decode(&pending).map_err(std::io::Error::other)?;
        req.body.extend_from_slice(&pending[step.data.clone()]);
        pending.drain(..step.consumed);
        if step.consumed == 0 {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            pending.extend_from_slice(&buf[..n]);
        }
    }
    req.trailers = dec.trailers();
    Ok(())
}

fn serve_one(mut s: TcpStream, port: u16, script: &Script, seen: &Mutex<Vec<FakeReq>>) {
    let Some(head) = read_head(&mut s) else { return };
    let mut req = parse_req(port, &head);
    // A request body (a PUT): `100 Continue` if asked, then read it.
    if req.header("Expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
        && s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err()
    {
        seen.lock().unwrap().push(req);
        return;
    }
    let body = read_body(&mut s, &mut req);
    seen.lock().unwrap().push(req.clone());
    if body.is_err() {
        return;
    }
    let r = script(&req);
    std::thread::sleep(r.delay);
    let mut out = format!("HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n", r.status, r.body.len());
    for (k, v) in &r.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if req.method != "HEAD" {
        bytes.extend_from_slice(&r.body[..r.send.unwrap_or(r.body.len()).min(r.body.len())]);
    }
    if s.write_all(&bytes).is_err() {
        return;
    }
    if let End::Stall(d) = r.end {
        std::thread::sleep(d);
    }
}

fn build_ring(path: &std::path::Path, ports: &[u16]) {
    let mut b = RingBuilder::new(4, 3, 0).unwrap();
    for (i, port) in ports.iter().enumerate() {
        b.add_dev(NewDevice::local(i as u32 + 1, "127.0.0.1", *port, "sda")).unwrap();
    }
    b.rebalance(1).unwrap();
    b.get_ring().unwrap().save(path).unwrap();
}

impl Fakes {
    /// `n` fake backends (3 replicas) answering with `script`, and an
    /// [`App`] with `conf` added to `[app:proxy-server]`.
    pub fn start(name: &str, n: usize, conf: &str, script: Arc<Script>) -> Fakes {
        Fakes::start_with(name, n, conf, |_| {}, script)
    }

    /// [`Fakes::start`], with the config edited by `edit` (constraints).
    pub fn start_with(name: &str, n: usize, conf: &str, edit: impl FnOnce(&mut Config), script: Arc<Script>) -> Fakes {
        let listeners: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
        let ports: Vec<u16> = listeners.iter().map(|l| l.local_addr().unwrap().port()).collect();
        let seen = Arc::new(Mutex::new(Vec::new()));
        for (l, port) in listeners.into_iter().zip(ports.clone()) {
            let (script, seen) = (script.clone(), seen.clone());
            std::thread::spawn(move || {
                for s in l.incoming().flatten() {
                    let (script, seen) = (script.clone(), seen.clone());
                    std::thread::spawn(move || serve_one(s, port, &*script, &seen));
                }
            });
        }
        let dir = std::env::temp_dir().join(format!("swiftlet-proxy-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("swift.conf"), "[swift-hash]\nswift_hash_path_suffix = unit\n").unwrap();
        for ring in ["account", "container", "object"] {
            build_ring(&dir.join(format!("{ring}.ring")), &ports);
        }
        let text = format!(
            "[app:proxy-server]\nswift_dir = {}\nconn_timeout = 0.5\nnode_timeout = 1\n\
             recoverable_node_timeout = 0.3\nlog_requests = false\n{conf}\n\
             [filter:tempauth]\nuser_test_tester = testing .admin\nuser_test_tester3 = testing3\n",
            dir.display()
        );
        let mut conf = Config::from_text(text.as_bytes()).unwrap();
        edit(&mut conf);
        let ctx = App::open(conf).unwrap();
        Fakes { seen, ctx, dir }
    }

    /// The ports of an object's nodes in the order a write tries them
    /// (ring order).
    pub fn order(&self, account: &str, container: &str, object: &str) -> Vec<u16> {
        let part = self.ctx.object_ring().partition(account, Some(container), Some(object)).unwrap();
        self.ctx.nodes(self.ctx.object_ring(), part).map(|(d, _)| d.port).collect()
    }

    /// The ports of an object's nodes in the order a read tries them (the
    /// same each time only if `sorting_method` makes it so, e.g.
    /// [`BY_ZONE`]).
    pub fn read_order(&self, account: &str, container: &str, object: &str) -> Vec<u16> {
        let part = self.ctx.object_ring().partition(account, Some(container), Some(object)).unwrap();
        self.ctx.read_nodes(self.ctx.object_ring(), part).map(|(d, _)| d.port).collect()
    }

    /// A token of `test:tester` (owner of `AUTH_test`) or `test:tester3`.
    pub fn token(&self, user: &str) -> String {
        let u = self.ctx.conf().auth.users.iter().find(|u| u.user == user).unwrap();
        self.ctx.auth().issue(u, 4_000_000_000)
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<FakeReq> {
        self.seen.lock().unwrap().clone()
    }
}

/// What the test client got.
#[derive(Debug)]
pub struct Got {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
    /// The body ended as framed (false: the connection was cut).
    pub complete: bool,
}

/// One request through the proxy's handler, served on a hub in this
/// thread, read by a client on the same hub.
pub fn call(ctx: &App, method: &str, path: &str, headers: &[(&str, &str)]) -> Got {
    call_with(ctx, method, path, headers, b"")
}

/// [`call`] with a request body (sent with `Content-Length`, or chunked
/// in 1 KiB chunks if `headers` name `Transfer-Encoding`).
pub fn call_with(ctx: &App, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Got {
    let (ctx, method, path, body) = (ctx.clone(), method.to_string(), path.to_string(), body.to_vec());
    let mut h = Headers::new();
    for (k, v) in headers {
        h.set(*k, *v);
    }
    hub::run(move || {
        let l = hub::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let addr = l.local_addr().unwrap();
        let server = Server::new(ServerConfig::default(), move |req, resp| crate::pipeline::handle(&ctx, req, resp));
        let _serving = hub::spawn(move || server.serve(l));
        let mut conn = ClientConn::connect(addr, Duration::from_secs(1)).unwrap();
        h.set("Host", addr.to_string());
        if h.get("Transfer-Encoding").is_some() {
            conn.send_head(&method, &path, &h).unwrap();
            // The server may answer (and stop reading) before the end.
            for chunk in body.chunks(1024) {
                let _ = conn.write_body(chunk);
            }
            let _ = conn.finish_body();
        } else {
            h.set("Content-Length", body.len().to_string());
            conn.send_head(&method, &path, &h).unwrap();
            conn.write_body(&body).unwrap();
        }
        let mut r = conn.read_response(&method, Duration::from_secs(20)).unwrap();
        let mut body = Vec::new();
        let complete = r.body.read_to_end(&mut body).is_ok();
        Got { status: r.status(), headers: r.head.headers.clone(), body, complete }
    })
}

/// A fake cluster's content, served the same by every node: objects by
/// path (`/account/container/object`), container listings in pages of
/// `page` rows (JSON), container HEADs with `acls`.
#[derive(Default)]
pub struct Store {
    pub objects: std::collections::BTreeMap<String, FakeObject>,
    /// Listing rows that differ from the objects (a stale listing).
    pub listed_etags: std::collections::BTreeMap<String, String>,
    pub container_headers: std::collections::BTreeMap<String, Vec<(String, String)>>,
    pub page: usize,
}

impl Store {
    pub fn answer(&self, req: &FakeReq) -> Reply {
        let depth = req.path.splitn(4, '/').count() - 1;
        if depth >= 3 {
            return match self.objects.get(&req.path) {
                Some(o) => o.answer(req),
                None => Reply::status(404),
            };
        }
        let mut headers = self.container_headers.get(&req.path).cloned().unwrap_or_default();
        if req.method == "HEAD" {
            return Reply { headers, ..Reply::status(204) };
        }
        let prefix = format!("{}/{}", req.path, req.param("prefix").unwrap_or_default());
        let marker = req.param("marker").map(|m| format!("{}/{m}", req.path)).unwrap_or_default();
        let rows: Vec<serde_json::Value> = self
            .objects
            .iter()
            .filter(|(p, _)| p.starts_with(&prefix) && **p > marker)
            .take(self.page)
            .map(|(p, o)| {
                let name = &p[req.path.len() + 1..];
                let hash = self.listed_etags.get(p).unwrap_or(&o.etag);
                serde_json::json!({"name": name, "hash": hash, "bytes": o.body.len(), "content_type": "x", "last_modified": "t"})
            })
            .collect();
        headers.push(("Content-Type".into(), "application/json; charset=utf-8".into()));
        Reply { headers, body: serde_json::Value::from(rows).to_string().into_bytes(), ..Reply::status(200) }
    }
}
