//! Account backend requests (`/{device}/{partition}/{account}`), the
//! container rows containers send to accounts, and the container updater
//! that keeps those rows fresh.
//!
//! A container row update has a container's depth, so it reaches
//! `container.rs` first, which hands it here when it carries
//! `X-Backend-Account-Update` (or Swift's `X-Put-Timestamp` and
//! `X-Object-Count`).
//!
//! Account updates: after a container PUT or DELETE, the account replicas
//! named by `X-Account-Host/-Device/-Partition` are told at once. Those
//! targets are remembered beside the container database
//! (`account-targets.json`, fsynced when it changes); the container updater
//! green thread (started by the first container request of the process)
//! sends fresh counts to them every `[object-updater] interval` for every
//! container whose reported state differs from its current state, which
//! also retries the immediate updates that failed (the async_pending of
//! containers). It also fsyncs the WAL of every database written in the
//! last second (the power-loss window of docs/db-schema.md).

use crate::container::{
    brokers, db_call, db_error, db_timestamps, listing_params, metadata_from, req_timestamp, ACCOUNT_UPDATE_HEADER,
};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::object::client_gone;
use crate::path::BackendPath;
use db::{AccountBroker, AccountPut, ContainerInfo, ContainerUpdate, Kind, RowOutcome};
use http::percent::quote;
use http::{Headers, Request, Response};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Open account databases of this process.
pub fn account_brokers() -> &'static db::Brokers<AccountBroker> {
    static B: OnceLock<db::Brokers<AccountBroker>> = OnceLock::new();
    B.get_or_init(|| db::Brokers::new(db::Options::default(), 256))
}

/// Handles a request on an account path.
pub fn handle(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    match req.method() {
        "PUT" => put(ctx, req, resp, path),
        "DELETE" => delete(ctx, req, resp, path),
        "POST" => post(ctx, req, resp, path),
        "HEAD" | "GET" => get(ctx, req, resp, path),
        _ => Err(Error::MethodNotAllowed),
    }
}

fn send(resp: &mut Response<'_>, status: u16, h: &Headers, body: &[u8]) -> Result<()> {
    resp.send(status, h, body).map_err(client_gone)
}

fn paths(ctx: &Context, path: &BackendPath) -> Result<(PathBuf, PathBuf)> {
    let hash =
        ctx.hasher().hash_path(&path.account, None, None).map_err(|e| Error::bad_request(format!("bad name: {e}")))?;
    let device = ctx.check_device(&path.device)?;
    let db = db::db_path(&device, Kind::Account, path.partition, &hash).map_err(db_error)?;
    Ok((db, device.join("tmp")))
}

fn put(ctx: &Context, req: &Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    let ts = req_timestamp(req)?;
    let meta = metadata_from(req, "account", &[], ts);
    let (c, p) = (ctx.clone(), path.clone());
    let outcome = db_call(move || {
        let (dbp, tmp) = paths(&c, &p)?;
        let limits = c.conf().meta_limits;
        limits.check(&db::Metadata::new(), &meta).map_err(Error::BadRequest)?;
        let created = AccountBroker::initialize(&dbp, &tmp, &p.account, ts).map_err(db_error)?;
        let b = account_brokers().get(&dbp).map_err(db_error)?;
        let outcome = if created { AccountPut::Recreated } else { b.put(ts).map_err(db_error)? };
        if matches!(outcome, AccountPut::Recreated | AccountPut::Updated) && !meta.is_empty() {
            b.update_metadata_checked(&meta, &limits).map_err(db_error)?;
        }
        Ok(outcome)
    })?;
    let (status, body): (u16, &[u8]) = match outcome {
        AccountPut::Recreated => (201, b""),
        AccountPut::Updated => (202, b""),
        AccountPut::RecentlyDeleted => (403, b"Recently deleted"),
        AccountPut::Conflict => (409, b""),
    };
    send(resp, status, &Headers::new(), body)
}

