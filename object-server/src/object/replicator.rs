//! The object replicator (Swift's `obj/replicator.py` with ssync), run as
//! its own process (`swiftlet-object-replicator`): it makes every replica
//! of every partition whole, pushing from each node what its peers lack.
//! docs/replication.md has the design and the protocol.
//!
//! A pass walks every local device, one green thread per device, and each
//! of its partitions is a job:
//!
//! * a **primary** job (this device is one of the partition's primaries
//!   in the ring) syncs with each other primary;
//! * a **handoff** job (it is not: a write landed here while a primary
//!   was down, or a rebalance moved the partition away) syncs with every
//!   primary, and then removes each local file that every primary
//!   confirmed it has (or something newer), and the folders left empty.
//!
//! A sync with one peer: `REPLICATE` gives its suffix hashes; for each
//! suffix whose hash differs from ours, `SSYNC` lists what its hash
//! folders hold; every local file the peer lacks (a `.data` or tombstone
//! newer than its newest, a `.meta` newer than its) goes to it as one
//! `SSYNC` upload, `concurrency` at a time per device, paced by
//! `files_per_second` and `bytes_per_second`. The peer merges each file
//! by timestamp ([`super::ssync`]). Files only the peer has are its own
//! replicator's to push.

use super::diskfile::format::{self, Metadata};
use super::diskfile::hashes;
use super::diskfile::layout::{classify, file_name, list_names, Kind, Location, OBJECTS};
use super::diskfile::reader;
use super::ssync::{self, Current, METADATA_LENGTH};
use crate::config::ReplicatorConfig;
use crate::context::Context;
use crate::daemon::{self, Pacer};
use crate::timestamp::Timestamp;
use http::{ClientConn, Headers};
use ring::{Device, Ring};
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bodies up to this size are read whole and sent with their head in one
/// write (the receiver takes them whole); bigger ones wait for `100
/// Continue` and stream in [`CHUNK`]s.
const SMALL: u64 = ssync::WHOLE;
const CHUNK: usize = 1 << 20;

/// What a pass did (the recon `replication_stats`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Partitions looked at.
    pub attempted: u64,
    /// Partitions every peer was synced with.
    pub success: u64,
    /// Syncs with a peer that failed (it did not answer, or a file was
    /// not taken).
    pub failure: u64,
    /// Suffixes whose hash differed from a peer's.
    pub suffixes_synced: u64,
    /// Files sent (and taken).
    pub files_sent: u64,
    /// Body bytes of those files.
    pub bytes_sent: u64,
    /// Handoff files removed once every primary had them.
    pub handoff_files_removed: u64,
    /// Handoff partitions removed whole.
    pub handoff_partitions_removed: u64,
    /// Local files found bad while being sent (quarantined).
    pub quarantined: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.attempted += o.attempted;
        self.success += o.success;
        self.failure += o.failure;
        self.suffixes_synced += o.suffixes_synced;
        self.files_sent += o.files_sent;
        self.bytes_sent += o.bytes_sent;
        self.handoff_files_removed += o.handoff_files_removed;
        self.handoff_partitions_removed += o.handoff_partitions_removed;
        self.quarantined += o.quarantined;
    }

    fn to_json(&self) -> Value {
        json!({
            "attempted": self.attempted, "success": self.success, "failure": self.failure,
            "suffix_sync": self.suffixes_synced, "files_sent": self.files_sent, "bytes_sent": self.bytes_sent,
            "handoff_files_removed": self.handoff_files_removed,
            "remove": self.handoff_partitions_removed, "quarantined": self.quarantined,
        })
    }
}

/// The replicator: its context, ring and pacing, shared by the green
/// threads of one process's hub.
pub struct Replicator {
    ctx: Context,
    ring: Ring,
    conf: ReplicatorConfig,
    files: RefCell<Pacer>,
    bytes: RefCell<Pacer>,
    only_devices: Vec<String>,
    only_partitions: Vec<u32>,
}

