//! The container updater: a green thread of worker 0 (started with the
//! object updater) that every second fsyncs the WAL of the databases
//! written since, and every `[object-updater] interval` reclaims old
//! tombstones and reports to their accounts the containers whose state
//! the account does not know yet (which also retries the immediate
//! updates that failed: the async_pending of containers).

use super::account_update::{report, AccountTargets};
use crate::context::Context;
use crate::database::{brokers, db_call, reclaim_all, sync_all};
use db::Kind;
use std::time::{Duration, Instant};

/// The container updater (a green thread of worker 0, started with the
/// object updater): every second, fsync the WAL of the databases written
/// since; every `interval`, report every container whose state the
/// account does not know yet. Runs until its hub stops.
pub fn run_updater(ctx: Context) {
    let interval = ctx.conf().updater.interval;
    let mut last_sweep = Instant::now();
    loop {
        if hub::sleep(Duration::from_secs(1)).is_err() {
            return;
        }
        let synced = db_call(sync_all);
        if let Err(e) = synced {
            crate::log::warn(&format!("database sync: {e}"));
        }
        if last_sweep.elapsed() >= interval {
            last_sweep = Instant::now();
            let (ok, failed) = sweep(&ctx);
            if ok + failed > 0 {
                crate::log::info(&format!("Container update sweep completed: {ok} successes, {failed} failures"));
            }
        }
    }
}

/// One pass over every database: reclaim old tombstones, report changed
/// containers. Returns `(successes, failures)` of the reports.
pub fn sweep(ctx: &Context) -> (usize, usize) {
    let c = ctx.clone();
    let todo = db_call(move || {
        reclaim_all(&c);
        let mut out = Vec::new();
        let Ok(devs) = std::fs::read_dir(c.devices()) else { return Ok(out) };
        for dev in devs.flatten() {
            for dbp in db::db_files(&dev.path(), Kind::Container) {
                let Some(targets) = AccountTargets::load(&dbp) else { continue };
                match brokers().get(&dbp).and_then(|b| b.info()) {
                    Ok(info) if info.needs_report() => out.push((dbp, info, targets)),
                    Ok(_) => {}
                    Err(e) => crate::log::warn(&format!("container updater: {}: {e}", dbp.display())),
                }
            }
        }
        Ok(out)
    })
    .unwrap_or_default();
    let (mut ok, mut failed) = (0, 0);
    for (dbp, info, targets) in todo {
        if report(ctx, &targets, &info, "-", Some(dbp)) {
            ok += 1;
        } else {
            failed += 1;
        }
    }
    (ok, failed)
}
