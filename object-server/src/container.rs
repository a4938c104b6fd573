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
//! (`account_update.rs`... see [`crate::account`]).

use crate::account::{self, AccountTargets};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::object::client_gone;
use crate::path::BackendPath;
use crate::timestamp::http_date;
use db::{
    Applied, ContainerBroker, DeleteOutcome, Entry, Format, Kind, ListParams, Metadata, ObjectRecord, PutOutcome,
};
use http::percent::quote;
use http::{Headers, Request, Response};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Open container databases of this process, shared by all workers.
pub fn brokers() -> &'static db::Brokers<ContainerBroker> {
    static B: OnceLock<db::Brokers<ContainerBroker>> = OnceLock::new();
    B.get_or_init(|| db::Brokers::new(db::Options::default(), 1024))
}

/// Header that marks a container's row update sent to an account.
pub const ACCOUNT_UPDATE_HEADER: &str = "X-Backend-Account-Update";

/// Container headers stored as metadata besides `X-Container-Meta-*` and
/// `X-Container-Sysmeta-*` (Swift's `save_headers`).
const SAVE_HEADERS: &[&str] = &["x-container-read", "x-container-write", "x-container-sync-key", "x-container-sync-to"];

/// Handles a request on a container path, an object row, or a container
/// row sent to an account (same depth as a container path).
pub fn handle(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    if path.object.is_none() && account::is_container_row(req) {
        return account::container_row(ctx, req, resp, path);
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

/// Runs `f` on `tpool`; `SQLITE_BUSY` (another process holds the lock) is
/// retried after `hub::sleep` with backoff, never a blocking wait.
pub fn db_call<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: Fn() -> Result<T> + Send + Sync + 'static,
{
    let f = Arc::new(f);
    let mut delay = Duration::from_millis(2);
    let mut tries = 0;
    loop {
        let g = f.clone();
        match hub::tpool::execute(move || g()) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::WouldBlock && tries < 10 => {
                tries += 1;
                hub::sleep(delay).map_err(|e| Error::io("waiting for a locked database", e))?;
                delay = (delay * 2).min(Duration::from_millis(500));
            }
            r => return r,
        }
    }
}

/// The one mapping from a database error to this server's errors.
pub fn db_error(e: db::Error) -> Error {
    match e {
        db::Error::NotFound => Error::NotFound(None),
        db::Error::Busy => Error::io("database is locked", std::io::ErrorKind::WouldBlock.into()),
        db::Error::Invalid(why) => Error::BadRequest(why),
        e if e.is_disk_full() => Error::InsufficientStorage(e.to_string()),
        e @ db::Error::Quarantined { .. } => {
            crate::log::error(&e.to_string());
            Error::io("database", std::io::Error::other(e.to_string()))
        }
        e => Error::io("database", std::io::Error::other(e.to_string())),
    }
}

/// `X-Timestamp`, required on every write (400 without it).
pub fn req_timestamp(req: &Request<'_>) -> Result<db::Timestamp> {
    let v = req.header("X-Timestamp").ok_or_else(|| Error::bad_request("Missing X-Timestamp header"))?;
    db::Timestamp::parse(v).map_err(|_| Error::bad_request(format!("X-Timestamp should be a UNIX timestamp: {v:?}")))
}

/// `X-Container-Meta-Color` whatever the case it came in.
pub fn canonical(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The metadata a request sets: headers of `kind` (`container`,
/// `account`) that are user or system metadata, or in `extra`.
pub fn metadata_from(req: &Request<'_>, kind: &str, extra: &[&str], ts: db::Timestamp) -> Metadata {
    let (meta, sysmeta) = (format!("x-{kind}-meta-"), format!("x-{kind}-sysmeta-"));
    req.headers()
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            (k.starts_with(&meta) && k.len() > meta.len()) || k.starts_with(&sysmeta) || extra.contains(&k.as_str())
        })
        .map(|(k, v)| (canonical(k), (v.trim().to_string(), ts)))
        .collect()
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

fn send(resp: &mut Response<'_>, status: u16, h: &Headers, body: &[u8]) -> Result<()> {
    resp.send(status, h, body).map_err(client_gone)
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
        let limits = c.conf().meta_limits;
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
    account::tell_account(ctx, &targets, &info, req);
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
            account::tell_account(ctx, &targets, &info, req);
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
        b.update_metadata_checked(&meta, &c.conf().meta_limits).map_err(db_error)?;
        if !no_ts_update {
            b.update_put_timestamp(ts).map_err(db_error)?;
        }
        Ok(())
    })?;
    send(resp, 204, &Headers::new(), b"")
}

/// The timestamps a database answer carries (created, PUT, DELETE,
/// status change), as Swift's account and container servers send them.
pub fn db_timestamps([created, put, delete, changed]: [db::Timestamp; 4]) -> Headers {
    let mut h = Headers::new();
    h.set("X-Backend-Timestamp", created.internal());
    h.set("X-Backend-PUT-Timestamp", put.internal());
    h.set("X-Backend-Delete-Timestamp", delete.internal());
    h.set("X-Backend-Status-Changed-At", changed.internal());
    h
}

/// The listing parameters and format of a GET or HEAD (412 for a bad
/// limit, 406 when `Accept` allows no format).
pub fn listing_params(
    req: &Request<'_>,
    path: &BackendPath,
) -> std::result::Result<(ListParams, Format), (u16, String)> {
    let mut p = ListParams::default();
    let mut format = None;
    for (k, v) in path.query_pairs() {
        match k.as_str() {
            "prefix" => p.prefix = v,
            "delimiter" => p.delimiter = v,
            "marker" => p.marker = v,
            "end_marker" => p.end_marker = v,
            "path" => p.path = Some(v),
            "reverse" => p.reverse = matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on" | "t" | "y"),
            "format" => format = Some(v),
            // As Swift: only digits count (`5000.0`, `-1`, `x` leave the
            // default limit); more than the maximum is 412.
            "limit" if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => match v.parse::<usize>() {
                Ok(n) if n <= db::LISTING_LIMIT => p.limit = n,
                _ => return Err((412, format!("Maximum limit is {}", db::LISTING_LIMIT))),
            },
            _ => {}
        }
    }
    let f = Format::choose(format.as_deref(), req.header("Accept")).ok_or((406, String::new()))?;
    Ok((p, f))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_canonical() {
        assert_eq!(canonical("x-container-meta-color"), "X-Container-Meta-Color");
        assert_eq!(canonical("X-CONTAINER-READ"), "X-Container-Read");
    }
}