fn delete(ctx: &Context, req: &Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    let ts = req_timestamp(req)?;
    let (c, p) = (ctx.clone(), path.clone());
    let deleted = db_call(move || {
        let (dbp, _) = paths(&c, &p)?;
        account_brokers().get(&dbp).and_then(|b| b.delete(ts)).map_err(db_error)
    })?;
    let mut h = Headers::new();
    h.set("X-Account-Status", "Deleted");
    send(resp, if deleted { 204 } else { 404 }, &h, b"")
}

fn post(ctx: &Context, req: &Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    let ts = req_timestamp(req)?;
    let meta = metadata_from(req, "account", &[], ts);
    let (c, p) = (ctx.clone(), path.clone());
    db_call(move || {
        let (dbp, _) = paths(&c, &p)?;
        let b = account_brokers().get(&dbp).map_err(db_error)?;
        let info = b.info().map_err(db_error)?;
        if info.is_deleted() {
            return Err(Error::NotFound(None));
        }
        b.update_metadata_checked(&meta, &c.conf().meta_limits).map_err(db_error)?;
        Ok(())
    })?;
    send(resp, 204, &Headers::new(), b"")
}

fn get(ctx: &Context, req: &Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    let (params, format) = match listing_params(req, path) {
        Ok(v) => v,
        Err((status, body)) => return send(resp, status, &Headers::new(), body.as_bytes()),
    };
    let listing = req.method() == "GET";
    let (c, p) = (ctx.clone(), path.clone());
    let (info, entries) = db_call(move || {
        let (dbp, _) = paths(&c, &p)?;
        let b = account_brokers().get(&dbp).map_err(db_error)?;
        let info = b.info().map_err(db_error)?;
        let entries = if listing && !info.is_deleted() { b.list(&params).map_err(db_error)? } else { Vec::new() };
        Ok((info, entries))
    })?;
    let mut h = db_timestamps([info.created_at, info.put_timestamp, info.delete_timestamp, info.status_changed_at]);
    if info.is_deleted() {
        if info.is_status_deleted() {
            h.set("X-Account-Status", "Deleted");
        }
        return send(resp, 404, &h, b"");
    }
    h.set("X-Account-Container-Count", info.container_count.to_string());
    h.set("X-Account-Object-Count", info.object_count.to_string());
    h.set("X-Account-Bytes-Used", info.bytes_used.to_string());
    h.set("X-Timestamp", info.created_at.normal());
    h.set("X-PUT-Timestamp", info.put_timestamp.normal());
    for (k, v) in db::metadata::visible(&info.metadata) {
        h.set(k, v);
    }
    h.set("Content-Type", format.content_type());
    if !listing {
        return send(resp, 204, &h, b"");
    }
    match db::format::account_listing(format, &path.account, &entries) {
        Some(body) => send(resp, 200, &h, &body),
        None => send(resp, 204, &h, b""),
    }
}

/// True for a container's row update sent to this account replica.
pub fn is_container_row(req: &Request<'_>) -> bool {
    req.header(ACCOUNT_UPDATE_HEADER).is_some()
        || (req.method() == "PUT" && req.header("X-Put-Timestamp").is_some() && req.header("X-Object-Count").is_some())
}

