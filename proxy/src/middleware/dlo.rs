//! Dynamic large objects (Swift's `dlo` middleware).
//!
//! An object with `X-Object-Manifest: <container>/<prefix>` (%-encoded) is
//! a manifest: a GET or HEAD of it answers the concatenation of the
//! objects listed in `<container>` under `<prefix>`, in listing order.
//! `?multipart-manifest=get` answers the manifest object itself.
//!
//! * The listing is read as the user (the segment container's read ACL
//!   applies; `.rlistings` for a referrer), in pages of
//!   `container_listing_limit`, each next page from the last name.
//! * If the first page is the whole listing, `Content-Length` is the sum
//!   of the sizes and `ETag` the quoted MD5 of the concatenated segment
//!   ETags; otherwise the length is unknown (chunked) and the ETag the
//!   manifest's own, as Swift.
//! * One range over the concatenation: 206, or 416 with
//!   `Content-Range: bytes */<len>`; several ranges are ignored (200 with
//!   the whole body), as Swift. A range over an incomplete first page is
//!   honoured only if it ends inside it.
//! * `If-Match`/`If-None-Match` compare with the DLO ETag,
//!   `If-(Un)Modified-Since` with the manifest's `Last-Modified`.
//! * Each segment is read like any GET (so it resumes on another node if
//!   its body breaks) and must still have the ETag its listing row
//!   names: a changed or missing first segment is 409 (nothing sent
//!   yet); a later one cuts the response.
//! * Not done: Swift's segment rate limit (`rate_limit_after_segment`,
//!   `rate_limit_segments_per_sec`) and `max_get_time`.
//!
//! The object controller calls [`respond`] when a GET/HEAD finds a
//! manifest and [`check_put_header`] on a PUT (`controllers::obj` says
//! why it calls, rather than being wrapped); the copy middleware calls
//! [`open`]. Segments and listings are read through the controllers.

use crate::app::App;
use crate::controllers::backend;
use crate::controllers::base::{authorize_as, client_headers, Resource};
use crate::controllers::getter;
use crate::endpoint::unquote;
use crate::error::{Error, Result};
use common::percent::quote;
use http::{Headers, Request, Response};
use md5::{Digest, Md5};
use std::io::{self, Write};

/// One row of the segment listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub name: String,
    pub hash: String,
    pub bytes: u64,
}

/// Whether a request asks for the manifest itself
/// (`?multipart-manifest=get`).
pub fn wants_manifest(query: &str) -> bool {
    query.split('&').any(|p| p == "multipart-manifest=get")
}

/// `X-Object-Manifest` as (container, prefix), %-decoded.
pub fn parse_manifest(value: &str) -> Option<(String, String)> {
    let v = unquote(value).ok()?;
    let (c, p) = v.split_once('/')?;
    (!c.is_empty()).then(|| (c.to_string(), p.to_string()))
}

/// A PUT's `X-Object-Manifest` must be `container/prefix` (Swift's
/// `_validate_x_object_manifest_header`).
pub fn check_put_header(h: &Headers) -> Result<()> {
    let Some(v) = h.get("X-Object-Manifest") else { return Ok(()) };
    let ok = match v.split_once('/') {
        Some((c, p)) => !c.is_empty() && !p.is_empty() && !p.starts_with('/') && !v.contains(['?', '&']),
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request("X-Object-Manifest must be in the format container/prefix"))
    }
}

/// One page of the segment listing of `ct` (a container target) under
/// `prefix`, after `marker`.
fn listing(ctx: &App, ct: &Resource, prefix: &str, marker: &str) -> Result<Vec<Segment>> {
    let part = ctx
        .container_ring()
        .partition(&ct.account, ct.container.as_deref(), None)
        .map_err(|e| Error::bad_request(e.to_string()))?;
    let mut path = format!("{}?format=json&prefix={}", quote(&ct.path()), quote(prefix));
    if !marker.is_empty() {
        path.push_str(&format!("&marker={}", quote(marker)));
    }
    let mut h = Headers::new();
    h.set("X-Trans-Id", ct.trans_id.clone());
    let a = backend::read_first(ctx, ctx.container_ring(), part, "GET", &path, &h)?;
    match a.status {
        204 => Ok(Vec::new()),
        200..=299 => parse_listing(&a.body),
        404 => Err(Error::NotFound),
        s => Err(Error::Unavailable(format!("DLO segment listing answered {s}"))),
    }
}

