//! Server-side copy (Swift's `copy` middleware, core in Swift's proxy).
//!
//! In the pipeline in front of the object controller: a request that
//! [`is_copy`] comes to [`handle`], which reads the source through
//! [`getter`] (following symlinks, a DLO's segments through
//! [`dlo::open`]) and writes the destination with [`obj::store`], the
//! object PUT's own replicated write. So copy uses the object controller,
//! which knows nothing of copies.
//!
//! * `PUT` with `X-Copy-From: [/]container/object` (and optionally
//!   `X-Copy-From-Account`) reads the source and streams it into a normal
//!   replicated PUT of the request's object.
//! * `COPY` with `Destination: [/]container/object` (and optionally
//!   `Destination-Account`) is the same PUT to the destination, with the
//!   request's object as the source.
//!
//! The caller must be allowed to GET the source and PUT the destination
//! (checked in that order, after the source is found). A `Range` copies
//! that part of the source (a single range; the copy gets its own ETag).
//! The destination gets the source's user metadata (unless
//! `X-Fresh-Metadata: true`), sysmeta, `X-Delete-At` and Content-Type,
//! each overridden by the request's own headers, and the source's ETag
//! (so the object servers verify the copied bytes). The answer carries
//! `X-Copied-From`, `X-Copied-From-Account` and
//! `X-Copied-From-Last-Modified`. A bad header is 412, a body 400, a
//! missing source 404. The source is read like a GET in a green thread
//! ([`getter::pull`]), so a source node failing mid-body is
//! replaced as for a GET. A DLO manifest source copies its concatenation
//! ([`dlo::open`]; 413 past one listing page, as Swift), or with
//! `?multipart-manifest=get` the manifest itself, `X-Object-Manifest`
//! included. A symlink source copies its target, or with `?symlink=get`
//! the link itself (made again as a link PUT: [`symlink::copy_link`]).

use crate::app::App;
use crate::config::parse_bool;
use crate::constraints::Checks;
use crate::constraints::{parse_account, parse_path};
use crate::controllers::base::{authorize_as, backend_headers, Resource};
use crate::controllers::{getter, obj};
use crate::error::{Error, Result};
use crate::middleware::{dlo, symlink};
use common::percent::quote;
use http::{Headers, Request, Response};

/// Headers of the copy request that are about the copy, not the object.
const COPY_HEADERS: [&str; 8] = [
    "X-Copy-From",
    "X-Copy-From-Account",
    "Destination",
    "Destination-Account",
    "X-Fresh-Metadata",
    "X-Newest",
    "Range",
    "Etag",
];

/// The destination's headers: the request's (`request`, already filtered
/// for the backend), plus what the source (`source`, its backend answer)
/// carries over where the request does not set it: user metadata unless
/// `fresh`, sysmeta, `X-Delete-At` unless `fresh`, and Content-Type.
pub fn sink_headers(request: &Headers, source: &Headers, fresh: bool) -> Headers {
    let mut h = request.clone();
    for k in COPY_HEADERS {
        h.remove(k);
    }
    for (k, v) in source.iter() {
        let n = k.to_ascii_lowercase();
        let user = n.starts_with("x-object-meta-") || n == "x-delete-at";
        let always =
            n.starts_with("x-object-sysmeta-") || n.starts_with("x-object-transient-sysmeta-") || n == "content-type";
        if ((user && !fresh) || always) && !request.contains(k) {
            h.set(k, v);
        }
    }
    h
}

fn target_for(ctx: &App, req: &Request<'_>, t: &Resource, account: String, c: String, o: String) -> Result<Resource> {
    ctx.conf().constraints.check_names(&account, Some(&c), Some(&o))?;
    let identity = ctx.auth().identify_request(req.headers(), &account)?;
    Ok(Resource {
        account,
        container: Some(c),
        object: Some(o),
        query: String::new(),
        identity,
        trans_id: t.trans_id.clone(),
        cors: None,
    })
}