/// `PUT /{dev}/{part}/{account}/{container}` from a container server:
/// 201, or 204 when the row says deleted; 404 if the account is missing or
/// deleted (unless `X-Account-Override-Deleted: yes`).
pub fn container_row(ctx: &Context, req: &Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    if req.method() != "PUT" {
        return Err(Error::MethodNotAllowed);
    }
    let name = path.container.clone().ok_or_else(|| Error::bad_request("no container in the path"))?;
    let ts = |k: &str| -> Result<db::Timestamp> {
        let v = req.header(k).unwrap_or("0");
        db::Timestamp::parse(v).map_err(|_| Error::bad_request(format!("Invalid {k}: {v:?}")))
    };
    let n = |k: &str| -> Result<u64> {
        req.header(k).unwrap_or("0").trim().parse().map_err(|_| Error::bad_request(format!("Invalid {k}")))
    };
    let u = ContainerUpdate {
        name,
        put_timestamp: ts("X-Put-Timestamp")?,
        delete_timestamp: ts("X-Delete-Timestamp")?,
        object_count: n("X-Object-Count")?,
        bytes_used: n("X-Bytes-Used")?,
        override_deleted: req.header("X-Account-Override-Deleted").is_some_and(|v| v.eq_ignore_ascii_case("yes")),
    };
    let deleted = u.delete_timestamp > u.put_timestamp;
    let (c, p) = (ctx.clone(), path.clone());
    let outcome = db_call(move || {
        let (dbp, _) = paths(&c, &p)?;
        account_brokers().get(&dbp).and_then(|b| b.put_container(u.clone())).map_err(db_error)
    })?;
    match outcome {
        RowOutcome::AccountDeleted => Err(Error::NotFound(None)),
        RowOutcome::Stored => send(resp, if deleted { 204 } else { 201 }, &Headers::new(), b""),
    }
}

/// The account replicas a container reports to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountTargets {
    pub account: String,
    pub container: String,
    /// `(ip:port, device, partition)`.
    pub nodes: Vec<(String, String, String)>,
}

const TARGETS_FILE: &str = "account-targets.json";

impl AccountTargets {
    /// From `X-Account-Host/-Device/-Partition`; 400 if the host and
    /// device lists differ in length (Swift's rule).
    pub fn from_request(req: &Request<'_>, account: &str, container: &str) -> Result<AccountTargets> {
        let list = |k: &str| -> Vec<String> {
            req.header(k).unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
        };
        let (hosts, devices) = (list("X-Account-Host"), list("X-Account-Device"));
        if hosts.len() != devices.len() {
            return Err(Error::bad_request(format!(
                "the number of account hosts ({}) and devices ({}) differ",
                hosts.len(),
                devices.len()
            )));
        }
        let part = req.header("X-Account-Partition").unwrap_or("").trim().to_string();
        let nodes = if part.is_empty() {
            Vec::new()
        } else {
            hosts.into_iter().zip(devices).map(|(h, d)| (h, d, part.clone())).collect()
        };
        Ok(AccountTargets { account: account.into(), container: container.into(), nodes })
    }

    fn to_json(&self) -> String {
        serde_json::json!({"account": self.account, "container": self.container, "nodes": self.nodes}).to_string()
    }

