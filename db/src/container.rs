//! The container database: one row per object name (live or tombstone),
//! the container's timestamps, counts and metadata. Schema and guarantees:
//! docs/db-schema.md.

use crate::conn::{self, Batcher, Db, Kind, Options};
use crate::error::{Error, Result};
use crate::listing::{self, Entry, ListParams, Named, Range};
use crate::metadata::{self, Metadata};
use crate::shared;
use common::timestamp::{stored, Timestamp};
use rusqlite::{params, params_from_iter, OptionalExtension, Transaction};
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE object (
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL DEFAULT '',
    etag TEXT NOT NULL DEFAULT '',
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deleted, name)
) WITHOUT ROWID;

CREATE TABLE container_info (
    account TEXT NOT NULL,
    container TEXT NOT NULL,
    created_at TEXT NOT NULL,
    put_timestamp TEXT NOT NULL DEFAULT '0',
    delete_timestamp TEXT NOT NULL DEFAULT '0',
    status_changed_at TEXT NOT NULL DEFAULT '0',
    object_count INTEGER NOT NULL DEFAULT 0,
    bytes_used INTEGER NOT NULL DEFAULT 0,
    reported_put_timestamp TEXT NOT NULL DEFAULT '0',
    reported_delete_timestamp TEXT NOT NULL DEFAULT '0',
    reported_object_count INTEGER NOT NULL DEFAULT 0,
    reported_bytes_used INTEGER NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL,
    schema_version INTEGER NOT NULL DEFAULT 1
);

CREATE TRIGGER object_insert AFTER INSERT ON object BEGIN
    UPDATE container_info
    SET object_count = object_count + (1 - new.deleted),
        bytes_used = bytes_used + (1 - new.deleted) * new.size;
END;

CREATE TRIGGER object_delete AFTER DELETE ON object BEGIN
    UPDATE container_info
    SET object_count = object_count - (1 - old.deleted),
        bytes_used = bytes_used - (1 - old.deleted) * old.size;
END;
";

/// A row update, as object servers send it (PUT: `X-Timestamp`, `X-Size`,
/// `X-Content-Type`, `X-Etag`; DELETE: `X-Timestamp` only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    pub name: String,
    pub created_at: Timestamp,
    pub size: u64,
    pub content_type: String,
    pub etag: String,
    pub deleted: bool,
}

impl ObjectRecord {
    pub fn put(name: &str, created_at: Timestamp, size: u64, content_type: &str, etag: &str) -> Self {
        ObjectRecord {
            name: name.into(),
            created_at,
            size,
            content_type: content_type.into(),
            etag: etag.into(),
            deleted: false,
        }
    }

    pub fn delete(name: &str, created_at: Timestamp) -> Self {
        ObjectRecord {
            name: name.into(),
            created_at,
            size: 0,
            content_type: String::new(),
            etag: String::new(),
            deleted: true,
        }
    }
}

/// A live object in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRow {
    pub name: String,
    pub created_at: Timestamp,
    pub size: u64,
    pub content_type: String,
    pub etag: String,
}

impl Named for ObjectRow {
    fn name(&self) -> &str {
        &self.name
    }
}

/// What a row update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The row is now the newest for its name.
    Stored,
    /// A row at least as new was there already; nothing changed.
    Stale,
    /// The container is deleted: a PUT row is refused (404), as in Swift.
    ContainerDeleted,
}

/// The container's info row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub account: String,
    pub container: String,
    pub created_at: Timestamp,
    pub put_timestamp: Timestamp,
    pub delete_timestamp: Timestamp,
    pub status_changed_at: Timestamp,
    pub object_count: u64,
    pub bytes_used: u64,
    pub reported_put_timestamp: Timestamp,
    pub reported_delete_timestamp: Timestamp,
    pub reported_object_count: u64,
    pub reported_bytes_used: u64,
    pub metadata: Metadata,
    pub id: String,
}

impl ContainerInfo {
    /// Swift's rule: no objects and deleted after the last PUT.
    pub fn is_deleted(&self) -> bool {
        self.object_count == 0 && self.delete_timestamp > self.put_timestamp
    }

