//! The write path: a temp file in `tmp/`, `fallocate` of the declared
//! size (keeping `fallocate_reserve` free), the body written as it arrives
//! with the CRC32C of each [`BLOCK_SIZE`] block (the whole body's CRC32C is
//! combined from them) and its MD5 unless the proxy computed it (see
//! docs/integrity.md), a background `fdatasync` every [`FLUSH_EVERY`] bytes
//! so the disk works while the body still arrives, `fdatasync` every
//! `mb_per_sync`, then the footer (the block table, the metadata, the
//! trailer: format version 2, see [`super::format`]), `fsync`,
//! `rename` into the hash folder, `fsync` of the folder (and of the parent
//! of every folder created), cleanup of older files, suffix invalidation.
//!
//! Every slow syscall runs on `tpool` (open, fallocate, fdatasync, the
//! whole commit as one call); plain `write`s to the page cache run on the
//! hub, as in Swift. A `Writer` dropped before `commit` (an error, a
//! client gone, a killed green thread) removes its temp file, so nothing
//! half-written stays; a crash (kill -9, power loss) can leave one in
//! `tmp/`, never in `objects/`, and the next start sweeps `tmp/`.

use super::format::{footer_v2, BlockSums, Metadata, BLOCK_SIZE};
use super::hashes;
use super::layout::{classify, file_name, Kind, Location};
use crate::config::Reserve;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::timestamp::Timestamp;
use md5::{Digest, Md5};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The metadata key holding a data file's body CRC32C ([`crc_hex`]):
/// internal, never sent to clients, checked by full reads.
pub const CRC32C_KEY: &str = "Crc32c";

/// A CRC32C as stored and sent: 8 lowercase hex digits.
pub fn crc_hex(crc: u32) -> String {
    format!("{crc:08x}")
}

/// Bytes written between two background `fdatasync`s of a big body (one
/// at a time, not waited for): its pages go to the disk, through any
/// volatile cache, while the rest arrives, instead of all at the final
/// `fsync`, which still makes the object durable. Starting writeback
/// alone (`sync_file_range`) is not enough where the device defers its
/// writes to a flush (a loop device, a disk's write cache).
pub const FLUSH_EVERY: u64 = 8 << 20;

/// Suffix of our temp files (the startup sweep removes only these).
pub const TMP_SUFFIX: &str = ".swtmp";

/// An object being written.
pub struct Writer {
    ctx: Context,
    loc: Location,
    file: Arc<File>,
    /// The temp file, until `commit` takes it.
    tmp_path: Option<PathBuf>,
    written: u64,
    since_sync: u64,
    since_flush: u64,
    flusher: Arc<Flusher>,
    /// The block table so far, and the body's CRC32C.
    sums: BlockSums,
    md5: Option<Md5>,
    /// For a body of unknown length (nothing allocated up front): bytes
    /// written since `fallocate_reserve` was last checked, and the window
    /// it holds until the next check.
    unreserved: Option<(u64, Promise)>,
}

/// Bytes of a body of unknown length (chunked, no declared size) between
/// two checks of `fallocate_reserve`. Each such upload holds this much
/// of its device's free space as promised ([`Promise`]) until its next
/// check, and every check counts all the promises of the device: however
/// many run at once, they cannot take the device past the reserve.
pub const RESERVE_CHECK_EVERY: u64 = 16 << 20;

/// Bytes promised to the uploads of unknown length in flight, by device
/// folder (this process's: one object server owns its devices).
static PROMISED: Mutex<BTreeMap<PathBuf, u64>> = Mutex::new(BTreeMap::new());

/// One upload's window of [`RESERVE_CHECK_EVERY`] bytes on its device,
/// given back when the writer goes.
struct Promise(PathBuf);

fn promised() -> std::sync::MutexGuard<'static, BTreeMap<PathBuf, u64>> {
    PROMISED.lock().unwrap_or_else(|e| e.into_inner())
}

impl Promise {
    /// Checks the reserve for everything promised on the device and one
    /// more window, then holds that window: one step under the lock, so
    /// two uploads starting together cannot both pass on the same free
    /// space. Blocking.
    fn take(ctx: &Context, file: &File, device: &Path) -> Result<Promise> {
        let mut all = promised();
        let mine = all.entry(device.to_path_buf()).or_insert(0);
        check_reserve(ctx, file, *mine + RESERVE_CHECK_EVERY)?;
        *mine += RESERVE_CHECK_EVERY;
        Ok(Promise(device.to_path_buf()))
    }

