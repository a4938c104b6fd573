//! The database plumbing the account and container servers share: the
//! open databases of the process, running broker calls on `tpool`, the
//! mapping of `db` errors to HTTP, and the request and answer pieces both
//! servers read and write the same way (timestamps, metadata headers,
//! listing parameters).

use crate::context::Context;
use crate::error::{Error, Result};
use crate::object::client_gone;
use crate::path::BackendPath;
use db::{AccountBroker, ContainerBroker, Format, ListParams, Metadata};
use http::{Headers, Request, Response};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Open container databases of this process, shared by all workers.
pub fn brokers() -> &'static db::Brokers<ContainerBroker> {
    static B: OnceLock<db::Brokers<ContainerBroker>> = OnceLock::new();
    B.get_or_init(|| db::Brokers::new(db::Options::default(), 1024))
}

/// Open account databases of this process, shared by all workers.
pub fn account_brokers() -> &'static db::Brokers<AccountBroker> {
    static B: OnceLock<db::Brokers<AccountBroker>> = OnceLock::new();
    B.get_or_init(|| db::Brokers::new(db::Options::default(), 256))
}

/// Runs `f` on `tpool`; `SQLITE_BUSY` (another process holds the lock) is
/// retried after `hub::sleep` with backoff, never a blocking wait.
pub fn db_call<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: Fn() -> Result<T> + Send + Sync + 'static,
{
    let f = Arc::new(f);
    let mut delay = Duration::from_millis(2);
    let mut tries = 0;
    loop {
        let g = f.clone();
        match hub::tpool::execute(move || g()) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::WouldBlock && tries < 10 => {
                tries += 1;
                hub::sleep(delay).map_err(|e| Error::io("waiting for a locked database", e))?;
                delay = (delay * 2).min(Duration::from_millis(500));
            }
            r => return r,
        }
    }
}

/// The one mapping from a database error to this server's errors.
pub fn db_error(e: db::Error) -> Error {
    match e {
        db::Error::NotFound => Error::NotFound(None),
        db::Error::Busy => Error::io("database is locked", std::io::ErrorKind::WouldBlock.into()),
        db::Error::Invalid(why) => Error::BadRequest(why),
        e if e.is_disk_full() => Error::InsufficientStorage(e.to_string()),
        e @ db::Error::Quarantined { .. } => {
            crate::log::error(&e.to_string());
            Error::io("database", std::io::Error::other(e.to_string()))
        }
        e => Error::io("database", std::io::Error::other(e.to_string())),
    }
}

/// `X-Timestamp`, required on every write (400 without it).
pub fn req_timestamp(req: &Request<'_>) -> Result<db::Timestamp> {
    let v = req.header("X-Timestamp").ok_or_else(|| Error::bad_request("Missing X-Timestamp header"))?;
    db::Timestamp::parse(v).map_err(|_| Error::bad_request(format!("X-Timestamp should be a UNIX timestamp: {v:?}")))
}

/// `X-Container-Meta-Color` whatever the case it came in.
pub fn canonical(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The metadata a request sets: headers of `kind` (`container`,
/// `account`) that are user or system metadata, or in `extra`.
pub fn metadata_from(req: &Request<'_>, kind: &str, extra: &[&str], ts: db::Timestamp) -> Metadata {
    let (meta, sysmeta) = (format!("x-{kind}-meta-"), format!("x-{kind}-sysmeta-"));
    req.headers()
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            (k.starts_with(&meta) && k.len() > meta.len()) || k.starts_with(&sysmeta) || extra.contains(&k.as_str())
        })
        .map(|(k, v)| (canonical(k), (v.trim().to_string(), ts)))
        .collect()
}

/// Sends a whole answer.
pub fn send(resp: &mut Response<'_>, status: u16, h: &Headers, body: &[u8]) -> Result<()> {
    resp.send(status, h, body).map_err(client_gone)
}

/// The timestamps a database answer carries (created, PUT, DELETE,
/// status change), as Swift's account and container servers send them.
pub fn db_timestamps([created, put, delete, changed]: [db::Timestamp; 4]) -> Headers {
    let mut h = Headers::new();
    h.set("X-Backend-Timestamp", created.internal());
    h.set("X-Backend-PUT-Timestamp", put.internal());
    h.set("X-Backend-Delete-Timestamp", delete.internal());
    h.set("X-Backend-Status-Changed-At", changed.internal());
    h
}

/// The listing parameters and format of a GET or HEAD (412 for a bad
/// limit, 406 when `Accept` allows no format).
pub fn listing_params(
    req: &Request<'_>,
    path: &BackendPath,
) -> std::result::Result<(ListParams, Format), (u16, String)> {
    let mut p = ListParams::default();
    let mut format = None;
    for (k, v) in path.query_pairs() {
        match k.as_str() {
            "prefix" => p.prefix = v,
            "delimiter" => p.delimiter = v,
            "marker" => p.marker = v,
            "end_marker" => p.end_marker = v,
            "path" => p.path = Some(v),
            "reverse" => p.reverse = matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on" | "t" | "y"),
            "format" => format = Some(v),
            // As Swift: only digits count (`5000.0`, `-1`, `x` leave the
            // default limit); more than the maximum is 412.
            "limit" if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => match v.parse::<usize>() {
                Ok(n) if n <= db::LISTING_LIMIT => p.limit = n,
                _ => return Err((412, format!("Maximum limit is {}", db::LISTING_LIMIT))),
            },
            _ => {}
        }
    }
    let f = Format::choose(format.as_deref(), req.header("Accept")).ok_or((406, String::new()))?;
    Ok((p, f))
}

/// Fsyncs the WAL of every database written since the last call (the
/// power-loss window of docs/db-schema.md). Blocking.
pub fn sync_all() -> Result<()> {
    brokers().sync_all().map_err(db_error)?;
    account_brokers().sync_all().map_err(db_error)
}

/// Drops tombstones and metadata removals older than `reclaim_age` from
/// every database of the node (Swift's replicators do this). Blocking.
pub fn reclaim_all(ctx: &Context) {
    let age = db::Timestamp::now().minus_secs(ctx.conf().reclaim_age.as_secs());
    let Ok(devs) = std::fs::read_dir(ctx.devices()) else { return };
    for dev in devs.flatten() {
        for dbp in db::db_files(&dev.path(), db::Kind::Account) {
            if let Err(e) = account_brokers().get(&dbp).and_then(|b| b.reclaim(age)) {
                crate::log::warn(&format!("account reclaim: {}: {e}", dbp.display()));
            }
        }
        for dbp in db::db_files(&dev.path(), db::Kind::Container) {
            if let Err(e) = brokers().get(&dbp).and_then(|b| b.reclaim(age)) {
                crate::log::warn(&format!("container reclaim: {}: {e}", dbp.display()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_canonical() {
        assert_eq!(canonical("x-container-meta-color"), "X-Container-Meta-Color");
        assert_eq!(canonical("X-CONTAINER-READ"), "X-Container-Read");
    }
}
