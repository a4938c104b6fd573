//! `PUT`: receive the body with its checksums, check them and the
//! client's ETag, commit durably, update the container, answer 201.
//!
//! Checksums (docs/integrity.md): the body's CRC32C is always computed and
//! stored. The proxy's PUTs carry the MD5 (`X-Backend-Etag`) and the CRC32C
//! (`X-Backend-Crc32c`) it computed, in the head of a whole small body
//! (`X-Backend-Checksums: header`) or in the trailer of a chunked one
//! (`X-Backend-Checksums: trailer`): the CRC32C must match what arrived,
//! and the MD5 becomes the ETag without being recomputed. Without them (a
//! direct PUT) the object server computes the MD5 itself.
//!
//! A body of at most `network_chunk_size` bytes whose sender does not wait
//! for `100 Continue` is read whole first; then the check against what is
//! stored, the temp file, the write and the commit are one tpool call. Any
//! other body is checked against what is stored and given its temp file
//! (one tpool call) before it is read (so `100 Continue` follows the
//! checks, as in Swift), streamed to the file, and committed.

use super::{check_delete_at, open_current_blocking, require_timestamp, send_empty, user_metadata, Current};
use crate::conditional::matches;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::object::container_update::{self, Op, PutInfo};
use crate::object::diskfile::{crc_hex, Location, Metadata, Writer, CRC32C_KEY};
use crate::path::ObjectPath;
use crate::timestamp::Timestamp;
use common::etag::normalize_etag;
use http::{Headers, Request, Response};
use md5::{Digest, Md5};
use std::io::Read;
use std::time::Instant;

/// Body bytes hashed and written between two yields to the hub.
const YIELD_EVERY: usize = 1 << 20;

/// Where the body's MD5 comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sums {
    /// The request head (a whole small body from the proxy).
    Header,
    /// The chunked body's trailer (a streamed body from the proxy).
    Trailer,
    /// Computed here (a direct PUT).
    Here,
}

/// What arrived: its size, CRC32C and (if computed here) MD5.
struct Received {
    size: u64,
    crc: u32,
    md5: Option<String>,
}

pub fn put(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>, path: &ObjectPath) -> Result<()> {
    let ts = require_timestamp(req)?;
    let size = declared_size(req)?;
    let max = ctx.conf().constraints.max_file_size;
    if size.is_some_and(|n| n > max) {
        return Err(Error::TooLarge(max));
    }
    let content_type = req.header("Content-Type").ok_or_else(|| Error::bad_request("No content type"))?.to_string();
    check_delete_at(req, ts)?;
    let loc = Location::new(ctx, path);
    let sums = match req.header("X-Backend-Checksums").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("header") => Sums::Header,
        Some("trailer") => Sums::Trailer,
        _ => Sums::Here,
    };
    let if_none_match = req.header("If-None-Match").map(String::from);
    let whole = size.filter(|&n| n <= ctx.conf().network_chunk_size as u64 && !req.body.continue_pending());
    let (c, l) = (ctx.clone(), loc.clone());
    // Blocking: 409/412 if what is stored is as new, else the temp file.
    let open = move |md5: bool| {
        check_not_stale(if_none_match.as_deref(), open_current_blocking(&c, &l)?, ts)?;
        Writer::create(&c, &l, size, md5)
    };
    let (etag, info) = match whole {
        Some(n) => {
            let body = read_whole(ctx, req, n)?;
            let md5 = (sums == Sums::Here).then(|| common::hex::hex(&Md5::digest(&body)));
            let got = Received { size: n, crc: crc32c::crc32c(&body), md5 };
            let described = describe(ctx, req, path, ts, content_type, &got, sums);
            let crc = got.crc;
            hub::tpool::execute(move || {
                // As in the streamed path (and Swift), 409/412 come before
                // a refusal of the body itself (422, 400).
                let mut writer = open(false)?;
                let (etag, meta, info) = described?;
                writer.write_whole(&body, crc)?;
                writer.commit_blocking(ts, meta)?;
                Ok::<_, Error>((etag, info))
            })?
        }
        None => {
            let mut writer = hub::tpool::execute(move || open(sums == Sums::Here))?;
            receive_body(ctx, req, &mut writer, size)?;
            if size.is_some_and(|n| n != writer.written()) {
                let why = format!("body of {} bytes, {} declared", writer.written(), size.unwrap_or(0));
                return Err(Error::bad_request(why));
            }
            let got = Received { size: writer.written(), crc: writer.crc32c(), md5: writer.etag() };
            let (etag, meta, info) = describe(ctx, req, path, ts, content_type, &got, sums)?;
            writer.commit(ts, meta)?;
            (etag, info)
        }
    };
    container_update::after_write(ctx, req, path, &loc, Op::Put { ts, info })?;
    let mut h = Headers::new();
    h.set("ETag", format!("\"{etag}\""));
    send_empty(resp, 201, &h)
}