/// Runs the replicator until killed (or one pass with `once`), on a hub
/// of its own.
pub fn run(args: &daemon::Args) -> crate::Result<()> {
    let ctx = daemon::context(args)?;
    daemon::lower_priority(&ctx.conf().replicator.priority);
    let ring = daemon::object_ring(&ctx)?;
    hub::tpool::set_threads(ctx.conf().tpool_threads.min(8));
    let conf = ctx.conf().replicator.clone();
    let r = Rc::new(Replicator {
        files: RefCell::new(Pacer::new(conf.files_per_second)),
        bytes: RefCell::new(Pacer::new(conf.bytes_per_second)),
        ctx,
        ring,
        conf,
        only_devices: args.devices.clone(),
        only_partitions: args.partitions.clone(),
    });
    let once = args.once;
    hub::run(move || loop {
        let began = Instant::now();
        let stats = r.pass();
        r.record(&stats, began.elapsed());
        crate::log::info(&format!(
            "Object replication complete ({:.2}s): {} partitions, {} failures, {} files and {} bytes sent, \
             {} handoff files removed",
            began.elapsed().as_secs_f64(),
            stats.attempted,
            stats.failure,
            stats.files_sent,
            stats.bytes_sent,
            stats.handoff_files_removed
        ));
        if once {
            return Ok(());
        }
        if hub::sleep(r.conf.interval.saturating_sub(began.elapsed())).is_err() {
            return Ok(());
        }
    })
}

/// One partition's work.
struct Job {
    device: Arc<Device>,
    partition: u32,
    /// The nodes to sync with.
    peers: Vec<Arc<Device>>,
    handoff: bool,
    /// The device's files in flight (`concurrency`), shared by its jobs.
    uploads: Rc<hub::Semaphore>,
}

impl Replicator {
    /// One pass over every local device, in parallel.
    pub fn pass(self: &Rc<Self>) -> Stats {
        let devices: Vec<Arc<Device>> = daemon::local_devices(&self.ctx, &self.ring)
            .into_iter()
            .filter(|d| self.only_devices.is_empty() || self.only_devices.contains(&d.device))
            .collect();
        let handles: Vec<_> = devices
            .into_iter()
            .map(|d| {
                let r = self.clone();
                hub::spawn(move || r.device_pass(&d))
            })
            .collect();
        let mut total = Stats::default();
        for h in handles {
            if let Ok(s) = h.join() {
                total.add(&s);
            }
        }
        total
    }

    fn device_pass(self: &Rc<Self>, dev: &Arc<Device>) -> Stats {
        let objects = self.ctx.device_path(&dev.device).join(OBJECTS);
        let parts = hub::tpool::execute(move || partitions(&objects));
        let uploads = Rc::new(hub::Semaphore::new(self.conf.concurrency.max(1)));
        let mut jobs: Vec<Job> = parts
            .into_iter()
            .filter(|p| self.only_partitions.is_empty() || self.only_partitions.contains(p))
            .map(|partition| {
                let primaries = self.ring.part_nodes(partition);
                let handoff = !primaries.iter().any(|p| p.id == dev.id);
                let peers = primaries.into_iter().filter(|p| p.id != dev.id).collect();
                Job { device: dev.clone(), partition, peers, handoff, uploads: uploads.clone() }
            })
            .collect();
        if self.conf.handoffs_first {
            jobs.sort_by_key(|j| !j.handoff);
        }
        // Several partitions at once (a quarter of `concurrency`), so that
        // one partition's round trips and slowest file do not leave the
        // device's upload slots idle; the slots bound the files in flight.
        let stats: Rc<RefCell<Stats>> = Rc::default();
        let pool = hub::GreenPool::new((self.conf.concurrency / 4).max(1));
        for job in jobs {
            let (r, stats) = (self.clone(), stats.clone());
            let run = move || {
                let done = r.run_job(&job);
                stats.borrow_mut().add(&done);
            };
            if pool.spawn(run).is_err() {
                break;
            }
        }
        let _ = pool.wait_all();
        stats.take()
    }

