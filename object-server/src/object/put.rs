//! `PUT`: stream the body to a temp file with its checksums, check them
//! and the client's ETag, commit durably, update the container, answer 201.
//!
//! Checksums (docs/integrity.md): the body's CRC32C is always computed and
//! stored. With `X-Backend-Checksums: trailer` (the proxy's PUTs) the body
//! is chunked and its trailer carries the MD5 (`X-Backend-Etag`) and the
//! CRC32C (`X-Backend-Crc32c`) the proxy computed: the CRC32C must match
//! what arrived, and the MD5 becomes the ETag without being recomputed.
//! Without it (a direct PUT) the object server computes the MD5 itself.

use super::{check_delete_at, open_current_blocking, require_timestamp, send_empty, user_metadata, Current};
use crate::conditional::{matches, normalize_etag};
use crate::container_update::{self, Op, PutInfo};
use crate::context::Context;
use crate::diskfile::{crc_hex, Location, Writer, CRC32C_KEY};
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
    let trailed = req.header("X-Backend-Checksums").is_some_and(|v| v.trim().eq_ignore_ascii_case("trailer"));
    let if_none_match = req.header("If-None-Match").map(String::from);
    // The check against what is stored and the temp file: one tpool call.
    let (c, l) = (ctx.clone(), loc.clone());
    let mut writer = hub::tpool::execute(move || {
        check_not_stale(if_none_match.as_deref(), open_current_blocking(&c, &l)?, ts)?;
        Writer::create(&c, &l, size, !trailed)
    })?;
    receive_body(ctx, req, &mut writer, size)?;
    if size.is_some_and(|n| n != writer.written()) {
        let why = format!("body of {} bytes, {} declared", writer.written(), size.unwrap_or(0));
        return Err(Error::bad_request(why));
    }
    let etag = match writer.etag() {
        Some(etag) => etag,
        None => trailer_etag(req, writer.crc32c())?,
    };
    check_client_etag(req, &etag)?;
    let mut meta = user_metadata(ctx, req, true);
    meta.insert("name".into(), path.name());
    meta.insert("X-Timestamp".into(), ts.internal());
    meta.insert("Content-Type".into(), content_type.clone());
    meta.insert("ETag".into(), etag.clone());
    meta.insert("Content-Length".into(), writer.written().to_string());
    meta.insert(CRC32C_KEY.into(), crc_hex(writer.crc32c()));
    let size = writer.written();
    let info = PutInfo { size, content_type, etag: etag.clone() }.with_overrides(&meta);
    writer.commit(ts, meta)?;
    container_update::after_write(ctx, req, path, &loc, Op::Put { ts, info })?;
    let mut h = Headers::new();
    h.set("ETag", format!("\"{etag}\""));
    send_empty(resp, 201, &h)
}

/// The body's declared length: `Content-Length`, or for a chunked body
/// the proxy's `X-Backend-Obj-Content-Length` (`None`: unknown); 411
/// without either framing.
fn declared_size(req: &Request<'_>) -> Result<Option<u64>> {
    let chunked = req.header("Transfer-Encoding").is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    match (req.header("Content-Length"), chunked) {
        (_, true) => match req.header("X-Backend-Obj-Content-Length") {
            Some(v) => {
                v.trim().parse().map(Some).map_err(|_| Error::bad_request("Invalid X-Backend-Obj-Content-Length"))
            }
            None => Ok(None),
        },
        (Some(_), false) => Ok(req.body.remaining()),
        (None, false) => Err(Error::LengthRequired),
    }
}

/// 412 for `If-None-Match` on an existing object, 409 if as new a
/// version (or tombstone) is stored.
fn check_not_stale(if_none_match: Option<&str>, current: Current, ts: crate::timestamp::Timestamp) -> Result<()> {
    let orig = match current {
        Current::Live(obj) => {
            if !super::is_expired(&obj.metadata) && if_none_match.is_some_and(|l| matches(l, obj.etag())) {
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

/// Streams the request body (of `size` bytes, if known) into the writer,
/// within `max_upload_time`.
fn receive_body(ctx: &Context, req: &mut Request<'_>, writer: &mut Writer, size: Option<u64>) -> Result<()> {
    let conf = ctx.conf();
    let deadline = Instant::now() + conf.max_upload_time;
    // A small body gets a small buffer (not a zeroed `network_chunk_size`).
    let len = size.map_or(conf.network_chunk_size, |n| n.clamp(1, conf.network_chunk_size as u64) as usize);
    let mut buf = vec![0u8; len];
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

/// The ETag the proxy computed, from the body's trailer, once the CRC32C
/// it computed matches `crc`, what arrived here: 422 if not (the bytes
/// changed on the way; nothing is stored), 400 without the trailer.
fn trailer_etag(req: &Request<'_>, crc: u32) -> Result<String> {
    let trailers = req.body.trailers();
    let (Some(etag), Some(theirs)) = (trailers.get("X-Backend-Etag"), trailers.get("X-Backend-Crc32c")) else {
        return Err(Error::bad_request("X-Backend-Checksums: trailer without X-Backend-Etag and X-Backend-Crc32c"));
    };
    let etag = etag.trim().to_ascii_lowercase();
    if etag.len() != 32 || !etag.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::bad_request("X-Backend-Etag is not an MD5"));
    }
    if !theirs.trim().eq_ignore_ascii_case(&crc_hex(crc)) {
        return Err(Error::Unprocessable(format!("body CRC32C {} does not match the sender's {theirs}", crc_hex(crc))));
    }
    Ok(etag)
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
