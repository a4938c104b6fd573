//! The object controller (Swift's `proxy/controllers/obj.py`).
//!
//! * GET/HEAD try the nodes in order (primaries, then handoffs) and
//!   stream the first good answer; a 404 from a handoff that never held
//!   the object counts as "unavailable", so missing primaries give 503;
//!   a body that breaks mid-way resumes on the next node ([`getter`]).
//! * PUT connects to every primary at once with `Expect: 100-continue`
//!   (a failed primary is replaced by the next handoff), then streams the
//!   body to all of them through one green thread and a bounded queue per
//!   backend ([`putter`]), and succeeds on a quorum.
//! * DELETE and POST go to every primary at once (`make_requests`).
//! * `X-Newest` on GET/HEAD HEADs every primary first and reads from the
//!   one with the newest `X-Timestamp` ([`getter`]).
//!
//! The object middleware and this controller:
//!
//! * Server-side copy (`X-Copy-From`, `COPY`) is the copy middleware's
//!   ([`crate::middleware::copy`]): the pipeline sends a copy there, not
//!   here, and it writes the destination with [`store`].
//! * DLO ([`crate::middleware::dlo`]) and symlinks
//!   ([`crate::middleware::symlink`]) are called from here, at the points
//!   where Swift's middleware see the request or the app's answer: a
//!   GET/HEAD asks the object server to answer a manifest or a link whole,
//!   hands a manifest to [`dlo::respond`] (unless
//!   `?multipart-manifest=get`) and follows links with a
//!   [`symlink::Follow`] (unless `?symlink=get`); a PUT checks
//!   `X-Object-Manifest` and makes a link's sysmeta; a POST to a link is
//!   307. Swift's middleware wrap the app and rewrite its answer; here an
//!   object's answer streams from its node to the client as it comes, so
//!   the controller asks them before it starts the answer. They use the
//!   controllers' shared parts ([`crate::controllers::base`],
//!   [`getter`]), never this module, so no import cycle.

use crate::app::App;
use crate::constraints::Checks;
use crate::controllers::backend::{self, best_answer};
use crate::controllers::base::{
    authorize, backend_headers, client_headers, container_info, relay, trans_headers, Resource,
};
use crate::controllers::getter;
use crate::controllers::putter;
use crate::error::{Error, Result};
use crate::middleware::dlo;
use crate::middleware::symlink;
use crate::middleware::tempauth::Access;
use common::percent::quote;
use common::Timestamp;
use http::{Headers, Request, Response};
use std::io::Read;

/// An object request. A copy (`COPY`, or `PUT` with `X-Copy-From`) never
/// gets here: the pipeline hands it to the copy middleware, which calls
/// [`store`] (COPY is still named in the 405's `Allow`, as Swift's).
pub fn handle(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    check_names(ctx, t)?;
    match req.method() {
        "GET" | "HEAD" => get(ctx, req, resp, t),
        "PUT" => put(ctx, req, resp, t),
        "DELETE" => delete(ctx, req, resp, t),
        "POST" => post(ctx, req, resp, t),
        _ => Err(Error::MethodNotAllowed("GET, HEAD, PUT, POST, DELETE, COPY")),
    }
}

/// The account, container and object names within the constraints (400
/// otherwise): the first check of every object request, copies included.
pub fn check_names(ctx: &App, t: &Resource) -> Result<()> {
    let object = t.object.as_deref().unwrap_or_default();
    let container = t.container.as_deref().unwrap_or_default();
    ctx.conf().constraints.check_names(&t.account, Some(container), Some(object))
}

