//! The container server's rows in its account: after a container PUT or
//! DELETE the account replicas named by `X-Account-Host/-Device/-Partition`
//! are told at once ([`tell_account`]); the targets are remembered beside
//! the container database (`account-targets.json`, fsynced when it
//! changes) so that the container updater ([`super::updater`]) can tell
//! them again, with fresh counts, until they know.

use super::ACCOUNT_UPDATE_HEADER;
use crate::context::Context;
use crate::database::{brokers, db_call, db_error};
use crate::error::{Error, Result};
use common::percent::quote;
use db::ContainerInfo;
use http::{Headers, Request};
use std::path::{Path, PathBuf};

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
    crate::object::container_update::send_bodiless(addr, "PUT", &target, &h, conf.conn_timeout, conf.node_timeout)
}

/// Tells every target in parallel; true if all took it, and then the
/// database records what the account knows.
pub(super) fn report(ctx: &Context, t: &AccountTargets, info: &ContainerInfo, txn: &str, db: Option<PathBuf>) -> bool {
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
