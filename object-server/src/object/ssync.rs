//! swiftlet's ssync, the receiving side: what a peer's object replicator
//! asks of this node (docs/replication.md).
//!
//! * `SSYNC /{device}/{partition}/{suffix}-{suffix}...` answers what those
//!   suffixes hold: a JSON object from each hash to the timestamps of its
//!   current files (`d` the `.data`, `m` the `.meta` that applies to it,
//!   `t` the tombstone), by the same rules a read follows.
//! * `SSYNC /{device}/{partition}/{hash}/{timestamp}.{data|meta|ts}` takes
//!   one file: its metadata (a JSON object of `X-Backend-Metadata-Length`
//!   bytes) then its body (the rest of a `Content-Length` body). The file
//!   is merged as the write that made it would be: newest wins, a
//!   tombstone or `.data` older than (or as old as) what is here is
//!   refused with 409, a `.meta` only applies over an older `.data` (404
//!   without one). The metadata is kept as the sender stored it; only the
//!   block checksums are computed here, from the bytes that arrived. A
//!   body is checked before it is committed: its CRC32C against the
//!   metadata's `Crc32c` (or, for an older file without one, its MD5
//!   against the `ETag`), 422 on a mismatch, and nothing half-written
//!   ever shows: the write path is a PUT's (temp file, fsync, rename). No
//!   container update is sent: the listing already has the row from the
//!   original write.
//!
//! The metadata must name an object that hashes to `{hash}` and carry the
//! file's own timestamp as `X-Timestamp` (400 otherwise), so a confused or
//! hostile peer cannot plant a file under another object's name.

use super::diskfile::layout::{classify, is_hash, is_suffix, list_names, parse_file_name, OBJECTS};
use super::diskfile::{crc_hex, format, writer, Kind, Location, Metadata, Writer, CRC32C_KEY};
use super::{client_gone, put};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::path::SsyncTarget;
use crate::timestamp::Timestamp;
use http::{Headers, Request, Response};
use md5::Digest;
use serde_json::{Map, Value};
use std::io::{self, Read};
use std::path::Path;

/// The header giving the length of the metadata before a file's body.
pub const METADATA_LENGTH: &str = "X-Backend-Metadata-Length";
/// A `.data` body up to this size is read whole before it is checked
/// and written (the sender sends it with its head, without waiting for
/// `100 Continue`).
pub const WHOLE: u64 = 64 * 1024;
/// The largest metadata a file may carry (far above Swift's limits).
pub const MAX_METADATA: u64 = 1 << 20;

/// Answered (with 409) for a `.data` another upload is writing here right
/// now: two peers that both found this node lacking it sent it at once.
/// The sender neither counts the file as taken nor as failed.
pub const BUSY_HEADER: &str = "X-Backend-Ssync-Busy";

/// The `.data` uploads being received by this process: (device, hash,
/// timestamp).
static RECEIVING: std::sync::Mutex<std::collections::BTreeSet<(String, String, Timestamp)>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// One upload in [`RECEIVING`], until dropped.
struct Receiving((String, String, Timestamp));

impl Receiving {
    /// `None` if the same file is being received already.
    fn start(device: &str, hash: &str, ts: Timestamp) -> Option<Receiving> {
        let key = (device.to_string(), hash.to_string(), ts);
        let fresh = RECEIVING.lock().unwrap_or_else(|e| e.into_inner()).insert(key.clone());
        // (Made only when fresh: dropping one takes the lock.)
        fresh.then(|| Receiving(key))
    }
}

impl Drop for Receiving {
    fn drop(&mut self) {
        RECEIVING.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.0);
    }
}

/// The timestamps of one hash folder's current files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Current {
    pub data: Option<Timestamp>,
    pub meta: Option<Timestamp>,
    pub tombstone: Option<Timestamp>,
}

impl Current {
    /// The timestamp of the winning `.data` or `.ts`.
    pub fn winner(&self) -> Option<Timestamp> {
        self.data.or(self.tombstone)
    }

    /// The files: (timestamp, kind).
    pub fn files(&self) -> impl Iterator<Item = (Timestamp, Kind)> {
        [(self.data, Kind::Data), (self.meta, Kind::Meta), (self.tombstone, Kind::Tombstone)]
            .into_iter()
            .filter_map(|(ts, kind)| ts.map(|t| (t, kind)))
    }

    fn to_json(self) -> Value {
        let mut m = Map::new();
        for (k, v) in [("d", self.data), ("m", self.meta), ("t", self.tombstone)] {
            if let Some(ts) = v {
                m.insert(k.into(), Value::String(ts.internal()));
            }
        }
        Value::Object(m)
    }