/// Per-replica container placement (Swift's `_get_update_target` /
/// `_backend_requests`): replica `i` tells container replica `i`.
fn container_updates(ctx: &App, t: &Resource, replicas: usize) -> Result<Vec<Vec<(String, String)>>> {
    let container = t.container.as_deref();
    let (cpart, cnodes) = ctx
        .container_ring()
        .nodes(&t.account, container, None)
        .map_err(|e| Error::Unavailable(format!("container ring: {e}")))?;
    if cnodes.is_empty() {
        return Err(Error::Unavailable("container ring has no nodes".into()));
    }
    Ok((0..replicas)
        .map(|i| {
            let n = &cnodes[i % cnodes.len()];
            vec![
                ("X-Container-Host".to_string(), format!("{}:{}", n.ip, n.port)),
                ("X-Container-Device".to_string(), n.device.clone()),
                ("X-Container-Partition".to_string(), cpart.to_string()),
            ]
        })
        .collect())
}

fn object_part(ctx: &App, t: &Resource) -> Result<u32> {
    ctx.object_ring()
        .partition(&t.account, t.container.as_deref(), t.object.as_deref())
        .map_err(|e| Error::bad_request(e.to_string()))
}

/// Swift's `X-Newest`: a true value asks every primary and reads the newest.
pub fn wants_newest(h: &Headers) -> bool {
    h.get("X-Newest").is_some_and(|v| crate::config::parse_bool(v) == Some(true))
}

/// What a GET/HEAD found on the first good node.
enum Found {
    /// An object, relayed to the client.
    Sent,
    /// A DLO manifest (its backend answer's headers).
    Manifest(Headers),
    /// 416 (its headers and body): maybe a range over a manifest.
    Unsatisfiable(Headers, Vec<u8>),
    /// A symlink to follow (its backend answer's headers).
    Link(Headers),
}

/// GET/HEAD, following symlinks ([`crate::middleware::symlink`]) unless
/// `?symlink=get`.
fn get(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    if symlink::wants_link(&t.query) {
        return get_one(ctx, req, resp, t, None).map(|_| ());
    }
    let mut follow = symlink::Follow::new(ctx.conf().symloop_max);
    let mut next: Option<Resource> = None;
    loop {
        let at = next.as_ref().unwrap_or(t);
        match get_one(ctx, req, resp, at, Some(&follow)) {
            Ok(None) => return Ok(()),
            Ok(Some(link)) => next = Some(follow.next(at, &link)?),
            Err(e) => return Err(follow.locate(e)),
        }
    }
}

