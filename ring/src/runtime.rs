//! The runtime ring servers use: name → partition → devices, handoffs, and
//! reloading when the ring file changes on disk.
//!
//! Lookups read an immutable [`Snapshot`] behind an `Arc`; a reload builds a
//! new snapshot and swaps the pointer, so a lookup never waits for a file
//! read. At most once per `reload_interval` a lookup stats the ring file (one
//! cheap syscall); if its mtime or size changed, a short-lived thread loads
//! and swaps the new ring while lookups go on with the old one. A broken new
//! file is ignored and the old ring stays in service.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use crate::device::Device;
use crate::error::Result;
use crate::handoff::Handoffs;
use crate::hash::{partition, PathHasher};
use crate::ringdata::RingData;

/// Default time between two checks of the ring file (Swift: 15 s).
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(15);

/// Dense tier indices of one device, for the handoff walk.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TierIdx {
    pub region: usize,
    pub zone: usize,
    pub ip: usize,
}

/// One loaded ring file, never mutated.
#[derive(Debug)]
pub struct Snapshot {
    pub(crate) data: RingData,
    pub(crate) devs: Vec<Option<Arc<Device>>>,
    pub(crate) tiers: Vec<TierIdx>,
    pub(crate) num_regions: usize,
    pub(crate) num_zones: usize,
    pub(crate) num_ips: usize,
    pub(crate) num_assigned: usize,
    stamp: Option<(SystemTime, u64)>,
}

impl Snapshot {
    fn new(data: RingData, stamp: Option<(SystemTime, u64)>) -> Snapshot {
        let devs: Vec<Option<Arc<Device>>> = data.devs.iter().map(|d| d.clone().map(Arc::new)).collect();
        let mut assigned = vec![false; devs.len()];
        for row in &data.replica2part2dev {
            for &id in row {
                assigned[usize::from(id)] = true;
            }
        }
        // Only devices holding partitions count, as in Swift, so that the
        // handoff passes stop early.
        let (mut regions, mut zones, mut ips) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let mut tiers = vec![TierIdx::default(); devs.len()];
        let mut num_assigned = 0;
        for (i, d) in data.devs.iter().enumerate() {
            let Some(d) = d else { continue };
            if !assigned[i] {
                continue;
            }
            num_assigned += 1;
            let n = regions.len();
            let region = *regions.entry(d.region).or_insert(n);
            let n = zones.len();
            let zone = *zones.entry((d.region, d.zone)).or_insert(n);
            let n = ips.len();
            let ip = *ips.entry((d.region, d.zone, d.ip.clone())).or_insert(n);
            tiers[i] = TierIdx { region, zone, ip };
        }
        Snapshot {
            data,
            devs,
            tiers,
            num_regions: regions.len(),
            num_zones: zones.len(),
            num_ips: ips.len(),
            num_assigned,
            stamp,
        }
    }

    /// Primary devices of a partition, duplicates removed, in replica order.
    fn part_nodes(&self, part: u32) -> Vec<Arc<Device>> {
        let part = part as usize;
        let mut out: Vec<Arc<Device>> = Vec::with_capacity(self.data.replica2part2dev.len());
        for row in &self.data.replica2part2dev {
            let Some(&id) = row.get(part) else { continue };
            if out.iter().any(|d| d.id == id) {
                continue;
            }
            if let Some(Some(d)) = self.devs.get(usize::from(id)) {
                out.push(Arc::clone(d));
            }
        }
        out
    }
}

struct Inner {
    path: PathBuf,
    hasher: PathHasher,
    reload_interval: Duration,
    current: RwLock<Arc<Snapshot>>,
    born: Instant,
    next_check_ms: AtomicU64,
    loading: AtomicBool,
    /// Background loads of a changed file that failed.
    failed_reloads: AtomicU64,
}

/// A ring loaded from a ring file. Cheap to clone (shared).
#[derive(Clone)]
pub struct Ring {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring").field("path", &self.inner.path).finish()
    }
}

