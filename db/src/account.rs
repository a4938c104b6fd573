//! The account database: one row per container name (live or deleted),
//! the account's timestamps, status, counts and metadata. Schema and
//! guarantees: docs/db-schema.md.

use crate::conn::{self, Batcher, Db, Kind, Options};
use crate::error::{Error, Result};
use crate::listing::{self, Entry, ListParams, Named, Range};
use crate::metadata::{self, Metadata};
use crate::shared;
use common::timestamp::{stored, Timestamp};
use rusqlite::{params, params_from_iter, OptionalExtension, Transaction};
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE container (
    name TEXT NOT NULL,
    put_timestamp TEXT NOT NULL DEFAULT '0',
    delete_timestamp TEXT NOT NULL DEFAULT '0',
    object_count INTEGER NOT NULL DEFAULT 0,
    bytes_used INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deleted, name)
) WITHOUT ROWID;

CREATE TABLE account_info (
    account TEXT NOT NULL,
    created_at TEXT NOT NULL,
    put_timestamp TEXT NOT NULL DEFAULT '0',
    delete_timestamp TEXT NOT NULL DEFAULT '0',
    status TEXT NOT NULL DEFAULT '',
    status_changed_at TEXT NOT NULL DEFAULT '0',
    container_count INTEGER NOT NULL DEFAULT 0,
    object_count INTEGER NOT NULL DEFAULT 0,
    bytes_used INTEGER NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL,
    schema_version INTEGER NOT NULL DEFAULT 1
);

CREATE TRIGGER container_insert AFTER INSERT ON container BEGIN
    UPDATE account_info
    SET container_count = container_count + (1 - new.deleted),
        object_count = object_count + new.object_count,
        bytes_used = bytes_used + new.bytes_used;
END;

CREATE TRIGGER container_delete AFTER DELETE ON container BEGIN
    UPDATE account_info
    SET container_count = container_count - (1 - old.deleted),
        object_count = object_count - old.object_count,
        bytes_used = bytes_used - old.bytes_used;
END;
";

/// A container row update, as container servers send it (`X-Put-Timestamp`,
/// `X-Delete-Timestamp`, `X-Object-Count`, `X-Bytes-Used`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUpdate {
    pub name: String,
    pub put_timestamp: Timestamp,
    pub delete_timestamp: Timestamp,
    pub object_count: u64,
    pub bytes_used: u64,
    /// `X-Account-Override-Deleted: yes`: accept it even if the account
    /// is deleted.
    pub override_deleted: bool,
}

impl ContainerUpdate {
    /// Swift's rule for the row: deleted after its last PUT, and empty.
    pub fn is_deleted(&self) -> bool {
        self.delete_timestamp > self.put_timestamp && self.object_count == 0
    }
}

/// A live container in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRow {
    pub name: String,
    pub put_timestamp: Timestamp,
    pub delete_timestamp: Timestamp,
    pub object_count: u64,
    pub bytes_used: u64,
}

impl Named for ContainerRow {
    fn name(&self) -> &str {
        &self.name
    }
}

/// The account's info row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub account: String,
    pub created_at: Timestamp,
    pub put_timestamp: Timestamp,
    pub delete_timestamp: Timestamp,
    /// `DELETED` after an account DELETE, else empty.
    pub status: String,
    pub status_changed_at: Timestamp,
    pub container_count: u64,
    pub object_count: u64,
    pub bytes_used: u64,
    pub metadata: Metadata,
    pub id: String,
}

impl AccountInfo {
    pub fn is_status_deleted(&self) -> bool {
        self.status == "DELETED"
    }

    /// Swift's rule: status DELETED, or no containers and deleted after
    /// the last PUT.
    pub fn is_deleted(&self) -> bool {
        self.is_status_deleted() || (self.container_count == 0 && self.delete_timestamp > self.put_timestamp)
    }
}

/// What a container row update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome {
    Stored,
    /// The account is deleted (404).
    AccountDeleted,
}

/// What an account PUT on an existing database did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountPut {
    /// 201: it was deleted (by timestamps) and lives again.
    Recreated,
    /// 202.
    Updated,
    /// 403 "Recently deleted": status is DELETED.
    RecentlyDeleted,
    /// 409: a newer DELETE wins.
    Conflict,
}

/// An account database. Every method blocks: call from `tpool`.
pub struct AccountBroker {
    db: Db,
    rows: Batcher<ContainerUpdate, RowOutcome>,
}