/// GET/HEAD of `t` itself; `Some` with a link's headers when `follow`
/// says to follow links (the answer then is the target's).
fn get_one(
    ctx: &App,
    req: &mut Request<'_>,
    resp: &mut Response<'_>,
    t: &Resource,
    follow: Option<&symlink::Follow>,
) -> Result<Option<Headers>> {
    let owner = authorize(ctx, req, t, false)? == Access::Owner;
    let method = req.method().to_string();
    let mut h = backend_headers(req, t);
    let dlo = !dlo::wants_manifest(&t.query);
    // Swift's hint: an object server that knows it answers a manifest or
    // a link whole, not the client's range.
    let ignore_range: Vec<&str> = [(dlo, "X-Object-Manifest"), (follow.is_some(), symlink::TARGET)]
        .into_iter()
        .filter_map(|(on, k)| on.then_some(k))
        .collect();
    if !ignore_range.is_empty() {
        h.set("X-Backend-Ignore-Range-If-Metadata-Present", ignore_range.join(","));
    }
    let chunk = ctx.conf().client_chunk_size;
    let newest = wants_newest(&h);
    let found = getter::fetch(ctx, t, &method, &h, newest, |node, mut r, mut g| {
        if follow.is_some() && symlink::is_link(&r.head.headers) {
            return Ok(Found::Link(r.head.headers.clone()));
        }
        if let Some(f) = follow {
            f.check(&r.head.headers)?;
        }
        if dlo && r.header("X-Object-Manifest").is_some() {
            return Ok(Found::Manifest(r.head.headers.clone()));
        }
        if dlo && r.status() == 416 {
            let body = r.read_all(backend::MAX_ANSWER_BODY).unwrap_or_default();
            return Ok(Found::Unsatisfiable(r.head.headers.clone(), body));
        }
        let mut out = client_headers(&r.head.headers, t, owner);
        crate::middleware::tempurl::decorate_success(t, r.status(), &mut out);
        match follow {
            Some(f) => f.add_location(&mut out),
            None => symlink::show(&r.head.headers, &mut out),
        }
        let len = r.header("Content-Length").and_then(|v| v.trim().parse().ok());
        let len = if method == "HEAD" { len } else { len.or(r.body.remaining()) };
        resp.start(r.status(), &out, len).map_err(|_| Error::ClientDisconnect)?;
        if method == "GET" {
            getter::relay_body(&mut g, node, r, resp, chunk)?;
        }
        resp.finish().map_err(|_| Error::ClientDisconnect)?;
        Ok(Found::Sent)
    })?;
    let located = |mut m: Headers| {
        if let Some(f) = follow {
            f.add_location(&mut m);
        }
        m
    };
    match found {
        Found::Sent => Ok(None),
        Found::Link(link) => Ok(Some(link)),
        Found::Manifest(m) => dlo::respond(ctx, req, resp, t, &located(m), owner).map(|_| None),
        Found::Unsatisfiable(headers, body) => {
            // The range may be past a manifest's own (short) body: look
            // at the object without it.
            for k in ["Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"] {
                h.remove(k);
            }
            let m = getter::fetch(ctx, t, "HEAD", &h, newest, |_, r, _| Ok(r.head.headers.clone()));
            match m {
                Ok(m) if m.contains("X-Object-Manifest") => {
                    dlo::respond(ctx, req, resp, t, &located(m), owner).map(|_| None)
                }
                m => {
                    // Swift's 416 keeps the object's headers (ETag,
                    // Last-Modified, metadata) beside `Content-Range`.
                    let mut headers = located(headers);
                    for (k, v) in m.iter().flat_map(|m| m.iter()) {
                        if !headers.contains(k) && !k.eq_ignore_ascii_case("Content-Length") {
                            headers.set(k, v);
                        }
                    }
                    let body = if method == "HEAD" { Vec::new() } else { body };
                    relay(resp, &backend::Answer { status: 416, headers, body }, t, owner)
                        .map_err(|_| Error::ClientDisconnect)
                        .map(|_| None)
                }
            }
        }
    }
}

/// Content-Type from the name's extension, for a PUT without one
/// (Python's `mimetypes`, as Swift).
pub fn guess_type(name: &str) -> &'static str {
    crate::mimetypes::guess(name).unwrap_or("application/octet-stream")
}

/// Swift's `normalize_delete_at_timestamp` of an integer header: any
/// integer (Python's `int`, so signs and huge values), clamped to
/// `0..=9999999999` (the expirer's 10-digit names).
fn normalize_delete_at(v: &str) -> Option<u64> {
    let v = v.trim();
    let (negative, digits) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if negative {
        return Some(0);
    }
    const MAX: u64 = 9_999_999_999;
    let significant = digits.trim_start_matches('0');
    Some(if significant.len() > 10 { MAX } else { significant.parse::<u64>().unwrap_or(0).min(MAX) })
}

/// `X-Delete-After` becomes `X-Delete-At`; both must be in the future.
/// A far-future `X-Delete-At` is capped, not refused (Swift).
fn delete_at(h: &mut Headers, now: &Timestamp) -> Result<()> {
    if let Some(after) = h.remove("X-Delete-After") {
        let secs: i64 = after.trim().parse().map_err(|_| Error::bad_request("Non-integer X-Delete-After"))?;
        let at = (now.secs() as i64).saturating_add(secs).clamp(0, 9_999_999_999);
        if at as u64 <= now.secs() {
            return Err(Error::bad_request("X-Delete-After in past"));
        }
        h.set("X-Delete-At", format!("{at:010}"));
    }
    if let Some(at) = h.get("X-Delete-At") {
        let at = normalize_delete_at(at).ok_or_else(|| Error::bad_request("Non-integer X-Delete-At"))?;
        if at <= now.secs() {
            return Err(Error::bad_request("X-Delete-At in past"));
        }
        h.set("X-Delete-At", format!("{at:010}"));
    }
    Ok(())
}