    /// Saves the targets beside the database if they changed (blocking).
    pub fn remember(&self, db: &Path) -> Result<()> {
        if self.nodes.is_empty() {
            return Ok(());
        }
        let Some(dir) = db.parent() else { return Ok(()) };
        let file = dir.join(TARGETS_FILE);
        let text = self.to_json();
        if std::fs::read_to_string(&file).ok().as_deref() == Some(text.as_str()) {
            return Ok(());
        }
        let tmp = dir.join(format!(".{TARGETS_FILE}.{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            std::fs::write(&tmp, &text)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &file)?;
            std::fs::File::open(dir)?.sync_all()
        };
        write().map_err(|e| Error::from_disk_write("saving account targets", e))
    }

    /// The targets saved beside a database, if any (blocking).
    pub fn load(db: &Path) -> Option<AccountTargets> {
        let text = std::fs::read_to_string(db.parent()?.join(TARGETS_FILE)).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let nodes = v
            .get("nodes")?
            .as_array()?
            .iter()
            .map(|n| {
                let a = n.as_array()?;
                let s = |i: usize| a.get(i).and_then(|x| x.as_str()).map(String::from);
                Some((s(0)?, s(1)?, s(2)?))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(AccountTargets {
            account: v.get("account")?.as_str()?.into(),
            container: v.get("container")?.as_str()?.into(),
            nodes,
        })
    }
}

/// Sends the container's row to one account replica; `Err` says why not.
fn send_row(
    ctx: &Context,
    t: &AccountTargets,
    node: &(String, String, String),
    info: &ContainerInfo,
    txn: &str,
) -> std::result::Result<(), String> {
    let conf = ctx.conf();
    let addr = node.0.parse().map_err(|_| format!("bad account host {:?}", node.0))?;
    let mut h = Headers::new();
    h.set("X-Put-Timestamp", info.put_timestamp.internal());
    h.set("X-Delete-Timestamp", info.delete_timestamp.internal());
    h.set("X-Object-Count", info.object_count.to_string());
    h.set("X-Bytes-Used", info.bytes_used.to_string());
    h.set("X-Timestamp", db::Timestamp::now().internal());
    h.set("X-Trans-Id", txn);
    h.set("X-Backend-Storage-Policy-Index", "0");
    h.set(ACCOUNT_UPDATE_HEADER, "true");
    h.set("User-Agent", format!("container-server {}", swiftlet_server::pid()));
    h.set("Content-Length", "0");
    h.set("Host", node.0.clone());
    let target = quote(&format!("/{}/{}/{}/{}", node.1, node.2, t.account, t.container));
    crate::container_update::send_bodiless(addr, "PUT", &target, &h, conf.conn_timeout, conf.node_timeout)
}

/// Tells every target in parallel; true if all took it, and then the
/// database records what the account knows.
fn report(ctx: &Context, t: &AccountTargets, info: &ContainerInfo, txn: &str, db: Option<PathBuf>) -> bool {
    let handles: Vec<_> = t
        .nodes
        .iter()
        .map(|n| {
            let (c, t, n, i, txn) = (ctx.clone(), t.clone(), n.clone(), info.clone(), txn.to_string());
            hub::spawn(move || send_row(&c, &t, &n, &i, &txn).map_err(|e| format!("{}: {e}", n.0)))
        })
        .collect();
    let mut ok = true;
    for h in handles {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(why)) => {
                crate::log::warn(&format!("account update for {}/{} failed: {why}", t.account, t.container));
                ok = false;
            }
            Err(_) => ok = false,
        }
    }
    if let (true, Some(db)) = (ok, db) {
        let i = info.clone();
        let r = db_call(move || {
            let b = brokers().get(&db).map_err(db_error)?;
            b.reported(i.put_timestamp, i.delete_timestamp, i.object_count, i.bytes_used).map_err(db_error)
        });
        if let Err(e) = r {
            crate::log::warn(&format!("recording an account update: {e}"));
        }
    }
    ok
}

/// After a container PUT or DELETE: tell the named account replicas now;
/// the container updater retries the ones that failed.
pub fn tell_account(ctx: &Context, t: &AccountTargets, info: &ContainerInfo, req: &Request<'_>) {
    if t.nodes.is_empty() {
        return;
    }
    let txn = req.header("X-Trans-Id").unwrap_or("-").to_string();
    // Marked reported only by the updater: the proxy names one account
    // replica per container replica, the updater tells them all again.
    let _ = report(ctx, t, info, &txn, None);
}

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
        let synced = db_call(|| {
            brokers().sync_all().map_err(db_error)?;
            account_brokers().sync_all().map_err(db_error)
        });
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
    let devices = ctx.devices().to_path_buf();
    let age = db::Timestamp::now().minus_secs(ctx.conf().reclaim_age.as_secs());
    let todo = db_call(move || {
        let mut out = Vec::new();
        let Ok(devs) = std::fs::read_dir(&devices) else { return Ok(out) };
        for dev in devs.flatten() {
            // Tombstones older than reclaim_age go (Swift's replicator does
            // this; we have no DB replicator yet).
            for dbp in db::db_files(&dev.path(), Kind::Account) {
                if let Err(e) = account_brokers().get(&dbp).and_then(|b| b.reclaim(age)) {
                    crate::log::warn(&format!("account reclaim: {}: {e}", dbp.display()));
                }
            }
            for dbp in db::db_files(&dev.path(), Kind::Container) {
                if let Err(e) = brokers().get(&dbp).and_then(|b| b.reclaim(age)) {
                    crate::log::warn(&format!("container reclaim: {}: {e}", dbp.display()));
                }
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
