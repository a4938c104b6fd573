//! The object auditor's check of one hash folder (Swift's
//! `AuditorWorker.object_audit`, on this file format), blocking: the
//! auditor daemon walks `objects/` on its own thread and calls
//! [`audit_hash_dir`] for each hash folder, pacing the reads through its
//! `pace` callback (it sleeps there to hold its bytes per second).
//!
//! What [`audit_hash_dir`] does:
//!
//! * sorts the folder's files out by Swift's rules (`layout::classify`)
//!   and removes the obsolete ones, tombstones older than `reclaim_age`
//!   among them; they are reported ([`AuditResult::removed`]), and the
//!   caller invalidates the suffix when any were ([`AuditResult::cleaned`]);
//! * checks the winning `.data`, and the `.meta` that applies to it, from
//!   end to start: the trailer (magic, and in version 2 its CRC32C), the
//!   parts adding up to the file, the metadata (its CRC32C in version 2,
//!   then the JSON), a data file's `Content-Length` against its body (a
//!   `.meta` has no body), and every byte of the body: in version 2 each
//!   block against its table entry, and the whole body against the
//!   metadata's `Crc32c`; in version 1 the `Crc32c`, or the MD5 against the
//!   `ETag` when there is none. A tombstone's content is not read (only
//!   its name counts).
//!
//! It reads [`CHUNK`] bytes at a time (whole blocks) and reports each read
//! to `pace`, and drops the file's pages from the page cache once read (as
//! Swift's auditor does), so a pass over the disk does not evict the
//! objects being served. A damaged file gives [`Audit::Bad`]; the caller
//! quarantines the folder (`reader::quarantine_blocking` with its
//! [`Location`], or [`quarantine_hash_dir`] with its path). A file that
//! vanished meanwhile (a newer write, a quarantine by a read) is skipped.

use super::format::{self, Metadata, Shift, Version, ENTRY_LEN};
use super::layout::{classify, file_name, list_names, Kind, Location, OBJECTS};
use super::reader::quarantine_blocking;
use super::writer::{crc_hex, CRC32C_KEY};
use crate::error::{Error, Result};
use crate::timestamp::Timestamp;
use md5::{Digest, Md5};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Bytes read at once (whole blocks: a bigger block is read whole).
pub const CHUNK: u64 = 64 << 10;

/// Bytes read from the end of a file first: the trailer, and nearly always
/// the metadata and the block table.
const TAIL: u64 = 4096;

/// What auditing a hash folder found.
#[derive(Debug)]
pub struct AuditResult {
    /// Files removed (obsolete ones, tombstones past `reclaim_age`).
    pub removed: Vec<String>,
    /// Some were: the caller invalidates the folder's suffix
    /// (`hashes::invalidate`), so replication sees the change (a
    /// quarantine invalidates it by itself).
    pub cleaned: bool,
    /// Files checked (the `.data` and its `.meta`).
    pub files: u32,
    /// Bytes read to check them.
    pub bytes: u64,
    pub verdict: Audit,
}

/// The outcome of the checks.
#[derive(Debug)]
pub enum Audit {
    /// The `.data` (and its `.meta`) checked out.
    Good,
    /// No object to check: a tombstone, nothing, or the folder is gone.
    Empty,
    /// A current file is damaged (the reason): quarantine the folder.
    Bad(String),
    /// A read failed (not a checksum: the disk, permissions): nothing is
    /// known; log it and go on.
    Unreadable(io::Error),
}

/// Audits one hash folder (`.../objects/{partition}/{suffix}/{hash}`):
/// removes what is obsolete, checks every byte of the current `.data` and
/// `.meta` (see the module docs). `pace(n)` is called after each read of
/// `n` bytes. Blocking: the auditor's own thread.
pub fn audit_hash_dir(dir: &Path, reclaim_age_secs: u64, now: Timestamp, pace: &mut dyn FnMut(u64)) -> AuditResult {
    let mut out = AuditResult { removed: Vec::new(), cleaned: false, files: 0, bytes: 0, verdict: Audit::Empty };
    let names = match list_names(dir) {
        Ok(names) => names,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return out,
        Err(e) => {
            out.verdict = Audit::Unreadable(e);
            return out;
        }
    };
    let on_disk = classify(&names, now, reclaim_age_secs);
    for name in on_disk.obsolete {
        // One that cannot be removed stays for the next pass (or a write).
        if fs::remove_file(dir.join(&name)).is_ok() {
            out.removed.push(name);
        }
    }
    out.cleaned = !out.removed.is_empty();
    let current = [on_disk.data.map(|t| (t, Kind::Data)), on_disk.meta.map(|t| (t, Kind::Meta))];
    for (ts, kind) in current.into_iter().flatten() {
        let name = file_name(ts, kind);
        let mut counted = |n: u64| {
            out.bytes += n;
            pace(n);
        };
        match check_file(&dir.join(&name), kind, &mut counted) {
            Ok(true) => out.files += 1,
            Ok(false) => {}
            Err(Check::Bad(why)) => {
                out.verdict = Audit::Bad(format!("{}/{name}: {why}", dir.display()));
                return out;
            }
            Err(Check::Io(e)) => {
                let e = io::Error::new(e.kind(), format!("{}/{name}: {e}", dir.display()));
                out.verdict = Audit::Unreadable(e);
                return out;
            }
        }
    }
    if out.files > 0 {
        out.verdict = Audit::Good;
    }
    out
}