fn put(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    authorize(ctx, req, t, true)?;
    let link = req.header("X-Symlink-Target").is_some();
    if link {
        symlink::check_put_body(req)?;
    }
    check_if_none_match(req.header("If-None-Match"))?;
    dlo::check_put_header(req.headers())?;
    let c = &ctx.conf().constraints;
    c.check_object_size(req.headers())?;
    c.check_metadata(req.headers(), "object")?;
    let mut h = backend_headers(req, t);
    if link {
        symlink::prepare_put(ctx, req, t, &mut h)?;
    }
    let len = match req.body.remaining() {
        Some(n) if req.header("Transfer-Encoding").is_none() => Some(n),
        _ => None,
    };
    let (status, out) = store(ctx, t, h, len, &mut req.body, Error::client_read)?;
    resp.send(status, &out, b"").map_err(|_| Error::ClientDisconnect)
}

/// A DELETE's `X-If-Delete-At` must be an integer (Swift: 400).
fn check_if_delete_at(v: Option<&str>) -> Result<()> {
    match v {
        Some(v) if v.trim().parse::<i64>().is_err() => Err(Error::bad_request("Bad X-If-Delete-At header value")),
        _ => Ok(()),
    }
}

/// A PUT's `If-None-Match` may only be `*` (Swift: 400 otherwise).
fn check_if_none_match(v: Option<&str>) -> Result<()> {
    match v {
        Some(v) if !v.split(',').any(|e| e.trim() == "*") => Err(Error::bad_request("If-None-Match only supports *")),
        _ => Ok(()),
    }
}

/// The replicated PUT of `t`: backend headers `h`, the body (of `len`
/// bytes if known) read from `body` and framed by the putter. Returns
/// the status by quorum and the client's headers (ETag, Last-Modified).
pub fn store(
    ctx: &App,
    t: &Resource,
    mut h: Headers,
    len: Option<u64>,
    body: &mut dyn Read,
    read_err: fn(std::io::Error) -> Error,
) -> Result<(u16, Headers)> {
    if container_info(ctx, t).status / 100 != 2 {
        return Err(Error::NotFound);
    }
    let ts = Timestamp::now();
    delete_at(&mut h, &ts)?;
    let detect = h.remove("X-Detect-Content-Type").is_some_and(|v| crate::config::parse_bool(&v) == Some(true));
    if detect || !h.contains("Content-Type") {
        h.set("Content-Type", guess_type(t.object.as_deref().unwrap_or_default()));
    }
    h.set("X-Timestamp", ts.internal());
    // The putter frames the body (putter.rs).
    h.remove("Content-Length");
    let part = object_part(ctx, t)?;
    let replicas = ctx.object_ring().part_nodes(part).len();
    let updates = container_updates(ctx, t, replicas)?;
    let answers = putter::put(ctx, part, &quote(&t.path()), &h, &updates, len, body, read_err)?;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    let best = backend::best_status(&statuses, replicas)
        .ok_or_else(|| Error::Unavailable(format!("object PUT: {statuses:?}")))?;
    let mut out = Headers::new();
    if let Some(a) = answers.iter().find(|a| a.status == best) {
        if let Some(etag) = a.headers.get("ETag") {
            out.set("Etag", etag.trim_matches('"'));
        }
    }
    out.set("Last-Modified", http::date::http_date(ts.ceil_secs()));
    out.set("Content-Type", "text/html; charset=UTF-8");
    trans_headers(&mut out, &t.trans_id);
    if let Some(g) = &t.cors {
        g.decorate(&mut out);
    }
    Ok((best, out))
}

/// A bodiless write of `t` (DELETE, POST) to every replica of `part`,
/// replica `i` with `updates[i]` (its container-update headers).
fn write_replicas(
    ctx: &App,
    part: u32,
    method: &str,
    t: &Resource,
    h: &Headers,
    updates: &[Vec<(String, String)>],
) -> Vec<backend::Answer> {
    let per_replica = |i: usize| updates[i].clone();
    backend::make_requests(ctx, ctx.object_ring(), part, method, &quote(&t.path()), h, &per_replica)
}