    /// A window of `device` was written (it is in the device's free count
    /// now): checks the reserve for everything promised there, that
    /// window renewed. Blocking.
    fn renew(ctx: &Context, file: &File, device: &Path) -> Result<()> {
        let promised = promised().get(device).copied().unwrap_or(0);
        check_reserve(ctx, file, promised)
    }
}

impl Drop for Promise {
    fn drop(&mut self) {
        let mut all = promised();
        if let Some(n) = all.get_mut(&self.0) {
            *n = n.saturating_sub(RESERVE_CHECK_EVERY);
            if *n == 0 {
                all.remove(&self.0);
            }
        }
    }
}

/// Background `fdatasync`s in flight in a process at most: each holds a
/// tpool thread through a disk flush, and the pool must stay free for
/// requests (a flush skipped is only a head start missed).
const MAX_FLUSHES: usize = 4;
static FLUSHES: AtomicUsize = AtomicUsize::new(0);

/// The background `fdatasync`s of one writer.
#[derive(Default)]
struct Flusher {
    /// One is queued or running.
    busy: AtomicBool,
    /// The commit has begun, or the writer was dropped without one: no
    /// background `fdatasync` may start any more.
    stopped: AtomicBool,
    /// One failed: the writer stops taking the body.
    failed: AtomicBool,
    /// The first error a background `fdatasync` met, held by one while it
    /// runs. The kernel reports a writeback error to one sync call per
    /// open file only, so the commit's `fsync` might not see it again:
    /// the commit fails with it.
    error: Mutex<Option<io::Error>>,
}

impl Writer {
    /// Opens a temp file for an object of `size` bytes (`None`: chunked),
    /// allocating the space. 507 if the device is unmounted or too full.
    /// `md5`: hash the body (else its ETag comes from the proxy).
    /// Blocking: call it on `tpool`.
    pub fn create(ctx: &Context, loc: &Location, size: Option<u64>, md5: bool) -> Result<Writer> {
        // A declared length is allocated; an unknown one holds a promise.
        let (file, tmp_path) = open_tmp(ctx, loc, size)?;
        let unreserved = match size {
            Some(_) => None,
            None => match Promise::take(ctx, &file, &loc.device_dir) {
                Ok(p) => Some((0, p)),
                Err(e) => {
                    let _ = fs::remove_file(&tmp_path);
                    return Err(e);
                }
            },
        };
        Ok(Writer {
            ctx: ctx.clone(),
            loc: loc.clone(),
            file: Arc::new(file),
            tmp_path: Some(tmp_path),
            written: 0,
            since_sync: 0,
            since_flush: 0,
            flusher: Arc::default(),
            sums: BlockSums::new(BLOCK_SIZE),
            md5: md5.then(Md5::new),
            unreserved,
        })
    }

