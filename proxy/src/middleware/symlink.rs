//! Symlinks (Swift's `symlink` middleware).
//!
//! A PUT with `X-Symlink-Target: <container>/<object>` (and optionally
//! `X-Symlink-Target-Account`) makes a zero-byte object, the link, whose
//! target is kept in sysmeta:
//!
//! ```text
//! X-Symlink-Target          -> X-Object-Sysmeta-Symlink-Target          (%-encoded c/o)
//! X-Symlink-Target-Account  -> X-Object-Sysmeta-Symlink-Target-Account  (%-encoded)
//! X-Symlink-Target-Etag     -> X-Object-Sysmeta-Symlink-Target-Etag     (static links)
//!                              X-Object-Sysmeta-Symlink-Target-Bytes    (the target's length)
//! ```
//!
//! A static link (`X-Symlink-Target-Etag`) is made only if a HEAD of the
//! target, as the caller, finds that ETag (409 otherwise). The
//! container row's ETag is `X-Object-Sysmeta-Container-Update-Override-Etag`,
//! `<md5 of nothing>; symlink_target=<c/o>[; symlink_target_account=<a>]
//! [; symlink_target_etag=<e>; symlink_target_bytes=<n>]`, which the
//! container listing turns into `symlink_path` (and `symlink_etag`,
//! `symlink_bytes`): `db::format::RowEtag` in the container server.
//!
//! * GET/HEAD follow links, authorizing each target as the caller, up to
//!   `symloop_max` in a row (409 past it); the answer is the target's,
//!   with `Content-Location: /v1/<account>/<container>/<object>` of the
//!   last target (also on its errors: 404, 403, 412). A static link whose
//!   target's ETag changed is 409. `?symlink=get` answers the link itself,
//!   its target shown as `X-Symlink-Target` (and `-Account`, `-Etag`,
//!   `-Bytes`).
//! * POST to a link changes the link's metadata and answers 307 with the
//!   target as `Location`; a POST with `X-Symlink-Target` is 400.
//! * COPY (and PUT with `X-Copy-From`) copies the target, or with
//!   `?symlink=get` the link, validated as a new link PUT.
//!
//! The object controller calls in (a GET/HEAD follows links with a
//! [`Follow`], a link PUT is made by [`prepare_put`], a POST to a link
//! is [`redirect_post`]; `controllers::obj` says why it calls, rather
//! than being wrapped), and so does the copy middleware; targets are
//! read through `controllers::getter`.

use crate::app::App;
use crate::constraints::{parse_account, parse_path};
use crate::controllers::backend::Answer;
use crate::controllers::base::{authorize_as, trans_headers, Resource};
use crate::controllers::getter;
use crate::endpoint::unquote;
use crate::error::{Error, Result};
use common::percent::quote;
use http::{Headers, Request, Response};
use std::io::Read;

pub const TARGET: &str = "X-Object-Sysmeta-Symlink-Target";
const TARGET_ACCOUNT: &str = "X-Object-Sysmeta-Symlink-Target-Account";
const TARGET_ETAG: &str = "X-Object-Sysmeta-Symlink-Target-Etag";
const TARGET_BYTES: &str = "X-Object-Sysmeta-Symlink-Target-Bytes";
const OVERRIDE_ETAG: &str = "X-Object-Sysmeta-Container-Update-Override-Etag";
const MD5_OF_EMPTY: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// The client's names of the link's sysmeta, pairwise.
const SHOWN: [(&str, &str); 4] = [
    ("X-Symlink-Target", TARGET),
    ("X-Symlink-Target-Account", TARGET_ACCOUNT),
    ("X-Symlink-Target-Etag", TARGET_ETAG),
    ("X-Symlink-Target-Bytes", TARGET_BYTES),
];

/// Whether a request asks for the link itself (`?symlink=get`).
pub fn wants_link(query: &str) -> bool {
    query.split('&').any(|p| p == "symlink=get")
}

/// Whether a backend answer is a link.
pub fn is_link(h: &Headers) -> bool {
    h.contains(TARGET)
}

/// The link's target for its client (`?symlink=get`): its sysmeta under
/// the `X-Symlink-*` names.
pub fn show(backend: &Headers, client: &mut Headers) {
    for (user, sysmeta) in SHOWN {
        if let Some(v) = backend.get(sysmeta) {
            client.set(user, v);
        }
    }
}

/// The link's answer ETag: its static target's, else its own.
fn link_etag(h: &Headers) -> Option<&str> {
    h.get(TARGET_ETAG).or_else(|| h.get("ETag")).map(common::etag::normalize_etag)
}

