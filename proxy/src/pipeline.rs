//! One request through the proxy, in the order of Swift's pipeline
//! (`[pipeline:main]` in Swift's `proxy-server.conf`), which swiftlet
//! runs fixed, in code:
//!
//! ```text
//! Swift's pipeline   here
//! catch_errors       handle: the transaction id; a handler's Error becomes its answer, in one place
//! gatekeeper         controllers::base: backend_headers, client_headers drop internal headers
//! healthcheck        middleware::healthcheck
//! proxy-logging      middleware::proxy_logging, the http server's access hook (server.rs)
//! tempurl            middleware::tempurl::identify, before the token is looked at
//! tempauth           middleware::tempauth: GET /auth/v1.0, the token's identity
//! copy               middleware::copy, in front of the object controller
//! dlo, symlink       called by the object controller (controllers/obj.rs)
//! proxy-server       controllers: info, cors (OPTIONS), account, container, obj
//! ```
//!
//! The route is parsed into an [`Endpoint`] first; an API request
//! becomes the [`Resource`] the controllers act on once its identity
//! (temp URL or token) and CORS grant are known.

use crate::app::App;
use crate::controllers::base::{answer_error, trans_headers, Resource};
use crate::controllers::{account, container, cors, info, obj};
use crate::endpoint::{self, Endpoint};
use crate::error::{Error, Result};
use crate::log;
use crate::middleware::{copy, healthcheck, tempurl};
use http::{Headers, Request, Response};
use md5::{Digest, Md5};
use std::cell::Cell;
use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    static SEQ: Cell<u64> = const { Cell::new(0) };
}

/// Swift's transaction id: `tx` + 21 hex digits + `-` + hex unix time.
pub fn new_trans_id() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let seq = SEQ.with(|s| {
        s.set(s.get() + 1);
        s.get()
    });
    let mut md5 = Md5::new();
    md5.update(format!("{}:{:?}:{seq}:{}", swiftlet_server::pid(), std::thread::current().id(), now.as_nanos()));
    let hex = common::hex::hex(&md5.finalize());
    format!("tx{}-{:010x}", &hex[..21], now.as_secs())
}

/// Handles one request (Swift's `catch_errors` around the rest): a new
/// transaction id, and a handler's error answered here, in one place.
pub fn handle(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>) -> io::Result<()> {
    let trans_id = new_trans_id();
    req.head.headers.set("X-Trans-Id", trans_id.clone());
    let head_only = req.method() == "HEAD";
    match route(ctx, req, resp, &trans_id) {
        Ok(()) => Ok(()),
        Err(e) if resp.started() => Err(io::Error::other(e.to_string())),
        Err(Error::ClientDisconnect) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "client disconnected")),
        Err(e) => {
            if e.status() >= 500 {
                log::error(&format!("{} {} ({trans_id}): {e}", req.method(), req.target()));
            }
            answer_error(resp, &e, &trans_id, head_only)
        }
    }
}

/// Routes a request through the pipeline (see the module docs).
fn route(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, trans_id: &str) -> Result<()> {
    let (ep, query) = endpoint::parse(req.target())?;
    let mut h = Headers::new();
    trans_headers(&mut h, trans_id);
    match ep {
        Endpoint::Healthcheck => healthcheck::answer(resp, h),
        Endpoint::Info => info::handle(ctx, req, resp, h),
        Endpoint::Auth if req.method() == "GET" => {
            let conf = ctx.conf();
            ctx.auth().answer_get_token(req, resp, &format!("{}:{}", conf.server.bind_ip, conf.server.bind_port), h)
        }
        Endpoint::Auth => Err(Error::bad_request("Auth requests must be GET")),
        Endpoint::Account { account } => {
            let t = resource(ctx, req, account, None, None, query, trans_id)?;
            if req.method() == "OPTIONS" {
                let managed = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
                let unmanaged = ["GET", "HEAD", "OPTIONS", "POST"];
                let allowed: &[&str] = if ctx.conf().allow_account_management { &managed } else { &unmanaged };
                return cors::options(ctx, req, resp, &t, allowed);
            }
            account::handle(ctx, req, resp, &t)
        }
        Endpoint::Container { account, container } => {
            let t = resource(ctx, req, account, Some(container), None, query, trans_id)?;
            if req.method() == "OPTIONS" {
                return cors::options(ctx, req, resp, &t, &["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
            }
            container::handle(ctx, req, resp, &t)
        }
        Endpoint::Object { account, container, object } => {
            let t = resource(ctx, req, account, Some(container), Some(object), query, trans_id)?;
            if req.method() == "OPTIONS" {
                return cors::options(ctx, req, resp, &t, &["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
            }
            if copy::is_copy(req) {
                return copy::handle(ctx, req, resp, &t);
            }
            obj::handle(ctx, req, resp, &t)
        }
    }
}

/// The [`Resource`] of an API request, with its identity: a temp URL's
/// grant (checked first, Swift's `tempurl` before `tempauth`), else the
/// token's user, else anonymous; and, but for `OPTIONS`, its CORS grant.
fn resource(
    ctx: &App,
    req: &mut Request<'_>,
    account: String,
    container: Option<String>,
    object: Option<String>,
    query: String,
    trans_id: &str,
) -> Result<Resource> {
    let mut t =
        Resource { account, container, object, query, identity: None, trans_id: trans_id.to_string(), cors: None };
    t.identity = match tempurl::identify(ctx, req, &mut t)? {
        Some(temp_url) => Some(temp_url),
        None => ctx.auth().identify_request(req.headers(), &t.account)?,
    };
    if req.method() != "OPTIONS" {
        t.cors = cors::grant(ctx, req, &t);
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn trans_ids_look_like_swifts_and_differ() {
        let (a, b) = (super::new_trans_id(), super::new_trans_id());
        assert_ne!(a, b);
        assert!(a.starts_with("tx") && a.len() == 2 + 21 + 1 + 10, "{a}");
    }
}