fn delete(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    let owner = authorize(ctx, req, t, true)? == Access::Owner;
    check_if_delete_at(req.header("X-If-Delete-At"))?;
    let part = object_part(ctx, t)?;
    let replicas = ctx.object_ring().part_nodes(part).len();
    let updates = container_updates(ctx, t, replicas)?;
    let mut h = backend_headers(req, t);
    h.set("X-Timestamp", Timestamp::now().internal());
    let answers = write_replicas(ctx, part, "DELETE", t, &h, &updates);
    let mut a = best_answer(answers, replicas, "object DELETE")?;
    if a.headers.get("Content-Type").is_none() {
        // swob's default, which Swift's DELETE answers carry.
        a.headers.set("Content-Type", "text/html; charset=UTF-8");
    }
    relay(resp, &a, t, owner).map_err(|_| Error::ClientDisconnect)
}

fn post(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    let owner = authorize(ctx, req, t, true)? == Access::Owner;
    symlink::check_post(req.headers())?;
    ctx.conf().constraints.check_metadata(req.headers(), "object")?;
    let part = object_part(ctx, t)?;
    let replicas = ctx.object_ring().part_nodes(part).len();
    let ts = Timestamp::now();
    let mut h = backend_headers(req, t);
    delete_at(&mut h, &ts)?;
    h.set("X-Timestamp", ts.internal());
    let updates = container_updates(ctx, t, replicas)?;
    let answers = write_replicas(ctx, part, "POST", t, &h, &updates);
    let a = best_answer(answers, replicas, "object POST")?;
    if a.status / 100 == 2 && symlink::is_link(&a.headers) {
        return symlink::redirect_post(resp, &a, t);
    }
    relay(resp, &a, t, owner).map_err(|_| Error::ClientDisconnect)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_types_and_dates() {
        assert_eq!(guess_type("a/b.JPG"), "image/jpeg");
        assert_eq!(guess_type("noext"), "application/octet-stream");
    }

    #[test]
    fn delete_if_delete_at_must_be_an_integer() {
        assert!(check_if_delete_at(None).is_ok());
        assert!(check_if_delete_at(Some("1700000000")).is_ok());
        let e = check_if_delete_at(Some("bad")).unwrap_err();
        assert_eq!((e.status(), e.to_string()), (400, "Bad X-If-Delete-At header value".to_string()));
    }

    #[test]
    fn put_if_none_match_supports_only_star() {
        assert!(check_if_none_match(None).is_ok());
        assert!(check_if_none_match(Some("*")).is_ok());
        let e = check_if_none_match(Some("somethingelse")).unwrap_err();
        assert_eq!((e.status(), e.to_string()), (400, "If-None-Match only supports *".to_string()));
    }

    #[test]
    fn delete_after_becomes_delete_at() {
        let now = Timestamp::from_secs(1000);
        let mut h = Headers::new();
        h.set("X-Delete-After", "60");
        delete_at(&mut h, &now).unwrap();
        assert_eq!(h.get("X-Delete-At"), Some("0000001060"), "Swift's 10 digits");
        h.set("X-Delete-At", "999");
        assert_eq!(delete_at(&mut h, &now).unwrap_err().status(), 400);
        h.set("X-Delete-At", "1".repeat(100));
        delete_at(&mut h, &now).unwrap();
        assert_eq!(h.get("X-Delete-At"), Some("9999999999"));
        for bad in ["1.5", "", "x", "-"] {
            h.set("X-Delete-At", bad);
            assert_eq!(delete_at(&mut h, &now).unwrap_err().to_string(), "Non-integer X-Delete-At", "{bad:?}");
        }
        h.set("X-Delete-At", "-5");
        assert_eq!(delete_at(&mut h, &now).unwrap_err().to_string(), "X-Delete-At in past");
        h.remove("X-Delete-At");
        h.set("X-Delete-After", "-100");
        assert_eq!(delete_at(&mut h, &now).unwrap_err().to_string(), "X-Delete-After in past");
    }
}
