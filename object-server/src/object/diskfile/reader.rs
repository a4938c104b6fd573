//! The read path: find the current files of an object, read its metadata
//! (and, for small objects, its whole body) at once, read the rest in
//! chunks, and quarantine what does not check out.
//!
//! Where the disk is touched: when the device passed its check within the
//! last second, the open is first tried on the hub with calls that never
//! wait for the disk: the folder and files are opened only from the
//! dentry cache (`openat2` with `RESOLVE_CACHED`) and read only from the
//! page cache (`preadv2` with `RWF_NOWAIT`). Anything else (a cache miss,
//! a missing device check, a file to quarantine, an error) redoes the open
//! in one `tpool` call. Body chunks are read the same way: inline when
//! cached, else on `tpool`. Two inline calls can still touch the disk,
//! rarely: listing a cached folder whose entries are not in memory (ext4
//! keeps them in a block that can be evicted apart from the folder; XFS
//! keeps a small folder's entries in its inode) and, on a `relatime`
//! mount, the first read of a file, which logs its atime (Swift's
//! deployment guide mounts object disks `noatime`).
//!
//! A data file whose trailer, metadata or length is wrong is quarantined
//! as soon as it is opened; a body whose MD5 differs from its ETag is
//! found by a full read (`GET` without `Range`) and quarantined after it.
//! Quarantine moves the whole hash folder to
//! `devices/{dev}/quarantined/objects/{hash}` (with a unique suffix if one
//! is already there), so it is never served again; replication restores
//! a good copy.

use super::format::{self, Metadata, TRAILER_LEN};
use super::hashes;
use super::layout::{classify, file_name, Kind, Location, OBJECTS, QUARANTINED};
use super::writer::fsync_dir;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::timestamp::Timestamp;
use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::{Errno, ReadWriteFlags};
use std::fs::{self, File};
use std::io::{self, IoSliceMut};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;

/// Bytes read from the end of a file that is not read whole: the trailer
/// and, nearly always, the metadata before it in one read.
const TAIL: usize = 4096;

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
    matches!(k.as_str(), "name" | "content-length" | "etag" | "crc32c" | "x-static-large-object")
        || k.starts_with("x-object-sysmeta-")
}

/// Opens the current version of an object, reading up to `prefetch`
/// body bytes along: on the hub if everything needed is cached, else in
/// one `tpool` call (see the module docs).
pub fn open(ctx: &Context, loc: &Location, prefetch: usize) -> Result<Opened> {
    if ctx.device_passed_recently(&loc.device) {
        match open_files(ctx, loc, prefetch, Disk::NoWait) {
            Ok(opened) => return Ok(opened),
            Err(Fail::Error(e)) => return Err(e),
            Err(Fail::WouldBlock) => {}
        }
    }
    let (c, l) = (ctx.clone(), loc.clone());
    hub::tpool::execute(move || open_blocking(&c, &l, prefetch))
}

/// Whether a call may wait for the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Disk {
    /// On a `tpool` thread: any call.
    Wait,
    /// On the hub: only what the caches can answer.
    NoWait,
}

/// Why an attempt stopped.
enum Fail {
    /// [`Disk::NoWait`] met something that needs the disk (or a change of
    /// it, like a quarantine): do it all again on `tpool`.
    WouldBlock,
    Error(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Error(e)
    }
}

type Attempt<T> = std::result::Result<T, Fail>;

/// Maps a syscall's error: under [`Disk::NoWait`] every error (`EAGAIN`
/// from a cache miss, `ENOSYS` from an old kernel, a real failure) sends
/// the work to `tpool`, which meets real failures again and reports them.
fn failed(disk: Disk, what: &'static str, e: Errno) -> Fail {
    match disk {
        Disk::NoWait => Fail::WouldBlock,
        Disk::Wait => Fail::Error(Error::io(what, e.into())),
    }
}

/// [`open`] on a `tpool` thread: checks the device, may wait for the disk.
pub fn open_blocking(ctx: &Context, loc: &Location, prefetch: usize) -> Result<Opened> {
    ctx.check_device(&loc.device)?;
    match open_files(ctx, loc, prefetch, Disk::Wait) {
        Ok(opened) => Ok(opened),
        Err(Fail::Error(e)) => Err(e),
        Err(Fail::WouldBlock) => Err(Error::io("opening an object", io::ErrorKind::WouldBlock.into())),
    }
}