/// The [`Location`] of a hash folder `{device_dir}/objects/{partition}/{suffix}/{hash}`
/// (`None` if the path is not one).
pub fn location_of(hash_dir: &Path) -> Option<Location> {
    let name = |p: &Path| p.file_name().and_then(|n| n.to_str()).map(str::to_string);
    let hash = name(hash_dir)?;
    let suffix_dir = hash_dir.parent()?;
    let part_dir = suffix_dir.parent()?;
    let objects = part_dir.parent()?;
    let device_dir = objects.parent()?;
    let partition = name(part_dir)?.parse().ok()?;
    let ok = hash.len() >= 3 && hash.ends_with(&name(suffix_dir)?) && name(suffix_dir)?.len() == 3;
    if !ok || name(objects)? != OBJECTS {
        return None;
    }
    Some(Location { device: name(device_dir)?, device_dir: device_dir.to_path_buf(), partition, hash })
}

/// Quarantines a hash folder the auditor found bad: moves it to
/// `{device_dir}/quarantined/objects/{hash}` (a unique name if one is there)
/// and invalidates its suffix, as a read that finds a bad file does
/// (`reader::quarantine_blocking`, which takes a [`Location`]). Blocking.
pub fn quarantine_hash_dir(hash_dir: &Path) -> Result<()> {
    let loc = location_of(hash_dir).ok_or_else(|| {
        let e = io::Error::new(io::ErrorKind::InvalidInput, format!("{} is not a hash folder", hash_dir.display()));
        Error::io("quarantining an object", e)
    })?;
    quarantine_blocking(&loc)
}

enum Check {
    Bad(String),
    Io(io::Error),
}

impl From<io::Error> for Check {
    fn from(e: io::Error) -> Check {
        match e.kind() {
            // Shorter than its size said a moment ago: damaged.
            io::ErrorKind::UnexpectedEof => Check::Bad("file shorter than its size".into()),
            _ => Check::Io(e),
        }
    }
}

fn bad<T>(why: impl Into<String>) -> std::result::Result<T, Check> {
    Err(Check::Bad(why.into()))
}

/// Checks one file; `Ok(false)` if it vanished.
fn check_file(path: &Path, kind: Kind, pace: &mut dyn FnMut(u64)) -> std::result::Result<bool, Check> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Check::Io(e)),
    };
    let r = check_open_file(&file, kind, pace);
    // Read once, not to be read again soon: out of the page cache.
    let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed);
    r.map(|()| true)
}

fn check_open_file(file: &File, kind: Kind, pace: &mut dyn FnMut(u64)) -> std::result::Result<(), Check> {
    let len = file.metadata()?.len();
    let tail_at = len.saturating_sub(TAIL);
    let mut tail = vec![0u8; (len - tail_at) as usize];
    file.read_exact_at(&mut tail, tail_at)?;
    pace(tail.len() as u64);
    let l = format::layout(&tail, len).map_err(Check::Bad)?;
    let (json_at, json_end) = (l.json_offset(), len - l.trailer_len());
    let json = if json_at >= tail_at {
        tail[(json_at - tail_at) as usize..(json_end - tail_at) as usize].to_vec()
    } else {
        let mut json = vec![0u8; l.json_len as usize];
        file.read_exact_at(&mut json, json_at)?;
        pace(json.len() as u64);
        json
    };
    let meta = l.metadata(&json).map_err(Check::Bad)?;
    if kind != Kind::Data {
        if l.body_len != 0 {
            return bad(format!("a {} file with a body of {} bytes", kind.ext(), l.body_len));
        }
        return Ok(());
    }
    let declared = meta.get("Content-Length").and_then(|v| v.parse::<u64>().ok());
    if declared != Some(l.body_len) {
        return bad(format!("body of {} bytes, Content-Length {declared:?}", l.body_len));
    }
    // The table entries already read with the tail.
    let table_in_tail = (l.version == Version::V2 && l.table_offset() >= tail_at)
        .then(|| tail[(l.table_offset() - tail_at) as usize..(json_at - tail_at) as usize].to_vec());
    check_body(file, &l, &meta, table_in_tail, pace)
}

