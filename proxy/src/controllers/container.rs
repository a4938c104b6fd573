//! The container controller (Swift's `proxy/controllers/container.py`):
//! listings read from the first container replica that has the
//! container; PUT, POST and DELETE go to every replica, and PUT/DELETE
//! tell each replica which account replica to update
//! (`X-Account-Host/-Partition/-Device`).

use crate::app::App;
use crate::constraints::Checks;
use crate::controllers::account;
use crate::controllers::backend::{self, best_answer};
use crate::controllers::base::{authorize, backend_headers, is_owner_header, relay, relay_listing, Resource};
use crate::endpoint::query_param;
use crate::error::{Error, Result};
use crate::middleware::acl;
use crate::middleware::tempauth::Access;
use common::percent::quote;
use common::Timestamp;
use http::{Headers, Request, Response};
use std::any::Any;
use std::rc::Rc;

pub fn handle(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    ctx.conf().constraints.check_names(&t.account, t.container.as_deref(), None)?;
    match req.method() {
        "GET" | "HEAD" => get(ctx, req, resp, t),
        "PUT" | "POST" | "DELETE" => write(ctx, req, resp, t),
        _ => Err(Error::MethodNotAllowed("GET, HEAD, PUT, POST, DELETE")),
    }
}

fn part(ctx: &App, t: &Resource) -> Result<u32> {
    ctx.container_ring()
        .partition(&t.account, t.container.as_deref(), None)
        .map_err(|e| Error::bad_request(e.to_string()))
}

fn get(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    let owner = authorize(ctx, req, t, false)? == Access::Owner;
    let limit = ctx.conf().constraints.container_listing_limit;
    ctx.conf().constraints.check_limit(query_param(&t.query, "limit").as_deref(), limit)?;
    let part = part(ctx, t)?;
    let mut path = quote(&t.path());
    if !t.query.is_empty() {
        path = format!("{path}?{}", t.query);
    }
    let mut a = backend::read_first(ctx, ctx.container_ring(), part, req.method(), &path, &backend_headers(req, t))?;
    if a.status < 300 {
        a.headers.set("X-Storage-Policy", POLICY_NAME);
    }
    relay_listing(resp, &a, t, owner).map_err(|_| Error::ClientDisconnect)
}

/// The one storage policy swiftlet has (see `/info`).
pub const POLICY_NAME: &str = common::POLICY_NAME;

/// A PUT naming a storage policy must name ours (Swift: 400
/// "Invalid X-Storage-Policy").
fn check_policy(h: &Headers) -> Result<()> {
    match h.get("X-Storage-Policy") {
        Some(p) if !p.trim().is_empty() && !p.trim().eq_ignore_ascii_case(POLICY_NAME) => {
            Err(Error::bad_request(format!("Invalid X-Storage-Policy '{}'", p.trim())))
        }
        _ => Ok(()),
    }
}

/// ACL headers cleaned (400 for a bad one); metadata within limits.
fn check_headers(ctx: &App, h: &mut Headers) -> Result<()> {
    for name in ["X-Container-Read", "X-Container-Write"] {
        if let Some(v) = h.get(name).map(String::from) {
            h.set(name, acl::clean(name, &v)?);
        }
    }
    ctx.conf().constraints.check_metadata(h, "container")
}

fn write(ctx: &App, req: &mut Request<'_>, resp: &mut Response<'_>, t: &Resource) -> Result<()> {
    let owner = authorize(ctx, req, t, true)? == Access::Owner;
    let mut h = backend_headers(req, t);
    // Only an account ACL's read-write grants a non-owner container
    // writes; as in Swift, such a writer cannot set the owner's headers.
    if !owner {
        let owner_only: Vec<String> = h.iter().map(|(k, _)| k.to_string()).filter(|k| is_owner_header(k)).collect();
        for k in owner_only {
            h.remove(&k);
        }
    }
    check_headers(ctx, &mut h)?;
    let method = req.method();
    if method == "PUT" {
        check_policy(&h)?;
    }
    if method != "DELETE" && !account::exists(ctx, t)? {
        return Err(Error::NotFound);
    }
    h.set("X-Timestamp", Timestamp::now().internal());
    let part = part(ctx, t)?;
    let replicas = ctx.container_ring().part_nodes(part).len();
    let (apart, anodes) = ctx
        .account_ring()
        .nodes(&t.account, None, None)
        .map_err(|e| Error::Unavailable(format!("account ring: {e}")))?;
    let per_replica = |i: usize| -> Vec<(String, String)> {
        if method == "POST" || anodes.is_empty() {
            return Vec::new();
        }
        let n = &anodes[i % anodes.len()];
        vec![
            ("X-Account-Host".into(), format!("{}:{}", n.ip, n.port)),
            ("X-Account-Device".into(), n.device.clone()),
            ("X-Account-Partition".into(), apart.to_string()),
        ]
    };
    // No container info is kept from now until the last replica answered.
    let hold = t.container.as_ref().map(|c| Rc::new(ctx.container_cache().write_started(&t.account, c)) as Rc<dyn Any>);
    let mark = backend::Payload { hold, ..Default::default() };
    let answers =
        backend::make_requests_with(ctx, ctx.container_ring(), part, method, &quote(&t.path()), &h, &per_replica, mark);
    let a = best_answer(answers, replicas, "container write")?;
    relay(resp, &a, t, owner).map_err(|_| Error::ClientDisconnect)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_may_name_only_our_storage_policy() {
        let mut h = Headers::new();
        assert!(check_policy(&h).is_ok());
        for ok in ["", "Policy-0", "policy-0"] {
            h.set("X-Storage-Policy", ok);
            assert!(check_policy(&h).is_ok(), "{ok}");
        }
        h.set("X-Storage-Policy", "gold");
        let e = check_policy(&h).unwrap_err();
        assert_eq!((e.status(), e.to_string()), (400, "Invalid X-Storage-Policy 'gold'".to_string()));
    }
}
