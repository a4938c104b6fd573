//! The account controller (Swift's `proxy/controllers/account.py`):
//! HEAD/GET (listings), POST for owners, PUT/DELETE for reseller admins
//! when `allow_account_management` is on, and `account_autocreate`.
//! Owners set and see the account ACL (`X-Account-Access-Control`), which
//! the account keeps as sysmeta.

use crate::app::App;
use crate::constraints::Checks;
use crate::controllers::backend::{self, best_answer, Answer};
use crate::controllers::base::{authorize, backend_headers, relay, relay_listing, Resource};
use crate::endpoint::query_param;
use crate::error::{Error, Result};
use crate::middleware::acl::{self, ACCOUNT_ACL_SYSMETA};
use crate::middleware::tempauth::Access;
use common::percent::quote;
use common::Timestamp;
use http::{Headers, Request, Response};
use std::any::Any;
use std::rc::Rc;

pub fn handle(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    ctx.conf().constraints.check_names(&t.account, None, None)?;
    match req.method() {
        "GET" | "HEAD" => get(ctx, req, resp, t),
        "POST" => post(ctx, req, resp, t),
        "PUT" | "DELETE" if ctx.conf().allow_account_management => manage(ctx, req, resp, t),
        "PUT" | "DELETE" => Err(Error::MethodNotAllowed("GET, HEAD, POST")),
        _ => Err(Error::MethodNotAllowed("GET, HEAD, POST, PUT, DELETE")),
    }
}

fn part(ctx: &App, t: &Resource) -> Result<u32> {
    ctx.account_ring().partition(&t.account, None, None).map_err(|e| Error::bad_request(e.to_string()))
}

fn plain_headers(t: &Resource) -> Headers {
    let mut h = Headers::new();
    h.set("X-Trans-Id", t.trans_id.clone());
    h.set("User-Agent", format!("proxy-server {}", swiftlet_server::pid()));
    h
}

/// Whether the account exists, creating it first if `account_autocreate`.
pub fn exists(ctx: &App, t: &Resource) -> Result<bool> {
    let part = part(ctx, t)?;
    let path = quote(&format!("/{}", t.account));
    let found = backend::read_first(ctx, ctx.account_ring(), part, "HEAD", &path, &plain_headers(t));
    match found {
        Ok(a) if a.status / 100 == 2 => Ok(true),
        Ok(_) | Err(Error::NotFound) if ctx.conf().account_autocreate => autocreate(ctx, t).map(|_| true),
        Ok(_) => Ok(false),
        Err(e) => Err(e),
    }
}

/// An `X-Account-Access-Control` from the client, checked (400 with
/// TempAuth's message) and moved to the sysmeta the account keeps.
fn take_acl_header(req: &Request<'_>, h: &mut Headers) -> Result<()> {
    let Some(v) = req.header("X-Account-Access-Control") else { return Ok(()) };
    if let Err(why) = acl::check_account_acl(v) {
        return Err(Error::bad_request(format!("X-Account-Access-Control invalid: {why}\n\nInput: {v}\n")));
    }
    h.remove("X-Account-Access-Control");
    h.set(ACCOUNT_ACL_SYSMETA, v);
    Ok(())
}

/// For an owner, the stored ACL as `X-Account-Access-Control`.
fn show_acl(a: &mut Answer, owner: bool) {
    let formatted = a.headers.get(ACCOUNT_ACL_SYSMETA).and_then(acl::format_account_acl);
    if let (true, Some(v)) = (owner, formatted) {
        a.headers.set("X-Account-Access-Control", v);
    }
}

fn autocreate(ctx: &App, t: &Resource) -> Result<Answer> {
    let part = part(ctx, t)?;
    let mut h = plain_headers(t);
    h.set("X-Timestamp", Timestamp::now().internal());
    let replicas = ctx.account_ring().part_nodes(part).len();
    let path = quote(&format!("/{}", t.account));
    let answers = write(ctx, t, part, "PUT", &path, &h);
    best_answer(answers, replicas, "account autocreate")
}