    /// Syncs one partition with its peers; a handoff's files every peer
    /// confirmed are removed after.
    fn run_job(self: &Rc<Self>, job: &Job) -> Stats {
        let mut stats = Stats { attempted: 1, ..Stats::default() };
        let part_dir = self.ctx.device_path(&job.device.device).join(OBJECTS).join(job.partition.to_string());
        let (dir, reclaim) = (part_dir.clone(), self.ctx.conf().reclaim_age.as_secs());
        let local = match hub::tpool::execute(move || hashes::get_hashes(&dir, &[], Timestamp::now(), reclaim)) {
            Ok(h) => h,
            Err(e) => {
                crate::log::error(&format!("hashing {}: {e}", part_dir.display()));
                stats.failure += 1;
                return stats;
            }
        };
        if local.is_empty() {
            if job.handoff {
                let dir = part_dir.clone();
                if hub::tpool::execute(move || hashes::remove_partition(&dir)) {
                    stats.handoff_partitions_removed += 1;
                }
            }
            stats.success += 1;
            return stats;
        }
        let mut all_ok = true;
        // What every peer confirmed (a handoff removes only these).
        let mut confirmed: Option<Listed> = None;
        let mut listed = Listed::new();
        // A primary whose device is unmounted (507) is stood in for by a
        // handoff, as in Swift: the partition keeps its replica count
        // while the disk is replaced (the handoff gives it back later).
        let mut stand_ins = self.ring.handoffs(job.partition).filter(|d| d.id != job.device.id);
        for peer in &job.peers {
            let mut target = peer.clone();
            let mut tries = 0;
            loop {
                match self.sync_with(job, &part_dir, &local, &target, &mut stats) {
                    Ok(synced) => {
                        listed.extend(synced.listed);
                        confirmed = Some(match confirmed {
                            None => synced.confirmed,
                            Some(c) => c.intersection(&synced.confirmed).cloned().collect(),
                        });
                        break;
                    }
                    Err(e) => {
                        crate::log::warn(&format!(
                            "replicating partition {} of {} to {}/{}: {}",
                            job.partition,
                            job.device.device,
                            target.replication_ip,
                            target.device,
                            e.why()
                        ));
                        stats.failure += 1;
                        all_ok = false;
                        let unmounted = matches!(e, SyncError::Unmounted(_)) || tries > 0;
                        // A stand-in is taken only when one is needed.
                        match (!job.handoff && unmounted && tries < 2).then(|| stand_ins.next()).flatten() {
                            Some(next) => {
                                tries += 1;
                                target = next;
                            }
                            None => break,
                        }
                    }
                }
            }
        }
        if all_ok {
            stats.success += 1;
        }
        if let (true, true, Some(confirmed)) = (job.handoff, all_ok, confirmed) {
            let (dir, reclaim) = (part_dir.clone(), self.ctx.conf().reclaim_age.as_secs());
            let removed = hub::tpool::execute(move || remove_confirmed(&dir, &confirmed, &listed, reclaim));
            stats.handoff_files_removed += removed.files;
            if removed.partition {
                stats.handoff_partitions_removed += 1;
            }
        }
        stats
    }

