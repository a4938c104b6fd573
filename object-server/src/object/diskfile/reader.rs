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
//! What is checked, and when (docs/integrity.md):
//!
//! * at the open, any file: its trailer, its metadata (in format version
//!   2 against the trailer's CRC32C of it) and its length; a data file's
//!   `Content-Length` must be its body's length. Any failure quarantines
//!   the object and the open answers [`Opened::Quarantined`];
//! * at the open, a version-2 data file: the body bytes read along (the
//!   whole body of a small file, the first blocks for a GET), each block
//!   against its entry in the block table, with the same outcome. So a
//!   small object is checked whole before any response goes out;
//! * as a body is sent ([`Body`]), a version-2 file: every block, read
//!   whole (a range is widened to block bounds), against its entry before
//!   any of its bytes is handed out. The caller stops the response and
//!   quarantines on a [`BodyError::Corrupt`];
//! * a version-1 data file (written before the block table): a full read
//!   checks the whole body's CRC32C, or its MD5 against the ETag, as it is
//!   sent (in `object/get.rs`), and quarantines after it.
//!
//! Quarantine moves the whole hash folder to
//! `devices/{dev}/quarantined/objects/{hash}` (with a unique suffix if one
//! is already there), so it is never served again; replication restores
//! a good copy.

use super::format::{self, Metadata, Version, ENTRY_LEN};
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
/// and, nearly always, the metadata before it in one read (and the block
/// table of a body up to some 50 MiB).
const TAIL: usize = 4096;

/// Table entries read at once when the table was not read with the
/// metadata: 4 KiB, the table of 64 MiB of body in 64 KiB blocks.
const TABLE_WINDOW: u64 = 1024;

/// An open object.
#[derive(Debug)]
pub struct ObjectFile {
    pub file: Arc<File>,
    /// The `.data`'s timestamp.
    pub data_ts: Timestamp,
    /// The data file's metadata with a newer `.meta` applied.
    pub metadata: Metadata,
    pub body_len: u64,
    /// The first body bytes, read with the metadata (`prefetch`; the whole
    /// body of a small version-2 file), checked if `blocks` is set.
    pub head: Vec<u8>,
    /// The block table of a version-2 data file; `None` for version 1.
    pub blocks: Option<Blocks>,
}