/// Once the body is in: its ETag (the MD5 computed here, or the proxy's
/// once the CRC32C matches), checked against the client's; the object's
/// metadata; and its container row.
fn describe(
    ctx: &Context,
    req: &Request<'_>,
    path: &ObjectPath,
    ts: Timestamp,
    content_type: String,
    got: &Received,
    sums: Sums,
) -> Result<(String, Metadata, PutInfo)> {
    let etag = match (&got.md5, sums) {
        (Some(etag), _) => etag.clone(),
        (None, Sums::Header) => proxy_etag(|k| req.header(k).map(String::from), got.crc)?,
        (None, _) => {
            let trailers = req.body.trailers();
            proxy_etag(|k| trailers.get(k).map(String::from), got.crc)?
        }
    };
    check_client_etag(req, &etag)?;
    let mut meta = user_metadata(ctx, req, true);
    meta.insert("name".into(), path.name());
    meta.insert("X-Timestamp".into(), ts.internal());
    meta.insert("Content-Type".into(), content_type.clone());
    meta.insert("ETag".into(), etag.clone());
    meta.insert("Content-Length".into(), got.size.to_string());
    meta.insert(CRC32C_KEY.into(), crc_hex(got.crc));
    let info = PutInfo { size: got.size, content_type, etag: etag.clone() }.with_overrides(&meta);
    Ok((etag, meta, info))
}

/// A whole body of `size` bytes, within `max_upload_time`: 400 if a
/// chunked body brings more or fewer (a client gone early: 499).
fn read_whole(ctx: &Context, req: &mut Request<'_>, size: u64) -> Result<Vec<u8>> {
    let deadline = Instant::now() + ctx.conf().max_upload_time;
    let mut body = vec![0u8; size as usize + 1];
    let mut n = 0;
    loop {
        match req.body.read(&mut body[n..]).map_err(Error::from_body_read)? {
            0 => break,
            k => n += k,
        }
        if n > size as usize {
            return Err(Error::bad_request(format!("body of more than {size} bytes declared")));
        }
        if Instant::now() > deadline {
            return Err(Error::ClientTimeout);
        }
    }
    if n < size as usize {
        return Err(Error::bad_request(format!("body of {n} bytes, {size} declared")));
    }
    body.truncate(n);
    Ok(body)
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
fn check_not_stale(if_none_match: Option<&str>, current: Current, ts: Timestamp) -> Result<()> {
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
/// within `max_upload_time`; 413 as soon as it passes `max_file_size`
/// (the writer checks `fallocate_reserve` as an undeclared body grows).
pub(super) fn receive_body(ctx: &Context, req: &mut Request<'_>, writer: &mut Writer, size: Option<u64>) -> Result<()> {
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
        let total = writer.written() + n as u64;
        if total > conf.constraints.max_file_size {
            return Err(Error::TooLarge(conf.constraints.max_file_size));
        }
        if let Some(declared) = size.filter(|&d| total > d) {
            return Err(Error::bad_request(format!("body of more than {declared} bytes declared")));
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

/// The ETag the proxy computed (`X-Backend-Etag`, from the head or the
/// trailer, read by `field`), once the CRC32C it computed
/// (`X-Backend-Crc32c`) matches `crc`, what arrived here: 422 if not (the
/// bytes changed on the way; nothing is stored), 400 without them.
fn proxy_etag(field: impl Fn(&str) -> Option<String>, crc: u32) -> Result<String> {
    let (Some(etag), Some(theirs)) = (field("X-Backend-Etag"), field("X-Backend-Crc32c")) else {
        return Err(Error::bad_request("X-Backend-Checksums without X-Backend-Etag and X-Backend-Crc32c"));
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
