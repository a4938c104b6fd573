//! `GET` and `HEAD`: open the current version, apply expiry and the
//! conditions, then send the whole body (checking its MD5), one range, or
//! several as `multipart/byteranges`.

use super::{client_gone, is_expired, metadata_headers, open_with, send_empty, Current};
use crate::conditional::{matches, Conditions, Outcome};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::object::diskfile::{crc_hex, reader, Location, ObjectFile, CRC32C_KEY};
use crate::path::ObjectPath;
use crate::ranges::{self, Multipart, Plan};
use crate::timestamp::{http_date, Timestamp};
use http::{Headers, Request, Response};
use md5::{Digest, Md5};
use std::io::Write;

pub fn get_or_head(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>, path: &ObjectPath) -> Result<()> {
    let head_only = req.method() == "HEAD";
    let loc = Location::new(ctx, path);
    let plan_whole = req.header("Range").is_none() && !head_only;
    let prefetch = if plan_whole { ctx.conf().disk_chunk_size } else { 0 };
    let obj = match open_with(ctx, &loc, prefetch)? {
        Current::Live(obj) if !is_expired(&obj.metadata) => obj,
        Current::Live(_) | Current::Missing => return not_found(req, None),
        Current::Deleted(ts) => return not_found(req, Some(ts)),
    };
    let mut h = object_headers(ctx, &obj);
    match conditions(req).evaluate(obj.etag(), obj.timestamp().ceil_secs()) {
        Outcome::Proceed => {}
        Outcome::NotModified => return send_empty(resp, 304, &h),
        Outcome::PreconditionFailed => return send_empty(resp, 412, &h),
    }
    let range = req.header("Range").filter(|_| !ignores_range(req, &obj.metadata));
    match ranges::plan(range, obj.body_len) {
        Plan::Whole => send_whole(ctx, resp, &loc, obj, h, head_only),
        Plan::Unsatisfiable => Err(Error::RangeNotSatisfiable(obj.body_len)),
        Plan::Ranges(r) if r.len() == 1 => {
            let (start, end) = r[0];
            h.set("Content-Range", ranges::content_range(start, end, obj.body_len));
            resp.start(206, &h, Some(end - start)).map_err(client_gone)?;
            if !head_only {
                send_range(ctx, resp, &obj, start, end)?;
            }
            resp.finish().map_err(client_gone)
        }
        Plan::Ranges(r) => send_multirange(ctx, resp, &obj, h, &r, head_only),
    }
}

/// Swift's `X-Backend-Ignore-Range-If-Metadata-Present: <names>`: the
/// proxy asks for a DLO manifest or a symlink whole (it reads the range
/// from what they name) when the object has one of these metadata keys.
fn ignores_range(req: &Request<'_>, meta: &crate::object::diskfile::Metadata) -> bool {
    let Some(names) = req.header("X-Backend-Ignore-Range-If-Metadata-Present") else { return false };
    names.split(',').map(str::trim).any(|n| !n.is_empty() && meta.keys().any(|k| k.eq_ignore_ascii_case(n)))
}

/// 404, or 412 for `If-Match: *` (nothing matches a missing object).
fn not_found(req: &Request<'_>, tombstone: Option<Timestamp>) -> Result<()> {
    if req.header("If-Match").is_some_and(|l| matches(l, "")) {
        return Err(Error::PreconditionFailed);
    }
    Err(Error::NotFound(tombstone))
}

fn conditions<'a>(req: &'a Request<'_>) -> Conditions<'a> {
    Conditions {
        if_match: req.header("If-Match"),
        if_none_match: req.header("If-None-Match"),
        if_modified_since: req.header("If-Modified-Since"),
        if_unmodified_since: req.header("If-Unmodified-Since"),
    }
}

/// What Swift's object server answers about an object.
fn object_headers(ctx: &Context, obj: &ObjectFile) -> Headers {
    let ts = obj.timestamp();
    let mut h = Headers::new();
    let ct = obj.metadata.get("Content-Type").map(String::as_str).unwrap_or("application/octet-stream");
    h.set("Content-Type", ct);
    metadata_headers(ctx, &obj.metadata, &mut h);
    h.set("ETag", format!("\"{}\"", obj.etag()));
    h.set("Last-Modified", http_date(ts.ceil_secs()));
    h.set("X-Timestamp", ts.normal());
    let data_ts = obj.data_ts.internal();
    h.set("X-Backend-Timestamp", if ts == obj.data_ts { data_ts.clone() } else { ts.internal() });
    h.set("X-Backend-Data-Timestamp", data_ts.clone());
    h.set("X-Backend-Durable-Timestamp", data_ts);
    h.set("Accept-Ranges", "bytes");
    h
}

/// A full read's check of the body against its data file: the CRC32C
/// stored with it, or for a data file without one (written before
/// swiftlet stored CRC32Cs) the MD5 against the ETag.
enum BodyCheck {
    Crc32c { want: String, got: u32 },
    Md5(Box<Md5>),
}