    /// Appends body bytes, syncing as the body grows ([`FLUSH_EVERY`] in
    /// the background, `mb_per_sync` waited for) on `tpool`.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.flusher.failed.load(Ordering::Acquire) {
            let f = self.flusher.clone();
            return hub::tpool::execute(move || f.close());
        }
        if let Some((since, promise)) = &mut self.unreserved {
            *since += data.len() as u64;
            if *since >= RESERVE_CHECK_EVERY {
                *since = 0;
                let (ctx, file, device) = (self.ctx.clone(), self.file.clone(), promise.0.clone());
                hub::tpool::execute(move || Promise::renew(&ctx, &file, &device))?;
            }
        }
        self.append(data)?;
        if self.since_flush >= FLUSH_EVERY {
            self.since_flush = 0;
            self.flusher.clone().start(self.file.clone());
        }
        if self.since_sync >= self.ctx.conf().bytes_per_sync {
            let f = self.file.clone();
            hub::tpool::execute(move || f.sync_data()).map_err(|e| Error::from_disk_write("fdatasync", e))?;
            self.since_sync = 0;
        }
        Ok(())
    }

    /// Appends body bytes to the page cache with their checksums.
    fn append(&mut self, data: &[u8]) -> Result<()> {
        self.sums.update(data);
        if let Some(m) = &mut self.md5 {
            m.update(data);
        }
        self.put_bytes(data)
    }

    /// Writes a whole small body whose CRC32C the caller computed (it
    /// checked the body before this blocking call on `tpool`): to the page
    /// cache, nothing more; `commit` makes it durable. The block table is
    /// computed here, from the bytes written, and must give the caller's
    /// CRC32C (else the body changed in memory: 500, nothing stored).
    pub fn write_whole(&mut self, body: &[u8], crc: u32) -> Result<()> {
        debug_assert_eq!(self.written, 0, "a whole body is the only one");
        self.sums.update(body);
        if self.sums.crc32c() != crc {
            let why = format!("body CRC32C {} is not the caller's {}", crc_hex(self.sums.crc32c()), crc_hex(crc));
            return Err(Error::io("writing an object", io::Error::new(io::ErrorKind::InvalidData, why)));
        }
        self.put_bytes(body)
    }

    fn put_bytes(&mut self, data: &[u8]) -> Result<()> {
        (&*self.file).write_all(data).map_err(|e| Error::from_disk_write("writing an object", e))?;
        self.written += data.len() as u64;
        self.since_sync += data.len() as u64;
        self.since_flush += data.len() as u64;
        Ok(())
    }

    /// Body bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The body's MD5, hex (the ETag), if the writer hashed it.
    pub fn etag(&self) -> Option<String> {
        self.md5.as_ref().map(|m| common::hex::hex(&m.clone().finalize()))
    }

    /// The body's CRC32C.
    pub fn crc32c(&self) -> u32 {
        self.sums.crc32c()
    }

    /// Makes the object durable and visible as `{ts}.data`; on failure
    /// the temp file is removed.
    pub fn commit(self, ts: Timestamp, meta: Metadata) -> Result<()> {
        hub::tpool::execute(move || self.commit_blocking(ts, meta))
    }

    /// [`Writer::commit`], blocking: call it on `tpool`.
    pub fn commit_blocking(mut self, ts: Timestamp, meta: Metadata) -> Result<()> {
        let tmp = self.tmp_path.take().expect("a writer commits once");
        let table = std::mem::replace(&mut self.sums, BlockSums::new(BLOCK_SIZE)).into_table();
        let footer = footer_v2(table, &meta, self.written, BLOCK_SIZE);
        let r =
            self.flusher.close().and_then(|()| finish(&self.ctx, &self.loc, &self.file, &tmp, &footer, ts, Kind::Data));
        if r.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        r
    }
}

impl Flusher {
    /// Starts a background `fdatasync` of `file` on a green thread, unless
    /// one of this writer's is under way or the process has
    /// [`MAX_FLUSHES`] in flight.
    fn start(self: Arc<Self>, file: Arc<File>) {
        if self.busy.swap(true, Ordering::AcqRel) {
            return;
        }
        let running = InFlight(self);
        if FLUSHES.fetch_add(1, Ordering::AcqRel) >= MAX_FLUSHES {
            return;
        }
        hub::spawn(move || {
            let f = running.0.clone();
            hub::tpool::execute(move || f.flush(&file));
        });
    }

    /// A background `fdatasync` (blocking), unless stopped. Holding
    /// `error` meanwhile makes the commit wait for it.
    fn flush(&self, file: &File) {
        let mut error = lock(&self.error);
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        if let Err(e) = file.sync_data() {
            error.get_or_insert(e);
            self.failed.store(true, Ordering::Release);
        }
    }

    /// Stops background `fdatasync`s (waiting for one that runs) and
    /// returns the error one of them met. Blocking.
    fn close(&self) -> Result<()> {
        self.stopped.store(true, Ordering::Release);
        match lock(&self.error).take() {
            Some(e) => Err(Error::from_disk_write("fdatasync", e)),
            None => Ok(()),
        }
    }
}

/// A flush counted in [`FLUSHES`] and its writer's `busy`, until dropped
/// (also when its green thread is killed).
struct InFlight(Arc<Flusher>);

