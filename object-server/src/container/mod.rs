//! Container backend requests (`/{device}/{partition}/{account}/{container}`)
//! on SQLite databases (crate `db`, schema in docs/db-schema.md), and the
//! object rows object servers send after each write (depth 5 with
//! `X-Backend-Container-Update`).
//!
//! Every database call runs on `hub::tpool` through [`db_call`], which
//! retries `SQLITE_BUSY` after a `hub::sleep`. After a container PUT or
//! DELETE the account replicas named by `X-Account-Host/-Device/-Partition`
//! are told at once; the ones that cannot be reached are remembered beside
//! the database and told later, with fresh counts, by the container updater
//! ([`account_update`], [`updater`]). The plumbing shared with the account
//! server is [`crate::database`]'s.

pub mod account_update;
pub mod updater;

use crate::context::Context;
use crate::database::{brokers, db_call, db_error, db_timestamps, listing_params, metadata_from, req_timestamp, send};
use crate::error::{Error, Result};
use crate::path::BackendPath;
use crate::timestamp::http_date;
use account_update::AccountTargets;
use common::percent::quote;
use db::{Applied, ContainerBroker, DeleteOutcome, Entry, Kind, ObjectRecord, PutOutcome};
use http::{Headers, Request, Response};
use std::path::PathBuf;

/// Header that marks a container's row update sent to an account.
pub const ACCOUNT_UPDATE_HEADER: &str = "X-Backend-Account-Update";

/// Container headers stored as metadata besides `X-Container-Meta-*` and
/// `X-Container-Sysmeta-*` (Swift's `save_headers`).
const SAVE_HEADERS: &[&str] = &["x-container-read", "x-container-write", "x-container-sync-key", "x-container-sync-to"];

/// Handles a request on a container path, an object row, or a container
/// row sent to an account (same depth as a container path).
pub fn handle(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    if path.object.is_none() && crate::account::is_container_row(req) {
        return crate::account::container_row(ctx, req, resp, path);
    }
    let container = path.container.clone().ok_or_else(|| Error::bad_request("no container in the path"))?;
    if let Some(obj) = path.object.clone() {
        return object_row(ctx, req, resp, path, &container, obj);
    }
    match req.method() {
        "PUT" => put(ctx, req, resp, path, &container),
        "DELETE" => delete(ctx, req, resp, path, &container),
        "POST" => post(ctx, req, resp, path, &container),
        "HEAD" | "GET" => get(ctx, req, resp, path, &container),
        _ => Err(Error::MethodNotAllowed),
    }
}

fn paths(ctx: &Context, path: &BackendPath, container: &str) -> Result<(PathBuf, PathBuf, String)> {
    let hash = ctx
        .hasher()
        .hash_path(&path.account, Some(container), None)
        .map_err(|e| Error::bad_request(format!("bad name: {e}")))?;
    let device = ctx.check_device(&path.device)?;
    let db = db::db_path(&device, Kind::Container, path.partition, &hash).map_err(db_error)?;
    Ok((db, device.join("tmp"), hash))
}

fn object_row(
    ctx: &Context,
    req: &Request<'_>,
    resp: &mut Response<'_>,
    path: &BackendPath,
    container: &str,
    obj: String,
) -> Result<()> {
    let ts = req_timestamp(req)?;
    let rec = match req.method() {
        "PUT" => {
            let need = |k: &str| req.header(k).ok_or_else(|| Error::bad_request(format!("Missing {k} header")));
            let size = need("X-Size")?.trim().parse::<u64>().map_err(|_| Error::bad_request("Invalid X-Size"))?;
            ObjectRecord::put(&obj, ts, size, need("X-Content-Type")?, need("X-Etag")?)
        }
        "DELETE" => ObjectRecord::delete(&obj, ts),
        _ => return Err(Error::MethodNotAllowed),
    };
    let (c, p, cont) = (ctx.clone(), path.clone(), container.to_string());
    let deleted = rec.deleted;
    let applied = db_call(move || {
        let (dbp, _, _) = paths(&c, &p, &cont)?;
        brokers().get(&dbp).and_then(|b| b.put_object(rec.clone())).map_err(db_error)
    })?;
    match applied {
        Applied::ContainerDeleted => Err(Error::NotFound(None)),
        _ => send(resp, if deleted { 204 } else { 201 }, &Headers::new(), b""),
    }
}

