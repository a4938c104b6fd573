//! What the account, container and object controllers share (Swift's
//! `proxy/controllers/base.py`): the [`Resource`] a request is about,
//! header filtering in both directions (Swift's `gatekeeper` middleware
//! does this in its pipeline), container and account info (existence,
//! ACLs), authorization, and the error answer.

use crate::app::App;
use crate::controllers::backend::{self, Answer};
use crate::error::{Error, Result};
use crate::infocache::{Info, InfoCache};
use crate::middleware::acl::{self, AccountAcl};
use crate::middleware::tempauth::{Access, AuthRequest, Identity};
use http::{Headers, Request, Response};
use std::io;
use std::sync::Arc;

/// What an API request acts on, after routing and token checking: the
/// account, container and object its `/v1/...` path names (%-decoded),
/// with the query, who asks and the transaction id. Not the HTTP request
/// target (`Request::target`, the raw `/v1/...?query` string), from which
/// the pipeline parses it. Handlers call theirs `t`; a copy has one for
/// its source and one for its destination, a symlink one per hop.
pub struct Resource {
    pub account: String,
    pub container: Option<String>,
    pub object: Option<String>,
    pub query: String,
    /// Who asks: TempAuth's user, or a temp URL's grant
    /// ([`crate::middleware::tempurl`]); `None` for anonymous.
    pub identity: Option<Identity>,
    pub trans_id: String,
    /// CORS headers for the answer (an allowed `Origin`), see
    /// [`crate::controllers::cors`].
    pub cors: Option<crate::controllers::cors::Grant>,
}

impl Resource {
    /// `/{account}[/{container}[/{object}]]`, the backend path after
    /// `/{device}/{partition}`.
    pub fn path(&self) -> String {
        let mut p = format!("/{}", self.account);
        for part in [&self.container, &self.object].into_iter().flatten() {
            p.push('/');
            p.push_str(part);
        }
        p
    }
}

/// Client headers a backend must never see from a client: Swift's
/// gatekeeper list (internal protocol, placement, timestamps, sysmeta)
/// and the hop-by-hop and auth headers the proxy itself sets.
pub fn is_internal_request_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("x-backend-")
        || n.starts_with("x-object-sysmeta-")
        || n.starts_with("x-container-sysmeta-")
        || n.starts_with("x-account-sysmeta-")
        || n.starts_with("x-delete-at-")
        || matches!(
            n.as_str(),
            "x-timestamp"
                | "x-container-host"
                | "x-container-partition"
                | "x-container-device"
                | "x-account-host"
                | "x-account-partition"
                | "x-account-device"
                | "x-put-timestamp"
                | "x-auth-token"
                | "x-storage-token"
                | "x-trans-id"
                | "host"
                | "connection"
                | "keep-alive"
                | "expect"
                | "content-length"
                | "transfer-encoding"
                | "te"
                | "trailer"
                | "upgrade"
                | "proxy-authorization"
        )
}

/// Backend headers a client must not see.
fn is_internal_response_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("x-backend-")
        || n.contains("-sysmeta-")
        || matches!(n.as_str(), "connection" | "keep-alive" | "transfer-encoding" | "content-length" | "x-trans-id")
}

/// Headers only an account owner sees or sets (Swift's
/// `swift_owner_headers`).
pub fn is_owner_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "x-container-read"
            | "x-container-write"
            | "x-container-sync-key"
            | "x-container-sync-to"
            | "x-account-meta-temp-url-key"
            | "x-account-meta-temp-url-key-2"
            | "x-container-meta-temp-url-key"
            | "x-container-meta-temp-url-key-2"
            | "x-account-access-control"
    )
}

/// For account and container requests, Swift's `X-Remove-*` headers
/// (`X-Remove-Container-Meta-Color`, `X-Remove-Container-Read`, ...)
/// become the header they name with an empty value, which the backend
/// takes as "delete"; `None` for every other header.
fn removal(name: &str, t: &Resource) -> Option<String> {
    let rest = name.get(..9).filter(|p| p.eq_ignore_ascii_case("x-remove-")).map(|_| &name[9..])?;
    let lower = rest.to_ascii_lowercase();
    let removable = match (&t.container, &t.object) {
        (None, _) => lower.starts_with("account-meta-"),
        (Some(_), None) => {
            lower.starts_with("container-meta-")
                || matches!(
                    lower.as_str(),
                    "container-read" | "container-write" | "container-sync-key" | "container-sync-to"
                )
        }
        (Some(_), Some(_)) => false,
    };
    removable.then(|| format!("X-{rest}"))
}

