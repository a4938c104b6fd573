//! The process: config → context (rings, TempAuth) → N worker hubs, each
//! serving the API on the shared port. Every request gets a transaction
//! id, is routed to an [`Endpoint`], has its token checked, and goes to
//! its controller; a controller's `Error` becomes the response here, in
//! one place.

use crate::config::Config;
use crate::controllers::backend::{Context, Inner};
use crate::controllers::base::{answer_error, trans_headers, Target};
use crate::controllers::{account, container, cors, obj};
use crate::endpoint::{self, Endpoint};
use crate::error::{Error, Result};
use crate::log;
use crate::middleware::proxy_logging;
use http::{AccessRecord, Headers, Request, Response, Server};
use md5::{Digest, Md5};
use ring::{PathHasher, Ring};
use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::time::{SystemTime, UNIX_EPOCH};
use swiftlet_server::worker;

fn startup(what: impl std::fmt::Display, e: impl std::fmt::Display) -> Error {
    Error::Startup { what: what.to_string(), reason: e.to_string() }
}

/// Loads swift.conf's secrets and the three rings.
pub fn context(conf: Config) -> Result<Context> {
    let swift_conf = conf.swift_dir.join("swift.conf");
    let hasher = PathHasher::from_swift_dir(&conf.swift_dir).map_err(|e| startup(swift_conf.display(), e))?;
    let ini = ring::conf::Ini::load(&swift_conf).map_err(|e| startup(swift_conf.display(), e))?;
    let mut secret = ini.get("swift-hash", "swift_hash_path_prefix").unwrap_or_default().to_vec();
    secret.push(b'\n');
    secret.extend_from_slice(ini.get("swift-hash", "swift_hash_path_suffix").unwrap_or_default());
    let open = |name: &str| {
        let path = conf.swift_dir.join(format!("{name}.ring"));
        Ring::open(&path, hasher.clone()).map_err(|e| startup(path.display(), e))
    };
    let (account_ring, container_ring, object_ring) = (open("account")?, open("container")?, open("object")?);
    let auth = crate::middleware::tempauth::TempAuth::new(conf.auth.clone(), &secret);
    let containers = std::sync::Arc::new(crate::infocache::InfoCache::new(conf.recheck_container_existence));
    let accounts = std::sync::Arc::new(crate::infocache::InfoCache::new(conf.recheck_account_existence));
    Ok(Context::new(Inner { conf, containers, accounts, auth, account_ring, container_ring, object_ring }))
}

/// Runs the proxy until SIGTERM/SIGINT; `Err` for a startup failure.
pub fn run(conf: Config) -> Result<()> {
    log::set_level(conf.log_level);
    let addr = SocketAddr::new(conf.bind_ip, conf.bind_port);
    let workers = conf.workers.resolve();
    let ctx = context(conf)?;
    worker::check_port(addr).map_err(|e| startup(format!("{addr} (bind_ip/bind_port)"), e))?;
    worker::run(&log::LOG, workers, move |i, listening| worker(&ctx, i, addr, workers, listening))
        .map_err(|e| startup("running the workers", e))
}

/// One worker hub: listen, tell systemd when all listen, serve.
fn worker(ctx: &Context, i: usize, addr: SocketAddr, workers: usize, listening: &AtomicUsize) {
    let Some(listener) = worker::listen(&log::LOG, i, addr, workers, listening) else {
        return;
    };
    let conf = &ctx.conf;
    let cfg = worker::server_config(conf.max_clients, conf.client_timeout, conf.keep_idle);
    let c = ctx.clone();
    let server = Server::new(cfg, move |req, resp| handle(&c, req, resp));
    let access: fn(&AccessRecord<'_>) = proxy_logging::access;
    worker::serve(&log::LOG, i, listener, server, conf.log_requests.then_some(access));
}

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
    let hex = ring::hash::hex(&md5.finalize());
    format!("tx{}-{:010x}", &hex[..21], now.as_secs())
}

