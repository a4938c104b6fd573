//! A process-wide cache of open brokers, so that concurrent requests for
//! one database share its connections and its group commit, and a busy
//! container is not reopened (and its schema re-read) on every request.
//! Also the on-disk layout of database files.

use crate::account::AccountBroker;
use crate::conn::{Kind, Options};
use crate::container::ContainerBroker;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// What the registry needs from a broker.
pub trait Broker: Sized + Send + Sync + 'static {
    fn open_broker(path: &Path, opts: &Options) -> Result<Self>;
    fn broker_is_bad(&self) -> bool;
    fn broker_sync(&self) -> Result<()>;
}

impl Broker for ContainerBroker {
    fn open_broker(path: &Path, opts: &Options) -> Result<Self> {
        ContainerBroker::open(path, opts)
    }
    fn broker_is_bad(&self) -> bool {
        self.is_bad()
    }
    fn broker_sync(&self) -> Result<()> {
        self.sync()
    }
}

impl Broker for AccountBroker {
    fn open_broker(path: &Path, opts: &Options) -> Result<Self> {
        AccountBroker::open(path, opts)
    }
    fn broker_is_bad(&self) -> bool {
        self.is_bad()
    }
    fn broker_sync(&self) -> Result<()> {
        self.sync()
    }
}

/// Open brokers by path, at most `capacity`, least recently used evicted.
/// Blocking (it may open a database): use from `tpool`.
pub struct Brokers<B> {
    opts: Options,
    capacity: usize,
    tick: AtomicU64,
    map: Mutex<HashMap<PathBuf, (Arc<B>, u64)>>,
}

impl<B: Broker> Brokers<B> {
    pub fn new(opts: Options, capacity: usize) -> Self {
        Brokers { opts, capacity: capacity.max(1), tick: AtomicU64::new(0), map: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<PathBuf, (Arc<B>, u64)>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The broker of `path`, opened if needed (`Error::NotFound` if the
    /// file does not exist). A quarantined broker is dropped and reopened,
    /// which then finds no file.
    pub fn get(&self, path: &Path) -> Result<Arc<B>> {
        let t = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut map = self.lock();
        if let Some((b, used)) = map.get_mut(path) {
            if !b.broker_is_bad() && path.exists() {
                *used = t;
                return Ok(b.clone());
            }
            map.remove(path);
        }
        let b = Arc::new(B::open_broker(path, &self.opts)?);
        if map.len() >= self.capacity {
            if let Some(oldest) = map.iter().min_by_key(|(_, (_, u))| *u).map(|(p, _)| p.clone()) {
                if let Some((old, _)) = map.remove(&oldest) {
                    let _ = old.broker_sync();
                }
            }
        }
        map.insert(path.to_path_buf(), (b.clone(), t));
        Ok(b)
    }

    /// Drops a cached broker (after the file was removed or quarantined).
    pub fn forget(&self, path: &Path) {
        self.lock().remove(path);
    }

    /// fsyncs the WAL of every cached database written since its last
    /// sync (the periodic sync bounding what a power loss can lose).
    pub fn sync_all(&self) -> Result<()> {
        let all: Vec<Arc<B>> = self.lock().values().map(|(b, _)| b.clone()).collect();
        let mut first = Ok(());
        for b in all {
            if let Err(e) = b.broker_sync() {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Swift's place for a database:
/// `{device}/{containers|accounts}/{part}/{hash[-3:]}/{hash}/{hash}.db`.
pub fn db_path(device: &Path, kind: Kind, part: u32, hash: &str) -> Result<PathBuf> {
    if hash.len() < 3 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Invalid(format!("hash {hash:?}")));
    }
    let suffix = &hash[hash.len() - 3..];
    Ok(device.join(kind.datadir()).join(part.to_string()).join(suffix).join(hash).join(format!("{hash}.db")))
}

/// Every database file of one kind on a device (for the updater and the
/// replicator); folders that vanish meanwhile are skipped.
pub fn db_files(device: &Path, kind: Kind) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let dirs = |p: &Path| -> Vec<PathBuf> {
        fs::read_dir(p)
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect())
            .unwrap_or_default()
    };
    for part in dirs(&device.join(kind.datadir())) {
        for suffix in dirs(&part) {
            for hash in dirs(&suffix) {
                if let Some(name) = hash.file_name().and_then(|n| n.to_str()) {
                    let db = hash.join(format!("{name}.db"));
                    if db.is_file() {
                        out.push(db);
                    }
                }
            }
        }
    }
    out
}