/// Checks every body byte: blocks against the table (version 2), the whole
/// against `Crc32c`, or the MD5 against the `ETag` without one.
fn check_body(
    file: &File,
    l: &format::Layout,
    meta: &Metadata,
    table: Option<Vec<u8>>,
    pace: &mut dyn FnMut(u64),
) -> std::result::Result<(), Check> {
    let want_crc = meta.get(CRC32C_KEY).map(|v| v.to_ascii_lowercase());
    let mut md5 = want_crc.is_none().then(Md5::new);
    let mut whole = 0u32;
    let blocks = (l.version == Version::V2).then(|| (l.block_size, Shift::for_len(l.block_size)));
    let chunk = match &blocks {
        Some((size, _)) => CHUNK.div_ceil(*size) * size,
        None => CHUNK,
    };
    let mut entries = Entries { held: table.unwrap_or_default(), first: 0, whole: false };
    entries.whole = !entries.held.is_empty();
    let mut buf = vec![0u8; chunk.min(l.body_len) as usize];
    let mut offset = 0;
    while offset < l.body_len {
        let n = chunk.min(l.body_len - offset) as usize;
        file.read_exact_at(&mut buf[..n], offset)?;
        pace(n as u64);
        let data = &buf[..n];
        if let Some(m) = md5.as_mut() {
            m.update(data);
        }
        match &blocks {
            None => whole = crc32c::crc32c_append(whole, data),
            Some((size, shift)) => {
                let first = offset / size;
                let want = entries.get(file, l, first, format::blocks(n as u64, *size), pace)?;
                for (i, block) in data.chunks(*size as usize).enumerate() {
                    let got = crc32c::crc32c(block);
                    let index = first + i as u64;
                    format::check_block(index, got, format::entry(want, i), *size).map_err(Check::Bad)?;
                    whole = if block.len() as u64 == *size {
                        shift.combine(whole, got)
                    } else {
                        crc32c::crc32c_combine(whole, got, block.len())
                    };
                }
            }
        }
        offset += n as u64;
    }
    match (want_crc, md5) {
        (Some(want), _) if crc_hex(whole) != want => {
            bad(format!("body CRC32C {} does not match the stored {want}", crc_hex(whole)))
        }
        (Some(_), _) => Ok(()),
        (None, Some(m)) => {
            let (got, etag) = (common::hex::hex(&m.finalize()), meta.get("ETag").map(String::as_str).unwrap_or(""));
            if got != etag {
                return bad(format!("body MD5 {got} does not match ETag {etag}"));
            }
            Ok(())
        }
        (None, None) => Ok(()),
    }
}

/// The block table entries at hand: the whole table, or a window of it.
struct Entries {
    held: Vec<u8>,
    /// The block of `held[0..4]`.
    first: u64,
    /// `held` is the whole table.
    whole: bool,
}