/// The client's headers to forward, with the proxy's own added.
pub fn backend_headers(req: &Request<'_>, t: &Resource) -> Headers {
    let mut h: Headers = req
        .headers()
        .iter()
        .filter(|(k, _)| !is_internal_request_header(k) && removal(k, t).is_none())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    // Removal wins over a value for the same header, as in Swift.
    for name in req.headers().iter().filter_map(|(k, _)| removal(k, t)) {
        h.set(name, "");
    }
    h.set("X-Trans-Id", t.trans_id.clone());
    h.set("User-Agent", format!("proxy-server {}", swiftlet_server::pid()));
    h
}

/// A backend answer's headers for the client: internal ones dropped,
/// the ETag unquoted (as Swift's proxy does), owner-only ones dropped
/// for non-owners, and the transaction ids added.
pub fn client_headers(from: &Headers, t: &Resource, owner: bool) -> Headers {
    let mut h = Headers::new();
    for (k, v) in from.iter() {
        if is_internal_response_header(k) || (!owner && is_owner_header(k)) {
            continue;
        }
        if k.eq_ignore_ascii_case("etag") {
            h.set("Etag", v.trim_matches('"'));
        } else {
            h.append(k, v);
        }
    }
    trans_headers(&mut h, &t.trans_id);
    if let Some(g) = &t.cors {
        g.decorate(&mut h);
    }
    crate::middleware::tempurl::filter_answer(t, &mut h);
    h
}

pub fn trans_headers(h: &mut Headers, trans_id: &str) {
    h.set("X-Trans-Id", trans_id);
    h.set("X-Openstack-Request-Id", trans_id);
}

/// Sends a small backend answer to the client.
pub fn relay(resp: &mut Response<'_>, a: &Answer, t: &Resource, owner: bool) -> io::Result<()> {
    let h = client_headers(&a.headers, t, owner);
    resp.send(a.status, &h, &a.body)
}

/// Sends an account or container HEAD/GET answer; a 204 says
/// `Content-Length: 0` as Swift's does.
pub fn relay_listing(resp: &mut Response<'_>, a: &Answer, t: &Resource, owner: bool) -> io::Result<()> {
    let mut h = client_headers(&a.headers, t, owner);
    if a.status == 204 {
        h.set("Content-Length", "0");
    }
    resp.send(a.status, &h, &a.body)
}

/// The container's info, from the cache ([`crate::infocache`]) or by a
/// HEAD of its replicas in order until one answers (Swift's
/// `container_info`).
pub fn container_info(ctx: &App, t: &Resource) -> Arc<Info> {
    let Some(container) = &t.container else { return Arc::default() };
    let Ok(part) = ctx.container_ring().partition(&t.account, Some(container), None) else {
        return Arc::default();
    };
    let path = common::percent::quote(&format!("/{}/{container}", t.account));
    cached_head(ctx, ctx.container_cache(), ctx.container_ring(), part, &path, t, container)
}

/// The account's info, as [`container_info`] (Swift's `account_info`).
pub fn account_info(ctx: &App, t: &Resource) -> Arc<Info> {
    let Ok(part) = ctx.account_ring().partition(&t.account, None, None) else { return Arc::default() };
    let path = common::percent::quote(&format!("/{}", t.account));
    cached_head(ctx, ctx.account_cache(), ctx.account_ring(), part, &path, t, "")
}

fn cached_head(
    ctx: &App,
    cache: &InfoCache,
    ring: &ring::Ring,
    part: u32,
    path: &str,
    t: &Resource,
    container: &str,
) -> Arc<Info> {
    if let Some(info) = cache.get(&t.account, container) {
        return info;
    }
    let epoch = cache.epoch(&t.account, container);
    let info = Arc::new(head(ctx, ring, part, path, t));
    cache.store(&t.account, container, &info, epoch);
    info
}

/// HEADs the nodes in order until one answers (Swift's `GETorHEAD_base`,
/// [`backend::read_first`]): a 404 only by a quorum of primaries (a
/// handoff's knows nothing), 503 if no node answered.
fn head(ctx: &App, ring: &ring::Ring, part: u32, path: &str, t: &Resource) -> Info {
    let mut h = Headers::new();
    h.set("X-Trans-Id", t.trans_id.clone());
    match backend::read_first(ctx, ring, part, "HEAD", path, &h) {
        Ok(a) => Info::new(a.status, &a.headers),
        Err(_) => Info::new(503, &Headers::new()),
    }
}

/// The account's ACL, from its info ([`account_info`]: the cache or one
/// replica's HEAD); `None` when it has none or no replica answers (which denies, as Swift's `account_acls`).
pub fn account_acl(ctx: &App, t: &Resource) -> Option<AccountAcl> {
    acl::account_acl(account_info(ctx, t).headers.get(acl::ACCOUNT_ACL_SYSMETA))
}

/// Authorizes the request on `t`; container ACLs are fetched only
/// when ownership does not already allow it. `write` picks the write ACL.
pub fn authorize(ctx: &App, req: &Request<'_>, t: &Resource, write: bool) -> Result<Access> {
    authorize_as(ctx, req, t, req.method(), write)
}

