//! The read path: find the current files of an object, read its metadata
//! (and, for small objects, its whole body) in one `tpool` call, read the
//! rest in chunks on `tpool`, and quarantine what does not check out.
//!
//! A data file whose trailer, metadata or length is wrong is quarantined
//! as soon as it is opened; a body whose MD5 differs from its ETag is
//! found by a full read (`GET` without `Range`) and quarantined after it.
//! Quarantine moves the whole hash folder to
//! `devices/{dev}/quarantined/objects/{hash}` (with a unique suffix if one
//! is already there), so it is never served again; replication restores
//! a good copy.

use super::format::{read_footer, Metadata};
use super::hashes;
use super::layout::{classify, file_name, Kind, Location, OBJECTS, QUARANTINED};
use super::writer::fsync_dir;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::timestamp::Timestamp;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// An open object.
#[derive(Debug)]
pub struct ObjectFile {
    pub file: Arc<File>,
    /// The `.data`'s timestamp.
    pub data_ts: Timestamp,
    /// The data file's metadata with a newer `.meta` applied.
    pub metadata: Metadata,
    pub body_len: u64,
    /// The first body bytes, read with the metadata (`prefetch`).
    pub head: Vec<u8>,
}

impl ObjectFile {
    /// `X-Timestamp` of the metadata (the `.meta`'s if there is one).
    pub fn timestamp(&self) -> Timestamp {
        self.metadata.get("X-Timestamp").and_then(|t| Timestamp::parse(t).ok()).unwrap_or(self.data_ts)
    }

    pub fn etag(&self) -> &str {
        self.metadata.get("ETag").map(String::as_str).unwrap_or("")
    }
}

/// What `open` found.
#[derive(Debug)]
pub enum Opened {
    Missing,
    /// A tombstone is the newest file.
    Deleted(Timestamp),
    Found(ObjectFile),
    /// The data file was bad and has been quarantined (the reason).
    Quarantined(String),
}

/// Metadata a `.meta` cannot change: the data file's own facts.
fn is_data_only(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    matches!(k.as_str(), "name" | "content-length" | "etag" | "x-static-large-object")
        || k.starts_with("x-object-sysmeta-")
}

/// Opens the current version of an object, reading up to `prefetch`
/// body bytes along. One `tpool` call.
pub fn open(ctx: &Context, loc: &Location, prefetch: usize) -> Result<Opened> {
    let (c, l) = (ctx.clone(), loc.clone());
    hub::tpool::execute(move || open_blocking(&c, &l, prefetch))
}

fn open_blocking(ctx: &Context, loc: &Location, prefetch: usize) -> Result<Opened> {
    ctx.check_device(&loc.device)?;
    // A concurrent write may clean up the file we chose between the
    // listing and the open: list again (a few times at most).
    for _ in 0..3 {
        if let Some(opened) = try_open(ctx, loc, prefetch)? {
            return Ok(opened);
        }
    }
    Ok(Opened::Missing)
}

/// One attempt; `None` if the chosen data file vanished meanwhile.
fn try_open(ctx: &Context, loc: &Location, prefetch: usize) -> Result<Option<Opened>> {
    let dir = loc.hash_dir();
    let names: Vec<String> = match fs::read_dir(&dir) {
        Ok(entries) => entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(Opened::Missing)),
        Err(e) => return Err(Error::io("listing an object folder", e)),
    };
    let on_disk = classify(&names, Timestamp::now(), ctx.conf().reclaim_age.as_secs());
    let Some(data_ts) = on_disk.data else {
        return Ok(Some(on_disk.tombstone.map_or(Opened::Missing, Opened::Deleted)));
    };
    let path = dir.join(file_name(data_ts, Kind::Data));
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("opening a data file", e)),
    };
    let len = file.metadata().map_err(|e| Error::io("fstat", e))?.len();
    let (mut metadata, body_len) = match read_footer(&file, len).map_err(|e| Error::io("reading metadata", e))? {
        Ok(m) => m,
        Err(why) => return quarantined(loc, format!("{}: {why}", path.display())).map(Some),
    };
    let declared = metadata.get("Content-Length").and_then(|v| v.parse::<u64>().ok());
    if declared != Some(body_len) {
        let why = format!("{}: body of {body_len} bytes, Content-Length {declared:?}", path.display());
        return quarantined(loc, why).map(Some);
    }
    if let Some(meta_ts) = on_disk.meta {
        let meta_path = dir.join(file_name(meta_ts, Kind::Meta));
        if let Some(update) = read_meta_file(&meta_path)? {
            let data_content_type = metadata.get("Content-Type").cloned();
            metadata.retain(|k, _| is_data_only(k));
            for (k, v) in update {
                if !is_data_only(&k) {
                    metadata.insert(k, v);
                }
            }
            // A .meta without Content-Type keeps the data's.
            if let (false, Some(ct)) = (metadata.contains_key("Content-Type"), data_content_type) {
                metadata.insert("Content-Type".into(), ct);
            }
        }
    }
    let mut head = vec![0u8; prefetch.min(body_len as usize)];
    file.read_exact_at(&mut head, 0).map_err(|e| Error::io("reading a data file", e))?;
    Ok(Some(Opened::Found(ObjectFile { file: Arc::new(file), data_ts, metadata, body_len, head })))
}

/// A `.meta`'s metadata; `None` if it vanished or is unreadable (then it
/// is ignored, as a missing one would be).
fn read_meta_file(path: &std::path::Path) -> Result<Option<Metadata>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("opening a .meta file", e)),
    };
    let len = file.metadata().map_err(|e| Error::io("fstat", e))?.len();
    Ok(read_footer(&file, len).map_err(|e| Error::io("reading a .meta file", e))?.ok().map(|(m, _)| m))
}

fn quarantined(loc: &Location, why: String) -> Result<Opened> {
    quarantine_blocking(loc)?;
    Ok(Opened::Quarantined(why))
}

/// Reads up to `buf.len()` body bytes at `offset` on `tpool`; gives the
/// buffer back with the count (0 at the end of the file).
pub fn read_at(file: &Arc<File>, offset: u64, mut buf: Vec<u8>) -> (Vec<u8>, io::Result<usize>) {
    let f = file.clone();
    hub::tpool::execute(move || {
        let mut done = 0;
        while done < buf.len() {
            match f.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (buf, Err(e)),
            }
        }
        (buf, Ok(done))
    })
}

/// Moves the object's hash folder to `quarantined/objects/` (on `tpool`).
pub fn quarantine(ctx: &Context, loc: &Location) -> Result<()> {
    let _ = ctx;
    let l = loc.clone();
    hub::tpool::execute(move || quarantine_blocking(&l))
}

fn quarantine_blocking(loc: &Location) -> Result<()> {
    let qdir = loc.device_dir.join(QUARANTINED).join(OBJECTS);
    fs::create_dir_all(&qdir).map_err(|e| Error::io("creating quarantined/objects", e))?;
    let mut target = qdir.join(&loc.hash);
    let mut n = 0;
    while target.exists() {
        n += 1;
        target = qdir.join(format!("{}-{}-{n}", loc.hash, Timestamp::now().internal()));
    }
    match fs::rename(loc.hash_dir(), &target) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("quarantining an object", e)),
    }
    let _ = fsync_dir(&qdir);
    if let Some(parent) = loc.hash_dir().parent() {
        let _ = fsync_dir(parent);
    }
    hashes::invalidate(&loc.partition_dir(), loc.suffix()).map_err(|e| Error::io("invalidating a suffix", e))?;
    Ok(())
}