fn open_files(ctx: &Context, loc: &Location, prefetch: usize, disk: Disk) -> Attempt<Opened> {
    // A concurrent write may clean up the file we chose between the
    // listing and the open: list again (a few times at most).
    for _ in 0..3 {
        if let Some(opened) = try_open(ctx, loc, prefetch, disk)? {
            return Ok(opened);
        }
    }
    Ok(Opened::Missing)
}

/// One attempt; `None` if the chosen data file vanished meanwhile.
fn try_open(ctx: &Context, loc: &Location, prefetch: usize, disk: Disk) -> Attempt<Option<Opened>> {
    let dir_path = loc.hash_dir();
    let dir = match open_at(None, &dir_path, OFlags::DIRECTORY, disk) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(Some(Opened::Missing)),
        Err(e) => return Err(failed(disk, "opening an object folder", e)),
    };
    let mut names = Vec::new();
    let mut entries = rustix::fs::Dir::new(dir).map_err(|e| failed(disk, "listing an object folder", e))?;
    while let Some(entry) = entries.read() {
        let entry = entry.map_err(|e| failed(disk, "listing an object folder", e))?;
        if let Ok(name) = entry.file_name().to_str() {
            if name != "." && name != ".." {
                names.push(name.to_string());
            }
        }
    }
    let dir = entries.fd().map_err(|e| failed(disk, "listing an object folder", e))?;
    let on_disk = classify(&names, Timestamp::now(), ctx.conf().reclaim_age.as_secs());
    let Some(data_ts) = on_disk.data else {
        return Ok(Some(on_disk.tombstone.map_or(Opened::Missing, Opened::Deleted)));
    };
    let data_name = file_name(data_ts, Kind::Data);
    let file = match open_at(Some(dir), Path::new(&data_name), OFlags::empty(), disk) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(failed(disk, "opening a data file", e)),
    };
    let (mut metadata, body_len, head) = match read_object_file(&file, prefetch, disk)? {
        Ok(found) => found,
        Err(why) => return quarantined(loc, disk, format!("{}/{data_name}: {why}", dir_path.display())).map(Some),
    };
    let declared = metadata.get("Content-Length").and_then(|v| v.parse::<u64>().ok());
    if declared != Some(body_len) {
        let why = format!("{}/{data_name}: body of {body_len} bytes, Content-Length {declared:?}", dir_path.display());
        return quarantined(loc, disk, why).map(Some);
    }
    if let Some(meta_ts) = on_disk.meta {
        if let Some(update) = read_meta_file(dir, &file_name(meta_ts, Kind::Meta), disk)? {
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
    let file = Arc::new(File::from(file));
    Ok(Some(Opened::Found(ObjectFile { file, data_ts, metadata, body_len, head })))
}

/// Opens `path` (relative to `dir` if given) read-only; under
/// [`Disk::NoWait`] only if the dentry cache resolves it.
fn open_at(dir: Option<BorrowedFd<'_>>, path: &Path, flags: OFlags, disk: Disk) -> std::result::Result<OwnedFd, Errno> {
    let dir = dir.unwrap_or(rustix::fs::CWD);
    let flags = flags | OFlags::RDONLY | OFlags::CLOEXEC;
    match disk {
        Disk::Wait => rustix::fs::openat(dir, path, flags, Mode::empty()),
        Disk::NoWait => rustix::fs::openat2(dir, path, flags, Mode::empty(), ResolveFlags::CACHED),
    }
}

/// A file's metadata, body length and first body bytes (up to
/// `prefetch`): the whole file in one read when it is small, else its
/// tail (and its head if asked). `Ok(Err(why))` is a reason to quarantine.
type FileRead = std::result::Result<(Metadata, u64, Vec<u8>), String>;

fn read_object_file(file: &OwnedFd, prefetch: usize, disk: Disk) -> Attempt<FileRead> {
    let len = rustix::fs::fstat(file).map_err(|e| failed(disk, "fstat", e))?.st_size as u64;
    if len <= prefetch.max(TAIL) as u64 {
        let mut whole = vec![0u8; len as usize];
        read_exact_at(file, &mut whole, 0, disk)?;
        return Ok(format::parse_file(&whole).map(|(metadata, body_len)| {
            whole.truncate(prefetch.min(body_len as usize));
            (metadata, body_len, whole)
        }));
    }
    let mut tail = vec![0u8; TAIL];
    read_exact_at(file, &mut tail, len - TAIL as u64, disk)?;
    let json_len = match format::json_len(&tail[TAIL - TRAILER_LEN as usize..], len) {
        Ok(n) => n,
        Err(why) => return Ok(Err(why)),
    };
    let body_len = len - TRAILER_LEN - json_len;
    let json = if json_len + TRAILER_LEN <= TAIL as u64 {
        tail.truncate(TAIL - TRAILER_LEN as usize);
        tail.split_off(tail.len() - json_len as usize)
    } else {
        let mut json = vec![0u8; json_len as usize];
        read_exact_at(file, &mut json, body_len, disk)?;
        json
    };
    let metadata = match format::parse_metadata(&json) {
        Ok(m) => m,
        Err(why) => return Ok(Err(why)),
    };
    let mut head = vec![0u8; prefetch.min(body_len as usize)];
    read_exact_at(file, &mut head, 0, disk)?;
    Ok(Ok((metadata, body_len, head)))
}

/// Fills `buf` from `offset`; under [`Disk::NoWait`] only from the page
/// cache.
fn read_exact_at(file: &OwnedFd, buf: &mut [u8], offset: u64, disk: Disk) -> Attempt<()> {
    let mut done = 0;
    while done < buf.len() {
        let at = offset + done as u64;
        let n = match disk {
            Disk::Wait => rustix::io::pread(file, &mut buf[done..], at),
            Disk::NoWait => {
                rustix::io::preadv2(file, &mut [IoSliceMut::new(&mut buf[done..])], at, ReadWriteFlags::NOWAIT)
            }
        };
        match n {
            Ok(0) => {
                let e = io::Error::new(io::ErrorKind::UnexpectedEof, "file shorter than its size");
                return Err(Fail::Error(Error::io("reading a data file", e)));
            }
            Ok(n) => done += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(failed(disk, "reading a data file", e)),
        }
    }
    Ok(())
}

/// A `.meta`'s metadata; `None` if it vanished or is unreadable (then it
/// is ignored, as a missing one would be).
fn read_meta_file(dir: BorrowedFd<'_>, name: &str, disk: Disk) -> Attempt<Option<Metadata>> {
    let file = match open_at(Some(dir), Path::new(name), OFlags::empty(), disk) {
        Ok(f) => f,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(failed(disk, "opening a .meta file", e)),
    };
    Ok(read_object_file(&file, 0, disk)?.ok().map(|(m, _, _)| m))
}

fn quarantined(loc: &Location, disk: Disk, why: String) -> Attempt<Opened> {
    if disk == Disk::NoWait {
        return Err(Fail::WouldBlock);
    }
    quarantine_blocking(loc)?;
    Ok(Opened::Quarantined(why))
}

/// Reads up to `buf.len()` body bytes at `offset`: on the hub if they are
/// in the page cache, else on `tpool`. Gives the buffer back with the
/// count (0 at the end of the file).
pub fn read_at(file: &Arc<File>, offset: u64, mut buf: Vec<u8>) -> (Vec<u8>, io::Result<usize>) {
    let cached = rustix::io::preadv2(file.as_fd(), &mut [IoSliceMut::new(&mut buf)], offset, ReadWriteFlags::NOWAIT);
    if let Ok(n) = cached {
        if n > 0 || buf.is_empty() {
            return (buf, Ok(n));
        }
    }
    let f = file.clone();
    hub::tpool::execute(move || {
        let mut done = 0;
        while done < buf.len() {
            match rustix::io::pread(&*f, &mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(Errno::INTR) => {}
                Err(e) => return (buf, Err(e.into())),
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