/// `/v1/<account>/<container>/<object>`, %-encoded: where a link points.
fn location(t: &Resource) -> String {
    quote(&format!("/v1{}", t.path()))
}

/// Following a chain of links for one request.
pub struct Follow {
    max: usize,
    hops: usize,
    /// The ETag the last static link names, if it was static.
    want_etag: Option<String>,
    /// The last target, for `Content-Location`.
    location: Option<String>,
}

impl Follow {
    pub fn new(max: usize) -> Follow {
        Follow { max, hops: 0, want_etag: None, location: None }
    }

    /// The target of the link found at `at` (`link`, its backend
    /// headers), for the same caller: 409 if a static link before it
    /// named another ETag, or past `symloop_max` links.
    pub fn next(&mut self, at: &Resource, link: &Headers) -> Result<Resource> {
        let found = link_etag(link).unwrap_or_default();
        if self.want_etag.as_deref().is_some_and(|want| want != found) {
            return Err(self.locate(Error::LinkConflict("X-Symlink-Target-Etag headers do not match".into())));
        }
        if self.hops >= self.max {
            return Err(Error::LinkConflict(format!(
                "Too many levels of symbolic links, maximum allowed is {}",
                self.max
            )));
        }
        self.hops += 1;
        let (container, object) = parse_path(link.get(TARGET).unwrap_or_default(), "X-Symlink-Target")?;
        let account = match link.get(TARGET_ACCOUNT) {
            Some(a) => unquote(a)?,
            None => at.account.clone(),
        };
        let next = Resource {
            account,
            container: Some(container),
            object: Some(object),
            // As Swift's subrequest: `?multipart-manifest=get` reads a
            // target manifest itself.
            query: at.query.clone(),
            identity: at.identity.clone(),
            trans_id: at.trans_id.clone(),
            cors: at.cors.clone(),
        };
        self.location = Some(location(&next));
        self.want_etag = link.get(TARGET_ETAG).map(|e| common::etag::normalize_etag(e).to_string());
        Ok(next)
    }

    /// Checks the object at the end of the chain against the ETag the
    /// last static link names (409).
    pub fn check(&self, found: &Headers) -> Result<()> {
        let etag = found.get("ETag").map(common::etag::normalize_etag).unwrap_or_default();
        match &self.want_etag {
            Some(want) if !etag.is_empty() && want != etag => Err(self.locate(Error::LinkConflict(format!(
                "Object Etag {} does not match X-Symlink-Target-Etag header {}",
                py_repr(etag),
                py_repr(want)
            )))),
            _ => Ok(()),
        }
    }

    /// Adds `Content-Location` once a link was followed.
    pub fn add_location(&self, h: &mut Headers) {
        if let Some(l) = &self.location {
            h.set("Content-Location", l.clone());
        }
    }

    /// An error of the request with `Content-Location` once a link was
    /// followed.
    pub fn locate(&self, e: Error) -> Error {
        match (&self.location, e) {
            (_, e @ (Error::ClientDisconnect | Error::Located { .. })) | (None, e) => e,
            (Some(l), e) => Error::Located { error: Box::new(e), location: l.clone() },
        }
    }
}