impl Entries {
    /// Entries of blocks `first..first + n`, read in 4 KiB windows if
    /// the whole table is not held.
    fn get(
        &mut self,
        file: &File,
        l: &format::Layout,
        first: u64,
        n: u64,
        pace: &mut dyn FnMut(u64),
    ) -> std::result::Result<&[u8], Check> {
        let held = self.held.len() as u64 / ENTRY_LEN;
        let at_hand = self.whole || (self.first <= first && first + n <= self.first + held);
        if !at_hand {
            let want = n.max(1024).min(l.blocks() - first);
            self.held.resize((want * ENTRY_LEN) as usize, 0);
            file.read_exact_at(&mut self.held, l.table_offset() + first * ENTRY_LEN)?;
            pace(self.held.len() as u64);
            self.first = first;
        }
        let from = ((first - self.first) * ENTRY_LEN) as usize;
        Ok(&self.held[from.min(self.held.len())..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::diskfile::format::{footer, footer_v2, BlockSums, BLOCK_SIZE};
    use std::path::PathBuf;

    const HASH: &str = "0123456789abcdef0123456789abcabc";

    struct Folder {
        _tmp: test_support::TempDir,
        dir: PathBuf,
    }

    fn folder(name: &str) -> Folder {
        let tmp = test_support::TempDir::new(&format!("audit-{name}"));
        let dir = tmp.0.join("sda/objects/7/abc").join(HASH);
        fs::create_dir_all(&dir).unwrap();
        Folder { _tmp: tmp, dir }
    }

    fn body(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 253) as u8).collect()
    }

    fn meta(body: &[u8], crc: bool) -> Metadata {
        let mut m = Metadata::new();
        m.insert("name".into(), "/a/c/o".into());
        m.insert("Content-Length".into(), body.len().to_string());
        m.insert("ETag".into(), common::hex::hex(&Md5::digest(body)));
        if crc {
            m.insert(CRC32C_KEY.into(), crc_hex(crc32c::crc32c(body)));
        }
        m
    }

    fn v2(body: &[u8], meta: &Metadata) -> Vec<u8> {
        v2_blocks(body, meta, BLOCK_SIZE)
    }

    fn v2_blocks(body: &[u8], meta: &Metadata, block_size: u64) -> Vec<u8> {
        let mut sums = BlockSums::new(block_size);
        sums.update(body);
        let mut file = body.to_vec();
        file.extend_from_slice(&footer_v2(sums.into_table(), meta, body.len() as u64, block_size));
        file
    }

    fn v1(body: &[u8], meta: &Metadata) -> Vec<u8> {
        let mut file = body.to_vec();
        file.extend_from_slice(&footer(meta));
        file
    }

    const DATA: &str = "1700000000.00000.data";

    /// Audits a folder holding `file` as its `.data`.
    fn audit_one(name: &str, file: &[u8]) -> AuditResult {
        let f = folder(name);
        fs::write(f.dir.join(DATA), file).unwrap();
        let mut paced = 0;
        let r = audit_hash_dir(&f.dir, 86400, Timestamp::from_secs(1_700_000_100), &mut |n| paced += n);
        assert_eq!(paced, r.bytes);
        r
    }

    fn is_bad(r: &AuditResult, what: &str) -> bool {
        matches!(&r.verdict, Audit::Bad(why) if why.contains(what))
    }

    #[test]
    fn a_good_file_passes_and_every_byte_is_read() {
        for len in [0, 1, 65_536, 65_537, 300_000] {
            let b = body(len);
            let file = v2(&b, &meta(&b, true));
            let r = audit_one(&format!("good-{len}"), &file);
            assert!(matches!(r.verdict, Audit::Good), "{len}: {r:?}");
            assert_eq!(r.files, 1);
            assert!(r.bytes >= len as u64, "{len}: {}", r.bytes);
            assert!(!r.cleaned);
        }
    }

    #[test]
    fn a_flipped_byte_anywhere_is_bad() {
        let b = body(300_000);
        let good = v2(&b, &meta(&b, true));
        let table_at = 300_000;
        let json_at = table_at + 5 * 4;
        let cases = [
            (0, "block 0 "),
            (200_000, "block 3 "),
            (299_999, "block 4 "),
            (table_at + 9, "block 2 "),
            (json_at + 3, "metadata CRC32C"),
            (good.len() - 20, "trailer CRC32C"),
            (good.len() - 1, "magic"),
        ];
        for (i, what) in cases {
            let mut file = good.clone();
            file[i] ^= 0x04;
            let r = audit_one(&format!("flip-{i}"), &file);
            assert!(is_bad(&r, what), "byte {i}: {r:?}");
        }
        // Truncated, or longer.
        assert!(is_bad(&audit_one("short", &good[..good.len() - 1]), "trailer"));
        assert!(is_bad(&audit_one("cut", &good[100..]), "do not make a file"));
        // Blocks that match their table, but not the whole CRC32C stored.
        let mut m = meta(&b, true);
        m.insert(CRC32C_KEY.into(), "00000000".into());
        assert!(is_bad(&audit_one("whole", &v2(&b, &m)), "body CRC32C"));
        // A Content-Length that is not the body's.
        m = meta(&b, true);
        m.insert("Content-Length".into(), "5".into());
        assert!(is_bad(&audit_one("length", &v2(&b, &m)), "Content-Length"));
    }

    #[test]
    fn a_table_too_long_for_the_tail_is_read_in_windows() {
        // 2,000 blocks of 512 bytes: an 8 KB table, read apart from the
        // tail, in two windows of 1,024 entries.
        let b = body(2000 * 512 - 10);
        let good = v2_blocks(&b, &meta(&b, true), 512);
        let r = audit_one("big", &good);
        assert!(matches!(r.verdict, Audit::Good), "{r:?}");
        assert!(r.bytes >= good.len() as u64 - 4096, "{}", r.bytes);
        let mut file = good;
        let entry_1500 = b.len() + 1500 * 4;
        file[entry_1500] ^= 1;
        assert!(is_bad(&audit_one("big-bad", &file), "block 1500 "));
    }

    #[test]
    fn version_1_files_are_checked_by_crc32c_or_md5() {
        let b = body(100_000);
        for crc in [true, false] {
            let good = v1(&b, &meta(&b, crc));
            let r = audit_one(&format!("v1-{crc}"), &good);
            assert!(matches!(r.verdict, Audit::Good), "{r:?}");
            let mut file = good;
            file[70_000] ^= 0x80;
            let r = audit_one(&format!("v1-bad-{crc}"), &file);
            assert!(is_bad(&r, if crc { "body CRC32C" } else { "body MD5" }), "{r:?}");
        }
    }

    #[test]
    fn obsolete_files_and_old_tombstones_are_removed_and_reported() {
        let f = folder("reclaim");
        let now = Timestamp::from_secs(1_700_100_000);
        // A tombstone older than reclaim_age: removed, nothing left to check.
        let ts = "1700000000.00000.ts";
        fs::write(f.dir.join(ts), footer_v2(Vec::new(), &Metadata::new(), 0, BLOCK_SIZE)).unwrap();
        let r = audit_hash_dir(&f.dir, 3600, now, &mut |_| {});
        assert_eq!(r.removed, vec![ts.to_string()]);
        assert!(r.cleaned && r.files == 0 && matches!(r.verdict, Audit::Empty), "{r:?}");
        assert!(!f.dir.join(ts).exists());
        // A recent one stays; an older .data behind it goes.
        let recent = "1700099000.00000.ts";
        fs::write(f.dir.join(recent), footer_v2(Vec::new(), &Metadata::new(), 0, BLOCK_SIZE)).unwrap();
        let b = body(10);
        fs::write(f.dir.join("1700098000.00000.data"), v2(&b, &meta(&b, true))).unwrap();
        let r = audit_hash_dir(&f.dir, 3600, now, &mut |_| {});
        assert_eq!(r.removed, vec!["1700098000.00000.data".to_string()]);
        assert!(f.dir.join(recent).exists());
        // A gone folder is nothing to do.
        let r = audit_hash_dir(&f.dir.join("nope"), 3600, now, &mut |_| {});
        assert!(matches!(r.verdict, Audit::Empty) && r.removed.is_empty());
    }

    #[test]
    fn a_meta_file_is_checked_too() {
        let f = folder("meta");
        let b = body(1000);
        fs::write(f.dir.join(DATA), v2(&b, &meta(&b, true))).unwrap();
        let mut user = Metadata::new();
        user.insert("X-Object-Meta-Color".into(), "blue".into());
        let mut marker = footer_v2(Vec::new(), &user, 0, BLOCK_SIZE);
        fs::write(f.dir.join("1700000001.00000.meta"), &marker).unwrap();
        let r = audit_hash_dir(&f.dir, 86400, Timestamp::from_secs(1_700_000_100), &mut |_| {});
        assert!(matches!(r.verdict, Audit::Good) && r.files == 2, "{r:?}");
        marker[5] ^= 1;
        fs::write(f.dir.join("1700000001.00000.meta"), &marker).unwrap();
        let r = audit_hash_dir(&f.dir, 86400, Timestamp::from_secs(1_700_000_100), &mut |_| {});
        assert!(is_bad(&r, ".meta: metadata CRC32C"), "{r:?}");
    }

    #[test]
    fn a_bad_folder_is_quarantined_by_its_path() {
        let f = folder("quarantine");
        fs::write(f.dir.join(DATA), b"junk").unwrap();
        let loc = location_of(&f.dir).unwrap();
        assert_eq!((loc.device.as_str(), loc.partition, loc.hash.as_str()), ("sda", 7, HASH));
        assert_eq!(loc.hash_dir(), f.dir);
        quarantine_hash_dir(&f.dir).unwrap();
        assert!(!f.dir.exists());
        assert!(f._tmp.0.join("sda/quarantined/objects").join(HASH).join(DATA).exists());
        let invalid = fs::read_to_string(f._tmp.0.join("sda/objects/7/hashes.invalid")).unwrap();
        assert_eq!(invalid, "abc\n");
        assert!(location_of(Path::new("/srv/sda/objects/7/abd").join(HASH).as_path()).is_none());
        assert!(location_of(Path::new("/srv/sda/other/7/abc").join(HASH).as_path()).is_none());
        assert!(quarantine_hash_dir(Path::new("/")).is_err());
    }
}
