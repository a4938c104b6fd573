//! The object server: the backend object API, `PUT`, `GET`, `HEAD`,
//! `DELETE`, `POST` on `/{device}/{partition}/{account}/{container}/{object}`,
//! and `REPLICATE` on `/{device}/{partition}[/{suffixes}]` (Swift's
//! `obj/server.py`), with what it keeps on disk and its background work:
//!
//! * [`diskfile`]: objects on disk (layout, format, write and read paths,
//!   quarantine, suffix hashes);
//! * [`container_update`], [`async_pending`], [`updater`]: the container
//!   rows of its writes, sent now or, failing that, later by the object
//!   updater;
//! * [`replicator`] (its own process) and [`ssync`], what a peer's
//!   replicator asks of this node: replicas made whole;
//! * [`auditor`] (its own process): every object's checksums checked in
//!   the background, what fails quarantined.
//!
//! Each handler reads as a short script; the rules they share are below.

pub mod async_pending;
pub mod auditor;
pub mod container_update;
pub mod diskfile;
mod get;
mod put;
pub mod replicator;
pub mod ssync;
pub mod updater;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::object::diskfile::{hashes, reader, writer, Kind, Location, Metadata, Opened};
use crate::path::ObjectPath;
use crate::timestamp::Timestamp;
use container_update::{Op, PutInfo};
use http::{Headers, Request, Response};

pub use get::get_or_head;
pub use put::put;

/// Dispatches an object request by method.
pub fn handle(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>, path: &ObjectPath) -> Result<()> {
    match req.method() {
        "PUT" => put(ctx, req, resp, path),
        "GET" | "HEAD" => get_or_head(ctx, req, resp, path),
        "DELETE" => delete(ctx, req, resp, path),
        "POST" => post(ctx, req, resp, path),
        _ => Err(Error::MethodNotAllowed),
    }
}

/// `DELETE`: writes a tombstone newer than what is stored; 204 if an
/// object was there, 404 if not, 409 if the stored data is as new.
pub fn delete(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>, path: &ObjectPath) -> Result<()> {
    let ts = require_timestamp(req)?;
    let loc = Location::new(ctx, path);
    let (orig_ts, existed) = match open_current(ctx, &loc)? {
        Current::Live(obj) if is_expired(&obj.metadata) => (obj.data_ts, false),
        Current::Live(obj) => (obj.data_ts, true),
        Current::Deleted(t) => (t, false),
        Current::Missing => (Timestamp::from_secs(0), false),
    };
    if existed && orig_ts >= ts {
        return Err(Error::Conflict(orig_ts));
    }
    if orig_ts < ts {
        let mut meta = Metadata::new();
        meta.insert("name".into(), path.name());
        meta.insert("X-Timestamp".into(), ts.internal());
        writer::write_marker(ctx, &loc, ts, Kind::Tombstone, meta)?;
        container_update::after_write(ctx, req, path, &loc, Op::Delete { ts })?;
    }
    let mut h = Headers::new();
    h.set("X-Backend-Timestamp", orig_ts.max(ts).internal());
    send_empty(resp, if existed { 204 } else { 404 }, &h)
}

/// `POST`: replaces the user metadata with a `.meta` file; 202, 404 if no
/// object, 409 if the stored metadata is as new. A new `Content-Type`
/// also goes to the container listing (the row keeps the object's size
/// and ETag, with the POST's timestamp, or their overrides), as Swift's
/// object server does. The answer carries the object's sysmeta.
pub fn post(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>, path: &ObjectPath) -> Result<()> {
    let ts = require_timestamp(req)?;
    check_delete_at(req, ts)?;
    let loc = Location::new(ctx, path);
    let obj = match open_current(ctx, &loc)? {
        Current::Live(obj) if !is_expired(&obj.metadata) => obj,
        _ => return Err(Error::NotFound(None)),
    };
    let orig_ts = obj.timestamp();
    if orig_ts >= ts {
        return Err(Error::Conflict(orig_ts));
    }
    let mut meta = user_metadata(ctx, req, false);
    meta.insert("name".into(), path.name());
    meta.insert("X-Timestamp".into(), ts.internal());
    let content_type = req.header("Content-Type").map(String::from);
    if let Some(ct) = &content_type {
        meta.insert("Content-Type".into(), ct.clone());
    }
    writer::write_marker(ctx, &loc, ts, Kind::Meta, meta)?;
    if let Some(content_type) = content_type {
        let info = PutInfo { size: obj.body_len, content_type, etag: obj.etag().to_string() };
        let info = info.with_overrides(&obj.metadata);
        container_update::after_write(ctx, req, path, &loc, Op::Put { ts, info })?;
    }
    // The object's sysmeta, as Swift's: the proxy's symlink code tells a
    // POST to a link by it.
    let mut h = Headers::new();
    for (k, v) in obj.metadata.iter().filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-object-sysmeta-")) {
        h.set(k.clone(), v.clone());
    }
    send_empty(resp, 202, &h)
}

/// `REPLICATE`: the partition's suffix hashes as a JSON object, with the
/// named suffixes recalculated (Swift answers a pickle; we never use
/// pickle-like formats between nodes).
pub fn replicate(
    ctx: &Context,
    resp: &mut Response<'_>,
    device: &str,
    partition: u32,
    suffixes: Vec<String>,
) -> Result<()> {
    let (c, dev) = (ctx.clone(), device.to_string());
    let found = hub::tpool::execute(move || {
        let dev_dir = c.check_device(&dev)?;
        let part_dir = dev_dir.join(crate::object::diskfile::layout::OBJECTS).join(partition.to_string());
        hashes::get_hashes(&part_dir, &suffixes, Timestamp::now(), c.conf().reclaim_age.as_secs())
            .map_err(|e| Error::io("hashing a partition", e))
    })?;
    let body = serde_json::to_vec(&found).map_err(|e| Error::io("encoding hashes", e.into()))?;
    let mut h = Headers::new();
    h.set("Content-Type", "application/json");
    resp.send(200, &h, &body).map_err(client_gone)
}