/// Python's `repr` of a plain string, as Swift's 409 body prints ETags.
fn py_repr(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Swift's rule for a link PUT's body: none (400). A chunked body is
/// read for one byte.
pub fn check_put_body(req: &mut Request<'_>) -> Result<()> {
    let empty = match req.body.remaining() {
        Some(n) => n == 0,
        None => req.body.read(&mut [0u8; 1]).map_err(Error::client_read)? == 0,
    };
    if empty {
        Ok(())
    } else {
        Err(Error::bad_request("Symlink requests require a zero byte body"))
    }
}

/// A link PUT to `t`: turns the `X-Symlink-*` headers of `h` (the
/// backend headers) into the link's sysmeta and its container row's
/// ETag; for a static link, HEADs the target as the caller first.
pub fn prepare_put(ctx: &App, req: &Request<'_>, t: &Resource, h: &mut Headers) -> Result<()> {
    let value = h.remove("X-Symlink-Target").unwrap_or_default();
    let form = "X-Symlink-Target header must be of the form <container name>/<object name>";
    if unquote(&value)?.starts_with('/') {
        return Err(Error::PreconditionFailed(form.into()));
    }
    let (container, object) = parse_path(&value, "X-Symlink-Target")?;
    let account = h.remove("X-Symlink-Target-Account").map(|a| parse_account(&a)).transpose()?;
    let target = Resource {
        account: account.clone().unwrap_or_else(|| t.account.clone()),
        container: Some(container),
        object: Some(object),
        query: String::new(),
        identity: t.identity.clone(),
        trans_id: t.trans_id.clone(),
        cors: None,
    };
    if target.path() == t.path() {
        return Err(Error::bad_request("Symlink cannot target itself"));
    }
    let etag = h
        .remove("X-Symlink-Target-Etag")
        .map(|e| common::etag::normalize_etag(&e).to_string())
        .filter(|e| !e.is_empty());
    h.remove("X-Symlink-Target-Bytes");
    if etag.as_deref().is_some_and(|e| e.contains([';', '"', '\\'])) {
        return Err(Error::bad_request("Bad X-Symlink-Target-Etag format"));
    }
    if etag.is_none() && h.get("Content-Type").is_none_or(|v| v.is_empty()) {
        h.set("Content-Type", "application/symlink");
    }
    let path = quote(&format!(
        "{}/{}",
        target.container.as_deref().unwrap_or_default(),
        target.object.as_deref().unwrap_or_default()
    ));
    let mut row = format!("{MD5_OF_EMPTY}; symlink_target={path}");
    h.set(TARGET, path);
    if let Some(a) = &account {
        h.set(TARGET_ACCOUNT, quote(a));
        row.push_str(&format!("; symlink_target_account={}", quote(a)));
    }
    if let Some(etag) = etag {
        let found = head_static(ctx, req, target, &etag)?;
        let bytes = found.get("Content-Length").unwrap_or("0").trim().to_string();
        if h.get("Content-Type").is_none_or(|v| v.is_empty()) {
            h.set("Content-Type", found.get("Content-Type").unwrap_or("application/octet-stream"));
        }
        row.push_str(&format!("; symlink_target_etag={etag}; symlink_target_bytes={bytes}"));
        h.set(TARGET_ETAG, etag);
        h.set(TARGET_BYTES, bytes);
    }
    h.set(OVERRIDE_ETAG, row);
    Ok(())
}

/// The target of a static link being made: HEADed as the caller,
/// following static links only; its headers if it has `etag`.
fn head_static(ctx: &App, req: &Request<'_>, target: Resource, etag: &str) -> Result<Headers> {
    let mut follow = Follow::new(ctx.conf().symloop_max);
    follow.location = Some(location(&target));
    follow.want_etag = Some(etag.to_string());
    let mut at = target;
    let mut h = Headers::new();
    h.set("X-Trans-Id", at.trans_id.clone());
    loop {
        authorize_as(ctx, req, &at, "HEAD", false)?;
        let found = getter::fetch(ctx, &at, "HEAD", &h, false, |_, r, _| Ok(r.head.headers.clone()));
        let found = match found {
            Err(Error::NotFound) => {
                return Err(follow.locate(Error::LinkConflict("X-Symlink-Target does not exist".into())))
            }
            other => other?,
        };
        if !found.contains(TARGET_ETAG) {
            follow.check(&found)?;
            return Ok(found);
        }
        at = follow.next(&at, &found)?;
    }
}

/// A COPY of a link with `?symlink=get`: the copy is a new link PUT to
/// `dst` of the source's target, unless the request names its own
/// (`X-Symlink-Target-Account`, say), validated as such.
pub fn copy_link(ctx: &App, req: &Request<'_>, dst: &Resource, source: &Headers, h: &mut Headers) -> Result<()> {
    h.remove(OVERRIDE_ETAG);
    for (user, sysmeta) in SHOWN {
        h.remove(sysmeta);
        match source.get(sysmeta) {
            Some(v) if !h.contains(user) => h.set(user, v),
            _ => {}
        }
    }
    prepare_put(ctx, req, dst, h)
}

/// A POST with `X-Symlink-Target` is 400: only a PUT makes a link.
pub fn check_post(h: &Headers) -> Result<()> {
    match h.contains("X-Symlink-Target") {
        true => Err(Error::bad_request("A PUT request is required to set a symlink target")),
        false => Ok(()),
    }
}

/// A POST that landed on a link (its answer `a` carries the link's
/// sysmeta): 307 to the target, as Swift (the metadata went to the link).
pub fn redirect_post(resp: &mut Response<'_>, a: &Answer, t: &Resource) -> Result<()> {
    let (container, object) = parse_path(a.headers.get(TARGET).unwrap_or_default(), "X-Symlink-Target")?;
    let account = match a.headers.get(TARGET_ACCOUNT) {
        Some(v) => unquote(v)?,
        None => t.account.clone(),
    };
    let mut h = Headers::new();
    h.set("Location", quote(&format!("/v1/{account}/{container}/{object}")));
    if let Some(e) = a.headers.get(TARGET_ETAG) {
        h.set("X-Symlink-Target-Etag", e);
    }
    h.set("Content-Type", "text/html; charset=UTF-8");
    trans_headers(&mut h, &t.trans_id);
    if let Some(g) = &t.cors {
        g.decorate(&mut h);
    }
    let body = "The requested POST was applied to a symlink. POST directly to the target to apply requested metadata.";
    resp.send(307, &h, body.as_bytes()).map_err(|_| Error::ClientDisconnect)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn target(account: &str, c: &str, o: &str) -> Resource {
        Resource {
            account: account.into(),
            container: Some(c.into()),
            object: Some(o.into()),
            query: String::new(),
            identity: None,
            trans_id: "tx".into(),
            cors: None,
        }
    }

    #[test]
    fn links_name_their_target_relative_to_their_account_unless_told() {
        let mut f = Follow::new(2);
        let at = target("AUTH_a", "lc", "l");
        let next = f.next(&at, &headers(&[(TARGET, "tc/a%20b/c"), ("ETag", "\"x\"")])).unwrap();
        assert_eq!(next.path(), "/AUTH_a/tc/a b/c");
        let mut h = Headers::new();
        f.add_location(&mut h);
        assert_eq!(h.get("Content-Location"), Some("/v1/AUTH_a/tc/a%20b/c"));
        let next = f.next(&next, &headers(&[(TARGET, "c/o"), (TARGET_ACCOUNT, "AUTH_b")])).unwrap();
        assert_eq!(next.path(), "/AUTH_b/c/o");
        let e = f.locate(Error::NotFound);
        assert_eq!(e.status(), 404);
        assert_eq!(e.headers(), vec![("Content-Location", "/v1/AUTH_b/c/o".to_string())]);
    }

    #[test]
    fn past_symloop_max_links_is_409() {
        let mut f = Follow::new(2);
        let link = headers(&[(TARGET, "c/o")]);
        let at = target("AUTH_a", "c", "l");
        f.next(&at, &link).unwrap();
        f.next(&at, &link).unwrap();
        let Err(e) = f.next(&at, &link) else { panic!("a third link was followed") };
        assert_eq!(e.status(), 409);
        assert_eq!(e.to_string(), "Too many levels of symbolic links, maximum allowed is 2");
        assert!(e.headers().is_empty(), "Swift's loop error names no location");
    }

    #[test]
    fn a_static_link_checks_the_etag_of_what_it_points_at() {
        let mut f = Follow::new(2);
        let at = target("AUTH_a", "c", "l");
        f.next(&at, &headers(&[(TARGET, "c/o"), (TARGET_ETAG, "abc")])).unwrap();
        assert!(f.check(&headers(&[("ETag", "\"abc\"")])).is_ok());
        let e = f.check(&headers(&[("ETag", "\"def\"")])).unwrap_err();
        assert_eq!(e.status(), 409);
        assert_eq!(e.to_string(), "Object Etag 'def' does not match X-Symlink-Target-Etag header 'abc'");
        assert_eq!(e.headers(), vec![("Content-Location", "/v1/AUTH_a/c/o".to_string())]);
        // A chain: the next link must carry (or be) that ETag.
        let Err(e) = f.next(&at, &headers(&[(TARGET, "c/p"), (TARGET_ETAG, "zzz")])) else { panic!("followed") };
        assert_eq!(e.to_string(), "X-Symlink-Target-Etag headers do not match");
        // A dynamic link is not checked.
        let mut f = Follow::new(2);
        f.next(&at, &headers(&[(TARGET, "c/o")])).unwrap();
        assert!(f.check(&headers(&[("ETag", "\"def\"")])).is_ok());
    }

    #[test]
    fn link_get_and_its_sysmeta_shown() {
        assert!(wants_link("symlink=get") && wants_link("a=b&symlink=get"));
        assert!(!wants_link("symlink=follow") && !wants_link(""));
        let mut out = Headers::new();
        show(&headers(&[(TARGET, "c/o"), (TARGET_ETAG, "e"), (TARGET_BYTES, "3")]), &mut out);
        assert_eq!(out.get("X-Symlink-Target"), Some("c/o"));
        assert_eq!((out.get("X-Symlink-Target-Etag"), out.get("X-Symlink-Target-Bytes")), (Some("e"), Some("3")));
        assert_eq!(out.get("X-Symlink-Target-Account"), None);
        assert!(check_post(&headers(&[("X-Symlink-Target", "c/o")])).is_err());
        assert!(check_post(&headers(&[("X-Object-Meta-A", "1")])).is_ok());
    }
}