    /// Parses what [`Current::to_json`] wrote; `None` if it is not that.
    pub fn from_json(v: &Value) -> Option<Current> {
        let obj = v.as_object()?;
        let get = |k: &str| match obj.get(k) {
            None => Some(None),
            Some(Value::String(s)) => Timestamp::parse(s).ok().map(Some),
            Some(_) => None,
        };
        Some(Current { data: get("d")?, meta: get("m")?, tombstone: get("t")? })
    }
}

/// Dispatches an `SSYNC` request.
pub fn handle(
    ctx: &Context,
    req: &mut Request<'_>,
    resp: &mut Response<'_>,
    device: &str,
    partition: u32,
    what: SsyncTarget,
) -> Result<()> {
    match what {
        SsyncTarget::List(suffixes) => list(ctx, resp, device, partition, suffixes),
        SsyncTarget::File { hash, name } => receive(ctx, req, resp, device, partition, hash, &name),
    }
}

/// The hash folders of `suffixes` in a partition folder and what each
/// holds now (old tombstones are past `reclaim_age` and left out).
/// Blocking.
pub fn list_suffixes(
    part_dir: &Path,
    suffixes: &[String],
    now: Timestamp,
    reclaim_age_secs: u64,
) -> io::Result<Vec<(String, Current)>> {
    let mut out = Vec::new();
    for suffix in suffixes {
        if !is_suffix(suffix) {
            continue;
        }
        let hashes = match list_names(&part_dir.join(suffix)) {
            Ok(h) => h.into_iter().filter(|h| is_hash(h) && h.ends_with(suffix.as_str())).collect::<Vec<_>>(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for hash in hashes {
            let names = match list_names(&part_dir.join(suffix).join(&hash)) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => continue,
                Err(e) => return Err(e),
            };
            let d = classify(&names, now, reclaim_age_secs);
            let cur = Current { data: d.data, meta: d.meta, tombstone: d.tombstone };
            if cur.winner().is_some() {
                out.push((hash, cur));
            }
        }
    }
    Ok(out)
}

fn list(ctx: &Context, resp: &mut Response<'_>, device: &str, partition: u32, suffixes: Vec<String>) -> Result<()> {
    let (c, dev) = (ctx.clone(), device.to_string());
    let found = hub::tpool::execute(move || {
        let part_dir = c.check_device(&dev)?.join(OBJECTS).join(partition.to_string());
        list_suffixes(&part_dir, &suffixes, Timestamp::now(), c.conf().reclaim_age.as_secs())
            .map_err(|e| Error::io("listing suffixes", e))
    })?;
    let map: Map<String, Value> = found.into_iter().map(|(h, c)| (h, c.to_json())).collect();
    let body = serde_json::to_vec(&Value::Object(map)).map_err(|e| Error::io("encoding a listing", e.into()))?;
    let mut h = Headers::new();
    h.set("Content-Type", "application/json");
    resp.send(200, &h, &body).map_err(client_gone)
}

/// `Err(409)` if what the folder holds already has this file or
/// something newer, 404 for a `.meta` with no `.data` to apply to.
/// Blocking.
fn check_merge(dir: &Path, ts: Timestamp, kind: Kind, now: Timestamp, reclaim_age_secs: u64) -> Result<()> {
    let names = match list_names(dir) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io("listing an object folder", e)),
    };
    let d = classify(&names, now, reclaim_age_secs);
    match kind {
        Kind::Data | Kind::Tombstone => match d.winner() {
            Some(w) if w >= ts => Err(Error::Conflict(w)),
            _ => Ok(()),
        },
        Kind::Meta => match (d.data, d.tombstone) {
            (Some(data), _) if data >= ts => Err(Error::Conflict(data)),
            (Some(_), _) => match d.meta {
                Some(m) if m >= ts => Err(Error::Conflict(m)),
                _ => Ok(()),
            },
            (None, Some(t)) if t >= ts => Err(Error::Conflict(t)),
            (None, _) => Err(Error::NotFound(None)),
        },
    }
}

/// Checks the metadata of a file sent for `hash`: it names an object
/// that hashes there and carries the file's timestamp.
fn check_metadata(ctx: &Context, meta: &Metadata, hash: &str, ts: Timestamp) -> Result<()> {
    let name = meta.get("name").ok_or_else(|| Error::bad_request("metadata without a name"))?;
    let mut parts = name.strip_prefix('/').unwrap_or("").splitn(3, '/');
    let (Some(a), Some(c), Some(o)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::bad_request(format!("metadata name {name:?} is not /account/container/object")));
    };
    let hashed = ctx.hasher().hash_path(a, Some(c), Some(o)).map_err(|e| Error::bad_request(e.to_string()))?;
    if hashed != hash {
        return Err(Error::bad_request(format!("{name:?} does not hash to {hash}")));
    }
    let stated = meta.get("X-Timestamp").and_then(|t| Timestamp::parse(t).ok());
    if stated != Some(ts) {
        return Err(Error::bad_request(format!("metadata X-Timestamp {stated:?} is not the file's {}", ts.internal())));
    }
    Ok(())
}