/// The current state of an object, after quarantining a bad data file.
pub(crate) enum Current {
    Missing,
    Deleted(Timestamp),
    Live(reader::ObjectFile),
}

/// Opens the object with no body prefetch (see [`open_with`]).
pub(crate) fn open_current(ctx: &Context, loc: &Location) -> Result<Current> {
    open_with(ctx, loc, 0)
}

/// Opens the object; a quarantined one is logged and counts as missing.
pub(crate) fn open_with(ctx: &Context, loc: &Location, prefetch: usize) -> Result<Current> {
    Ok(current(reader::open(ctx, loc, prefetch)?, loc))
}

/// [`open_current`] for a `tpool` thread (blocking).
pub(crate) fn open_current_blocking(ctx: &Context, loc: &Location) -> Result<Current> {
    Ok(current(reader::open_blocking(ctx, loc, 0)?, loc))
}

fn current(opened: Opened, loc: &Location) -> Current {
    match opened {
        Opened::Missing => Current::Missing,
        Opened::Deleted(ts) => Current::Deleted(ts),
        Opened::Found(f) => Current::Live(f),
        Opened::Quarantined(why) => {
            crate::log::error(&format!("quarantined {} on {}: {why}", loc.hash, loc.device));
            Current::Missing
        }
    }
}

/// The request's `X-Timestamp`: 400 if missing or malformed.
pub fn require_timestamp(req: &Request<'_>) -> Result<Timestamp> {
    let raw = req.header("X-Timestamp").ok_or_else(|| Error::bad_request("Missing X-Timestamp header"))?;
    Timestamp::parse(raw)
        .map_err(|_| Error::bad_request(format!("X-Timestamp should be a UNIX timestamp float value; was {raw:?}")))
}

/// `X-Delete-At` must be an integer in the future (Swift's
/// `check_object_creation` and POST rules).
pub fn check_delete_at(req: &Request<'_>, now: Timestamp) -> Result<()> {
    let Some(v) = req.header("X-Delete-At") else { return Ok(()) };
    let at: u64 = v.trim().parse().map_err(|_| Error::bad_request("Non-integer X-Delete-At"))?;
    if at <= now.secs() {
        return Err(Error::bad_request("X-Delete-At in past"));
    }
    Ok(())
}

/// True if the object's `X-Delete-At` has passed.
pub fn is_expired(meta: &Metadata) -> bool {
    meta.get("X-Delete-At").and_then(|v| v.trim().parse::<u64>().ok()).is_some_and(|at| at <= Timestamp::now().secs())
}

/// `x-object-meta-foo` → `X-Object-Meta-Foo` (Swift stores titled names).
pub fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.extend(if upper { c.to_uppercase().collect::<Vec<_>>() } else { c.to_lowercase().collect() });
        upper = !c.is_alphabetic();
    }
    out
}

/// The metadata a request sets: `X-Object-Meta-*`, the `allowed_headers`,
/// and on PUT `X-Object-Sysmeta-*`.
pub fn user_metadata(ctx: &Context, req: &Request<'_>, with_sysmeta: bool) -> Metadata {
    let mut meta = Metadata::new();
    for (name, value) in req.headers().iter() {
        let lower = name.to_ascii_lowercase();
        let keep = lower.starts_with("x-object-meta-")
            || (with_sysmeta && lower.starts_with("x-object-sysmeta-"))
            || ctx.conf().allowed_headers.contains(&lower);
        if keep {
            meta.insert(title_case(name), value.to_string());
        }
    }
    meta
}

/// Headers an object's metadata contributes to a GET/HEAD answer.
pub fn metadata_headers(ctx: &Context, meta: &Metadata, h: &mut Headers) {
    for (k, v) in meta {
        let lower = k.to_ascii_lowercase();
        if lower.starts_with("x-object-meta-")
            || lower.starts_with("x-object-sysmeta-")
            || ctx.conf().allowed_headers.contains(&lower)
        {
            h.set(k.clone(), v.clone());
        }
    }
}

/// A response write failed: the client is gone.
pub fn client_gone(e: std::io::Error) -> Error {
    Error::ClientDisconnect(e.to_string())
}

/// Sends a bodyless answer.
pub fn send_empty(resp: &mut Response<'_>, status: u16, h: &Headers) -> Result<()> {
    resp.send(status, h, b"").map_err(client_gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_header_names_as_swift_stores_them() {
        assert_eq!(title_case("x-object-meta-color"), "X-Object-Meta-Color");
        assert_eq!(title_case("X-OBJECT-META-Two-Words"), "X-Object-Meta-Two-Words");
        assert_eq!(title_case("content-disposition"), "Content-Disposition");
    }

    #[test]
    fn expiry_is_read_from_metadata() {
        let mut m = Metadata::new();
        assert!(!is_expired(&m));
        m.insert("X-Delete-At".into(), "1".into());
        assert!(is_expired(&m));
        m.insert("X-Delete-At".into(), (Timestamp::now().secs() + 1000).to_string());
        assert!(!is_expired(&m));
    }
}