fn put(ctx: &Context, req: &Request<'_>, resp: &mut Response<'_>, path: &BackendPath, container: &str) -> Result<()> {
    let ts = req_timestamp(req)?;
    let targets = AccountTargets::from_request(req, &path.account, container)?;
    let meta = metadata_from(req, "container", SAVE_HEADERS, ts);
    let (c, p, cont, acct) = (ctx.clone(), path.clone(), container.to_string(), path.account.clone());
    let t2 = targets.clone();
    let (outcome, info) = db_call(move || {
        let (dbp, tmp, _) = paths(&c, &p, &cont)?;
        // PUTs check the merged metadata as POSTs do (in the write that
        // merges it): no series of them can pile it up past what a HEAD
        // answer may carry. A new database takes only what fits.
        let limits = db::metadata::Limits::from(&c.conf().constraints);
        limits.check(&db::Metadata::new(), &meta).map_err(Error::BadRequest)?;
        let created = ContainerBroker::initialize(&dbp, &tmp, &acct, &cont, ts).map_err(db_error)?;
        let b = brokers().get(&dbp).map_err(db_error)?;
        let outcome = if created { PutOutcome::Recreated } else { b.put(ts).map_err(db_error)? };
        if outcome != PutOutcome::Conflict && !meta.is_empty() {
            b.update_metadata_checked(&meta, &limits).map_err(db_error)?;
        }
        t2.remember(&dbp)?;
        Ok((outcome, b.info().map_err(db_error)?))
    })?;
    if outcome == PutOutcome::Conflict {
        return send(resp, 409, &Headers::new(), b"");
    }
    account_update::tell_account(ctx, &targets, &info, req);
    send(resp, if outcome == PutOutcome::Recreated { 201 } else { 202 }, &Headers::new(), b"")
}

fn delete(
    ctx: &Context,
    req: &Request<'_>,
    resp: &mut Response<'_>,
    path: &BackendPath,
    container: &str,
) -> Result<()> {
    let ts = req_timestamp(req)?;
    let targets = AccountTargets::from_request(req, &path.account, container)?;
    let (c, p, cont, t2) = (ctx.clone(), path.clone(), container.to_string(), targets.clone());
    let (outcome, info) = db_call(move || {
        let (dbp, _, _) = paths(&c, &p, &cont)?;
        let b = brokers().get(&dbp).map_err(db_error)?;
        let outcome = b.delete(ts).map_err(db_error)?;
        t2.remember(&dbp)?;
        Ok((outcome, b.info().map_err(db_error)?))
    })?;
    match outcome {
        DeleteOutcome::NotEmpty | DeleteOutcome::Conflict => send(resp, 409, &Headers::new(), b""),
        DeleteOutcome::Deleted { existed } => {
            account_update::tell_account(ctx, &targets, &info, req);
            send(resp, if existed { 204 } else { 404 }, &Headers::new(), b"")
        }
    }
}

fn post(ctx: &Context, req: &Request<'_>, resp: &mut Response<'_>, path: &BackendPath, container: &str) -> Result<()> {
    let ts = req_timestamp(req)?;
    let meta = metadata_from(req, "container", SAVE_HEADERS, ts);
    // Swift's POST moves the put timestamp (Last-Modified) unless told not to.
    let no_ts_update = req
        .header("X-Backend-No-Timestamp-Update")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on" | "t" | "y"));
    let (c, p, cont) = (ctx.clone(), path.clone(), container.to_string());
    db_call(move || {
        let (dbp, _, _) = paths(&c, &p, &cont)?;
        let b = brokers().get(&dbp).map_err(db_error)?;
        let info = b.info().map_err(db_error)?;
        if info.is_deleted() {
            return Err(Error::NotFound(None));
        }
        b.update_metadata_checked(&meta, &db::metadata::Limits::from(&c.conf().constraints)).map_err(db_error)?;
        if !no_ts_update {
            b.update_put_timestamp(ts).map_err(db_error)?;
        }
        Ok(())
    })?;
    send(resp, 204, &Headers::new(), b"")
}

fn get(ctx: &Context, req: &Request<'_>, resp: &mut Response<'_>, path: &BackendPath, container: &str) -> Result<()> {
    let (params, format) = match listing_params(req, path) {
        Ok(v) => v,
        Err((status, body)) => return send(resp, status, &Headers::new(), body.as_bytes()),
    };
    let listing = req.method() == "GET";
    let (c, p, cont) = (ctx.clone(), path.clone(), container.to_string());
    let (info, entries) = db_call(move || {
        let (dbp, _, _) = paths(&c, &p, &cont)?;
        let b = brokers().get(&dbp).map_err(db_error)?;
        let info = b.info().map_err(db_error)?;
        let entries = if listing && !info.is_deleted() { b.list(&params).map_err(db_error)? } else { Vec::new() };
        Ok((info, entries))
    })?;
    let mut h = db_timestamps([info.created_at, info.put_timestamp, info.delete_timestamp, info.status_changed_at]);
    h.set("X-Backend-Storage-Policy-Index", "0");
    if info.is_deleted() {
        return send(resp, 404, &h, b"");
    }
    h.set("X-Container-Object-Count", info.object_count.to_string());
    h.set("X-Container-Bytes-Used", info.bytes_used.to_string());
    h.set("X-Timestamp", info.created_at.normal());
    h.set("X-PUT-Timestamp", info.put_timestamp.normal());
    h.set("Last-Modified", http_date(info.put_timestamp.ceil_secs()));
    for (k, v) in db::metadata::visible(&info.metadata) {
        h.set(k, v);
    }
    h.set("Content-Type", format.content_type());
    if !listing {
        return send(resp, 204, &h, b"");
    }
    let entries: Vec<Entry<db::ObjectRow>> = entries;
    match db::format::container_listing(format, &quote(&path.account), container, &entries) {
        Some(body) => send(resp, 200, &h, &body),
        None => send(resp, 204, &h, b""),
    }
}
