//! What the container and account brokers share (Swift keeps it in one
//! `DatabaseBroker`): the metadata column of the info row, merged and
//! validated in one write, and its old removals reclaimed.

use crate::conn::Db;
use crate::error::{Error, Result};
use crate::metadata::{self, Metadata};
use common::Timestamp;
use rusqlite::Transaction;

/// The metadata of a database's info row (`container_info` or `account_info`).
fn read(tx: &Transaction, table: &str) -> Result<Metadata> {
    let json: String = tx.query_row(&format!("SELECT metadata FROM {table}"), [], |r| r.get(0))?;
    metadata::from_json(&json)
}

fn write(tx: &Transaction, table: &str, meta: &Metadata) -> Result<()> {
    tx.execute(&format!("UPDATE {table} SET metadata = ?1"), [metadata::to_json(meta)])?;
    Ok(())
}

/// Merges `updates` into the info row's metadata (newest per key wins),
/// once `limits` (if given) allow what the merge would leave, in one write
/// transaction. Returns the merged metadata.
pub(crate) fn merge_metadata(
    db: &Db,
    table: &str,
    updates: &Metadata,
    limits: Option<&metadata::Limits>,
) -> Result<Metadata> {
    db.write(|tx| {
        let mut meta = read(tx, table)?;
        if let Some(limits) = limits {
            limits.check(&meta, updates).map_err(Error::Invalid)?;
        }
        if metadata::merge(&mut meta, updates) {
            write(tx, table, &meta)?;
        }
        Ok(meta)
    })
}

/// Drops the metadata removals older than `age`, inside a broker's own
/// reclaim transaction.
pub(crate) fn reclaim_metadata(tx: &Transaction, table: &str, age: Timestamp) -> Result<()> {
    let mut meta = read(tx, table)?;
    if metadata::reclaim(&mut meta, age) {
        write(tx, table, &meta)?;
    }
    Ok(())
}