impl AccountBroker {
    /// Creates the database if there is none. Returns true if this call
    /// created it.
    pub fn initialize(path: &Path, tmp_dir: &Path, account: &str, put: Timestamp) -> Result<bool> {
        conn::create(path, tmp_dir, |tx| {
            tx.execute_batch(SCHEMA)?;
            tx.execute(
                "INSERT INTO account_info (account, created_at, put_timestamp, status_changed_at, id)
                 VALUES (?1, ?2, ?3, ?3, ?4)",
                params![account, Timestamp::now().internal(), put.internal(), conn::unique_name()],
            )?;
            Ok(())
        })
    }

    pub fn open(path: &Path, opts: &Options) -> Result<AccountBroker> {
        Ok(AccountBroker { db: Db::open(path, Kind::Account, opts)?, rows: Batcher::new() })
    }

    pub fn path(&self) -> &Path {
        self.db.path()
    }

    pub fn is_bad(&self) -> bool {
        self.db.is_bad()
    }

    pub fn sync(&self) -> Result<()> {
        self.db.sync()
    }

    pub fn info(&self) -> Result<AccountInfo> {
        self.db.read(read_info)
    }

    /// Applies a container row update (group-committed): newest put and
    /// delete timestamps kept, counts taken from the update.
    pub fn put_container(&self, u: ContainerUpdate) -> Result<RowOutcome> {
        self.rows.submit(&self.db, u, |tx, u| {
            if !u.override_deleted && read_info(tx)?.is_deleted() {
                return Ok(RowOutcome::AccountDeleted);
            }
            merge_row(tx, &u)?;
            Ok(RowOutcome::Stored)
        })
    }

    /// Merges rows in one transaction (replication, bulk loads).
    pub fn merge_containers(&self, rows: &[ContainerUpdate]) -> Result<()> {
        self.db.write(|tx| {
            for u in rows {
                merge_row(tx, u)?;
            }
            Ok(())
        })
    }

    /// An account PUT on an existing database.
    pub fn put(&self, ts: Timestamp) -> Result<AccountPut> {
        self.db.write(|tx| {
            let info = read_info(tx)?;
            if info.is_status_deleted() {
                return Ok(AccountPut::RecentlyDeleted);
            }
            let was_deleted = info.is_deleted();
            if ts > info.put_timestamp {
                tx.execute("UPDATE account_info SET put_timestamp = ?1", [ts.internal()])?;
            }
            if read_info(tx)?.is_deleted() {
                return Ok(AccountPut::Conflict);
            }
            if was_deleted {
                tx.execute("UPDATE account_info SET status_changed_at = ?1", [ts.internal()])?;
                return Ok(AccountPut::Recreated);
            }
            Ok(AccountPut::Updated)
        })
    }

    /// An account DELETE (reseller admin): status DELETED, metadata
    /// cleared; the containers stay for the reaper. False if it was
    /// already deleted (404).
    pub fn delete(&self, ts: Timestamp) -> Result<bool> {
        self.db.write(|tx| {
            let mut info = read_info(tx)?;
            if info.is_deleted() {
                return Ok(false);
            }
            let cleared: Metadata = info.metadata.keys().map(|k| (k.clone(), (String::new(), ts))).collect();
            if metadata::merge(&mut info.metadata, &cleared) {
                tx.execute("UPDATE account_info SET metadata = ?1", [metadata::to_json(&info.metadata)])?;
            }
            tx.execute(
                "UPDATE account_info SET delete_timestamp = ?1, status = 'DELETED', status_changed_at = ?1
                 WHERE delete_timestamp < ?1",
                [ts.internal()],
            )?;
            Ok(true)
        })
    }

    pub fn update_metadata(&self, updates: &Metadata) -> Result<Metadata> {
        shared::merge_metadata(&self.db, "account_info", updates, None)
    }

    /// [`Self::update_metadata`] once `limits` allow what the merge would
    /// leave (`Error::Invalid` with Swift's 400 body if not), checked in
    /// the same write transaction, so concurrent writes cannot each pass
    /// on the same old state and pile it up together.
    pub fn update_metadata_checked(&self, updates: &Metadata, limits: &metadata::Limits) -> Result<Metadata> {
        shared::merge_metadata(&self.db, "account_info", updates, Some(limits))
    }

    /// Removes deleted container rows whose delete is older than `age`,
    /// and old metadata removals. Returns the number of rows removed.
    pub fn reclaim(&self, age: Timestamp) -> Result<usize> {
        self.db.write(|tx| {
            let n =
                tx.execute("DELETE FROM container WHERE deleted = 1 AND delete_timestamp < ?1", [age.internal()])?;
            shared::reclaim_metadata(tx, "account_info", age)?;
            Ok(n)
        })
    }