fn parse_listing(body: &[u8]) -> Result<Vec<Segment>> {
    let bad = || Error::Unavailable("DLO segment listing is not a JSON list".into());
    let rows: serde_json::Value = serde_json::from_slice(body).map_err(|_| bad())?;
    let rows = rows.as_array().ok_or_else(bad)?;
    rows.iter()
        .map(|r| {
            Some(Segment {
                name: r["name"].as_str()?.to_string(),
                hash: r["hash"].as_str()?.to_string(),
                bytes: r["bytes"].as_u64()?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad)
}

/// Swift's DLO ETag: the MD5 of the segments' ETags, concatenated.
pub fn etag(segments: &[Segment]) -> String {
    let mut md5 = Md5::new();
    for s in segments {
        md5.update(s.hash.trim_matches('"').as_bytes());
    }
    common::hex::hex(&md5.finalize())
}

/// One range of a `Range` header: `(Some(first), last)` or a suffix
/// `(None, Some(n))`.
type Spec = (Option<u64>, Option<u64>);

/// swob's `Range`: `bytes=` and a list of specs; anything malformed makes
/// the whole header ignored (`None`).
fn parse_range(v: &str) -> Option<Vec<Spec>> {
    let (unit, list) = v.split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    list.split(',')
        .map(|spec| {
            let (a, b) = spec.trim().split_once('-')?;
            let num = |s: &str| if s.is_empty() { Ok(None) } else { s.parse::<u64>().map(Some) };
            match (num(a.trim()).ok()?, num(b.trim()).ok()?) {
                (None, None) => None,
                (Some(a), Some(b)) if a > b => None,
                spec => Some(spec),
            }
        })
        .collect()
}

/// swob's `ranges_for_length` for one spec: `(first, last)` inclusive, or
/// `None` if it cannot be satisfied.
fn range_for_length(spec: Spec, len: u64) -> Option<(u64, u64)> {
    match spec {
        (Some(first), _) if first >= len => None,
        (Some(first), last) => Some((first, last.map_or(len - 1, |l| l.min(len - 1)))),
        (None, Some(0)) | (None, None) => None,
        (None, Some(_)) if len == 0 => None,
        (None, Some(n)) => Some((len.saturating_sub(n), len - 1)),
    }
}

/// True if a `If-(None-)Match` list names `etag` or `*`.
fn etag_listed(list: &str, etag: &str) -> bool {
    list.split(',').map(|t| t.trim().trim_matches('"')).any(|t| t == "*" || t == etag)
}

/// swob's conditional response: 304 or 412, or `None` to answer.
fn condition(req: &Headers, etag: &str, last_modified: Option<u64>) -> Option<u16> {
    if req.get("If-None-Match").is_some_and(|l| etag_listed(l, etag)) {
        return Some(304);
    }
    if req.get("If-Match").is_some_and(|l| !etag_listed(l, etag)) {
        return Some(412);
    }
    let lm = last_modified?;
    if req.get("If-Modified-Since").and_then(http::date::parse_http_date).is_some_and(|d| lm <= d) {
        return Some(304);
    }
    if req.get("If-Unmodified-Since").and_then(http::date::parse_http_date).is_some_and(|d| lm > d) {
        return Some(412);
    }
    None
}

/// The part of the concatenation to send: the client's single range,
/// resolved over the first page, or the whole.
enum Want {
    Whole,
    Range { first: u64, last: u64, total: u64 },
    Unsatisfiable { total: Option<u64> },
}

fn wanted(range: Option<&str>, page: &[Segment], complete: bool) -> Want {
    let Some(specs) = range.and_then(parse_range) else { return Want::Whole };
    let [spec] = specs.as_slice() else { return Want::Whole };
    let total: u64 = page.iter().map(|s| s.bytes).sum();
    // Without the whole listing, only a range ending inside the first
    // page can be judged; any other is ignored (Swift's rule).
    let ends_inside = matches!(spec, (Some(_), Some(last)) if *last < total);
    if !complete && !ends_inside {
        return Want::Whole;
    }
    match range_for_length(*spec, total) {
        Some((first, last)) => Want::Range { first, last, total },
        None => Want::Unsatisfiable { total: complete.then_some(total) },
    }
}

/// Reads the first listing page of a manifest, as the user.
fn list(ctx: &App, req: &Request<'_>, t: &Resource, manifest: &Headers) -> Result<Listed> {
    let value = manifest.get("X-Object-Manifest").unwrap_or_default();
    let (container, prefix) = parse_manifest(value)
        .ok_or_else(|| Error::Unavailable(format!("bad X-Object-Manifest {value:?} on {}", t.path())))?;
    let ct = Resource {
        account: t.account.clone(),
        container: Some(container),
        object: None,
        query: String::new(),
        identity: t.identity.clone(),
        trans_id: t.trans_id.clone(),
        cors: None,
    };
    // The segments are read as the user: the listing's authorization
    // (the segment container's read ACL, `.rlistings` for referrers)
    // covers reading its objects too.
    authorize_as(ctx, req, &ct, "GET", false)?;
    let limit = ctx.conf().constraints.container_listing_limit;
    let page = listing(ctx, &ct, &prefix, "")?;
    Ok(Listed { ct, prefix, page, limit })
}

/// GET/HEAD of a manifest: `manifest` is the headers of the manifest
/// object's backend answer.
pub fn respond(
    ctx: &App,
    req: &Request<'_>,
    resp: &mut Response<'_>,
    t: &Resource,
    manifest: &Headers,
    owner: bool,
) -> Result<()> {
    let Listed { ct, prefix, page, limit } = list(ctx, req, t, manifest)?;
    let complete = page.len() < limit;

    let mut out = client_headers(manifest, t, owner);
    for k in ["Content-Range", "Accept-Ranges"] {
        out.remove(k);
    }
    out.set("Accept-Ranges", "bytes");
    if complete {
        out.set("Etag", format!("\"{}\"", etag(&page)));
    }
    let want = wanted(req.header("Range"), &page, complete);
    if let Want::Unsatisfiable { total } = want {
        let mut h = Headers::new();
        h.set("Accept-Ranges", "bytes");
        if let Some(total) = total {
            h.set("Content-Range", format!("bytes */{total}"));
        }
        crate::controllers::base::trans_headers(&mut h, &t.trans_id);
        h.set("Content-Type", "text/html; charset=UTF-8");
        let body = if req.method() == "HEAD" {
            &b""[..]
        } else {
            b"<html><h1>Requested Range Not Satisfiable</h1><p>The Range requested is not available.</p></html>"
        };
        return resp.send(416, &h, body).map_err(|_| Error::ClientDisconnect);
    }
    let dlo_etag = out.get("Etag").unwrap_or_default().trim_matches('"').to_string();
    let last_modified = out.get("Last-Modified").and_then(http::date::parse_http_date);
    if let Some(status) = condition(req.headers(), &dlo_etag, last_modified) {
        out.set("Content-Length", "0");
        return resp.send(status, &out, b"").map_err(|_| Error::ClientDisconnect);
    }
    let (status, first, last, len) = match want {
        Want::Range { first, last, total } => {
            out.set("Content-Range", format!("bytes {first}-{last}/{total}"));
            (206, first, Some(last), Some(last - first + 1))
        }
        _ => (200, 0, None, complete.then(|| page.iter().map(|s| s.bytes).sum())),
    };
    crate::middleware::tempurl::decorate_success(t, status, &mut out);
    if req.method() == "HEAD" {
        resp.start(status, &out, len).map_err(|_| Error::ClientDisconnect)?;
        return resp.finish().map_err(|_| Error::ClientDisconnect);
    }
    let mut sink = ClientSink { resp, head: Some((status, out, len)) };
    let listed = Listed { ct, prefix, page, limit };
    send_segments(ctx, &listed, first, last, &mut sink)?;
    sink.begin()?;
    sink.resp.finish().map_err(|_| Error::ClientDisconnect)
}

/// A manifest's segment container, prefix and first listing page.
struct Listed {
    ct: Resource,
    prefix: String,
    page: Vec<Segment>,
    limit: usize,
}

/// Where segment bytes go. `begin` comes before the first byte (the
/// client's response head).
trait Sink: Write {
    fn begin(&mut self) -> Result<()>;
}

/// The client's response; its head is sent with the first byte.
struct ClientSink<'a, 'r> {
    resp: &'a mut Response<'r>,
    head: Option<(u16, Headers, Option<u64>)>,
}

impl Write for ClientSink<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.resp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.resp.flush()
    }
}

impl Sink for ClientSink<'_, '_> {
    fn begin(&mut self) -> Result<()> {
        if let Some((status, h, len)) = self.head.take() {
            self.resp.start(status, &h, len).map_err(|_| Error::ClientDisconnect)?;
        }
        Ok(())
    }
}

/// Sends bytes `first..=last` (`None`: to the end) of the concatenation,
/// page after page.
fn send_segments(ctx: &App, l: &Listed, first: u64, last: Option<u64>, sink: &mut dyn Sink) -> Result<()> {
    let mut stream = Stream { ctx, ct: &l.ct, sink, first, last, offset: 0, begun: false };
    let mut next;
    let mut page = &l.page;
    loop {
        for seg in page {
            if !stream.segment(seg)? {
                return Ok(());
            }
        }
        let Some(marker) = page.last().filter(|_| page.len() >= l.limit).map(|s| s.name.clone()) else {
            return Ok(());
        };
        next = listing(ctx, &l.ct, &l.prefix, &marker)?;
        page = &next;
    }
}

/// Sending the segments of one GET.
struct Stream<'a> {
    ctx: &'a App,
    /// The segment container.
    ct: &'a Resource,
    sink: &'a mut dyn Sink,
    /// The first and last byte of the concatenation to send.
    first: u64,
    last: Option<u64>,
    /// Where the next segment starts in the concatenation.
    offset: u64,
    /// Whether `sink.begin` was called (a byte may have gone out).
    begun: bool,
}

