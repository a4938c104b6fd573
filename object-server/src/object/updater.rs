//! The object-updater: a green thread (on worker 0) that delivers
//! `async_pending` records to their container replicas (Swift's
//! `obj/updater.py`).
//!
//! Every `interval` it scans every device's `async_pending/`, drops
//! records superseded by a newer one for the same object, and sends the
//! rest, `concurrency` at a time and at most `objects_per_second`. A
//! delivered record is removed; a partly delivered one is rewritten with
//! the replicas still to do; a failed one waits `interval × 2^(n-1)`
//! (at most an hour, or `interval` if longer) before its n+1-th try.
//! Records are files, so retries go on across restarts.

use crate::config::UpdaterConfig;
use crate::context::Context;
use crate::object::async_pending::{self, Record};
use crate::object::container_update::send_all;
use crate::object::diskfile::layout::QUARANTINED;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Failed tries of a record and when it may be tried again.
type Backoff = Rc<RefCell<HashMap<PathBuf, (u32, Instant)>>>;

/// The result of one sweep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepStats {
    pub successes: usize,
    pub failures: usize,
    pub unlinks: usize,
}

/// Runs sweeps until the green thread is killed (when the hub stops).
pub fn run(ctx: Context) {
    let conf = ctx.conf().updater.clone();
    let backoff: Backoff = Rc::default();
    loop {
        let stats = sweep(&ctx, &conf, &backoff);
        if stats != SweepStats::default() {
            crate::log::info(&format!(
                "Object update sweep completed: {} successes, {} failures, {} unlinks",
                stats.successes, stats.failures, stats.unlinks
            ));
        }
        if hub::sleep(conf.interval).is_err() {
            return;
        }
    }
}

fn delay(conf: &UpdaterConfig, attempts: u32) -> Duration {
    let cap = conf.interval.max(Duration::from_secs(3600));
    conf.interval.saturating_mul(1u32 << attempts.saturating_sub(1).min(20)).min(cap)
}

/// One pass over every device.
pub fn sweep(ctx: &Context, conf: &UpdaterConfig, backoff: &Backoff) -> SweepStats {
    let devices = ctx.devices().to_path_buf();
    let (live, superseded) = hub::tpool::execute(move || async_pending::scan(&devices));
    let mut stats = SweepStats::default();
    for p in superseded {
        if hub::tpool::execute(move || std::fs::remove_file(p)).is_ok() {
            stats.unlinks += 1;
        }
    }
    let stats = Rc::new(RefCell::new(stats));
    let pool = hub::GreenPool::new(conf.concurrency.max(1));
    let pace = (conf.objects_per_second > 0.0).then(|| Duration::from_secs_f64(1.0 / conf.objects_per_second));
    let now = Instant::now();
    for path in live {
        let due = backoff.borrow().get(&path).is_none_or(|(_, at)| *at <= now);
        if !due {
            continue;
        }
        let (conf2, b, s) = (conf.clone(), backoff.clone(), stats.clone());
        if pool.spawn(move || process(&conf2, &path, &b, &s)).is_err() {
            break;
        }
        if let Some(p) = pace {
            if hub::sleep(p).is_err() {
                break;
            }
        }
    }
    let _ = pool.wait_all();
    let out = *stats.borrow();
    out
}

fn process(conf: &UpdaterConfig, path: &Path, backoff: &Backoff, stats: &Rc<RefCell<SweepStats>>) {
    let p = path.to_path_buf();
    let bytes = match hub::tpool::execute(move || std::fs::read(p)) {
        Ok(b) => b,
        Err(_) => return, // gone meanwhile (another sweep, a newer record)
    };
    let Some(record) = Record::from_json(&bytes) else {
        quarantine_record(path);
        return;
    };
    let failed = send_all(&record, conf.conn_timeout, conf.node_timeout, None);
    if failed.is_empty() {
        let p = path.to_path_buf();
        hub::tpool::execute(move || {
            let _ = std::fs::remove_file(&p);
            if let Some(dir) = p.parent() {
                let _ = std::fs::remove_dir(dir);
            }
        });
        backoff.borrow_mut().remove(path);
        let mut s = stats.borrow_mut();
        s.successes += 1;
        s.unlinks += 1;
        return;
    }
    if failed.len() < record.targets.len() {
        let rest = Record { targets: failed, ..record };
        if let Some(device_dir) = path.parent().and_then(Path::parent).and_then(Path::parent) {
            let (d, p, bytes) = (device_dir.to_path_buf(), path.to_path_buf(), rest.to_json());
            if let Err(e) = hub::tpool::execute(move || async_pending::write_durably(&d, &p, &bytes)) {
                crate::log::error(&format!("cannot rewrite {}: {e}", path.display()));
            }
        }
    }
    let attempts = backoff.borrow().get(path).map_or(0, |(n, _)| *n) + 1;
    backoff.borrow_mut().insert(path.to_path_buf(), (attempts, Instant::now() + delay(conf, attempts)));
    stats.borrow_mut().failures += 1;
}

/// Moves an unreadable record to `quarantined/async_pending/`.
fn quarantine_record(path: &Path) {
    let Some(device_dir) = path.parent().and_then(Path::parent).and_then(Path::parent) else { return };
    let qdir = device_dir.join(QUARANTINED).join(async_pending_dir());
    let (q, p) = (qdir.clone(), path.to_path_buf());
    let r = hub::tpool::execute(move || {
        std::fs::create_dir_all(&q)?;
        std::fs::rename(&p, q.join(p.file_name().unwrap_or_default()))
    });
    crate::log::error(&format!("unreadable async_pending record {} quarantined ({r:?})", path.display()));
}

fn async_pending_dir() -> &'static str {
    crate::object::diskfile::layout::ASYNC_PENDING
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let conf = UpdaterConfig {
            enabled: true,
            interval: Duration::from_secs(1),
            concurrency: 1,
            objects_per_second: 0.0,
            node_timeout: Duration::from_secs(1),
            conn_timeout: Duration::from_secs(1),
        };
        assert_eq!(delay(&conf, 1), Duration::from_secs(1));
        assert_eq!(delay(&conf, 3), Duration::from_secs(4));
        assert_eq!(delay(&conf, 40), Duration::from_secs(3600));
    }
}
