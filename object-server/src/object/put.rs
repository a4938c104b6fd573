//! `PUT`: stream the body to a temp file with its MD5, check the client's
//! ETag, commit durably, update the container, answer 201.

use super::{check_delete_at, open_current, require_timestamp, send_empty, user_metadata, Current};
use crate::conditional::{matches, normalize_etag};
use crate::container_update::{self, Op, PutInfo};
use crate::context::Context;
use crate::diskfile::{Location, Writer};
use crate::error::{Error, Result};
use crate::path::ObjectPath;
use http::{Headers, Request, Response};
use std::io::Read;
use std::time::Instant;

/// Body bytes hashed and written between two yields to the hub.
const YIELD_EVERY: usize = 1 << 20;

pub fn put(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>, path: &ObjectPath) -> Result<()> {
    let ts = require_timestamp(req)?;
    let size = declared_size(req)?;
    let content_type = req.header("Content-Type").ok_or_else(|| Error::bad_request("No content type"))?.to_string();
    check_delete_at(req, ts)?;
    let loc = Location::new(ctx, path);
    check_not_stale(req, ctx, &loc, ts)?;
    let mut writer = Writer::create(ctx, &loc, size)?;
    receive_body(ctx, req, &mut writer)?;
    let etag = writer.etag();
    check_client_etag(req, &etag)?;
    let mut meta = user_metadata(ctx, req, true);
    meta.insert("name".into(), path.name());
    meta.insert("X-Timestamp".into(), ts.internal());
    meta.insert("Content-Type".into(), content_type.clone());
    meta.insert("ETag".into(), etag.clone());
    meta.insert("Content-Length".into(), writer.written().to_string());
    let size = writer.written();
    writer.commit(ts, meta)?;
    let info = PutInfo { size, content_type, etag: etag.clone() };
    container_update::after_write(ctx, req, path, &loc, Op::Put { ts, info })?;
    let mut h = Headers::new();
    h.set("ETag", format!("\"{etag}\""));
    send_empty(resp, 201, &h)
}

/// The body's declared length (`None`: chunked); 411 without either.
fn declared_size(req: &Request<'_>) -> Result<Option<u64>> {
    let chunked = req.header("Transfer-Encoding").is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    match (req.header("Content-Length"), chunked) {
        (_, true) => Ok(None),
        (Some(_), false) => Ok(req.body.remaining()),
        (None, false) => Err(Error::LengthRequired),
    }
}

/// 412 for `If-None-Match` on an existing object, 409 if as new a
/// version (or tombstone) is stored.
fn check_not_stale(req: &Request<'_>, ctx: &Context, loc: &Location, ts: crate::timestamp::Timestamp) -> Result<()> {
    let orig = match open_current(ctx, loc)? {
        Current::Live(obj) => {
            if !super::is_expired(&obj.metadata) && req.header("If-None-Match").is_some_and(|l| matches(l, obj.etag()))
            {
                return Err(Error::PreconditionFailed);
            }
            Some(obj.data_ts)
        }
        Current::Deleted(t) => Some(t),
        Current::Missing => None,
    };
    match orig {
        Some(o) if o >= ts => Err(Error::Conflict(o)),
        _ => Ok(()),
    }
}

/// Streams the request body into the writer, within `max_upload_time`.
fn receive_body(ctx: &Context, req: &mut Request<'_>, writer: &mut Writer) -> Result<()> {
    let conf = ctx.conf();
    let deadline = Instant::now() + conf.max_upload_time;
    let mut buf = vec![0u8; conf.network_chunk_size];
    let mut since_yield = 0usize;
    loop {
        let n = req.body.read(&mut buf).map_err(Error::from_body_read)?;
        if n == 0 {
            return Ok(());
        }
        writer.write(&buf[..n])?;
        // A fast client never makes the read park: hashing a big body
        // must still let the other green threads run (CAVEATS rule 3).
        since_yield += n;
        if since_yield >= YIELD_EVERY {
            since_yield = 0;
            hub::yield_now();
        }
        if Instant::now() > deadline {
            return Err(Error::ClientTimeout);
        }
    }
}

/// 422 if the client sent an `ETag` that is not the body's MD5.
fn check_client_etag(req: &Request<'_>, etag: &str) -> Result<()> {
    match req.header("ETag") {
        Some(theirs) if !normalize_etag(theirs).eq_ignore_ascii_case(etag) => {
            Err(Error::Unprocessable(format!("ETag {theirs} does not match the body's MD5 {etag}")))
        }
        _ => Ok(()),
    }
}
