//! `GET` and `HEAD`: open the current version, apply expiry and the
//! conditions, then send the whole body, one range, or several as
//! `multipart/byteranges`.
//!
//! No byte of a version-2 data file leaves before its block is checked
//! ([`reader::Body`], docs/integrity.md). The first bytes a response sends
//! are read and checked before its head goes out: if they are bad, the
//! object is quarantined and the answer is 404, as for a file quarantined
//! at the open (a small object, read whole, is always in this case). A bad
//! block met later stops the response short (an error after the head: the
//! connection is closed, and the proxy resumes from another replica) and
//! quarantines the object. A version-1 data file (no block table) is
//! checked as a whole on full reads, by its CRC32C or its MD5, and
//! quarantined after the response if it does not match.

use super::{client_gone, is_expired, metadata_headers, open_with, send_empty, Current};
use crate::conditional::{matches, Conditions, Outcome};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::object::diskfile::reader::{Body, BodyError};
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
    let mut obj = match open_with(ctx, &loc, prefetch)? {
        Current::Live(obj) if !is_expired(&obj.metadata) => obj,
        Current::Live(_) | Current::Missing => return Err(not_found(req, None)),
        Current::Deleted(ts) => return Err(not_found(req, Some(ts))),
    };
    let mut h = object_headers(ctx, &obj);
    match conditions(req).evaluate(obj.etag(), obj.timestamp().ceil_secs()) {
        Outcome::Proceed => {}
        Outcome::NotModified => return send_empty(resp, 304, &h),
        Outcome::PreconditionFailed => return send_empty(resp, 412, &h),
    }
    let range = req.header("Range").filter(|_| !ignores_range(req, &obj.metadata));
    let plan = ranges::plan(range, obj.body_len);
    if let Plan::Unsatisfiable = plan {
        return Err(Error::RangeNotSatisfiable(obj.body_len));
    }
    if head_only {
        return send_head(resp, &obj, h, plan);
    }
    let mut body = Body::new(&mut obj, ctx.conf().disk_chunk_size);
    let mut send = Sender { ctx, loc: &loc, body: &mut body };
    match plan {
        Plan::Whole => send.whole(req, resp, &obj, h),
        Plan::Ranges(r) if r.len() == 1 => {
            let (start, end) = r[0];
            h.set("Content-Range", ranges::content_range(start, end, obj.body_len));
            send.first(req, start, end)?;
            resp.start(206, &h, Some(end - start)).map_err(client_gone)?;
            send.stream(resp, start, end, &mut None)?;
            resp.finish().map_err(client_gone)
        }
        Plan::Ranges(r) => send.multirange(req, resp, &obj, h, &r),
        Plan::Unsatisfiable => Err(Error::RangeNotSatisfiable(obj.body_len)),
    }
}

/// A `HEAD`: the head a `GET` would send.
fn send_head(resp: &mut Response<'_>, obj: &ObjectFile, mut h: Headers, plan: Plan) -> Result<()> {
    let length = match plan {
        Plan::Ranges(r) if r.len() == 1 => {
            let (start, end) = r[0];
            h.set("Content-Range", ranges::content_range(start, end, obj.body_len));
            resp.start(206, &h, Some(end - start)).map_err(client_gone)?;
            return resp.finish().map_err(client_gone);
        }
        Plan::Ranges(r) => {
            let ct = h.get("Content-Type").unwrap_or("application/octet-stream").to_string();
            let mp = Multipart::new(&r, &ct, obj.body_len, boundary(obj));
            h.set("Content-Type", mp.content_type());
            resp.start(206, &h, Some(mp.content_length)).map_err(client_gone)?;
            return resp.finish().map_err(client_gone);
        }
        _ => obj.body_len,
    };
    resp.start(200, &h, Some(length)).map_err(client_gone)?;
    resp.finish().map_err(client_gone)
}

/// Swift's `X-Backend-Ignore-Range-If-Metadata-Present: <names>`: the
/// proxy asks for a DLO manifest or a symlink whole (it reads the range
/// from what they name) when the object has one of these metadata keys.
fn ignores_range(req: &Request<'_>, meta: &crate::object::diskfile::Metadata) -> bool {
    let Some(names) = req.header("X-Backend-Ignore-Range-If-Metadata-Present") else { return false };
    names.split(',').map(str::trim).any(|n| !n.is_empty() && meta.keys().any(|k| k.eq_ignore_ascii_case(n)))
}