    /// Syncs the partition with one peer: `Ok` once it has every local
    /// file (or something newer), with the local files it compared and
    /// those the peer confirmed. A primary compares only the suffixes
    /// whose hashes differ; a handoff lists every suffix at the peer, so
    /// that each file it will remove was compared one by one.
    fn sync_with(
        self: &Rc<Self>,
        job: &Job,
        part_dir: &Path,
        local: &BTreeMap<String, String>,
        peer: &Arc<Device>,
        stats: &mut Stats,
    ) -> Result<Synced, SyncError> {
        let addr = daemon::replication_addr(peer).map_err(|e| e.to_string())?;
        let base = format!("/{}/{}", peer.device, job.partition);
        let differ: Vec<String> = if job.handoff {
            local.keys().cloned().collect()
        } else {
            let remote = self.ask(addr, "REPLICATE", &base)?;
            let remote: BTreeMap<&String, &str> =
                remote.iter().filter_map(|(s, h)| h.as_str().map(|h| (s, h))).collect();
            local.iter().filter(|(s, h)| remote.get(s) != Some(&h.as_str())).map(|(s, _)| s.clone()).collect()
        };
        let mut synced = Synced::default();
        if differ.is_empty() {
            return Ok(synced);
        }
        stats.suffixes_synced += differ.len() as u64;
        // The suffixes go in the request line: a few hundred at a time.
        let mut theirs: BTreeMap<String, Current> = BTreeMap::new();
        for batch in differ.chunks(SUFFIXES_PER_LIST) {
            let answer = self.ask(addr, "SSYNC", &format!("{base}/{}", batch.join("-")))?;
            theirs.extend(answer.iter().filter_map(|(h, v)| Current::from_json(v).map(|c| (h.clone(), c))));
        }
        let (dir, reclaim) = (part_dir.to_path_buf(), self.ctx.conf().reclaim_age.as_secs());
        let ours = hub::tpool::execute(move || ssync::list_suffixes(&dir, &differ, Timestamp::now(), reclaim))
            .map_err(|e| format!("listing local suffixes: {e}"))?;
        let mut sends: Vec<(String, Vec<(Timestamp, Kind)>)> = Vec::new();
        for (hash, mine) in ours {
            let to_send = missing(&mine, theirs.get(&hash).copied().unwrap_or_default());
            for (ts, kind) in mine.files() {
                let name = file_name(ts, kind);
                if !to_send.contains(&(ts, kind)) {
                    synced.confirmed.insert((hash.clone(), name.clone()));
                }
                synced.listed.insert((hash.clone(), name));
            }
            if !to_send.is_empty() {
                sends.push((hash, to_send));
            }
        }
        let failed: Rc<RefCell<Vec<String>>> = Rc::default();
        let taken: Rc<RefCell<Listed>> = Rc::default();
        let sent: Rc<RefCell<Stats>> = Rc::default();
        let pool = hub::GreenPool::new(self.conf.concurrency.max(1));
        for (hash, files) in sends {
            // One of the device's upload slots, taken before the green
            // thread is: no more of them than the device sends at once.
            let Ok(slot) = job.uploads.acquire() else {
                return Err(SyncError::Other("stopping".into()));
            };
            let (r, failed, taken, sent, peer) =
                (self.clone(), failed.clone(), taken.clone(), sent.clone(), peer.clone());
            let loc = Location {
                device: job.device.device.clone(),
                device_dir: self.ctx.device_path(&job.device.device),
                partition: job.partition,
                hash: hash.clone(),
            };
            let spawned = pool.spawn(move || {
                let _slot = slot;
                // A .meta goes only after its .data was taken.
                let mut ok = true;
                for (ts, kind) in files {
                    let name = file_name(ts, kind);
                    if ok {
                        match r.send_file(addr, &peer, &loc, &name) {
                            Ok(Sent::Taken(bytes)) => {
                                let mut s = sent.borrow_mut();
                                s.files_sent += 1;
                                s.bytes_sent += bytes;
                                taken.borrow_mut().insert((loc.hash.clone(), name));
                                continue;
                            }
                            Ok(Sent::Already) => {
                                taken.borrow_mut().insert((loc.hash.clone(), name));
                                continue;
                            }
                            Ok(Sent::Quarantined) => sent.borrow_mut().quarantined += 1,
                            // Nor its .meta, then: the next pass sends it.
                            Ok(Sent::Busy) => break,
                            Err(why) => crate::log::warn(&format!("sending {}/{name}: {why}", loc.hash)),
                        }
                        ok = false;
                    }
                    failed.borrow_mut().push(format!("{}/{name}", loc.hash));
                }
            });
            if spawned.is_err() {
                return Err(SyncError::Other("stopping".into()));
            }
        }
        if pool.wait_all().is_err() {
            return Err(SyncError::Other("stopping".into()));
        }
        stats.add(&sent.borrow());
        synced.confirmed.extend(taken.take());
        let failed = failed.take();
        match failed.first() {
            Some(first) => Err(SyncError::Other(format!("{} files not taken ({first}, ...)", failed.len()))),
            None => Ok(synced),
        }
    }

