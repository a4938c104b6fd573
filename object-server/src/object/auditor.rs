//! The object auditor (Swift's `obj/auditor.py`), run as its own process
//! (`swiftlet-object-auditor`): it walks every object of every device at a
//! bounded rate, checks each one's metadata and every checksum
//! ([`super::diskfile::audit`]), quarantines what fails (the replicator
//! then restores a good copy from another replica) and removes tombstones
//! past `reclaim_age`. docs/replication.md has the design.
//!
//! A pass runs one OS thread per device (the walk is all blocking disk
//! work, and the process has nothing else to do); the pacing is shared by
//! the whole process: `files_per_second` objects and `bytes_per_second`
//! bytes read.

use super::diskfile::audit::{self, Audit};
use super::diskfile::hashes;
use super::diskfile::layout::{is_hash, is_suffix, list_names, OBJECTS};
use crate::config::AuditorConfig;
use crate::context::Context;
use crate::daemon::{self, Pacer};
use crate::timestamp::Timestamp;
use serde_json::{json, Map};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What a pass did (Swift's `object_auditor_stats_ALL`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Objects that passed.
    pub passes: u64,
    /// Objects that could not be read (an I/O error: left in place).
    pub errors: u64,
    /// Objects quarantined.
    pub quarantined: u64,
    /// Body and metadata bytes read.
    pub bytes_processed: u64,
    /// Hash folders where obsolete files or old tombstones were removed.
    pub reclaimed: u64,
}

/// The pacing shared by a pass's device threads.
struct Pacing {
    files: Mutex<Pacer>,
    bytes: Mutex<Pacer>,
}

impl Pacing {
    fn wait(p: &Mutex<Pacer>, n: u64) {
        let wait = p.lock().unwrap_or_else(|e| e.into_inner()).take(n, Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

/// Runs the auditor until killed (or one pass with `once`).
pub fn run(args: &daemon::Args) -> crate::Result<()> {
    let ctx = daemon::context(args)?;
    let conf = ctx.conf().auditor.clone();
    daemon::lower_priority(&conf.priority);
    let pacing = Arc::new(Pacing {
        files: Mutex::new(Pacer::new(conf.files_per_second)),
        bytes: Mutex::new(Pacer::new(conf.bytes_per_second)),
    });
    loop {
        let began = Instant::now();
        let start_time = daemon::unix_now();
        let stats = pass(&ctx, &pacing, &args.devices);
        record(&conf, &stats, start_time, began.elapsed().as_secs_f64());
        crate::log::info(&format!(
            "Object audit (ALL) complete ({:.2}s): {} passed, {} quarantined, {} errors, {} bytes, \
             {} folders cleaned",
            began.elapsed().as_secs_f64(),
            stats.passes,
            stats.quarantined,
            stats.errors,
            stats.bytes_processed,
            stats.reclaimed
        ));
        if args.once {
            return Ok(());
        }
        std::thread::sleep(conf.interval.saturating_sub(began.elapsed()));
    }
}

/// One pass over every device (`only`: these devices), a thread each.
fn pass(ctx: &Context, pacing: &Arc<Pacing>, only: &[String]) -> Stats {
    let Ok(entries) = std::fs::read_dir(ctx.devices()) else { return Stats::default() };
    let mut devices: Vec<String> = entries.flatten().filter_map(|e| e.file_name().to_str().map(String::from)).collect();
    devices.retain(|d| only.is_empty() || only.contains(d));
    devices.sort();
    let threads: Vec<_> = devices
        .into_iter()
        .filter(|d| ctx.check_device(d).is_ok())
        .map(|d| {
            let (ctx, pacing) = (ctx.clone(), pacing.clone());
            std::thread::spawn(move || audit_device(&ctx, &pacing, &d))
        })
        .collect();
    let mut total = Stats::default();
    for t in threads {
        if let Ok(s) = t.join() {
            total.passes += s.passes;
            total.errors += s.errors;
            total.quarantined += s.quarantined;
            total.bytes_processed += s.bytes_processed;
            total.reclaimed += s.reclaimed;
        }
    }
    total
}

/// Sorted names in a folder (nothing if it cannot be read).
fn names(dir: &Path) -> Vec<String> {
    list_names(dir).unwrap_or_default()
}

/// Audits every object of one device. Blocking.
fn audit_device(ctx: &Context, pacing: &Pacing, device: &str) -> Stats {
    let mut stats = Stats::default();
    let objects = ctx.device_path(device).join(OBJECTS);
    let reclaim = ctx.conf().reclaim_age.as_secs();
    for part in names(&objects) {
        if part.parse::<u32>().is_err() {
            continue;
        }
        let part_dir = objects.join(&part);
        for suffix in names(&part_dir).into_iter().filter(|s| is_suffix(s)) {
            for hash in names(&part_dir.join(&suffix)).into_iter().filter(|h| is_hash(h)) {
                Pacing::wait(&pacing.files, 1);
                let dir = part_dir.join(&suffix).join(&hash);
                let mut pace = |n: u64| Pacing::wait(&pacing.bytes, n);
                let found = audit::audit_hash_dir(&dir, reclaim, Timestamp::now(), &mut pace);
                stats.bytes_processed += found.bytes;
                if found.cleaned {
                    stats.reclaimed += 1;
                    let _ = hashes::invalidate(&part_dir, &suffix);
                }
                match found.verdict {
                    Audit::Good => stats.passes += 1,
                    Audit::Empty => {}
                    Audit::Unreadable(why) => {
                        stats.errors += 1;
                        crate::log::error(&format!("auditing {}: {why}", dir.display()));
                    }
                    Audit::Bad(why) => {
                        crate::log::error(&format!("quarantining {hash} on {device} (auditor): {why}"));
                        match audit::quarantine_hash_dir(&dir) {
                            Ok(()) => stats.quarantined += 1,
                            Err(e) => {
                                stats.errors += 1;
                                crate::log::error(&format!("quarantine of {hash} failed: {e}"));
                            }
                        }
                    }
                }
            }
        }
    }
    stats
}

/// Writes the pass's statistics to the recon cache (Swift's key).
fn record(conf: &AuditorConfig, stats: &Stats, start_time: f64, took: f64) {
    let mut m = Map::new();
    m.insert(
        "object_auditor_stats_ALL".into(),
        json!({
            "passes": stats.passes, "errors": stats.errors, "quarantined": stats.quarantined,
            "bytes_processed": stats.bytes_processed, "start_time": start_time, "audit_time": took,
            "reclaimed": stats.reclaimed,
        }),
    );
    if let Err(e) = daemon::update_recon(&conf.recon_cache_path, m) {
        crate::log::warn(&format!("cannot write the recon cache: {e}"));
    }
}