/// Handles one request; errors become responses here.
pub fn handle(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>) -> io::Result<()> {
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

fn route(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>, trans_id: &str) -> Result<()> {
    let (ep, query) = endpoint::parse(req.target())?;
    let mut h = Headers::new();
    trans_headers(&mut h, trans_id);
    match ep {
        Endpoint::Healthcheck => {
            h.set("Content-Type", "text/plain");
            resp.send(200, &h, b"OK").map_err(|_| Error::ClientDisconnect)
        }
        Endpoint::Info if matches!(req.method(), "GET" | "HEAD") => {
            h.set("Content-Type", "application/json; charset=UTF-8");
            resp.send(200, &h, info(ctx).to_string().as_bytes()).map_err(|_| Error::ClientDisconnect)
        }
        Endpoint::Info => Err(Error::MethodNotAllowed("GET, HEAD")),
        Endpoint::Auth if req.method() == "GET" => get_token(ctx, req, resp, h),
        Endpoint::Auth => Err(Error::bad_request("Auth requests must be GET")),
        Endpoint::Account { account } => {
            let t = target(ctx, req, account, None, None, query, trans_id)?;
            if req.method() == "OPTIONS" {
                let managed = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
                let unmanaged = ["GET", "HEAD", "OPTIONS", "POST"];
                let allowed: &[&str] = if ctx.conf.allow_account_management { &managed } else { &unmanaged };
                return cors::options(ctx, req, resp, &t, allowed);
            }
            account::handle(ctx, req, resp, &t)
        }
        Endpoint::Container { account, container } => {
            let t = target(ctx, req, account, Some(container), None, query, trans_id)?;
            if req.method() == "OPTIONS" {
                return cors::options(ctx, req, resp, &t, &["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
            }
            container::handle(ctx, req, resp, &t)
        }
        Endpoint::Object { account, container, object } => {
            let t = target(ctx, req, account, Some(container), Some(object), query, trans_id)?;
            if req.method() == "OPTIONS" {
                return cors::options(ctx, req, resp, &t, &["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
            }
            obj::handle(ctx, req, resp, &t)
        }
    }
}

fn target(
    ctx: &Context,
    req: &mut Request<'_>,
    account: String,
    container: Option<String>,
    object: Option<String>,
    query: String,
    trans_id: &str,
) -> Result<Target> {
    let mut t =
        Target { account, container, object, query, identity: None, trans_id: trans_id.to_string(), cors: None };
    t.identity = match crate::middleware::tempurl::identify(ctx, req, &mut t)? {
        Some(temp_url) => Some(temp_url),
        None => ctx.auth.identify_request(req.headers(), &t.account)?,
    };
    if req.method() != "OPTIONS" {
        t.cors = cors::grant(ctx, req, &t);
    }
    Ok(t)
}

fn get_token(ctx: &Context, req: &Request<'_>, resp: &mut Response<'_>, mut h: Headers) -> Result<()> {
    let host =
        req.header("Host").map(String::from).unwrap_or_else(|| format!("{}:{}", ctx.conf.bind_ip, ctx.conf.bind_port));
    let reply = ctx.auth.get_token(req.headers(), &host)?;
    h.set("X-Auth-Token", reply.token.clone());
    h.set("X-Storage-Token", reply.token);
    h.set("X-Auth-Token-Expires", reply.expires_in.to_string());
    h.set("X-Storage-Url", reply.storage_url.clone());
    h.set("Content-Type", "application/json; charset=UTF-8");
    let body = serde_json::json!({"storage": {"default": "local", "local": reply.storage_url}}).to_string();
    resp.send(200, &h, body.as_bytes()).map_err(|_| Error::ClientDisconnect)
}

/// `/info`: Swift's `swift` section (constraints and proxy settings),
/// `tempauth`, which has account ACLs (`X-Account-Access-Control`),
/// `tempurl` and `symlink`.
pub fn info(ctx: &Context) -> serde_json::Value {
    let mut swift = ctx.conf.constraints.info();
    swift["allow_account_management"] = ctx.conf.allow_account_management.into();
    swift["account_autocreate"] = ctx.conf.account_autocreate.into();
    let mut info = serde_json::json!({ "swift": swift, "tempauth": {"account_acls": true} });
    info["tempurl"] = ctx.conf.tempurl.info();
    info["symlink"] = serde_json::json!({"symloop_max": ctx.conf.symloop_max, "static_links": true});
    info
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