    /// True if the account has not been told the current state.
    pub fn needs_report(&self) -> bool {
        self.reported_put_timestamp != self.put_timestamp
            || self.reported_delete_timestamp != self.delete_timestamp
            || self.reported_object_count != self.object_count
            || self.reported_bytes_used != self.bytes_used
    }
}

/// What a container PUT on an existing database did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// It was deleted and lives again (201).
    Recreated,
    /// It was alive (202).
    Updated,
    /// A newer DELETE wins over this PUT (409).
    Conflict,
}

/// What a container DELETE did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Objects remain (409).
    NotEmpty,
    /// Deleted; `existed` says whether it was alive before (204, else 404).
    Deleted { existed: bool },
    /// A newer PUT wins over this DELETE (409).
    Conflict,
}

/// A container database. Every method blocks: call from `tpool`.
pub struct ContainerBroker {
    db: Db,
    rows: Batcher<Vec<ObjectRecord>, Vec<Applied>>,
}

impl ContainerBroker {
    /// Creates the database if there is none (`tmp_dir` is the device's
    /// `tmp/`). Returns true if this call created it.
    pub fn initialize(path: &Path, tmp_dir: &Path, account: &str, container: &str, put: Timestamp) -> Result<bool> {
        conn::create(path, tmp_dir, |tx| {
            tx.execute_batch(SCHEMA)?;
            let now = Timestamp::now().internal();
            tx.execute(
                "INSERT INTO container_info (account, container, created_at, put_timestamp, status_changed_at, id)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
                params![account, container, now, put.internal(), conn::unique_name()],
            )?;
            Ok(())
        })
    }

    /// Opens an existing database; `Error::NotFound` if there is none.
    pub fn open(path: &Path, opts: &Options) -> Result<ContainerBroker> {
        Ok(ContainerBroker { db: Db::open(path, Kind::Container, opts)?, rows: Batcher::new() })
    }

    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// True once quarantined (drop it from caches).
    pub fn is_bad(&self) -> bool {
        self.db.is_bad()
    }

    /// fsyncs the WAL if anything was committed since the last call.
    pub fn sync(&self) -> Result<()> {
        self.db.sync()
    }

    pub fn info(&self) -> Result<ContainerInfo> {
        self.db.read(read_info)
    }

    /// Applies one row update from an object server (group-committed with
    /// concurrent ones): the newest `created_at` per name wins.
    pub fn put_object(&self, rec: ObjectRecord) -> Result<Applied> {
        let mut v = self.put_objects(vec![rec])?;
        v.pop().ok_or_else(|| Error::Invalid("empty batch result".into()))
    }

    /// Applies several row updates at once (the handlers gather the
    /// updates that arrive while a commit is under way), one result each,
    /// in one transaction shared with concurrent callers.
    pub fn put_objects(&self, recs: Vec<ObjectRecord>) -> Result<Vec<Applied>> {
        self.rows.submit(&self.db, recs, |tx, recs| {
            let deleted = is_deleted(tx)?;
            recs.iter()
                .map(|rec| if !rec.deleted && deleted { Ok(Applied::ContainerDeleted) } else { merge_row(tx, rec) })
                .collect()
        })
    }

    /// Merges rows in one transaction (replication, bulk loads), no
    /// deleted-container check.
    pub fn merge_objects(&self, recs: &[ObjectRecord]) -> Result<()> {
        self.db.write(|tx| {
            for r in recs {
                merge_row(tx, r)?;
            }
            Ok(())
        })
    }

    /// A container PUT on an existing database.
    pub fn put(&self, ts: Timestamp) -> Result<PutOutcome> {
        self.db.write(|tx| {
            let info = read_info(tx)?;
            let was_deleted = info.is_deleted();
            if ts > info.put_timestamp {
                tx.execute("UPDATE container_info SET put_timestamp = ?1", [ts.internal()])?;
            }
            if read_info(tx)?.is_deleted() {
                return Ok(PutOutcome::Conflict);
            }
            if was_deleted {
                tx.execute("UPDATE container_info SET status_changed_at = ?1", [ts.internal()])?;
                return Ok(PutOutcome::Recreated);
            }
            Ok(PutOutcome::Updated)
        })
    }