fn stamp_of(path: &Path) -> Option<(SystemTime, u64)> {
    let m = fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl Ring {
    /// Loads `path` with the default reload interval.
    pub fn open(path: impl AsRef<Path>, hasher: PathHasher) -> Result<Ring> {
        Ring::open_with_interval(path, hasher, DEFAULT_RELOAD_INTERVAL)
    }

    /// Loads `path`; the file is checked for changes at most every
    /// `reload_interval`.
    pub fn open_with_interval(path: impl AsRef<Path>, hasher: PathHasher, reload_interval: Duration) -> Result<Ring> {
        let path = path.as_ref().to_path_buf();
        let stamp = stamp_of(&path);
        let data = RingData::load(&path)?;
        let inner = Inner {
            hasher,
            reload_interval,
            current: RwLock::new(Arc::new(Snapshot::new(data, stamp))),
            born: Instant::now(),
            next_check_ms: AtomicU64::new(reload_interval.as_millis() as u64),
            loading: AtomicBool::new(false),
            failed_reloads: AtomicU64::new(0),
            path,
        };
        Ok(Ring { inner: Arc::new(inner) })
    }

    /// The current snapshot; also starts a background reload if one is due.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.maybe_reload();
        self.current()
    }

    fn current(&self) -> Arc<Snapshot> {
        // A poisoned lock only means a writer panicked between two whole
        // pointer swaps; the pointer itself is always valid.
        let guard = self.inner.current.read().unwrap_or_else(|e| e.into_inner());
        Arc::clone(&guard)
    }

    fn maybe_reload(&self) {
        let inner = &self.inner;
        let now = inner.born.elapsed().as_millis() as u64;
        let due = inner.next_check_ms.load(Ordering::Relaxed);
        if now < due {
            return;
        }
        let next = now + inner.reload_interval.as_millis() as u64;
        if inner.next_check_ms.compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return; // another caller does this check
        }
        let stamp = stamp_of(&inner.path);
        if stamp.is_none() || stamp == self.current().stamp {
            return;
        }
        if inner.loading.swap(true, Ordering::AcqRel) {
            return;
        }
        let ring = self.clone();
        let spawned = std::thread::Builder::new().name("ring-reload".into()).spawn(move || {
            if ring.reload_now().is_err() {
                ring.inner.failed_reloads.fetch_add(1, Ordering::AcqRel);
            }
            ring.inner.loading.store(false, Ordering::Release);
        });
        if spawned.is_err() {
            inner.loading.store(false, Ordering::Release);
        }
    }

    /// Reloads the file now if it changed on disk; `Ok(true)` if a new ring
    /// was swapped in. On error the old ring stays in service.
    pub fn reload_now(&self) -> Result<bool> {
        let stamp = stamp_of(&self.inner.path);
        if stamp.is_some() && stamp == self.current().stamp {
            return Ok(false);
        }
        let data = RingData::load(&self.inner.path)?;
        let snap = Arc::new(Snapshot::new(data, stamp));
        let mut guard = self.inner.current.write().unwrap_or_else(|e| e.into_inner());
        *guard = snap;
        Ok(true)
    }

    /// How many background loads of a changed ring file failed (the old
    /// ring stayed in service each time).
    pub fn failed_reloads(&self) -> u64 {
        self.inner.failed_reloads.load(Ordering::Acquire)
    }

    /// The ring file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The hash secrets this ring hashes names with.
    pub fn hasher(&self) -> &PathHasher {
        &self.inner.hasher
    }

    /// `2^part_power` partitions.
    pub fn part_power(&self) -> u8 {
        self.snapshot().data.part_power
    }

    /// Number of replicas (rows of the table).
    pub fn replica_count(&self) -> usize {
        self.snapshot().data.replica2part2dev.len()
    }

    /// All devices, indexed by id (`None` for removed ids).
    pub fn devices(&self) -> Vec<Option<Arc<Device>>> {
        self.snapshot().devs.clone()
    }

    /// The partition of a name.
    pub fn partition(&self, account: &str, container: Option<&str>, object: Option<&str>) -> Result<u32> {
        let digest = self.inner.hasher.digest(account, container, object)?;
        Ok(partition(&digest, self.snapshot().data.part_power))
    }

    /// The primary devices of a partition (Swift's `get_part_nodes`); empty
    /// if the partition is out of range.
    pub fn part_nodes(&self, part: u32) -> Vec<Arc<Device>> {
        self.snapshot().part_nodes(part)
    }

    /// The partition of a name and its primary devices, in replica order
    /// (the position is Swift's node `index`).
    #[doc(alias = "get_nodes")]
    pub fn nodes(
        &self,
        account: &str,
        container: Option<&str>,
        object: Option<&str>,
    ) -> Result<(u32, Vec<Arc<Device>>)> {
        let digest = self.inner.hasher.digest(account, container, object)?;
        let snap = self.snapshot();
        let part = partition(&digest, snap.data.part_power);
        Ok((part, snap.part_nodes(part)))
    }

    /// The handoff devices of a partition, lazily, in Swift's
    /// `get_more_nodes` order: other regions first, then other zones, then
    /// other ips, then any other device. Deterministic for a given ring.
    #[doc(alias = "get_more_nodes")]
    pub fn handoffs(&self, part: u32) -> Handoffs {
        Handoffs::new(self.snapshot(), part)
    }
}