/// 404, or 412 for `If-Match: *` (nothing matches a missing object).
fn not_found(req: &Request<'_>, tombstone: Option<Timestamp>) -> Error {
    if req.header("If-Match").is_some_and(|l| matches(l, "")) {
        return Error::PreconditionFailed;
    }
    Error::NotFound(tombstone)
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

fn quarantine(ctx: &Context, loc: &Location, why: &str) {
    crate::log::error(&format!("quarantining {} on {}: {why}", loc.hash, loc.device));
    if let Err(e) = reader::quarantine(ctx, loc) {
        crate::log::error(&format!("quarantine of {} failed: {e}", loc.hash));
    }
}

/// Sends an object's body ([`Body`]) and quarantines it when it turns out
/// damaged.
struct Sender<'a> {
    ctx: &'a Context,
    loc: &'a Location,
    body: &'a mut Body,
}

impl Sender<'_> {
    /// Reads the first body bytes of a response, before its head goes out:
    /// their length (the bytes stay in `body`). A damaged file is
    /// quarantined and answered as missing (404, or 412 for `If-Match: *`).
    fn first(&mut self, req: &Request<'_>, start: u64, end: u64) -> Result<usize> {
        match self.body.read(start, end) {
            Ok(bytes) => Ok(bytes.len()),
            Err(BodyError::Corrupt(why)) => {
                quarantine(self.ctx, self.loc, &why);
                Err(not_found(req, None))
            }
            Err(BodyError::Io(e)) => Err(Error::io("reading a data file", e)),
        }
    }

    /// The checked bytes at `offset` (up to `end`); a damaged file is
    /// quarantined, and the error stops the response.
    fn next(&mut self, offset: u64, end: u64) -> Result<&[u8]> {
        match self.body.read(offset, end) {
            Ok(bytes) => Ok(bytes),
            Err(BodyError::Corrupt(why)) => {
                quarantine(self.ctx, self.loc, &why);
                let e = std::io::Error::new(std::io::ErrorKind::InvalidData, why);
                Err(Error::io("checking a data file (response cut short)", e))
            }
            Err(BodyError::Io(e)) => Err(Error::io("reading a data file", e)),
        }
    }

    /// Sends body bytes `[start, end)`, updating `check` (a version-1
    /// full read). Bytes read already ([`Sender::first`]) are not read
    /// again.
    fn stream(&mut self, resp: &mut Response<'_>, start: u64, end: u64, check: &mut Option<BodyCheck>) -> Result<()> {
        let mut offset = start;
        while offset < end {
            let bytes = self.next(offset, end)?;
            if let Some(c) = check.as_mut() {
                c.update(bytes);
            }
            resp.write_all(bytes).map_err(client_gone)?;
            offset += bytes.len() as u64;
        }
        Ok(())
    }

    /// Sends the whole body. A version-1 file is checked as a whole
    /// ([`BodyCheck`]): before the head when the first read holds all of
    /// it, else as it is sent, and quarantined after it on a mismatch.
    fn whole(&mut self, req: &Request<'_>, resp: &mut Response<'_>, obj: &ObjectFile, h: Headers) -> Result<()> {
        let len = obj.body_len;
        if len == 0 {
            return resp.send(200, &h, b"").map_err(client_gone);
        }
        let mut check = obj.blocks.is_none().then(|| BodyCheck::new(obj));
        let first = self.first(req, 0, len)?;
        if first as u64 == len {
            // All of it at hand: checked before anything goes out, head and
            // body in one write.
            let bytes = self.next(0, len)?;
            if let Some(mut c) = check {
                c.update(bytes);
                if let Some(why) = c.mismatch(obj) {
                    quarantine(self.ctx, self.loc, &why);
                    return Err(not_found(req, None));
                }
            }
            return resp.send(200, &h, bytes).map_err(client_gone);
        }
        resp.start(200, &h, Some(len)).map_err(client_gone)?;
        self.stream(resp, 0, len, &mut check)?;
        if let Some(why) = check.and_then(|c| c.mismatch(obj)) {
            quarantine(self.ctx, self.loc, &why);
        }
        resp.finish().map_err(client_gone)
    }

    fn multirange(
        &mut self,
        req: &Request<'_>,
        resp: &mut Response<'_>,
        obj: &ObjectFile,
        mut h: Headers,
        ranges: &[(u64, u64)],
    ) -> Result<()> {
        let ct = h.get("Content-Type").unwrap_or("application/octet-stream").to_string();
        let mp = Multipart::new(ranges, &ct, obj.body_len, boundary(obj));
        h.set("Content-Type", mp.content_type());
        self.first(req, ranges[0].0, ranges[0].1)?;
        resp.start(206, &h, Some(mp.content_length)).map_err(client_gone)?;
        for (part_head, &(start, end)) in mp.part_heads.iter().zip(ranges) {
            resp.write_all(part_head).map_err(client_gone)?;
            self.stream(resp, start, end, &mut None)?;
            resp.write_all(b"\r\n").map_err(client_gone)?;
        }
        resp.write_all(&mp.tail).map_err(client_gone)?;
        resp.finish().map_err(client_gone)
    }
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