    /// A listing page of live containers.
    pub fn list(&self, p: &ListParams) -> Result<Vec<Entry<ContainerRow>>> {
        listing::validate(p)?;
        self.db.read(|c| listing::walk(p, |r| fetch(c, r)))
    }

    /// The row for `name`, live or deleted (tests, tools).
    pub fn row(&self, name: &str) -> Result<Option<(ContainerRow, bool)>> {
        self.db.read(|c| find_row(c, name))
    }
}

fn row_of(r: &rusqlite::Row, name: String) -> rusqlite::Result<ContainerRow> {
    Ok(ContainerRow {
        name,
        put_timestamp: stored(&r.get::<_, String>(0)?),
        delete_timestamp: stored(&r.get::<_, String>(1)?),
        object_count: r.get::<_, i64>(2)?.max(0) as u64,
        bytes_used: r.get::<_, i64>(3)?.max(0) as u64,
    })
}

fn fetch(c: &rusqlite::Connection, r: &Range) -> Result<Vec<ContainerRow>> {
    let (tail, args) = r.sql();
    let mut st = c.prepare_cached(&format!(
        "SELECT put_timestamp, delete_timestamp, object_count, bytes_used, name FROM container WHERE {tail}"
    ))?;
    let rows = st.query_map(params_from_iter(args), |row| row_of(row, row.get(4)?))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn find_row(c: &rusqlite::Connection, name: &str) -> Result<Option<(ContainerRow, bool)>> {
    let mut st = c.prepare_cached(
        "SELECT put_timestamp, delete_timestamp, object_count, bytes_used, deleted FROM container
         WHERE deleted IN (0, 1) AND name = ?1 ORDER BY put_timestamp DESC LIMIT 1",
    )?;
    Ok(st.query_row([name], |r| Ok((row_of(r, name.to_string())?, r.get::<_, i64>(4)? != 0))).optional()?)
}

/// Swift's account merge: keep the newest put and delete timestamps,
/// take the counts of the update, and recompute `deleted`; except that a
/// deleted row ignores a report that brings no newer timestamp.
fn merge_row(tx: &Transaction, u: &ContainerUpdate) -> Result<()> {
    let mut put = u.put_timestamp;
    let mut delete = u.delete_timestamp;
    if let Some((old, old_deleted)) = find_row(tx, &u.name)? {
        // A report with no newer timestamp for a deleted row was taken
        // before the delete (a container updater's counts racing the
        // DELETE's own update): its stale counts must not revive the row.
        if old_deleted && u.put_timestamp <= old.put_timestamp && u.delete_timestamp <= old.delete_timestamp {
            return Ok(());
        }
        put = put.max(old.put_timestamp);
        delete = delete.max(old.delete_timestamp);
        tx.prepare_cached("DELETE FROM container WHERE deleted IN (0, 1) AND name = ?1")?.execute([&u.name])?;
    }
    let deleted = delete > put && u.object_count == 0;
    let n = |v: u64| i64::try_from(v).map_err(|_| Error::Invalid(format!("count {v}")));
    tx.prepare_cached(
        "INSERT INTO container (name, put_timestamp, delete_timestamp, object_count, bytes_used, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        u.name,
        put.internal(),
        delete.internal(),
        n(u.object_count)?,
        n(u.bytes_used)?,
        i64::from(deleted)
    ])?;
    Ok(())
}

fn read_info(c: &rusqlite::Connection) -> Result<AccountInfo> {
    let mut st = c.prepare_cached(
        "SELECT account, created_at, put_timestamp, delete_timestamp, status, status_changed_at,
                container_count, object_count, bytes_used, metadata, id FROM account_info",
    )?;
    let (info, meta) = st.query_row([], |r| {
        let ts = |i: usize| -> rusqlite::Result<Timestamp> { Ok(stored(&r.get::<_, String>(i)?)) };
        let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
        Ok((
            AccountInfo {
                account: r.get(0)?,
                created_at: ts(1)?,
                put_timestamp: ts(2)?,
                delete_timestamp: ts(3)?,
                status: r.get(4)?,
                status_changed_at: ts(5)?,
                container_count: n(6)?,
                object_count: n(7)?,
                bytes_used: n(8)?,
                metadata: Metadata::new(),
                id: r.get(10)?,
            },
            r.get::<_, String>(9)?,
        ))
    })?;
    Ok(AccountInfo { metadata: metadata::from_json(&meta)?, ..info })
}

#[cfg(test)]
#[path = "account_tests.rs"]
mod tests;
