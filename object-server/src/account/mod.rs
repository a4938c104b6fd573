//! The account server: account backend requests
//! (`/{device}/{partition}/{account}`) on SQLite databases, and the
//! container rows the container servers send to accounts
//! ([`container_row`]). A container row has a container's depth, so it
//! reaches [`crate::container`] first, which hands it here when it
//! carries `X-Backend-Account-Update` (or Swift's `X-Put-Timestamp` and
//! `X-Object-Count`). The sending side (the container's account update
//! and the container updater) is [`crate::container`]'s.

use crate::container::ACCOUNT_UPDATE_HEADER;
use crate::context::Context;
use crate::database::{
    account_brokers, db_call, db_error, db_timestamps, listing_params, metadata_from, req_timestamp, send,
};
use crate::error::{Error, Result};
use crate::path::BackendPath;
use db::{AccountBroker, AccountPut, ContainerUpdate, Kind, RowOutcome};
use http::{Headers, Request, Response};
use std::path::PathBuf;

/// Handles a request on an account path.
pub fn handle(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    match req.method() {
        "PUT" => put(ctx, req, resp, path),
        "DELETE" => delete(ctx, req, resp, path),
        "POST" => post(ctx, req, resp, path),
        "HEAD" | "GET" => get(ctx, req, resp, path),
        _ => Err(Error::MethodNotAllowed),
    }
}

fn paths(ctx: &Context, path: &BackendPath) -> Result<(PathBuf, PathBuf)> {
    let hash =
        ctx.hasher().hash_path(&path.account, None, None).map_err(|e| Error::bad_request(format!("bad name: {e}")))?;
    let device = ctx.check_device(&path.device)?;
    let db = db::db_path(&device, Kind::Account, path.partition, &hash).map_err(db_error)?;
    Ok((db, device.join("tmp")))
}

fn put(ctx: &Context, req: &Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    let ts = req_timestamp(req)?;
    let meta = metadata_from(req, "account", &[], ts);
    let (c, p) = (ctx.clone(), path.clone());
    let outcome = db_call(move || {
        let (dbp, tmp) = paths(&c, &p)?;
        let limits = db::metadata::Limits::from(&c.conf().constraints);
        limits.check(&db::Metadata::new(), &meta).map_err(Error::BadRequest)?;
        let created = AccountBroker::initialize(&dbp, &tmp, &p.account, ts).map_err(db_error)?;
        let b = account_brokers().get(&dbp).map_err(db_error)?;
        let outcome = if created { AccountPut::Recreated } else { b.put(ts).map_err(db_error)? };
        if matches!(outcome, AccountPut::Recreated | AccountPut::Updated) && !meta.is_empty() {
            b.update_metadata_checked(&meta, &limits).map_err(db_error)?;
        }
        Ok(outcome)
    })?;
    let (status, body): (u16, &[u8]) = match outcome {
        AccountPut::Recreated => (201, b""),
        AccountPut::Updated => (202, b""),
        AccountPut::RecentlyDeleted => (403, b"Recently deleted"),
        AccountPut::Conflict => (409, b""),
    };
    send(resp, status, &Headers::new(), body)
}

fn delete(ctx: &Context, req: &Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    let ts = req_timestamp(req)?;
    let (c, p) = (ctx.clone(), path.clone());
    let deleted = db_call(move || {
        let (dbp, _) = paths(&c, &p)?;
        account_brokers().get(&dbp).and_then(|b| b.delete(ts)).map_err(db_error)
    })?;
    let mut h = Headers::new();
    h.set("X-Account-Status", "Deleted");
    send(resp, if deleted { 204 } else { 404 }, &h, b"")
}

fn post(ctx: &Context, req: &Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    let ts = req_timestamp(req)?;
    let meta = metadata_from(req, "account", &[], ts);
    let (c, p) = (ctx.clone(), path.clone());
    db_call(move || {
        let (dbp, _) = paths(&c, &p)?;
        let b = account_brokers().get(&dbp).map_err(db_error)?;
        let info = b.info().map_err(db_error)?;
        if info.is_deleted() {
            return Err(Error::NotFound(None));
        }
        b.update_metadata_checked(&meta, &db::metadata::Limits::from(&c.conf().constraints)).map_err(db_error)?;
        Ok(())
    })?;
    send(resp, 204, &Headers::new(), b"")
}