    /// Swift's `update_put_timestamp` (a container POST): moves the
    /// put timestamp forward, never back.
    pub fn update_put_timestamp(&self, ts: Timestamp) -> Result<()> {
        self.db.write(|tx| {
            tx.execute("UPDATE container_info SET put_timestamp = ?1 WHERE put_timestamp < ?1", [ts.internal()])?;
            Ok(())
        })
    }

    /// A container DELETE: refused while objects remain; clears the
    /// metadata (as Swift's `delete_db`).
    pub fn delete(&self, ts: Timestamp) -> Result<DeleteOutcome> {
        self.db.write(|tx| {
            let mut info = read_info(tx)?;
            if info.object_count > 0 {
                return Ok(DeleteOutcome::NotEmpty);
            }
            let existed = info.put_timestamp > Timestamp::ZERO && !info.is_deleted();
            let cleared: Metadata = info.metadata.keys().map(|k| (k.clone(), (String::new(), ts))).collect();
            if metadata::merge(&mut info.metadata, &cleared) {
                tx.execute("UPDATE container_info SET metadata = ?1", [metadata::to_json(&info.metadata)])?;
            }
            if ts > info.delete_timestamp {
                tx.execute("UPDATE container_info SET delete_timestamp = ?1, status_changed_at = ?1", [ts.internal()])?;
            }
            if !read_info(tx)?.is_deleted() {
                return Ok(DeleteOutcome::Conflict);
            }
            Ok(DeleteOutcome::Deleted { existed })
        })
    }

    /// Merges metadata, newest timestamp per key; returns the result.
    pub fn update_metadata(&self, updates: &Metadata) -> Result<Metadata> {
        shared::merge_metadata(&self.db, "container_info", updates, None)
    }

    /// [`Self::update_metadata`] once `limits` allow what the merge would
    /// leave (`Error::Invalid` with Swift's 400 body if not), checked in
    /// the same write transaction, so concurrent writes cannot each pass
    /// on the same old state and pile it up together.
    pub fn update_metadata_checked(&self, updates: &Metadata, limits: &metadata::Limits) -> Result<Metadata> {
        shared::merge_metadata(&self.db, "container_info", updates, Some(limits))
    }

    /// Records what the account was last told (the container updater).
    pub fn reported(&self, put: Timestamp, delete: Timestamp, objects: u64, bytes: u64) -> Result<()> {
        self.db.write(|tx| {
            tx.execute(
                "UPDATE container_info SET reported_put_timestamp = ?1, reported_delete_timestamp = ?2,
                 reported_object_count = ?3, reported_bytes_used = ?4",
                params![put.internal(), delete.internal(), objects as i64, bytes as i64],
            )?;
            Ok(())
        })
    }

    /// Removes tombstone rows and metadata removals older than `age`
    /// (now minus `reclaim_age`). Returns the number of rows removed.
    pub fn reclaim(&self, age: Timestamp) -> Result<usize> {
        self.db.write(|tx| {
            let n = tx.execute("DELETE FROM object WHERE deleted = 1 AND created_at < ?1", [age.internal()])?;
            shared::reclaim_metadata(tx, "container_info", age)?;
            Ok(n)
        })
    }

    /// A listing page of live objects (see `listing`).
    pub fn list(&self, p: &ListParams) -> Result<Vec<Entry<ObjectRow>>> {
        listing::validate(p)?;
        self.db.read(|c| listing::walk(p, |r| fetch(c, r)))
    }

    /// Every row for `name` (live or tombstone), for tests and tools.
    pub fn row(&self, name: &str) -> Result<Option<ObjectRecord>> {
        self.db.read(|c| find_row(c, name))
    }

    /// Number of tombstone rows (tests, diagnostics).
    pub fn tombstones(&self) -> Result<u64> {
        self.db.read(|c| {
            Ok(c.query_row("SELECT count(*) FROM object WHERE deleted = 1", [], |r| r.get::<_, i64>(0))? as u64)
        })
    }
}