impl Stream<'_> {
    /// Sends what is wanted of `seg`; false once past the last byte.
    fn segment(&mut self, seg: &Segment) -> Result<bool> {
        let (start, end) = (self.offset, self.offset + seg.bytes);
        self.offset = end;
        if self.last.is_some_and(|l| start > l) {
            return Ok(false);
        }
        if seg.bytes == 0 || end <= self.first {
            return Ok(true);
        }
        let from = self.first.saturating_sub(start);
        let to = self.last.map_or(seg.bytes - 1, |l| (l - start).min(seg.bytes - 1));
        let st = Resource {
            account: self.ct.account.clone(),
            container: self.ct.container.clone(),
            object: Some(seg.name.clone()),
            query: String::new(),
            identity: self.ct.identity.clone(),
            trans_id: self.ct.trans_id.clone(),
            cors: None,
        };
        let mut h = Headers::new();
        h.set("X-Trans-Id", st.trans_id.clone());
        h.set("User-Agent", format!("proxy-server {} DLO MultipartGET", swiftlet_server::pid()));
        if from > 0 || to < seg.bytes - 1 {
            h.set("Range", format!("bytes={from}-{to}"));
        }
        let chunk = self.ctx.conf().client_chunk_size;
        let sent = getter::fetch(self.ctx, &st, "GET", &h, false, |node, r, mut g| {
            let etag = r.header("ETag").unwrap_or_default().trim().trim_matches('"');
            if !matches!(r.status(), 200 | 206) || etag != seg.hash.trim_matches('"') {
                return Err(Error::Conflict(format!(
                    "DLO segment {} no longer valid: {} with ETag {etag:?}, listed {:?}",
                    st.path(),
                    r.status(),
                    seg.hash
                )));
            }
            self.begun = true;
            self.sink.begin()?;
            getter::relay_body(&mut g, node, r, &mut *self.sink, chunk)
        });
        let e = match sent {
            Ok(()) => return Ok(true),
            // Nothing sent yet: Swift's 409 for a bad first segment.
            Err(Error::NotFound) if !self.begun => Error::Conflict(format!("DLO segment {} not found", st.path())),
            Err(e) => e,
        };
        if let Error::Conflict(why) = &e {
            crate::log::warn(why);
        }
        Err(e)
    }
}