impl Drop for InFlight {
    fn drop(&mut self) {
        FLUSHES.fetch_sub(1, Ordering::AcqRel);
        self.0.busy.store(false, Ordering::Release);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.flusher.stopped.store(true, Ordering::Release);
        if let Some(tmp) = &self.tmp_path {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Writes a `.ts` or `.meta` (no body) in one `tpool` call. No space is
/// reserved, so deletes work on a full disk, as in Swift.
pub fn write_marker(ctx: &Context, loc: &Location, ts: Timestamp, kind: Kind, meta: Metadata) -> Result<()> {
    let (ctx, loc) = (ctx.clone(), loc.clone());
    hub::tpool::execute(move || {
        let (file, tmp) = open_tmp(&ctx, &loc, None)?;
        let r = finish(&ctx, &loc, &file, &tmp, &footer_v2(Vec::new(), &meta, 0, BLOCK_SIZE), ts, kind);
        let _ = fs::remove_file(&tmp);
        r
    })
}

fn unique_tmp_name(loc: &Location) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("{}-{}-{nanos}-{}{TMP_SUFFIX}", loc.hash, swiftlet_server::pid(), SEQ.fetch_add(1, Ordering::Relaxed))
}

/// Opens a new temp file; with `reserve = Some(size)`, checks
/// `fallocate_reserve` and allocates `size` bytes. Blocking.
fn open_tmp(ctx: &Context, loc: &Location, reserve: Option<u64>) -> Result<(File, PathBuf)> {
    ctx.check_device(&loc.device)?;
    let dir = loc.tmp_dir();
    let path = dir.join(unique_tmp_name(loc));
    let create = || File::options().read(true).write(true).create_new(true).open(&path);
    // `tmp/` is made on the first write to a device (or after it was removed).
    let file = match create() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(&dir).map_err(|e| Error::from_disk_write("creating tmp/", e))?;
            create()
        }
        other => other,
    }
    .map_err(|e| Error::from_disk_write("creating a temp file", e))?;
    if let Some(size) = reserve {
        if let Err(e) = allocate(ctx, &file, size) {
            let _ = fs::remove_file(&path);
            return Err(e);
        }
    }
    Ok((file, path))
}

/// Swift's `fallocate` with `fallocate_reserve`: fail with 507 unless more
/// than the reserve stays free once `size` bytes are taken, then allocate
/// them (keeping the file's size: the body is written from offset 0).
fn allocate(ctx: &Context, file: &File, size: u64) -> Result<()> {
    check_reserve(ctx, file, size)?;
    if size == 0 || ctx.conf().disable_fallocate {
        return Ok(());
    }
    match rustix::fs::fallocate(file, rustix::fs::FallocateFlags::KEEP_SIZE, 0, size) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::OPNOTSUPP) | Err(rustix::io::Errno::NOSYS) => Ok(()),
        Err(e) => Err(Error::from_disk_write("fallocate", e.into())),
    }
}

/// 507 unless more than `fallocate_reserve` stays free on `file`'s device
/// once `size` more bytes are taken. Blocking.
fn check_reserve(ctx: &Context, file: &File, size: u64) -> Result<()> {
    let conf = ctx.conf();
    if conf.disable_fallocate {
        return Ok(());
    }
    let st = rustix::fs::fstatvfs(file).map_err(|e| Error::io("fstatvfs", e.into()))?;
    let frsize = st.f_frsize.max(1) as i128;
    let free_blocks = st.f_bavail as i128 - (size as i128).div_euclid(frsize);
    let enough = match conf.fallocate_reserve {
        Reserve::Bytes(b) => free_blocks * frsize > b as i128,
        Reserve::Percent(p) => {
            let total = (st.f_blocks as i128).max(1);
            (free_blocks as f64) * 100.0 / (total as f64) > p
        }
    };
    if !enough {
        return Err(Error::InsufficientStorage(format!(
            "{size} bytes would leave less than fallocate_reserve free ({} blocks of {frsize} bytes free)",
            st.f_bavail
        )));
    }
    Ok(())
}

/// fsync of a folder, so that a rename or a new entry in it is durable.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `device_dir/objects/{part}/{suffix}/{hash}` as needed; returns
/// the folders whose entries changed (to fsync): the hash folder's parent
/// among them if this call created the hash folder.
fn make_hash_dir(loc: &Location) -> io::Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    make_dir(&loc.hash_dir(), &loc.device_dir, &mut changed)?;
    Ok(changed)
}