    /// A bodiless request to a peer whose answer is a JSON object.
    fn ask(&self, addr: std::net::SocketAddr, method: &str, target: &str) -> Result<Map<String, Value>, SyncError> {
        let mut h = Headers::new();
        h.set("Host", addr.to_string());
        h.set("User-Agent", format!("object-replicator {}", swiftlet_server::pid()));
        h.set("Content-Length", "0");
        let (timeout, conn_timeout) = (self.conf.node_timeout, self.conf.conn_timeout);
        let body = super::container_update::ask_peer(addr, method, target, &h, conn_timeout, timeout, 64 << 20)
            .map_err(|e| format!("{method} {target}: {e}"))?;
        match body {
            (200, b) => serde_json::from_slice(&b).map_err(|e| format!("{method} {target}: bad answer: {e}").into()),
            (507, _) => Err(SyncError::Unmounted(format!("{method} {target}: status 507"))),
            (status, _) => Err(SyncError::Other(format!("{method} {target}: status {status}"))),
        }
    }

    /// Sends one local file to a peer.
    fn send_file(&self, addr: std::net::SocketAddr, peer: &Device, loc: &Location, name: &str) -> Result<Sent, String> {
        let path = loc.hash_dir().join(name);
        let opened = hub::tpool::execute(move || open_for_sending(&path));
        let Sendable { file, meta, body_len, body } = match opened {
            Ok(Ok(v)) => v,
            // Not quarantined here: a file this replicator cannot parse may
            // be of a newer format (a downgrade); reads and the auditor judge
            // it. Only a body proven rotten (below) is quarantined.
            Ok(Err(why)) => return Err(format!("cannot read {name}: {why}")),
            // Gone meanwhile (a newer write cleaned it up): nothing to send.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Sent::Already),
            Err(e) => return Err(format!("reading {name}: {e}")),
        };
        self.pace(1, body_len);
        let json = serde_json::to_vec(&meta).map_err(|e| e.to_string())?;
        let mut h = Headers::new();
        h.set("Host", addr.to_string());
        h.set("User-Agent", format!("object-replicator {}", swiftlet_server::pid()));
        h.set("Content-Length", (json.len() as u64 + body_len).to_string());
        h.set(METADATA_LENGTH, json.len().to_string());
        let target = format!("/{}/{}/{}/{name}", peer.device, loc.partition, loc.hash);
        let want_crc = meta.get(super::diskfile::CRC32C_KEY).cloned();
        let file = Arc::new(file);
        let timeout = self.conf.node_timeout;
        let mut bad: Option<String> = None;
        let status = ClientConn::pooled(addr, self.conf.conn_timeout, |mut conn| {
            let sent = send_body(&mut conn, &target, &h, &json, (&file, &body), body_len, want_crc.as_deref(), timeout);
            match sent {
                Err(e) => Err(Box::new((conn, e))),
                // Refused before the body (the server closes after it).
                Ok(Body::Refused(status, busy)) => Ok((status, busy)),
                Ok(Body::Sent(mismatch)) => {
                    bad = mismatch;
                    let got = conn.read_response("SSYNC", timeout).map(|mut r| {
                        let _ = r.read_all(64 * 1024);
                        (r.status(), r.header(ssync::BUSY_HEADER).is_some())
                    });
                    match got {
                        Ok(s) => {
                            conn.release();
                            Ok(s)
                        }
                        Err(e) => Err(Box::new((conn, e))),
                    }
                }
            }
        })
        .map_err(|e| format!("SSYNC {target}: {e}"))?;
        if let Some(why) = bad {
            self.quarantine(loc, &why);
            return Ok(Sent::Quarantined);
        }
        match status {
            (201, _) => Ok(Sent::Taken(body_len)),
            (409, true) => Ok(Sent::Busy),
            (409, false) => Ok(Sent::Already),
            (s, _) => Err(format!("SSYNC {target}: status {s}")),
        }
    }

    /// Waits for the rate limits to allow one more file of `bytes`.
    fn pace(&self, files: u64, bytes: u64) {
        let now = Instant::now();
        let wait = self.files.borrow_mut().take(files, now).max(self.bytes.borrow_mut().take(bytes, now));
        if !wait.is_zero() {
            let _ = hub::sleep(wait);
        }
    }