fn get(ctx: &Context, req: &Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    let (params, format) = match listing_params(req, path) {
        Ok(v) => v,
        Err((status, body)) => return send(resp, status, &Headers::new(), body.as_bytes()),
    };
    let listing = req.method() == "GET";
    let (c, p) = (ctx.clone(), path.clone());
    let (info, entries) = db_call(move || {
        let (dbp, _) = paths(&c, &p)?;
        let b = account_brokers().get(&dbp).map_err(db_error)?;
        let info = b.info().map_err(db_error)?;
        let entries = if listing && !info.is_deleted() { b.list(&params).map_err(db_error)? } else { Vec::new() };
        Ok((info, entries))
    })?;
    let mut h = db_timestamps([info.created_at, info.put_timestamp, info.delete_timestamp, info.status_changed_at]);
    if info.is_deleted() {
        if info.is_status_deleted() {
            h.set("X-Account-Status", "Deleted");
        }
        return send(resp, 404, &h, b"");
    }
    h.set("X-Account-Container-Count", info.container_count.to_string());
    h.set("X-Account-Object-Count", info.object_count.to_string());
    h.set("X-Account-Bytes-Used", info.bytes_used.to_string());
    h.set("X-Timestamp", info.created_at.normal());
    h.set("X-PUT-Timestamp", info.put_timestamp.normal());
    for (k, v) in db::metadata::visible(&info.metadata) {
        h.set(k, v);
    }
    h.set("Content-Type", format.content_type());
    if !listing {
        return send(resp, 204, &h, b"");
    }
    match db::format::account_listing(format, &path.account, &entries) {
        Some(body) => send(resp, 200, &h, &body),
        None => send(resp, 204, &h, b""),
    }
}

/// True for a container's row update sent to this account replica.
pub fn is_container_row(req: &Request<'_>) -> bool {
    req.header(ACCOUNT_UPDATE_HEADER).is_some()
        || (req.method() == "PUT" && req.header("X-Put-Timestamp").is_some() && req.header("X-Object-Count").is_some())
}

/// `PUT /{dev}/{part}/{account}/{container}` from a container server:
/// 201, or 204 when the row says deleted; 404 if the account is missing or
/// deleted (unless `X-Account-Override-Deleted: yes`).
pub fn container_row(ctx: &Context, req: &Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    if req.method() != "PUT" {
        return Err(Error::MethodNotAllowed);
    }
    let name = path.container.clone().ok_or_else(|| Error::bad_request("no container in the path"))?;
    let ts = |k: &str| -> Result<db::Timestamp> {
        let v = req.header(k).unwrap_or("0");
        db::Timestamp::parse(v).map_err(|_| Error::bad_request(format!("Invalid {k}: {v:?}")))
    };
    let n = |k: &str| -> Result<u64> {
        req.header(k).unwrap_or("0").trim().parse().map_err(|_| Error::bad_request(format!("Invalid {k}")))
    };
    let u = ContainerUpdate {
        name,
        put_timestamp: ts("X-Put-Timestamp")?,
        delete_timestamp: ts("X-Delete-Timestamp")?,
        object_count: n("X-Object-Count")?,
        bytes_used: n("X-Bytes-Used")?,
        override_deleted: req.header("X-Account-Override-Deleted").is_some_and(|v| v.eq_ignore_ascii_case("yes")),
    };
    let deleted = u.delete_timestamp > u.put_timestamp;
    let (c, p) = (ctx.clone(), path.clone());
    let outcome = db_call(move || {
        let (dbp, _) = paths(&c, &p)?;
        account_brokers().get(&dbp).and_then(|b| b.put_container(u.clone())).map_err(db_error)
    })?;
    match outcome {
        RowOutcome::AccountDeleted => Err(Error::NotFound(None)),
        RowOutcome::Stored => send(resp, if deleted { 204 } else { 201 }, &Headers::new(), b""),
    }
}