/// `mkdir -p` below `root` (which it never creates), from the leaf up:
/// one `mkdir` when only the leaf is missing, none spent on `stat`s.
/// Pushes the parent of every folder it found missing onto `changed`, top
/// down, also when a racing writer made it before this call could (a
/// folder that a racer made just before this call looked is not seen as
/// new: the same gap as Swift's `renamer`).
fn make_dir(dir: &Path, root: &Path, changed: &mut Vec<PathBuf>) -> io::Result<()> {
    let created = match fs::create_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = dir.parent().filter(|p| *p != root).ok_or(e)?;
            make_dir(parent, root, changed)?;
            // Missing a moment ago, so new whoever makes it now: its parent
            // is fsynced here too (a racing writer may not have done it yet).
            match fs::create_dir(dir) {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
                other => other,
            }
        }
        other => other,
    };
    match created {
        Ok(()) => {
            changed.extend(dir.parent().map(Path::to_path_buf));
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Appends the footer, fsyncs, renames into place, fsyncs folders, cleans
/// up older files and invalidates the suffix. Blocking.
fn finish(
    ctx: &Context,
    loc: &Location,
    file: &File,
    tmp: &Path,
    footer: &[u8],
    ts: Timestamp,
    kind: Kind,
) -> Result<()> {
    let disk = |what: &'static str| move |e: io::Error| Error::from_disk_write(what, e);
    let mut f = file;
    f.write_all(footer).map_err(disk("writing metadata"))?;
    file.sync_all().map_err(disk("fsync"))?;
    let dir = loc.hash_dir();
    let dest = dir.join(file_name(ts, kind));
    // Another process's cleanup (the replicator, the auditor, a rehash)
    // may remove an empty folder between its creation and the rename:
    // make it again, a few times at most.
    let mut changed = Vec::new();
    let mut tries = 0;
    loop {
        tries += 1;
        let made = make_hash_dir(loc).and_then(|c| {
            changed.extend(c);
            fs::rename(tmp, &dest)
        });
        match made {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound && tries < 4 => continue,
            Err(e) => return Err(Error::from_disk_write("creating the object folder and renaming into it", e)),
        }
    }
    let new_dir = dir.parent().is_some_and(|suffix| changed.iter().any(|d| d == suffix));
    fsync_dir(&dir).map_err(disk("fsync of the object folder"))?;
    for d in changed {
        fsync_dir(&d).map_err(disk("fsync of a new folder"))?;
    }
    // A folder this call created holds only the new file, unless another
    // write of the same object raced in: that one cleans up after itself,
    // and any file left behind is older, never read, and removed by the
    // next write of the object (PUT, POST or DELETE).
    if !new_dir {
        cleanup(&dir, ctx.conf().reclaim_age.as_secs());
    }
    hashes::invalidate(&loc.partition_dir(), loc.suffix()).map_err(disk("invalidating the suffix hash"))?;
    Ok(())
}

/// Removes obsolete files of a hash folder (best effort).
pub fn cleanup(dir: &Path, reclaim_age_secs: u64) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    for name in classify(&names, Timestamp::now(), reclaim_age_secs).obsolete {
        let _ = fs::remove_file(dir.join(name));
    }
}

/// Removes temp files left by a crash in every device's `tmp/`. Run at
/// startup, before any write. Returns how many were removed.
pub fn sweep_tmp(devices: &Path) -> usize {
    let mut removed = 0;
    let Ok(devs) = fs::read_dir(devices) else { return 0 };
    for dev in devs.flatten() {
        let Ok(files) = fs::read_dir(dev.path().join(super::layout::TMP)) else { continue };
        for f in files.flatten() {
            if f.file_name().to_string_lossy().ends_with(TMP_SUFFIX) && fs::remove_file(f.path()).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::make_dir;
    use std::fs;
    use std::path::PathBuf;

    #[test]
    fn make_dir_creates_what_is_missing_below_the_root_and_names_the_changed_parents() {
        let root = std::env::temp_dir().join(format!("swiftlet-make-dir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("objects/1")).unwrap();
        let leaf = root.join("objects/1/abc/hash");
        let mut changed = Vec::new();
        make_dir(&leaf, &root, &mut changed).unwrap();
        assert!(leaf.is_dir());
        assert_eq!(changed, [root.join("objects/1"), root.join("objects/1/abc")]);
        // Already there: nothing changed.
        let mut again = Vec::new();
        make_dir(&leaf, &root, &mut again).unwrap();
        assert!(again.is_empty());
        // Only the leaf missing: only its parent changed.
        let mut one = Vec::new();
        make_dir(&root.join("objects/1/abc/other"), &root, &mut one).unwrap();
        assert_eq!(one, [root.join("objects/1/abc")]);
        // A missing root (a device that is gone) is never created.
        fs::remove_dir_all(&root).unwrap();
        let mut none: Vec<PathBuf> = Vec::new();
        assert!(make_dir(&leaf, &root, &mut none).is_err());
        assert!(!root.exists() && none.is_empty());
    }
}