fn fetch(c: &rusqlite::Connection, r: &Range) -> Result<Vec<ObjectRow>> {
    let (tail, args) = r.sql();
    let mut st =
        c.prepare_cached(&format!("SELECT name, created_at, size, content_type, etag FROM object WHERE {tail}"))?;
    let rows = st.query_map(params_from_iter(args), |row| {
        Ok(ObjectRow {
            name: row.get(0)?,
            created_at: stored(&row.get::<_, String>(1)?),
            size: row.get::<_, i64>(2)?.max(0) as u64,
            content_type: row.get(3)?,
            etag: row.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn find_row(c: &rusqlite::Connection, name: &str) -> Result<Option<ObjectRecord>> {
    let mut st = c.prepare_cached(
        "SELECT created_at, size, content_type, etag, deleted FROM object
         WHERE deleted IN (0, 1) AND name = ?1 ORDER BY created_at DESC LIMIT 1",
    )?;
    Ok(st
        .query_row([name], |row| {
            Ok(ObjectRecord {
                name: name.to_string(),
                created_at: stored(&row.get::<_, String>(0)?),
                size: row.get::<_, i64>(1)?.max(0) as u64,
                content_type: row.get(2)?,
                etag: row.get(3)?,
                deleted: row.get::<_, i64>(4)? != 0,
            })
        })
        .optional()?)
}

/// Newest `created_at` wins; the row of a name is replaced whole (live and
/// tombstone rows of one name never coexist).
fn merge_row(tx: &Transaction, rec: &ObjectRecord) -> Result<Applied> {
    if let Some(old) = find_row(tx, &rec.name)? {
        if old.created_at >= rec.created_at {
            return Ok(Applied::Stale);
        }
        tx.prepare_cached("DELETE FROM object WHERE deleted IN (0, 1) AND name = ?1")?.execute([&rec.name])?;
    }
    tx.prepare_cached(
        "INSERT INTO object (name, created_at, size, content_type, etag, deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        rec.name,
        rec.created_at.internal(),
        i64::try_from(rec.size).map_err(|_| Error::Invalid(format!("size {}", rec.size)))?,
        rec.content_type,
        rec.etag,
        i64::from(rec.deleted)
    ])?;
    Ok(Applied::Stored)
}

/// [`ContainerInfo::is_deleted`] from the three columns it needs (a row
/// update asks it every batch; the whole info parses the metadata JSON).
fn is_deleted(c: &rusqlite::Connection) -> Result<bool> {
    let mut st = c.prepare_cached("SELECT object_count, put_timestamp, delete_timestamp FROM container_info")?;
    Ok(st.query_row([], |r| {
        let (count, put, delete): (i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        Ok(count <= 0 && stored(&delete) > stored(&put))
    })?)
}

fn read_info(c: &rusqlite::Connection) -> Result<ContainerInfo> {
    let mut st = c.prepare_cached(
        "SELECT account, container, created_at, put_timestamp, delete_timestamp, status_changed_at,
                object_count, bytes_used, reported_put_timestamp, reported_delete_timestamp,
                reported_object_count, reported_bytes_used, metadata, id FROM container_info",
    )?;
    let (info, meta) = st.query_row([], |r| {
        let ts = |i: usize| -> rusqlite::Result<Timestamp> { Ok(stored(&r.get::<_, String>(i)?)) };
        let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
        Ok((
            ContainerInfo {
                account: r.get(0)?,
                container: r.get(1)?,
                created_at: ts(2)?,
                put_timestamp: ts(3)?,
                delete_timestamp: ts(4)?,
                status_changed_at: ts(5)?,
                object_count: n(6)?,
                bytes_used: n(7)?,
                reported_put_timestamp: ts(8)?,
                reported_delete_timestamp: ts(9)?,
                reported_object_count: n(10)?,
                reported_bytes_used: n(11)?,
                metadata: Metadata::new(),
                id: r.get(13)?,
            },
            r.get::<_, String>(12)?,
        ))
    })?;
    Ok(ContainerInfo { metadata: metadata::from_json(&meta)?, ..info })
}

#[cfg(test)]
#[path = "container_tests.rs"]
mod tests;