/// Swift's answer for a missing account under `account_autocreate`: an
/// empty listing.
fn empty_listing(t: &Resource, head: bool) -> Answer {
    let format = query_param(&t.query, "format").unwrap_or_default();
    let (status, ctype, body) = match format.as_str() {
        "json" => (200, "application/json; charset=utf-8", "[]".to_string()),
        "xml" => {
            // The name escaped as any listing's (it may hold `"`, `<`, `&`).
            let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<account name=\"");
            common::xml::escape(&t.account, &mut xml);
            xml.push_str("\"></account>");
            (200, "application/xml; charset=utf-8", xml)
        }
        _ => (204, "text/plain; charset=utf-8", String::new()),
    };
    let mut h = Headers::new();
    h.set("Content-Type", ctype);
    for k in ["X-Account-Container-Count", "X-Account-Object-Count", "X-Account-Bytes-Used"] {
        h.set(k, "0");
    }
    let body = if head { Vec::new() } else { body.into_bytes() };
    Answer { status: if head { 204 } else { status }, headers: h, body }
}

fn get(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    let owner = authorize(ctx, req, t, false)? == Access::Owner;
    let limit = ctx.conf().constraints.account_listing_limit;
    ctx.conf().constraints.check_limit(query_param(&t.query, "limit").as_deref(), limit)?;
    let part = part(ctx, t)?;
    let mut path = quote(&t.path());
    if !t.query.is_empty() {
        path = format!("{path}?{}", t.query);
    }
    let mut a = match backend::read_first(ctx, ctx.account_ring(), part, req.method(), &path, &backend_headers(req, t))
    {
        Ok(a) if a.status == 404 && ctx.conf().account_autocreate => empty_listing(t, req.method() == "HEAD"),
        Err(Error::NotFound) if ctx.conf().account_autocreate => empty_listing(t, req.method() == "HEAD"),
        other => other?,
    };
    show_acl(&mut a, owner);
    relay_listing(resp, &a, t, owner).map_err(|_| Error::ClientDisconnect)
}

fn post(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    let owner = authorize(ctx, req, t, true)? == Access::Owner;
    let mut h = backend_headers(req, t);
    take_acl_header(req, &mut h)?;
    ctx.conf().constraints.check_metadata(&h, "account")?;
    if !exists(ctx, t)? {
        return Err(Error::NotFound);
    }
    h.set("X-Timestamp", Timestamp::now().internal());
    let part = part(ctx, t)?;
    let replicas = ctx.account_ring().part_nodes(part).len();
    let answers = write(ctx, t, part, "POST", &quote(&t.path()), &h);
    relay(resp, &best_answer(answers, replicas, "account POST")?, t, owner).map_err(|_| Error::ClientDisconnect)
}

fn manage(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    authorize(ctx, req, t, true)?;
    let mut h = backend_headers(req, t);
    take_acl_header(req, &mut h)?;
    ctx.conf().constraints.check_metadata(&h, "account")?;
    h.set("X-Timestamp", Timestamp::now().internal());
    let part = part(ctx, t)?;
    let replicas = ctx.account_ring().part_nodes(part).len();
    let path = quote(&t.path());
    let answers = write(ctx, t, part, req.method(), &path, &h);
    relay(resp, &best_answer(answers, replicas, "account write")?, t, true).map_err(|_| Error::ClientDisconnect)
}

/// An account write to every replica; no account info is kept by this
/// process from now until the last replica answered.
fn write(ctx: &App, t: &Resource, part: u32, method: &str, path: &str, h: &Headers) -> Vec<Answer> {
    let hold = Some(Rc::new(ctx.account_cache().write_started(&t.account, "")) as Rc<dyn Any>);
    let mark = backend::Payload { hold, ..Default::default() };
    backend::make_requests_with(ctx, ctx.account_ring(), part, method, path, h, &|_| Vec::new(), mark)
}
