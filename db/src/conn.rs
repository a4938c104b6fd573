//! One database file: its connections (one writer, a few readers, all in
//! WAL mode), creation through `tmp/` and a hard link, group commit of
//! row updates, and quarantine of a corrupt file.
//!
//! Every method here blocks (SQLite, fsync, mutexes): call them from
//! `hub::tpool::execute`, never on a green thread directly.

use crate::error::{corruption_reason, Error, Result};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How hard a commit pushes the write to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// `synchronous=NORMAL`: a commit is in the WAL (OS page cache) when
    /// the call returns, so it survives the process being killed; the WAL
    /// is fsynced at checkpoints and by [`Db::sync`] (the periodic sync).
    Normal,
    /// `synchronous=FULL`: every commit (one per batch) fsyncs the WAL.
    Full,
}

/// Options for opening databases.
#[derive(Debug, Clone)]
pub struct Options {
    pub sync: Synchronous,
    /// SQLite page cache per connection, in KiB.
    pub cache_kib: u32,
    /// Idle reader connections kept per database.
    pub readers: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { sync: Synchronous::Normal, cache_kib: 8192, readers: 2 }
    }
}

/// Which kind of database, for the quarantine folder (`containers`,
/// `accounts`) and the info table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Container,
    Account,
}

impl Kind {
    pub fn datadir(self) -> &'static str {
        match self {
            Kind::Container => "containers",
            Kind::Account => "accounts",
        }
    }
}

pub(crate) struct Db {
    path: PathBuf,
    kind: Kind,
    opts: Options,
    writer: Mutex<Option<Connection>>,
    readers: Mutex<Vec<Connection>>,
    bad: AtomicBool,
    /// Commits since the last fsync of the WAL (for the periodic sync).
    dirty: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// WAL pages between automatic checkpoints (SQLite's default is 1,000,
/// i.e. 4 MiB): fewer checkpoints, each with two fsyncs, under heavy row
/// updates, for a WAL of up to ~40 MiB.
const WAL_PAGES: u32 = 10_000;

fn connect(path: &Path, opts: &Options) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    // Never wait inside SQLite: BUSY goes back to the caller, who sleeps
    // on the hub and retries.
    conn.busy_timeout(Duration::ZERO)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Invalid(format!("journal_mode is {mode}, not wal")));
    }
    let sync = match opts.sync {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {sync}; PRAGMA cache_size = -{}; PRAGMA temp_store = MEMORY;
         PRAGMA wal_autocheckpoint = {WAL_PAGES};",
        opts.cache_kib
    ))?;
    Ok(conn)
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);
static COMMITS: AtomicU64 = AtomicU64::new(0);

/// Write transactions committed by this process (diagnostics: with the
/// number of row updates, it gives the group-commit batch size).
pub fn commits() -> u64 {
    COMMITS.load(Ordering::Relaxed)
}

/// A name no other call of this process (or another process) uses.
pub(crate) fn unique_name() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("{}-{nanos:x}-{}", std::process::id(), UNIQUE.fetch_add(1, Ordering::Relaxed))
}

/// Creates the database at `path` unless it exists: built under `tmp_dir`
/// by `init` (schema and first rows, one transaction), fsynced, then
/// hard-linked into place (so two creators cannot overwrite each other)
/// and the directory fsynced. Returns false if it already existed.
pub(crate) fn create(path: &Path, tmp_dir: &Path, init: impl FnOnce(&Transaction) -> Result<()>) -> Result<bool> {
    if path.exists() {
        return Ok(false);
    }
    fs::create_dir_all(tmp_dir)?;
    let tmp = tmp_dir.join(format!("{}.db", unique_name()));
    let built = (|| -> Result<()> {
        let mut conn = Connection::open(&tmp)?;
        conn.execute_batch("PRAGMA synchronous = FULL;")?;
        let tx = conn.transaction()?;
        init(&tx)?;
        tx.commit()?;
        let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        // Closing the last connection checkpoints and removes the WAL.
        conn.close().map_err(|(_, e)| e)?;
        fs::File::open(&tmp)?.sync_all()?;
        Ok(())
    })();
    let linked = built.and_then(|()| {
        let dir = path.parent().ok_or_else(|| Error::Invalid("database path has no folder".into()))?;
        fs::create_dir_all(dir)?;
        match fs::hard_link(&tmp, path) {
            Ok(()) => {
                fs::File::open(dir)?.sync_all()?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e.into()),
        }
    });
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = fs::remove_file(format!("{}{suffix}", tmp.display()));
    }
    linked
}