    fn quarantine(&self, loc: &Location, why: &str) {
        crate::log::error(&format!("quarantining {} on {} (replicator): {why}", loc.hash, loc.device));
        if let Err(e) = reader::quarantine(&self.ctx, loc) {
            crate::log::error(&format!("quarantine of {} failed: {e}", loc.hash));
        }
    }

    /// Writes the pass's statistics to the recon cache (Swift's keys).
    fn record(&self, stats: &Stats, took: Duration) {
        let mut m = Map::new();
        let now = daemon::unix_now();
        m.insert("object_replication_time".into(), json!(took.as_secs_f64() / 60.0));
        m.insert("object_replication_last".into(), json!(now));
        m.insert("replication_time".into(), json!(took.as_secs_f64() / 60.0));
        m.insert("replication_last".into(), json!(now));
        m.insert("replication_stats".into(), stats.to_json());
        let dir = self.conf.recon_cache_path.clone();
        if let Err(e) = hub::tpool::execute(move || daemon::update_recon(&dir, m)) {
            crate::log::warn(&format!("cannot write the recon cache: {e}"));
        }
    }
}

/// Local files, as (hash, file name).
type Listed = BTreeSet<(String, String)>;

/// Suffixes named in one `SSYNC` listing request (4 bytes each in the
/// request line, which the server takes up to 8 KiB).
const SUFFIXES_PER_LIST: usize = 1024;

/// What a sync with one peer compared and confirmed.
#[derive(Default)]
struct Synced {
    /// The local files compared with the peer's.
    listed: Listed,
    /// Those the peer has (or something newer), or took.
    confirmed: Listed,
}

/// Why a sync with a peer failed.
enum SyncError {
    /// Its device is unmounted (507): a handoff stands in for it.
    Unmounted(String),
    Other(String),
}

impl SyncError {
    fn why(&self) -> &str {
        match self {
            SyncError::Unmounted(w) | SyncError::Other(w) => w,
        }
    }
}

impl From<String> for SyncError {
    fn from(why: String) -> SyncError {
        SyncError::Other(why)
    }
}

/// What became of one file sent.
enum Sent {
    /// Stored by the peer (body bytes).
    Taken(u64),
    /// The peer has it or something newer (or it is gone here).
    Already,
    /// It was bad here and is quarantined.
    Quarantined,
    /// The peer is receiving it from another node right now: not taken
    /// (a handoff keeps it), and not a failure.
    Busy,
}

/// The local files a peer lacks, in the order to send them: a tombstone
/// or a `.data` newer than its newest, then a `.meta` newer than its.
pub fn missing(mine: &Current, theirs: Current) -> Vec<(Timestamp, Kind)> {
    let mut out = Vec::new();
    let their_winner = theirs.winner();
    if let Some(t) = mine.tombstone {
        if their_winner.is_none_or(|w| w < t) {
            out.push((t, Kind::Tombstone));
        }
    }
    if let Some(d) = mine.data {
        let data_there = match their_winner {
            Some(w) if w > d => {
                // Their data is newer, but a newer POST of ours still
                // applies over it (newest metadata wins, as in Swift).
                if let (Some(m), true) = (mine.meta, theirs.data == Some(w)) {
                    if m > w && theirs.meta.is_none_or(|tm| tm < m) {
                        out.push((m, Kind::Meta));
                    }
                }
                return out;
            }
            Some(w) => w == d && theirs.data == Some(d),
            None => false,
        };
        if !data_there {
            out.push((d, Kind::Data));
        }
        if let Some(m) = mine.meta {
            if theirs.meta.is_none_or(|tm| tm < m) {
                out.push((m, Kind::Meta));
            }
        }
    }
    out
}

/// The partition folders of a device's `objects/`. Blocking.
fn partitions(objects: &Path) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir(objects) else { return Vec::new() };
    let mut parts: Vec<u32> =
        dir.flatten().filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok())).collect();
    parts.sort_unstable();
    parts
}

/// A file to send: its metadata, body length and, for a small body, the
/// body itself (read with the rest in one call).
struct Sendable {
    file: File,
    meta: Metadata,
    body_len: u64,
    body: Option<Vec<u8>>,
}