impl Sink for getter::Pipe {
    fn begin(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A manifest as a copy's source (Swift's copy of a DLO): its headers
/// for the destination, its length, and its concatenation. Swift refuses
/// (413) a DLO whose length is unknown (more than one listing page).
pub fn open(ctx: &App, req: &Request<'_>, t: &Resource, manifest: &Headers) -> Result<(u64, getter::Piped)> {
    let listed = list(ctx, req, t, manifest)?;
    if listed.page.len() >= listed.limit {
        return Err(Error::TooLarge("Source object too large".into()));
    }
    let len = listed.page.iter().map(|s| s.bytes).sum();
    let ctx = ctx.clone();
    let body = getter::piped(move |pipe| send_segments(&ctx, &listed, 0, None, pipe));
    Ok((len, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{call, FakeObject, FakeReq, Fakes, Store};
    use std::sync::{Arc, Mutex};

    const CONCAT: &[u8] = b"aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeee";

    /// Segments `segs/p/0`..`p/4` (10 bytes each, "a".."e"), manifest
    /// `c/man` (`segs/p/`, body "man1-contents"), `c/empty` (`segs/none`),
    /// listings in pages of `limit`.
    fn cluster(name: &str, limit: usize) -> (Fakes, Arc<Mutex<Store>>) {
        let mut s = Store { page: limit, ..Store::default() };
        for (i, l) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            let o = FakeObject::new(l.repeat(10).as_bytes(), "1700000000.00000");
            s.objects.insert(format!("/AUTH_test/segs/p/{i}"), o);
        }
        for (obj, value) in [("man", "segs/p/"), ("empty", "segs/none")] {
            let mut m = FakeObject::new(b"man1-contents", "1700000001.00000");
            m.headers.push(("X-Object-Manifest".into(), value.into()));
            s.objects.insert(format!("/AUTH_test/c/{obj}"), m);
        }
        let store = Arc::new(Mutex::new(s));
        let st = store.clone();
        let script = Arc::new(move |r: &FakeReq| st.lock().unwrap().answer(r));
        let f = Fakes::start_with(name, 4, "", |c| c.constraints.container_listing_limit = limit, script);
        (f, store)
    }

    fn segment_gets(f: &Fakes) -> Vec<(String, Option<String>)> {
        let mut v: Vec<_> = f
            .seen()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path.starts_with("/AUTH_test/segs/p/"))
            .map(|r| (r.path.clone(), r.header("Range").map(String::from)))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn get_and_head_answer_the_concatenated_segments() {
        let (f, store) = cluster("dlo-get", 10);
        let token = f.token("tester");
        let auth = [("X-Auth-Token", token.as_str())];
        let hashes: Vec<Segment> = (0..5)
            .map(|i| seg("x", &store.lock().unwrap().objects[&format!("/AUTH_test/segs/p/{i}")].etag, 10))
            .collect();
        let want_etag = format!("\"{}\"", etag(&hashes));
        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/man", &auth);
        assert_eq!((got.status, got.complete, got.body.as_slice()), (200, true, CONCAT));
        assert_eq!(got.headers.get("Content-Length"), Some("50"));
        assert_eq!(got.headers.get("Etag"), Some(want_etag.as_str()));
        assert_eq!(got.headers.get("X-Object-Manifest"), Some("segs/p/"));
        let got = call(&f.ctx, "HEAD", "/v1/AUTH_test/c/man", &auth);
        assert_eq!((got.status, got.body.len()), (200, 0));
        assert_eq!(got.headers.get("Content-Length"), Some("50"));
        assert_eq!(got.headers.get("Etag"), Some(want_etag.as_str()));

        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/man?multipart-manifest=get", &auth);
        assert_eq!((got.status, got.body.as_slice()), (200, &b"man1-contents"[..]));
        assert_eq!(got.headers.get("X-Object-Manifest"), Some("segs/p/"));

        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/empty", &auth);
        assert_eq!((got.status, got.complete, got.body.len()), (200, true, 0));
        assert_eq!(got.headers.get("Content-Length"), Some("0"));
        assert_eq!(got.headers.get("Etag"), Some("\"d41d8cd98f00b204e9800998ecf8427e\""));
    }

    #[test]
    fn listing_pages_follow_the_last_name() {
        let (f, store) = cluster("dlo-pages", 2);
        let token = f.token("tester");
        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/man", &[("X-Auth-Token", &token)]);
        assert_eq!((got.status, got.complete, got.body.as_slice()), (200, true, CONCAT));
        // Not the whole listing in the first page: no length, the
        // manifest's own ETag (Swift's rule).
        assert_eq!(got.headers.get("Content-Length"), None);
        let man_etag = store.lock().unwrap().objects["/AUTH_test/c/man"].etag.clone();
        assert_eq!(got.headers.get("Etag"), Some(man_etag.as_str()));
        let listings: Vec<Option<String>> = f
            .seen()
            .iter()
            .filter(|r| r.method == "GET" && r.path == "/AUTH_test/segs")
            .map(|r| r.param("marker"))
            .collect();
        assert_eq!(listings, [None, Some("p/1".to_string()), Some("p/3".to_string())]);
    }

    #[test]
    fn ranges_read_only_the_segment_bytes_needed() {
        let (f, _store) = cluster("dlo-range", 10);
        let token = f.token("tester");
        let get =
            |range: &str| call(&f.ctx, "GET", "/v1/AUTH_test/c/man", &[("X-Auth-Token", &token), ("Range", range)]);
        let got = get("bytes=8-32");
        assert_eq!((got.status, got.body.as_slice()), (206, &CONCAT[8..33]));
        assert_eq!(got.headers.get("Content-Range"), Some("bytes 8-32/50"));
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            segment_gets(&f),
            [
                ("/AUTH_test/segs/p/0".to_string(), some("bytes=8-9")),
                ("/AUTH_test/segs/p/1".to_string(), None),
                ("/AUTH_test/segs/p/2".to_string(), None),
                ("/AUTH_test/segs/p/3".to_string(), some("bytes=0-2")),
            ]
        );
        // Past the manifest's own 13 bytes: the object server's 416 is
        // for the manifest, not for the concatenation.
        let got = get("bytes=47-47");
        assert_eq!((got.status, got.body.as_slice()), (206, &b"e"[..]));
        let got = get("bytes=50-56");
        assert_eq!(got.status, 416);
        assert_eq!(got.headers.get("Content-Range"), Some("bytes */50"));
        let got = get("bytes=0-4,10-14");
        assert_eq!((got.status, got.body.as_slice()), (200, CONCAT));
    }

    #[test]
    fn conditions_compare_with_the_dlo_etag() {
        let (f, _store) = cluster("dlo-cond", 10);
        let token = f.token("tester");
        let etag = call(&f.ctx, "HEAD", "/v1/AUTH_test/c/man", &[("X-Auth-Token", &token)])
            .headers
            .get("Etag")
            .unwrap()
            .to_string();
        let not = format!("not-{etag}");
        for method in ["GET", "HEAD"] {
            let with = |k: &str, v: &str| {
                call(&f.ctx, method, "/v1/AUTH_test/c/man", &[("X-Auth-Token", &token), (k, v)]).status
            };
            assert_eq!(with("If-Match", &not), 412, "{method}");
            assert_eq!(with("If-Match", &etag), 200, "{method}");
            assert_eq!(with("If-None-Match", &etag), 304, "{method}");
            assert_eq!(with("If-None-Match", &not), 200, "{method}");
        }
    }

    #[test]
    fn a_changed_segment_is_409_first_and_cuts_the_body_later() {
        let (f, store) = cluster("dlo-changed", 10);
        let token = f.token("tester");
        store.lock().unwrap().listed_etags.insert("/AUTH_test/segs/p/2".into(), "0123".into());
        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/man", &[("X-Auth-Token", &token)]);
        assert_eq!(got.status, 200);
        assert!(!got.complete && got.body == CONCAT[..20], "cut after the two good segments");
        store.lock().unwrap().listed_etags.insert("/AUTH_test/segs/p/0".into(), "0123".into());
        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/man", &[("X-Auth-Token", &token)]);
        assert_eq!(got.status, 409);
        let body = String::from_utf8_lossy(&got.body);
        assert!(body.contains("There was a conflict when trying to complete your request.</p>"), "swob's: {body}");
    }

    #[test]
    fn segments_are_read_as_the_user() {
        let (f, store) = cluster("dlo-acl", 10);
        let token = f.token("tester3");
        let acl = vec![("X-Container-Read".to_string(), "test:tester3".to_string())];
        store.lock().unwrap().container_headers.insert("/AUTH_test/c".into(), acl.clone());
        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/man", &[("X-Auth-Token", &token)]);
        assert_eq!(got.status, 403, "the segment container does not allow tester3");
        assert!(segment_gets(&f).is_empty());
        store.lock().unwrap().container_headers.insert("/AUTH_test/segs".into(), acl);
        // As a POST of the ACL through this proxy would.
        drop(f.ctx.container_cache().write_started("AUTH_test", "segs"));
        let got = call(&f.ctx, "GET", "/v1/AUTH_test/c/man", &[("X-Auth-Token", &token)]);
        assert_eq!((got.status, got.body.as_slice()), (200, CONCAT));
    }

    fn seg(name: &str, hash: &str, bytes: u64) -> Segment {
        Segment { name: name.into(), hash: hash.into(), bytes }
    }

    #[test]
    fn manifest_values_are_container_slash_prefix() {
        assert_eq!(parse_manifest("c/p/seg_upper_%25ff"), Some(("c".into(), "p/seg_upper_%ff".into())));
        assert_eq!(parse_manifest("c/"), Some(("c".into(), String::new())));
        assert_eq!(parse_manifest("c"), None);
        assert!(wants_manifest("a=b&multipart-manifest=get"));
        assert!(!wants_manifest("multipart-manifest=put"));
        let h = |v: &str| -> Headers { [("X-Object-Manifest".to_string(), v.to_string())].into_iter().collect() };
        assert!(check_put_header(&h("c/p")).is_ok());
        assert!(check_put_header(&Headers::new()).is_ok());
        for bad in ["c", "/p", "c/", "c//p", "c/p?x", "c/p&x"] {
            assert_eq!(check_put_header(&h(bad)).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn etag_is_md5_of_the_segment_etags() {
        // md5("") for no segments; md5("ab") for segments "a" and "b".
        assert_eq!(etag(&[]), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(etag(&[seg("x", "a", 1), seg("y", "\"b\"", 1)]), "187ef4436122d1cc2f40dc2b92f0eba0");
        let rows = br#"[{"name":"p/1","hash":"h1","bytes":10,"content_type":"x","last_modified":"t"}]"#;
        assert_eq!(parse_listing(rows).unwrap(), vec![seg("p/1", "h1", 10)]);
        assert!(parse_listing(b"{}").is_err());
    }

    #[test]
    fn ranges_follow_swob_and_swifts_dlo_rules() {
        let page = vec![seg("a", "h", 10); 5];
        let r = |v: &str, complete: bool| match wanted(Some(v), &page, complete) {
            Want::Whole => "whole".to_string(),
            Want::Range { first, last, total } => format!("{first}-{last}/{total}"),
            Want::Unsatisfiable { total } => format!("416 {total:?}"),
        };
        assert_eq!(r("bytes=8-32", true), "8-32/50");
        assert_eq!(r("bytes=47-47", true), "47-47/50");
        assert_eq!(r("bytes=-5", true), "45-49/50");
        assert_eq!(r("bytes=40-", true), "40-49/50");
        assert_eq!(r("bytes=45-100", true), "45-49/50");
        assert_eq!(r("bytes=50-56", true), "416 Some(50)");
        assert_eq!(r("bytes=0-4,10-14", true), "whole");
        assert_eq!(r("bytes=5-1", true), "whole");
        assert_eq!(r("items=0-4", true), "whole");
        // An incomplete first page: only ranges ending inside it.
        assert_eq!(r("bytes=8-32", false), "8-32/50");
        assert_eq!(r("bytes=-5", false), "whole");
        assert_eq!(r("bytes=8-", false), "whole");
        assert_eq!(r("bytes=60-70", false), "whole");
    }

    #[test]
    fn conditions_use_the_dlo_etag_and_manifest_date() {
        let h = |k: &str, v: &str| -> Headers { [(k.to_string(), v.to_string())].into_iter().collect() };
        let lm = http::date::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(lm, Some(784111777));
        assert_eq!(condition(&h("If-Match", "\"e\""), "e", lm), None);
        assert_eq!(condition(&h("If-Match", "not-e"), "e", lm), Some(412));
        assert_eq!(condition(&h("If-Match", "*"), "e", lm), None);
        assert_eq!(condition(&h("If-None-Match", "e"), "e", lm), Some(304));
        assert_eq!(condition(&h("If-None-Match", "x"), "e", lm), None);
        assert_eq!(condition(&h("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"), "e", lm), Some(304));
        assert_eq!(condition(&h("If-Modified-Since", "Sat, 05 Nov 1994 08:49:37 GMT"), "e", lm), None);
        assert_eq!(condition(&h("If-Unmodified-Since", "Sat, 05 Nov 1994 08:49:37 GMT"), "e", lm), Some(412));
        assert_eq!(condition(&h("If-Modified-Since", "garbage"), "e", lm), None);
    }
}