fn receive(
    ctx: &Context,
    req: &mut Request<'_>,
    resp: &mut Response<'_>,
    device: &str,
    partition: u32,
    hash: String,
    name: &str,
) -> Result<()> {
    let (ts, kind) = parse_file_name(name).ok_or_else(|| Error::bad_request(format!("Invalid file name {name:?}")))?;
    let total = match (req.header("Content-Length"), req.body.remaining()) {
        (Some(_), Some(n)) => n,
        _ => return Err(Error::LengthRequired),
    };
    let meta_len: u64 = req
        .header(METADATA_LENGTH)
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n <= MAX_METADATA && n <= total)
        .ok_or_else(|| Error::bad_request(format!("{METADATA_LENGTH} missing, too big or beyond the body")))?;
    let body_len = total - meta_len;
    if kind != Kind::Data && body_len != 0 {
        return Err(Error::bad_request(format!("a {} file has no body", kind.ext())));
    }
    if body_len > ctx.conf().constraints.max_file_size {
        return Err(Error::TooLarge(ctx.conf().constraints.max_file_size));
    }
    let loc =
        Location { device: device.to_string(), device_dir: ctx.device_path(device), partition, hash: hash.clone() };
    let reclaim = ctx.conf().reclaim_age.as_secs();
    let check = move |c: &Context, l: &Location| {
        c.check_device(&l.device)?;
        check_merge(&l.hash_dir(), ts, kind, Timestamp::now(), reclaim)
    };
    // A small file comes whole with its head: it is checked, written and
    // committed in one tpool call below. A bigger one is answered 409 (or
    // 507) before any of it is read: its sender waits for `100 Continue`.
    let whole = kind != Kind::Data || body_len <= WHOLE;
    if !whole {
        let (c, l) = (ctx.clone(), loc.clone());
        hub::tpool::execute(move || check(&c, &l))?;
    }
    let _receiving = match kind {
        Kind::Data => match Receiving::start(device, &hash, ts) {
            Some(r) => Some(r),
            None => {
                let mut h = Headers::new();
                h.set(BUSY_HEADER, "true");
                h.set("X-Backend-Timestamp", ts.internal());
                return resp.send(409, &h, b"").map_err(client_gone);
            }
        },
        _ => None,
    };
    let mut json = vec![0u8; meta_len as usize];
    req.body.read_exact(&mut json).map_err(Error::from_body_read)?;
    let meta = format::parse_metadata(&json).map_err(Error::bad_request)?;
    check_metadata(ctx, &meta, &hash, ts)?;
    if kind == Kind::Data && meta.get("Content-Length").and_then(|v| v.parse::<u64>().ok()) != Some(body_len) {
        return Err(Error::bad_request("metadata Content-Length is not the body's length"));
    }
    if kind != Kind::Data {
        let (c, l) = (ctx.clone(), loc.clone());
        hub::tpool::execute(move || check(&c, &l))?;
        writer::write_marker(ctx, &loc, ts, kind, meta)?;
        return send_created(resp);
    }
    let want_crc = meta.get(CRC32C_KEY).map(|v| v.to_ascii_lowercase());
    if whole {
        let mut body = vec![0u8; body_len as usize];
        req.body.read_exact(&mut body).map_err(Error::from_body_read)?;
        let crc = crc32c::crc32c(&body);
        let got = match &want_crc {
            Some(_) => crc_hex(crc),
            None => common::hex::hex(&md5::Md5::digest(&body)),
        };
        let want = want_crc.unwrap_or_else(|| meta.get("ETag").cloned().unwrap_or_default());
        if got != want {
            return Err(Error::Unprocessable(format!("body checksum {got} does not match its metadata's {want}")));
        }
        let (c, l) = (ctx.clone(), loc.clone());
        hub::tpool::execute(move || {
            check(&c, &l)?;
            let mut writer = Writer::create(&c, &l, Some(body_len), false)?;
            writer.write_whole(&body, crc)?;
            writer.commit_blocking(ts, meta)
        })?;
        return send_created(resp);
    }
    let (c, l, md5) = (ctx.clone(), loc.clone(), want_crc.is_none());
    let mut writer = hub::tpool::execute(move || Writer::create(&c, &l, Some(body_len), md5))?;
    put::receive_body(ctx, req, &mut writer, Some(body_len))?;
    if writer.written() != body_len {
        return Err(Error::bad_request(format!("body of {} bytes, {body_len} declared", writer.written())));
    }
    let got = match &want_crc {
        Some(_) => crc_hex(writer.crc32c()),
        None => writer.etag().unwrap_or_default(),
    };
    let want = want_crc.unwrap_or_else(|| meta.get("ETag").cloned().unwrap_or_default());
    if got != want {
        return Err(Error::Unprocessable(format!("body checksum {got} does not match its metadata's {want}")));
    }
    writer.commit(ts, meta)?;
    send_created(resp)
}