impl Db {
    /// Opens an existing database (`Error::NotFound` if there is none);
    /// a file SQLite cannot read is quarantined.
    pub(crate) fn open(path: &Path, kind: Kind, opts: &Options) -> Result<Db> {
        if !path.exists() {
            return Err(Error::NotFound);
        }
        let db = Db {
            path: path.to_path_buf(),
            kind,
            opts: opts.clone(),
            writer: Mutex::new(None),
            readers: Mutex::new(Vec::new()),
            bad: AtomicBool::new(false),
            dirty: AtomicBool::new(false),
        };
        let conn = db.check(connect(path, opts))?;
        *lock(&db.writer) = Some(conn);
        Ok(db)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// True once the file has been quarantined: the broker is dead and
    /// must be dropped from any cache.
    pub(crate) fn is_bad(&self) -> bool {
        self.bad.load(Ordering::Relaxed)
    }

    /// Passes `r` through, quarantining the file first if the error says
    /// the file is bad.
    pub(crate) fn check<T>(&self, r: Result<T>) -> Result<T> {
        match r {
            Err(e) => match corruption_reason(&e) {
                Some(reason) => Err(self.quarantine(&reason)),
                None => Err(e),
            },
            ok => ok,
        }
    }

    /// Moves the database's folder to `{device}/quarantined/{kind}s/{hash}`
    /// (Swift's `quarantine_db`) and returns the error to report.
    pub(crate) fn quarantine(&self, reason: &str) -> Error {
        self.bad.store(true, Ordering::Relaxed);
        lock(&self.readers).clear();
        if let Ok(mut w) = self.writer.try_lock() {
            *w = None;
        }
        match quarantine_path(&self.path, self.kind) {
            Ok((from, mut to)) => {
                if to.exists() {
                    to = to.with_file_name(format!(
                        "{}-{}",
                        to.file_name().unwrap_or_default().to_string_lossy(),
                        unique_name()
                    ));
                }
                let moved = to.parent().map_or(Ok(()), fs::create_dir_all).and_then(|()| fs::rename(&from, &to));
                match moved {
                    Ok(()) => Error::Quarantined { reason: reason.to_string(), to },
                    Err(e) => Error::Io(std::io::Error::new(
                        e.kind(),
                        format!("quarantine of {} ({reason}) failed: {e}", from.display()),
                    )),
                }
            }
            Err(e) => e,
        }
    }

    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`).
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut w = lock(&self.writer);
        self.write_locked(&mut w, f)
    }

    fn write_locked<T>(&self, w: &mut Option<Connection>, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        if self.is_bad() {
            return Err(Error::NotFound);
        }
        if w.is_none() {
            *w = Some(self.check(connect(&self.path, &self.opts))?);
        }
        let Some(conn) = w.as_mut() else { return Err(Error::NotFound) };
        let r = (|| {
            let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
            let v = f(&tx)?;
            tx.commit()?;
            Ok(v)
        })();
        if r.is_ok() {
            COMMITS.fetch_add(1, Ordering::Relaxed);
            self.dirty.store(true, Ordering::Relaxed);
        }
        self.check(r)
    }

    /// Runs `f` on a reader connection (WAL: readers never wait for the
    /// writer, and see every committed write).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        if self.is_bad() {
            return Err(Error::NotFound);
        }
        let conn = match lock(&self.readers).pop() {
            Some(c) => c,
            None => self.check(connect(&self.path, &self.opts))?,
        };
        let r = self.check(f(&conn));
        if !self.is_bad() {
            let mut idle = lock(&self.readers);
            if idle.len() < self.opts.readers {
                idle.push(conn);
            }
        }
        r
    }

    /// fsyncs the WAL if anything was committed since the last sync: the
    /// bound on what a power loss can take with `Synchronous::Normal`.
    pub(crate) fn sync(&self) -> Result<()> {
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return Ok(());
        }
        let wal = PathBuf::from(format!("{}-wal", self.path.display()));
        match fs::File::open(&wal) {
            Ok(f) => f.sync_data().map_err(Error::from),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// `(hash folder, destination)` for a database at
/// `{device}/{kind}s/{part}/{suffix}/{hash}/{hash}.db`.
fn quarantine_path(path: &Path, kind: Kind) -> Result<(PathBuf, PathBuf)> {
    let hash_dir = path.parent().ok_or_else(|| Error::Invalid("database path has no folder".into()))?;
    let device = hash_dir
        .ancestors()
        .nth(4)
        .ok_or_else(|| Error::Invalid(format!("{} is not in a device's layout", path.display())))?;
    let name = hash_dir.file_name().unwrap_or_default();
    Ok((hash_dir.to_path_buf(), device.join("quarantined").join(kind.datadir()).join(name)))
}

/// Group commit: callers queue their item; if no commit is under way the
/// caller becomes the leader and commits every queued item in one
/// transaction, else it waits (on a condvar, in its tpool thread) for a
/// leader to publish its result. With N concurrent updates to one
/// database, one commit (and with `Synchronous::Full`, one fsync) serves all N.
pub(crate) struct Batcher<I, R> {
    state: Mutex<BatchState<I, R>>,
    published: Condvar,
}

struct BatchState<I, R> {
    next: u64,
    committing: bool,
    /// Callers waiting on `published` (a signal costs a syscall: sent
    /// only when one waits).
    waiting: usize,
    queued: Vec<(u64, I)>,
    done: HashMap<u64, Result<R>>,
}

/// How many queued items one transaction takes at most.
const MAX_BATCH: usize = 1024;

impl<I, R> Batcher<I, R> {
    pub(crate) fn new() -> Self {
        Batcher {
            state: Mutex::new(BatchState {
                next: 0,
                committing: false,
                waiting: 0,
                queued: Vec::new(),
                done: HashMap::new(),
            }),
            published: Condvar::new(),
        }
    }

    /// Queues `item` and returns its result once committed. `apply` runs
    /// inside the transaction for every item of a batch; an `Err` from it
    /// (an SQL failure) rolls back the whole batch and every member gets it.
    pub(crate) fn submit(&self, db: &Db, item: I, mut apply: impl FnMut(&Transaction, I) -> Result<R>) -> Result<R> {
        let mut s = lock(&self.state);
        let seq = s.next;
        s.next += 1;
        s.queued.push((seq, item));
        loop {
            if let Some(r) = s.done.remove(&seq) {
                return r;
            }
            if s.committing {
                s.waiting += 1;
                s = self.published.wait(s).unwrap_or_else(|e| e.into_inner());
                s.waiting -= 1;
                continue;
            }
            s.committing = true;
            let n = s.queued.len().min(MAX_BATCH);
            let batch: Vec<(u64, I)> = s.queued.drain(..n).collect();
            drop(s);
            let seqs: Vec<u64> = batch.iter().map(|(s, _)| *s).collect();
            let r = db.write(|tx| {
                let mut out = Vec::with_capacity(batch.len());
                for (_, item) in batch {
                    out.push(apply(tx, item)?);
                }
                Ok(out)
            });
            s = lock(&self.state);
            match r {
                Ok(results) => s.done.extend(seqs.into_iter().zip(results.into_iter().map(Ok))),
                Err(e) => s.done.extend(seqs.into_iter().map(|sq| (sq, Err(e.for_batch())))),
            }
            s.committing = false;
            if s.waiting > 0 {
                self.published.notify_all();
            }
        }
    }
}