/// Whether a request is a copy: `COPY`, or `PUT` with a non-empty
/// `X-Copy-From`.
pub fn is_copy(req: &Request<'_>) -> bool {
    match req.method() {
        "COPY" => true,
        "PUT" => req.header("X-Copy-From").is_some_and(|v| !v.is_empty()),
        _ => false,
    }
}

/// A copy request ([`is_copy`]) for the object `t`: its names are checked
/// first, as the object controller checks every request's, then
/// [`put_from`] or [`copy`].
pub fn handle(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    obj::check_names(ctx, t)?;
    match req.method() {
        "COPY" => copy(ctx, req, resp, t),
        _ => put_from(ctx, req, resp, t),
    }
}

/// `PUT` with `X-Copy-From`: `t` is the destination.
pub fn put_from(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    let (c, o) = parse_path(req.header("X-Copy-From").unwrap_or_default(), "X-Copy-From")?;
    let account = match req.header("X-Copy-From-Account") {
        Some(a) => parse_account(a)?,
        None => t.account.clone(),
    };
    let src = target_for(ctx, req, t, account, c, o)?;
    run(ctx, req, resp, &src, t)
}

/// `COPY` with `Destination`: `t` is the source.
pub fn copy(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    let dest = req.header("Destination").filter(|v| !v.is_empty());
    let dest = dest.ok_or_else(|| Error::PreconditionFailed("You must specify a Destination header".into()))?;
    let (c, o) = parse_path(dest, "Destination")?;
    let account = match req.header("Destination-Account") {
        Some(a) => parse_account(a)?,
        None => t.account.clone(),
    };
    let dst = target_for(ctx, req, t, account, c, o)?;
    run(ctx, req, resp, t, &dst)
}

fn source_read(e: std::io::Error) -> Error {
    Error::Unavailable(format!("copy source read: {e}"))
}

/// The copy's source, read as a GET of its newest replica (Swift's copy
/// always asks for the newest), following symlinks to their target
/// unless the copy is of the link itself (`link_get`).
fn read_source(
    ctx: &App,
    req: &Request<'_>,
    src: &Resource,
    sh: &mut Headers,
    link_get: bool,
) -> Result<getter::Pulled> {
    if link_get {
        return getter::pull(ctx, src, sh, true);
    }
    sh.set("X-Backend-Ignore-Range-If-Metadata-Present", symlink::TARGET);
    let mut follow = symlink::Follow::new(ctx.conf().symloop_max);
    let mut next: Option<Resource> = None;
    loop {
        let at = next.as_ref().unwrap_or(src);
        if next.is_some() {
            authorize_as(ctx, req, at, "GET", false).map_err(|e| follow.locate(e))?;
        }
        let source = getter::pull(ctx, at, sh, true).map_err(|e| follow.locate(e))?;
        if !symlink::is_link(&source.headers) {
            follow.check(&source.headers)?;
            return Ok(source);
        }
        next = Some(follow.next(at, &source.headers)?);
    }
}