/// `authorize` for `method` rather than the request's own (a copy reads
/// its source as a GET and writes its destination as a PUT).
pub fn authorize_as(ctx: &App, req: &Request<'_>, t: &Resource, method: &str, write: bool) -> Result<Access> {
    // A temp URL is its own authorization (Swift's `swift.authorize_override`).
    if let Some(grant) = t.identity.as_ref().and_then(|i| i.temp_url.as_ref()) {
        return grant.authorize(t);
    }
    let mut ar = AuthRequest {
        identity: t.identity.as_ref(),
        method,
        account: &t.account,
        container: t.container.as_deref(),
        object: t.object.as_deref(),
        acl: None,
        account_acl: None,
        referrer: req.header("Referer"),
    };
    let mut verdict = ctx.auth().authorize(&ar);
    let acl_applies = t.container.is_some() && (t.object.is_some() || matches!(method, "GET" | "HEAD"));
    let container_acl = match verdict {
        Err(_) if acl_applies => {
            let info = container_info(ctx, t);
            let acl = if write { "X-Container-Write" } else { "X-Container-Read" };
            info.headers.get(acl).map(String::from)
        }
        _ => None,
    };
    if container_acl.is_some() {
        ar.acl = container_acl.as_deref();
        verdict = ctx.auth().authorize(&ar);
    }
    // Account ACLs name users and groups: they cannot help an anonymous
    // caller, so only a known one costs the account HEAD.
    if verdict.is_err() && t.identity.is_some() && ctx.auth().account_prefix(&t.account).is_some() {
        if let Some(account_acl) = account_acl(ctx, t) {
            ar.account_acl = Some(&account_acl);
            return ctx.auth().authorize(&ar);
        }
    }
    verdict
}

/// The body Swift sends for an error: the message itself when the
/// handler gave one (`HTTPBadRequest(body=...)`), swob's default HTML
/// page otherwise, and nothing for a 404.
pub fn error_body(e: &Error) -> String {
    match e {
        Error::BadRequest(why) | Error::PreconditionFailed(why) | Error::TooLarge(why) | Error::LinkConflict(why) => {
            why.clone()
        }
        Error::Located { error, .. } => error_body(error),
        Error::TempUrlInvalid { .. } => format!("{e}\n"),
        _ => match e.status() {
            404 | 499 => String::new(),
            s => format!("<html><h1>{}</h1><p>{e}</p></html>", http::head::reason_phrase(s)),
        },
    }
}

/// Answers the status of an error with Swift's short body.
pub fn answer_error(resp: &mut Response<'_>, e: &Error, trans_id: &str, head_only: bool) -> io::Result<()> {
    let mut h = Headers::new();
    for (k, v) in e.headers() {
        h.set(k, v);
    }
    trans_headers(&mut h, trans_id);
    h.set("Content-Type", "text/html; charset=UTF-8");
    let body = if head_only { String::new() } else { error_body(e) };
    resp.send(e.status(), &h, body.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_with_a_message_have_it_as_the_body_others_swobs_page() {
        assert_eq!(error_body(&Error::bad_request("Non-integer X-Delete-At")), "Non-integer X-Delete-At");
        assert_eq!(error_body(&Error::PreconditionFailed("Bad URL".into())), "Bad URL");
        assert_eq!(error_body(&Error::NotFound), "");
        assert!(error_body(&Error::Forbidden).starts_with("<html><h1>Forbidden</h1>"));
    }

    #[test]
    fn x_remove_names_the_header_to_empty_on_accounts_and_containers_only() {
        let t = |c: Option<&str>, o: Option<&str>| Resource {
            account: "AUTH_a".into(),
            container: c.map(Into::into),
            object: o.map(Into::into),
            query: String::new(),
            identity: None,
            trans_id: "tx".into(),
            cors: None,
        };
        let (acct, cont, obj) = (t(None, None), t(Some("c"), None), t(Some("c"), Some("o")));
        assert_eq!(removal("X-Remove-Account-Meta-Color", &acct).as_deref(), Some("X-Account-Meta-Color"));
        assert_eq!(removal("x-remove-container-meta-a", &cont).as_deref(), Some("X-container-meta-a"));
        assert_eq!(removal("X-Remove-Container-Read", &cont).as_deref(), Some("X-Container-Read"));
        assert_eq!(removal("X-Remove-Container-Meta-A", &acct), None);
        assert_eq!(removal("X-Remove-Account-Meta-A", &cont), None);
        assert_eq!(removal("X-Remove-Object-Meta-A", &obj), None);
        assert_eq!(removal("X-Remove", &cont), None);
        assert_eq!(removal("X-Container-Meta-A", &cont), None);
    }
}
