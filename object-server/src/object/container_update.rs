//! Container updates after a durable PUT or DELETE (Swift's
//! `container_update`).
//!
//! The proxy names the container replica(s) to tell in
//! `X-Container-Host` (`ip:port[,ip:port...]`), `X-Container-Device`
//! (same count) and `X-Container-Partition`. The object server sends each
//! `PUT /{dev}/{part}/{a}/{c}/{o}` with `X-Timestamp`, `X-Size`,
//! `X-Content-Type`, `X-Etag` (or `DELETE` with `X-Timestamp`) in
//! parallel, all within `container_update_timeout`; the targets that did
//! not answer 2xx in time go into an fsynced `async_pending` record that
//! the object-updater retries.

use crate::context::Context;
use crate::error::Result;
use crate::object::async_pending::{self, Record, Target};
use crate::object::diskfile::Location;
use crate::path::ObjectPath;
use crate::timestamp::Timestamp;
use common::percent::quote;
use http::{ClientConn, Headers, Request};
use std::collections::BTreeMap;
use std::time::Duration;

/// Marks a depth-5 request as an object row for a container (not an
/// object write). Every update this server sends carries it; `path.rs`
/// routes such requests to `container.rs`. Clients cannot set it: the
/// proxy strips every `X-Backend-*` header.
pub const MARKER_HEADER: &str = "X-Backend-Container-Update";

/// What a PUT tells the container.
#[derive(Clone, Debug)]
pub struct PutInfo {
    pub size: u64,
    pub content_type: String,
    pub etag: String,
}

/// The prefix of the metadata that replaces what a PUT tells the
/// container (Swift's `X-Object-Sysmeta-Container-Update-Override-`):
/// `...-Etag`, `...-Size`, `...-Content-Type`. The symlink middleware
/// sets the ETag, so a link's row carries its target.
const OVERRIDE_PREFIX: &str = "x-object-sysmeta-container-update-override-";

impl PutInfo {
    /// Swift's `_check_container_override`: applies the overrides in an
    /// object's metadata (a PUT's, or the data file's for a POST).
    pub fn with_overrides(mut self, meta: &crate::object::diskfile::Metadata) -> PutInfo {
        for (k, v) in meta {
            match k.to_ascii_lowercase().strip_prefix(OVERRIDE_PREFIX) {
                Some("etag") => self.etag = v.clone(),
                Some("content-type") => self.content_type = v.clone(),
                Some("size") => self.size = v.trim().parse().unwrap_or(self.size),
                _ => {}
            }
        }
        self
    }
}

/// The row change to send.
#[derive(Clone, Debug)]
pub enum Op {
    Put { ts: Timestamp, info: PutInfo },
    Delete { ts: Timestamp },
}

/// The container replicas named by the request; empty if none. A request
/// with mismatched host and device lists names none (Swift logs and skips).
pub fn targets(req: &Request<'_>) -> Vec<Target> {
    let (Some(hosts), Some(devices), Some(partition)) =
        (req.header("X-Container-Host"), req.header("X-Container-Device"), req.header("X-Container-Partition"))
    else {
        return Vec::new();
    };
    let hosts: Vec<&str> = hosts.split(',').map(str::trim).filter(|h| !h.is_empty()).collect();
    let devices: Vec<&str> = devices.split(',').map(str::trim).filter(|d| !d.is_empty()).collect();
    if hosts.len() != devices.len() {
        crate::log::error(&format!(
            "container update skipped: {} hosts but {} devices in the request",
            hosts.len(),
            devices.len()
        ));
        return Vec::new();
    }
    hosts
        .iter()
        .zip(devices)
        .map(|(h, d)| Target { host: h.to_string(), device: d.to_string(), partition: partition.trim().to_string() })
        .collect()
}

/// The headers of the update (Swift's `_make_container_update`).
fn update_headers(req: &Request<'_>, op: &Op) -> BTreeMap<String, String> {
    let mut h = BTreeMap::new();
    match op {
        Op::Put { ts, info } => {
            h.insert("X-Timestamp".into(), ts.internal());
            h.insert("X-Size".into(), info.size.to_string());
            h.insert("X-Content-Type".into(), info.content_type.clone());
            h.insert("X-Etag".into(), info.etag.clone());
        }
        Op::Delete { ts } => {
            h.insert("X-Timestamp".into(), ts.internal());
        }
    }
    h.insert("X-Trans-Id".into(), req.header("X-Trans-Id").unwrap_or("-").to_string());
    h.insert("Referer".into(), format!("{} {}", req.method(), req.target()));
    let policy = req.header("X-Backend-Storage-Policy-Index").unwrap_or("0");
    h.insert("X-Backend-Storage-Policy-Index".into(), policy.to_string());
    h.insert(MARKER_HEADER.into(), "true".into());
    h
}