/// A version-2 data file's block checksums.
#[derive(Clone, Debug, Default)]
pub struct Blocks {
    /// Body bytes per block.
    pub size: u64,
    /// The whole table (a u32 LE CRC32C per block) if it was read with the
    /// metadata, which it nearly always is; else empty, and [`Body`] reads
    /// the entries it needs.
    pub table: Vec<u8>,
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
    let Parsed { mut metadata, body_len, head, blocks } = match read_object_file(&file, prefetch, disk)? {
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
    Ok(Some(Opened::Found(ObjectFile { file, data_ts, metadata, body_len, head, blocks })))
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
/// `prefetch`, in whole blocks for version 2): the whole file in one read
/// when it is small, else its tail (and its head if asked). The body bytes
/// read of a version-2 file are checked against the block table.
/// `Ok(Err(why))` is a reason to quarantine.
type FileRead = std::result::Result<Parsed, String>;

struct Parsed {
    metadata: Metadata,
    body_len: u64,
    head: Vec<u8>,
    blocks: Option<Blocks>,
}

fn read_object_file(file: &OwnedFd, prefetch: usize, disk: Disk) -> Attempt<FileRead> {
    let len = rustix::fs::fstat(file).map_err(|e| failed(disk, "fstat", e))?.st_size as u64;
    if len <= prefetch.max(TAIL) as u64 {
        let mut whole = vec![0u8; len as usize];
        read_exact_at(file, &mut whole, 0, disk)?;
        let (metadata, l) = match format::parse_whole(&whole) {
            Ok(parsed) => parsed,
            Err(why) => return Ok(Err(why)),
        };
        let body_len = l.body_len as usize;
        let blocks = match l.version {
            Version::V1 => {
                whole.truncate(prefetch.min(body_len));
                None
            }
            Version::V2 => {
                // The whole body is here: it is checked, and kept.
                let table = whole[body_len..l.json_offset() as usize].to_vec();
                if let Err(why) = format::check_blocks(&whole[..body_len], 0, &table, l.block_size) {
                    return Ok(Err(why));
                }
                whole.truncate(body_len);
                Some(Blocks { size: l.block_size, table })
            }
        };
        return Ok(Ok(Parsed { metadata, body_len: l.body_len, head: whole, blocks }));
    }
    let tail_at = len - TAIL as u64;
    let mut tail = vec![0u8; TAIL];
    read_exact_at(file, &mut tail, tail_at, disk)?;
    let l = match format::layout(&tail, len) {
        Ok(l) => l,
        Err(why) => return Ok(Err(why)),
    };
    let (json_at, json_end) = (l.json_offset(), len - l.trailer_len());
    let read_json;
    let json = if json_at >= tail_at {
        &tail[(json_at - tail_at) as usize..(json_end - tail_at) as usize]
    } else {
        let mut json = vec![0u8; l.json_len as usize];
        read_exact_at(file, &mut json, json_at, disk)?;
        read_json = json;
        &read_json[..]
    };
    let metadata = match l.metadata(json) {
        Ok(m) => m,
        Err(why) => return Ok(Err(why)),
    };
    let blocks = (l.version == Version::V2).then(|| {
        // The table, when the tail holds it, keeps the tail's buffer.
        let table = if l.table_offset() >= tail_at {
            tail.truncate((json_at - tail_at) as usize);
            tail.drain(..(l.table_offset() - tail_at) as usize);
            tail
        } else {
            Vec::new()
        };
        Blocks { size: l.block_size, table }
    });
    let head_len = match &blocks {
        None => (prefetch as u64).min(l.body_len),
        Some(b) => (prefetch as u64).div_ceil(b.size).saturating_mul(b.size).min(l.body_len),
    };
    let mut head = vec![0u8; head_len as usize];
    read_exact_at(file, &mut head, 0, disk)?;
    if let (Some(b), false) = (&blocks, head.is_empty()) {
        let n = format::blocks(head_len, b.size) * ENTRY_LEN;
        let read_entries;
        let entries = if b.table.is_empty() {
            let mut entries = vec![0u8; n as usize];
            read_exact_at(file, &mut entries, l.table_offset(), disk)?;
            read_entries = entries;
            &read_entries[..]
        } else {
            &b.table[..n as usize]
        };
        if let Err(why) = format::check_blocks(&head, 0, entries, b.size) {
            return Ok(Err(why));
        }
    }
    Ok(Ok(Parsed { metadata, body_len: l.body_len, head, blocks }))
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
    Ok(read_object_file(&file, 0, disk)?.ok().map(|p| p.metadata))
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

/// Fills `buf` from `offset` of `file`: from the page cache on the hub as
/// far as it holds the bytes, the rest on `tpool`. Gives the buffer back;
/// `UnexpectedEof` if the file ends first.
pub fn fill_at(file: &Arc<File>, offset: u64, mut buf: Vec<u8>) -> (Vec<u8>, io::Result<()>) {
    let mut done = 0;
    while done < buf.len() {
        let at = offset + done as u64;
        match rustix::io::preadv2(file.as_fd(), &mut [IoSliceMut::new(&mut buf[done..])], at, ReadWriteFlags::NOWAIT) {
            Ok(n) if n > 0 => done += n,
            // Not cached (EAGAIN), the end, an old kernel, an error: tpool
            // tries again and reports what is real.
            _ => break,
        }
    }
    if done == buf.len() {
        return (buf, Ok(()));
    }
    let f = file.clone();
    hub::tpool::execute(move || {
        while done < buf.len() {
            match rustix::io::pread(&*f, &mut buf[done..], offset + done as u64) {
                Ok(0) => return (buf, Err(io::ErrorKind::UnexpectedEof.into())),
                Ok(n) => done += n,
                Err(Errno::INTR) => {}
                Err(e) => return (buf, Err(e.into())),
            }
        }
        (buf, Ok(()))
    })
}

/// Why reading a body failed.
#[derive(Debug)]
pub enum BodyError {
    /// The file is damaged: a block that does not match its table entry, or
    /// a file shorter than its own layout. Quarantine it.
    Corrupt(String),
    /// The disk failed.
    Io(io::Error),
}

/// An open object's body, read for a response. A version-2 file is read
/// in whole blocks (a range widened to block bounds), each checked against
/// its table entry before any of its bytes is handed out; a version-1 file
/// as it is (its whole-body check is the caller's). Reads of
/// `disk_chunk_size` (whole blocks) go through [`fill_at`]: on the hub
/// from the page cache, else on `tpool`. One buffer, reused, and for a
/// body whose table was not read with the metadata a 4 KiB window of it.
pub struct Body {
    file: Arc<File>,
    len: u64,
    blocks: Option<Blocks>,
    /// Bytes read at once: `disk_chunk_size`, in whole blocks.
    chunk: u64,
    /// Body bytes from `at`, checked.
    buf: Vec<u8>,
    at: u64,
    /// Table entries from block `window_first` on (when `blocks.table` is
    /// empty).
    window: Vec<u8>,
    window_first: u64,
}

impl Body {
    /// Takes the body bytes read with the metadata (`obj.head`, checked at
    /// the open) and the block table out of `obj`; `chunk` is the read
    /// size (`disk_chunk_size`).
    pub fn new(obj: &mut ObjectFile, chunk: usize) -> Body {
        let blocks = obj.blocks.as_mut().map(|b| Blocks { size: b.size, table: std::mem::take(&mut b.table) });
        let chunk = match &blocks {
            Some(b) => (chunk as u64).div_ceil(b.size).max(1) * b.size,
            None => (chunk as u64).max(1),
        };
        Body {
            file: obj.file.clone(),
            len: obj.body_len,
            blocks,
            chunk,
            buf: std::mem::take(&mut obj.head),
            at: 0,
            window: Vec::new(),
            window_first: 0,
        }
    }

    /// Checked body bytes from `offset` on, at most up to `end` (`offset <
    /// end <= len`): those held from the last read, or a new read's.
    pub fn read(&mut self, offset: u64, end: u64) -> std::result::Result<&[u8], BodyError> {
        debug_assert!(offset < end && end <= self.len, "{offset}..{end} of {}", self.len);
        if offset < self.at || offset >= self.at + self.buf.len() as u64 {
            if let Err(e) = self.load(offset, end) {
                self.buf.clear();
                return Err(e);
            }
        }
        let from = (offset - self.at) as usize;
        let to = (end - self.at).min(self.buf.len() as u64) as usize;
        Ok(&self.buf[from..to])
    }

    /// Reads (and checks) the bytes from `offset` towards `end`: a chunk at
    /// most, from the block `offset` is in.
    fn load(&mut self, offset: u64, end: u64) -> std::result::Result<(), BodyError> {
        let (start, stop) = match &self.blocks {
            None => (offset, end.min(offset + self.chunk)),
            Some(b) => {
                let start = offset - offset % b.size;
                (start, end.div_ceil(b.size).saturating_mul(b.size).min(self.len).min(start + self.chunk))
            }
        };
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize((stop - start) as usize, 0);
        let (buf, r) = fill_at(&self.file, start, buf);
        self.buf = buf;
        self.at = start;
        r.map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => BodyError::Corrupt(format!("data file ends before body byte {stop}")),
            _ => BodyError::Io(e),
        })?;
        let Some(size) = self.blocks.as_ref().map(|b| b.size) else { return Ok(()) };
        let (first, n) = (start / size, format::blocks(stop - start, size));
        self.load_entries(first, n)?;
        let entries = match &self.blocks {
            Some(b) if !b.table.is_empty() => b.table.get((first * ENTRY_LEN) as usize..).unwrap_or_default(),
            _ => &self.window[((first - self.window_first) * ENTRY_LEN) as usize..],
        };
        format::check_blocks(&self.buf, first, entries, size).map_err(BodyError::Corrupt)
    }

    /// Makes sure table entries `first..first + n` are at hand: in the
    /// table read with the metadata, or in the window (read if need be).
    fn load_entries(&mut self, first: u64, n: u64) -> std::result::Result<(), BodyError> {
        let Some(b) = &self.blocks else { return Ok(()) };
        let held = self.window.len() as u64 / ENTRY_LEN;
        if !b.table.is_empty() || (self.window_first <= first && first + n <= self.window_first + held) {
            return Ok(());
        }
        let count = format::blocks(self.len, b.size);
        let want = n.max(TABLE_WINDOW).min(count.saturating_sub(first));
        let mut window = std::mem::take(&mut self.window);
        window.resize((want * ENTRY_LEN) as usize, 0);
        let (window, r) = fill_at(&self.file, self.len + first * ENTRY_LEN, window);
        self.window = window;
        self.window_first = first;
        r.map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => BodyError::Corrupt("data file ends inside its block table".into()),
            _ => BodyError::Io(e),
        })
        .inspect_err(|_| self.window.clear())
    }
}