/// Opens a file to send (`Ok(Err(why))`: the file is bad). A small file
/// is read whole, in one read. Blocking.
fn open_for_sending(path: &Path) -> io::Result<Result<Sendable, String>> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let is_data = path.extension().is_some_and(|e| e == "data");
    let (meta, layout, body) = if len <= SMALL + 64 * 1024 {
        let mut whole = vec![0u8; len as usize];
        read_exact_at(&file, &mut whole, 0)?;
        match format::parse_whole(&whole) {
            Ok((meta, layout)) => {
                whole.truncate(layout.body_len as usize);
                (meta, layout, Some(whole))
            }
            Err(why) => return Ok(Err(why)),
        }
    } else {
        let end_len = len.min(format::TRAILER_LEN_V2);
        let mut end = vec![0u8; end_len as usize];
        read_exact_at(&file, &mut end, len - end_len)?;
        let layout = match format::layout(&end, len) {
            Ok(l) => l,
            Err(why) => return Ok(Err(why)),
        };
        let mut json = vec![0u8; layout.json_len as usize];
        read_exact_at(&file, &mut json, layout.json_offset())?;
        match layout.metadata(&json) {
            Ok(m) => (m, layout, None),
            Err(why) => return Ok(Err(why)),
        }
    };
    let declared = meta.get("Content-Length").and_then(|v| v.parse::<u64>().ok());
    if is_data && declared != Some(layout.body_len) {
        return Ok(Err(format!("body of {} bytes, Content-Length {declared:?}", layout.body_len)));
    }
    let body_len = if is_data { layout.body_len } else { 0 };
    let body = body.filter(|b| b.len() as u64 == body_len && body_len <= SMALL);
    Ok(Ok(Sendable { file, meta, body_len, body }))
}

fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

/// Sends an `SSYNC` upload: head, metadata, then the body read from the
/// file (on `tpool`), checking its CRC32C as it goes. `Ok(Some(why))`
/// if the body did not match (the peer refuses it too).
#[allow(clippy::too_many_arguments)]
fn send_body(
    conn: &mut ClientConn,
    target: &str,
    h: &Headers,
    json: &[u8],
    (file, small): (&Arc<File>, &Option<Vec<u8>>),
    body_len: u64,
    want_crc: Option<&str>,
    timeout: Duration,
) -> io::Result<Body> {
    // Each read and write waits at most `timeout`; the whole body at most
    // that, six times over, plus a second per MiB.
    let _deadline = hub::Timeout::new(timeout * 6 + Duration::from_secs(body_len >> 20));
    let mut crc = 0u32;
    if let Some(body) = small {
        crc = crc32c::crc32c(body);
        let mut all = Vec::with_capacity(json.len() + body.len());
        all.extend_from_slice(json);
        all.extend_from_slice(body);
        conn.send_request("SSYNC", target, h, &all)?;
    } else {
        let mut h = h.clone();
        h.set("Expect", "100-continue");
        conn.send_head("SSYNC", target, &h)?;
        if let Some(answer) = conn.wait_continue(timeout)? {
            return Ok(Body::Refused(answer.status, answer.headers.get(ssync::BUSY_HEADER).is_some()));
        }
        conn.write_body(json)?;
        let mut offset = 0u64;
        let mut buf = Vec::new();
        while offset < body_len {
            let want = (body_len - offset).min(CHUNK as u64) as usize;
            buf.resize(want, 0);
            let (back, n) = reader::read_at(file, offset, std::mem::take(&mut buf));
            buf = back;
            let n = n?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "data file shorter than its body"));
            }
            crc = crc32c::crc32c_append(crc, &buf[..n]);
            conn.write_body(&buf[..n])?;
            offset += n as u64;
        }
    }
    Ok(Body::Sent(match want_crc {
        Some(w) if !w.eq_ignore_ascii_case(&super::diskfile::crc_hex(crc)) => {
            Some(format!("body CRC32C {} does not match the stored {w}", super::diskfile::crc_hex(crc)))
        }
        _ => None,
    }))
}