fn send_created(resp: &mut Response<'_>) -> Result<()> {
    resp.send(201, &Headers::new(), b"").map_err(client_gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn folder(name: &str, files: &[&str]) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("swiftlet-ssync-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        for f in files {
            std::fs::write(d.join(f), b"").unwrap();
        }
        d
    }

    #[test]
    fn a_file_is_received_once_at_a_time() {
        let t = ts("10");
        let first = Receiving::start("d1", "abc", t).expect("the first upload");
        assert!(Receiving::start("d1", "abc", t).is_none(), "a second one at once is busy");
        assert!(Receiving::start("d2", "abc", t).is_some(), "another device is not");
        drop(first);
        assert!(Receiving::start("d1", "abc", t).is_some(), "after the first, it is free");
    }

    #[test]
    fn newest_wins_when_merging_a_file() {
        let d = folder("merge", &["0000000010.00000.data", "0000000012.00000.meta"]);
        let conflict = |r: Result<()>| matches!(r, Err(Error::Conflict(_)));
        // Data or tombstone: only newer than the .data.
        assert!(conflict(check_merge(&d, ts("10"), Kind::Data, ts("100"), 1000)));
        assert!(conflict(check_merge(&d, ts("9"), Kind::Tombstone, ts("100"), 1000)));
        assert!(check_merge(&d, ts("11"), Kind::Data, ts("100"), 1000).is_ok());
        assert!(check_merge(&d, ts("11"), Kind::Tombstone, ts("100"), 1000).is_ok());
        // A .meta: newer than the data and the current .meta.
        assert!(conflict(check_merge(&d, ts("12"), Kind::Meta, ts("100"), 1000)));
        assert!(conflict(check_merge(&d, ts("9"), Kind::Meta, ts("100"), 1000)));
        assert!(check_merge(&d, ts("13"), Kind::Meta, ts("100"), 1000).is_ok());
        // Nothing here: data and tombstones are taken, a .meta is not.
        let empty = folder("merge-empty", &[]);
        assert!(check_merge(&empty, ts("5"), Kind::Data, ts("100"), 1000).is_ok());
        assert!(matches!(check_merge(&empty, ts("5"), Kind::Meta, ts("100"), 1000), Err(Error::NotFound(_))));
        let gone = folder("merge-ts", &["0000000020.00000.ts"]);
        assert!(conflict(check_merge(&gone, ts("15"), Kind::Meta, ts("100"), 1000)));
        assert!(conflict(check_merge(&gone, ts("15"), Kind::Data, ts("100"), 1000)));
        for f in [d, empty, gone] {
            std::fs::remove_dir_all(f).unwrap();
        }
    }

    #[test]
    fn a_listing_shows_the_current_files_and_round_trips() {
        let part = folder("list", &[]);
        let h1 = "00000000000000000000000000000abc";
        let h2 = "11111111111111111111111111111abc";
        for (h, f) in [(h1, "0000000010.00000.data"), (h1, "0000000011.00000.meta"), (h2, "0000000010.00000.ts")] {
            std::fs::create_dir_all(part.join("abc").join(h)).unwrap();
            std::fs::write(part.join("abc").join(h).join(f), b"").unwrap();
        }
        let got = list_suffixes(&part, &["abc".into(), "def".into()], ts("100"), 1000).unwrap();
        assert_eq!(got.len(), 2);
        let first = got.iter().find(|(h, _)| h == h1).unwrap().1;
        assert_eq!(first, Current { data: Some(ts("10")), meta: Some(ts("11")), tombstone: None });
        assert_eq!(Current::from_json(&first.to_json()), Some(first));
        // A tombstone past reclaim_age is not there any more.
        let later = list_suffixes(&part, &["abc".into()], ts("5000"), 1000).unwrap();
        assert_eq!(later.len(), 1);
        assert!(Current::from_json(&serde_json::json!({"d": 5})).is_none());
        std::fs::remove_dir_all(part).unwrap();
    }
}