/// Moves the object's hash folder to `quarantined/objects/` (on `tpool`).
pub fn quarantine(ctx: &Context, loc: &Location) -> Result<()> {
    let _ = ctx;
    let l = loc.clone();
    hub::tpool::execute(move || quarantine_blocking(&l))
}

/// Moves the object's hash folder to `quarantined/objects/{hash}` (with a
/// unique suffix if one is there already) and invalidates its suffix; a
/// folder already gone is no error. Blocking: call it on `tpool` (the
/// auditor calls it from its own thread; see [`super::audit`]).
pub fn quarantine_blocking(loc: &Location) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::diskfile::format::{footer, footer_v2, BlockSums};

    /// A data file of `body` in `block_size` blocks (version 2), or
    /// version 1 without a block size, opened as `open` would leave it
    /// with nothing read along.
    fn object(name: &str, body: &[u8], block_size: Option<u64>) -> (test_support::TempDir, ObjectFile) {
        let tmp = test_support::TempDir::new(&format!("reader-{name}"));
        let mut bytes = body.to_vec();
        let blocks = match block_size {
            Some(size) => {
                let mut sums = BlockSums::new(size);
                sums.update(body);
                bytes.extend_from_slice(&footer_v2(sums.into_table(), &Metadata::new(), body.len() as u64, size));
                Some(Blocks { size, table: Vec::new() })
            }
            None => {
                bytes.extend_from_slice(&footer(&Metadata::new()));
                None
            }
        };
        let path = tmp.0.join("f.data");
        fs::write(&path, &bytes).unwrap();
        let obj = ObjectFile {
            file: Arc::new(File::open(&path).unwrap()),
            data_ts: Timestamp::from_secs(1),
            metadata: Metadata::new(),
            body_len: body.len() as u64,
            head: Vec::new(),
            blocks,
        };
        (tmp, obj)
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 257) as u8).collect()
    }

    /// Reads `[start, end)` through `body` as a response does.
    fn read_all(body: &mut Body, start: u64, end: u64) -> std::result::Result<Vec<u8>, BodyError> {
        let mut out = Vec::new();
        let mut at = start;
        while at < end {
            let got = body.read(at, end)?;
            assert!(!got.is_empty());
            out.extend_from_slice(got);
            at += got.len() as u64;
        }
        Ok(out)
    }

    #[test]
    fn ranges_read_right_whatever_the_block_bounds() {
        hub::run(|| {
            // 3,000 blocks of 512 bytes: a 12 KB table, read in windows.
            let data = pattern(3000 * 512 + 100);
            for (name, size) in [("v2", Some(512)), ("v2-big", Some(65_536)), ("v1", None)] {
                let (_tmp, mut obj) = object(name, &data, size);
                let mut body = Body::new(&mut obj, 4096);
                let len = data.len() as u64;
                let spans = [(0, len), (0, 1), (511, 513), (1000, 1001), (700_000, 900_000), (len - 1, len), (5, 6)];
                for (start, end) in spans {
                    let got = read_all(&mut body, start, end).unwrap();
                    assert!(got == data[start as usize..end as usize], "{name} {start}..{end}");
                }
            }
        });
    }

    #[test]
    fn a_rotten_block_or_entry_is_never_handed_out() {
        hub::run(|| {
            let data = pattern(3000 * 512 + 100);
            let (tmp, mut obj) = object("rot", &data, Some(512));
            let path = tmp.0.join("f.data");
            let mut bytes = fs::read(&path).unwrap();
            bytes[2000 * 512 + 7] ^= 1; // block 2000
            bytes[data.len() + 2500 * 4] ^= 1; // entry of block 2500
            fs::write(&path, &bytes).unwrap();
            let mut body = Body::new(&mut obj, 4096);
            // Up to block 2000, and between the two bad ones: right bytes.
            assert!(read_all(&mut body, 0, 2000 * 512).unwrap() == data[..2000 * 512]);
            assert!(read_all(&mut body, 2001 * 512, 2500 * 512).unwrap() == data[2001 * 512..2500 * 512]);
            let corrupt = |r: std::result::Result<Vec<u8>, BodyError>, what: &str| match r {
                Err(BodyError::Corrupt(why)) => assert!(why.starts_with(what), "{why}"),
                other => panic!("{other:?}"),
            };
            // One byte of a bad block, or a range crossing one: refused.
            corrupt(read_all(&mut body, 2000 * 512 + 500, 2000 * 512 + 501), "block 2000 ");
            corrupt(read_all(&mut body, 1990 * 512, 2010 * 512), "block 2000 ");
            corrupt(read_all(&mut body, 2500 * 512, 2500 * 512 + 1), "block 2500 ");
            assert!(read_all(&mut body, 2501 * 512, data.len() as u64).unwrap() == data[2501 * 512..]);
            // A file cut short after the open: corrupt, not an I/O error.
            let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(100 * 512).unwrap();
            let (_, mut fresh) = object("rot-unused", &data, Some(512));
            fresh.file = Arc::new(File::open(&path).unwrap());
            let mut body = Body::new(&mut fresh, 4096);
            corrupt(read_all(&mut body, 0, data.len() as u64), "data file ends");
        });
    }
}