fn run(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, src: &Resource, dst: &Resource) -> Result<()> {
    if req.body.remaining().is_some_and(|n| n > 0) {
        return Err(Error::bad_request("Copy requests require a zero byte body"));
    }
    // The source is read before the destination is authorized, as
    // Swift's copy middleware does (a missing source is 404 even where
    // the destination would be 403).
    authorize_as(ctx, req, src, "GET", false)?;
    let request = backend_headers(req, dst);
    let fresh = request.get("X-Fresh-Metadata").is_some_and(|v| parse_bool(v) == Some(true));
    let mut sh = Headers::new();
    for k in ["X-Trans-Id", "User-Agent", "Connection", "X-Newest", "Range"] {
        if let Some(v) = request.get(k) {
            sh.set(k, v);
        }
    }
    let max = ctx.conf().constraints.max_file_size;
    // `?multipart-manifest=get` copies a DLO manifest itself (with its
    // `X-Object-Manifest`); otherwise a manifest's concatenation is copied.
    let manifest_get = dlo::wants_manifest(&src.query) || dlo::wants_manifest(&dst.query);
    // The same for a symlink and `?symlink=get`.
    let link_get = symlink::wants_link(&src.query) || symlink::wants_link(&dst.query);
    let source = read_source(ctx, req, src, &mut sh, link_get)?;
    if !matches!(source.status, 200 | 206) {
        return Err(Error::Unavailable(format!("copy source answered {}", source.status)));
    }
    authorize_as(ctx, req, dst, "PUT", true)?;
    let sh = &source.headers;
    let last_modified = sh.get("Last-Modified").map(String::from);
    let manifest = sh.get("X-Object-Manifest").map(String::from);
    let (status, mut out) = match manifest {
        Some(_) if !manifest_get => {
            drop(source.body);
            let (len, mut body) = dlo::open(ctx, req, src, sh)?;
            if len > max {
                return Err(Error::TooLarge("Source object too large".into()));
            }
            let h = sink_headers(&request, sh, fresh);
            ctx.conf().constraints.check_metadata(&h, "object")?;
            obj::store(ctx, dst, h, Some(len), &mut body, source_read)?
        }
        manifest => {
            let len: Option<u64> = sh.get("Content-Length").and_then(|v| v.trim().parse().ok());
            if len.is_some_and(|n| n > max) {
                return Err(Error::TooLarge("Source object too large".into()));
            }
            let mut h = sink_headers(&request, sh, fresh);
            // The source's ETag verifies a whole copy; a range has its own.
            if let Some(etag) = sh.get("ETag").filter(|_| source.status == 200) {
                h.set("Etag", etag.trim_matches('"'));
            }
            if let Some(m) = manifest {
                h.set("X-Object-Manifest", m);
            }
            if link_get && symlink::is_link(sh) {
                symlink::copy_link(ctx, req, dst, sh, &mut h)?;
            }
            ctx.conf().constraints.check_metadata(&h, "object")?;
            let mut body = source.body;
            obj::store(ctx, dst, h, len, &mut body, source_read)?
        }
    };
    let (c, o) = (src.container.as_deref().unwrap_or_default(), src.object.as_deref().unwrap_or_default());
    out.set("X-Copied-From", quote(&format!("{c}/{o}")));
    out.set("X-Copied-From-Account", quote(&src.account));
    if let Some(lm) = last_modified {
        out.set("X-Copied-From-Last-Modified", lm);
    }
    resp.send(status, &out, b"").map_err(|_| Error::ClientDisconnect)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn metadata_is_carried_and_overridden() {
        let source = headers(&[
            ("Content-Type", "image/png"),
            ("X-Object-Meta-Color", "blue"),
            ("X-Object-Meta-Size", "big"),
            ("X-Object-Sysmeta-Crypto", "k"),
            ("X-Delete-At", "9999999999"),
            ("X-Backend-Timestamp", "1.00000"),
            ("Etag", "\"abc\""),
            ("Content-Length", "5"),
        ]);
        let request = headers(&[("X-Object-Meta-Color", "red"), ("X-Copy-From", "/c/o"), ("X-Newest", "true")]);
        let h = sink_headers(&request, &source, false);
        assert_eq!(h.get("x-object-meta-color"), Some("red"));
        assert_eq!(h.get("x-object-meta-size"), Some("big"));
        assert_eq!(h.get("content-type"), Some("image/png"));
        assert_eq!(h.get("x-object-sysmeta-crypto"), Some("k"));
        assert_eq!(h.get("x-delete-at"), Some("9999999999"));
        for gone in ["x-backend-timestamp", "etag", "content-length", "x-copy-from", "x-newest"] {
            assert_eq!(h.get(gone), None, "{gone}");
        }

        let request = headers(&[("Content-Type", "text/plain"), ("X-Object-Meta-New", "1")]);
        let h = sink_headers(&request, &source, true);
        assert_eq!((h.get("x-object-meta-size"), h.get("x-object-meta-color")), (None, None));
        assert_eq!(h.get("x-object-meta-new"), Some("1"));
        assert_eq!(h.get("content-type"), Some("text/plain"));
        assert_eq!(h.get("x-object-sysmeta-crypto"), Some("k"));
        assert_eq!(h.get("x-delete-at"), None);
    }
}