impl BodyCheck {
    fn new(obj: &ObjectFile) -> BodyCheck {
        match obj.metadata.get(CRC32C_KEY) {
            Some(want) => BodyCheck::Crc32c { want: want.to_ascii_lowercase(), got: 0 },
            None => BodyCheck::Md5(Box::default()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            BodyCheck::Crc32c { got, .. } => *got = crc32c::crc32c_append(*got, data),
            BodyCheck::Md5(m) => m.update(data),
        }
    }

    /// `Some(why)` if the body does not match.
    fn mismatch(self, obj: &ObjectFile) -> Option<String> {
        match self {
            BodyCheck::Crc32c { want, got } if crc_hex(got) != want => {
                Some(format!("body CRC32C {} does not match the stored {want}", crc_hex(got)))
            }
            BodyCheck::Crc32c { .. } => None,
            BodyCheck::Md5(m) => {
                let got = common::hex::hex(&m.finalize());
                (got != obj.etag()).then(|| format!("body MD5 {got} does not match ETag {}", obj.etag()))
            }
        }
    }
}

/// Sends the whole body, checking it ([`BodyCheck`]); a body that does
/// not match (or ends early) is quarantined once sent.
fn send_whole(
    ctx: &Context,
    resp: &mut Response<'_>,
    loc: &Location,
    obj: ObjectFile,
    h: Headers,
    head_only: bool,
) -> Result<()> {
    let mut check = BodyCheck::new(&obj);
    if obj.head.len() as u64 == obj.body_len && !head_only {
        // Read whole with the metadata: head and body go out in one write.
        resp.send(200, &h, &obj.head).map_err(client_gone)?;
        check.update(&obj.head);
        if let Some(why) = check.mismatch(&obj) {
            quarantine(ctx, loc, &why);
        }
        return Ok(());
    }
    resp.start(200, &h, Some(obj.body_len)).map_err(client_gone)?;
    if head_only {
        return resp.finish().map_err(client_gone);
    }
    check.update(&obj.head);
    resp.write_all(&obj.head).map_err(client_gone)?;
    let mut offset = obj.head.len() as u64;
    let mut buf = Vec::new();
    while offset < obj.body_len {
        let want = (obj.body_len - offset).min(ctx.conf().disk_chunk_size as u64) as usize;
        buf.resize(want, 0);
        let (back, n) = reader::read_at(&obj.file, offset, std::mem::take(&mut buf));
        buf = back;
        let n = n.map_err(|e| Error::io("reading a data file", e))?;
        if n == 0 {
            quarantine(ctx, loc, "data file shorter than its Content-Length");
            return Err(Error::io("reading a data file", std::io::ErrorKind::UnexpectedEof.into()));
        }
        check.update(&buf[..n]);
        resp.write_all(&buf[..n]).map_err(client_gone)?;
        offset += n as u64;
    }
    if let Some(why) = check.mismatch(&obj) {
        quarantine(ctx, loc, &why);
    }
    resp.finish().map_err(client_gone)
}

fn quarantine(ctx: &Context, loc: &Location, why: &str) {
    crate::log::error(&format!("quarantining {} on {}: {why}", loc.hash, loc.device));
    if let Err(e) = reader::quarantine(ctx, loc) {
        crate::log::error(&format!("quarantine of {} failed: {e}", loc.hash));
    }
}

/// Sends body bytes `[start, end)`.
fn send_range(ctx: &Context, resp: &mut Response<'_>, obj: &ObjectFile, start: u64, end: u64) -> Result<()> {
    let mut offset = start;
    let mut buf = Vec::new();
    while offset < end {
        let want = (end - offset).min(ctx.conf().disk_chunk_size as u64) as usize;
        buf.resize(want, 0);
        let (back, n) = reader::read_at(&obj.file, offset, std::mem::take(&mut buf));
        buf = back;
        let n = n.map_err(|e| Error::io("reading a data file", e))?;
        if n == 0 {
            return Err(Error::io("reading a data file", std::io::ErrorKind::UnexpectedEof.into()));
        }
        resp.write_all(&buf[..n]).map_err(client_gone)?;
        offset += n as u64;
    }
    Ok(())
}

/// A boundary unlikely to appear in the body: 32 hex digits.
fn boundary(obj: &ObjectFile) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let mut md5 = Md5::new();
    md5.update(Timestamp::now().internal().as_bytes());
    md5.update(SEQ.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    md5.update(obj.etag().as_bytes());
    md5.update(std::process::id().to_le_bytes());
    common::hex::hex(&md5.finalize())
}

fn send_multirange(
    ctx: &Context,
    resp: &mut Response<'_>,
    obj: &ObjectFile,
    mut h: Headers,
    ranges: &[(u64, u64)],
    head_only: bool,
) -> Result<()> {
    let ct = h.get("Content-Type").unwrap_or("application/octet-stream").to_string();
    let mp = Multipart::new(ranges, &ct, obj.body_len, boundary(obj));
    h.set("Content-Type", mp.content_type());
    resp.start(206, &h, Some(mp.content_length)).map_err(client_gone)?;
    if !head_only {
        for (part_head, &(start, end)) in mp.part_heads.iter().zip(ranges) {
            resp.write_all(part_head).map_err(client_gone)?;
            send_range(ctx, resp, obj, start, end)?;
            resp.write_all(b"\r\n").map_err(client_gone)?;
        }
        resp.write_all(&mp.tail).map_err(client_gone)?;
    }
    resp.finish().map_err(client_gone)
}