/// What became of an upload's body.
enum Body {
    /// Sent; `Some(why)` if it did not match its stored CRC32C.
    Sent(Option<String>),
    /// The peer answered (this status; busy receiving the same file)
    /// before the body: none was sent.
    Refused(u16, bool),
}

/// What [`remove_confirmed`] removed.
struct Removed {
    files: u64,
    /// The partition folder is gone.
    partition: bool,
}

/// Removes a handoff's files that every primary confirmed, the
/// folders that leaves empty and, if nothing else is left, the partition.
/// A hash folder holding a file that was not compared (written during
/// the sync: a newer `.data`, a tombstone, a `.meta` for the listed
/// `.data`) is left whole for the next pass. Blocking.
fn remove_confirmed(part_dir: &Path, confirmed: &Listed, listed: &Listed, reclaim_age_secs: u64) -> Removed {
    let mut removed = Removed { files: 0, partition: false };
    let mut by_hash: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (hash, name) in confirmed {
        by_hash.entry(hash).or_default().push(name);
    }
    let mut touched = BTreeSet::new();
    for (hash, names) in by_hash {
        let Some(suffix) = hash.get(hash.len().saturating_sub(3)..) else { continue };
        let dir = part_dir.join(suffix).join(hash);
        let Ok(now_there) = list_names(&dir) else { continue };
        let current = classify(&now_there, Timestamp::now(), reclaim_age_secs);
        let unlisted =
            now_there.iter().any(|n| !current.obsolete.contains(n) && !listed.contains(&(hash.to_string(), n.clone())));
        let all_confirmed =
            now_there.iter().filter(|n| !current.obsolete.contains(n)).all(|n| names.contains(&n.as_str()));
        if unlisted || !all_confirmed {
            continue;
        }
        for n in &now_there {
            if std::fs::remove_file(dir.join(n)).is_ok() && names.contains(&n.as_str()) {
                removed.files += 1;
            }
        }
        let _ = std::fs::remove_dir(&dir);
        touched.insert(suffix.to_string());
    }
    for suffix in &touched {
        let _ = std::fs::remove_dir(part_dir.join(suffix));
        let _ = hashes::invalidate(part_dir, suffix);
    }
    removed.partition = hashes::remove_partition(part_dir);
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn cur(d: Option<&str>, m: Option<&str>, t: Option<&str>) -> Current {
        Current { data: d.map(ts), meta: m.map(ts), tombstone: t.map(ts) }
    }

    #[test]
    fn what_a_peer_lacks_is_sent_newest_wins() {
        let data_meta = cur(Some("10"), Some("12"), None);
        // Nothing there: data then meta.
        assert_eq!(missing(&data_meta, Current::default()), vec![(ts("10"), Kind::Data), (ts("12"), Kind::Meta)]);
        // The same data, an older .meta: only the meta.
        assert_eq!(missing(&data_meta, cur(Some("10"), Some("11"), None)), vec![(ts("12"), Kind::Meta)]);
        // In sync.
        assert!(missing(&data_meta, cur(Some("10"), Some("12"), None)).is_empty());
        // The peer has newer data, or a newer tombstone: only a .meta
        // newer than their data still goes.
        assert_eq!(missing(&data_meta, cur(Some("11"), None, None)), vec![(ts("12"), Kind::Meta)]);
        assert!(missing(&data_meta, cur(Some("11"), Some("13"), None)).is_empty());
        assert!(missing(&data_meta, cur(Some("13"), None, None)).is_empty());
        assert!(missing(&data_meta, cur(None, None, Some("11"))).is_empty());
        // An older tombstone there: our data (and meta) win.
        assert_eq!(missing(&data_meta, cur(None, None, Some("9"))).len(), 2);
        // Our tombstone beats older data there, and not newer.
        let gone = cur(None, None, Some("20"));
        assert_eq!(missing(&gone, cur(Some("10"), None, None)), vec![(ts("20"), Kind::Tombstone)]);
        assert!(missing(&gone, cur(Some("21"), None, None)).is_empty());
        assert!(missing(&gone, cur(None, None, Some("20"))).is_empty());
    }
}