/// After a durable write: updates the named container replicas, and
/// records the ones that failed in `async_pending`. Errors only if the
/// record cannot be written.
pub fn after_write(ctx: &Context, req: &Request<'_>, path: &ObjectPath, loc: &Location, op: Op) -> Result<()> {
    let targets = targets(req);
    if targets.is_empty() {
        return Ok(());
    }
    let ts = match &op {
        Op::Put { ts, .. } | Op::Delete { ts } => *ts,
    };
    let record = Record {
        op: match op {
            Op::Put { .. } => "PUT".into(),
            Op::Delete { .. } => "DELETE".into(),
        },
        account: path.account.clone(),
        container: path.container.clone(),
        obj: path.object.clone(),
        headers: update_headers(req, &op),
        targets,
    };
    let conf = ctx.conf();
    let failed = send_all(&record, conf.conn_timeout, conf.node_timeout, Some(conf.container_update_timeout));
    if failed.is_empty() {
        return Ok(());
    }
    let pending = Record { targets: failed, ..record };
    crate::log::warn(&format!(
        "container update to {} failed or timed out; saved to async_pending",
        pending.targets.iter().map(|t| t.host.as_str()).collect::<Vec<_>>().join(",")
    ));
    async_pending::save(ctx, &loc.device, &loc.hash, ts, &pending)
}

/// Sends a record's update to all its targets in parallel; returns the
/// targets that failed. With `overall`, gives up on the stragglers after
/// it (they count as failed).
pub fn send_all(
    record: &Record,
    conn_timeout: Duration,
    node_timeout: Duration,
    overall: Option<Duration>,
) -> Vec<Target> {
    let handles: Vec<_> = record
        .targets
        .iter()
        .map(|t| {
            let (t, r) = (t.clone(), record.clone());
            hub::spawn(move || {
                let _deadline = overall.map(hub::Timeout::new);
                match send_one(&r, &t, conn_timeout, node_timeout) {
                    Ok(()) => None,
                    Err(why) => {
                        crate::log::debug(&format!("container update to {} failed: {why}", t.host));
                        Some(t)
                    }
                }
            })
        })
        .collect();
    let mut failed = Vec::new();
    for (h, t) in handles.into_iter().zip(&record.targets) {
        match h.join() {
            Ok(None) => {}
            Ok(Some(t)) => failed.push(t),
            Err(_) => failed.push(t.clone()),
        }
    }
    failed
}

/// One update to one container replica; `Err` says why it failed.
pub fn send_one(
    record: &Record,
    target: &Target,
    conn_timeout: Duration,
    node_timeout: Duration,
) -> Result<(), String> {
    let addr = target.host.parse().map_err(|_| format!("bad container host {:?}", target.host))?;
    let mut h = Headers::new();
    for (k, v) in &record.headers {
        h.set(k.clone(), v.clone());
    }
    h.set("User-Agent", format!("object-server {}", swiftlet_server::pid()));
    h.set("Content-Length", "0");
    h.set("Host", target.host.clone());
    let path =
        format!("/{}/{}/{}/{}/{}", target.device, target.partition, record.account, record.container, record.obj);
    send_bodiless(addr, &record.op, &quote(&path), &h, conn_timeout, node_timeout)
}

/// A bodiless request to a peer storage server (a container row, an
/// account row) on a kept-alive connection; `Err` says why it failed,
/// a status other than 2xx included.
pub fn send_bodiless(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    h: &Headers,
    conn_timeout: Duration,
    node_timeout: Duration,
) -> Result<(), String> {
    let (status, _) =
        ask_peer(addr, method, target, h, conn_timeout, node_timeout, 64 * 1024).map_err(|e| format!("update: {e}"))?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("status {status}"))
    }
}

/// A bodiless request to a peer storage server on a kept-alive
/// connection (which goes back to the pool after a complete exchange):
/// the answer's status and body (at most `limit` bytes).
pub fn ask_peer(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    h: &Headers,
    conn_timeout: Duration,
    node_timeout: Duration,
    limit: usize,
) -> std::io::Result<(u16, Vec<u8>)> {
    ClientConn::pooled(addr, conn_timeout, |mut conn| {
        if let Err(e) = conn.send_head(method, target, h) {
            return Err(Box::new((conn, e)));
        }
        let got = conn.read_response(method, node_timeout).and_then(|mut resp| {
            let status = resp.status();
            resp.read_all(limit).map(|body| (status, body))
        });
        match got {
            Ok(answer) => {
                conn.release();
                Ok(answer)
            }
            Err(e) => Err(Box::new((conn, e))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_in_the_metadata_replace_what_the_row_says() {
        let info = PutInfo { size: 0, content_type: "application/symlink".into(), etag: "d41d8".into() };
        let mut meta = crate::object::diskfile::Metadata::new();
        meta.insert("X-Object-Meta-Color".into(), "blue".into());
        let same = info.clone().with_overrides(&meta);
        assert_eq!((same.size, same.etag.as_str()), (0, "d41d8"));
        meta.insert("X-Object-Sysmeta-Container-Update-Override-Etag".into(), "d41d8; symlink_target=c/o".into());
        meta.insert("X-Object-Sysmeta-Container-Update-Override-Size".into(), "7".into());
        let changed = info.with_overrides(&meta);
        assert_eq!((changed.size, changed.etag.as_str()), (7, "d41d8; symlink_target=c/o"));
        assert_eq!(changed.content_type, "application/symlink");
    }
}
