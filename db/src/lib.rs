//! Container and account databases in SQLite, as Swift keeps them: one
//! file per container and per account, rows merged by "newest timestamp
//! wins", tombstones kept until `reclaim_age`, and the listings with all of
//! Swift's parameters and formats. No HTTP here: the object server's
//! container and account handlers call these brokers through
//! `hub::tpool::execute` (every call blocks).
//!
//! The on-disk schema and the durability of a row update are described in
//! docs/db-schema.md.
//!
//! | module | what |
//! |---|---|
//! | [`container`] | `ContainerBroker`: object rows, container info, metadata |
//! | [`account`] | `AccountBroker`: container rows, account info, metadata |
//! | [`listing`] | prefix / delimiter / marker / end_marker / reverse / path walk |
//! | [`format`] | plain, JSON and XML bodies; `format=` and `Accept` |
//! | [`metadata`] | per-key timestamps, removal by empty value |
//! | [`registry`] | cache of open brokers; database paths on a device |
//! | `conn` | connections, WAL, creation, group commit, quarantine |
//! | `shared` | what both brokers do alike (Swift's `DatabaseBroker`): the info row's metadata |

#![forbid(unsafe_code)]

pub mod account;
mod conn;
pub mod container;
mod error;
pub mod format;
pub mod listing;
pub mod metadata;
pub mod registry;
mod shared;

pub use account::{AccountBroker, AccountInfo, AccountPut, ContainerRow, ContainerUpdate, RowOutcome};
pub use common::Timestamp;
pub use conn::{commits, Kind, Options, Synchronous};
pub use container::{Applied, ContainerBroker, ContainerInfo, DeleteOutcome, ObjectRecord, ObjectRow, PutOutcome};
pub use error::{Error, Result};
pub use format::Format;
pub use listing::{Entry, ListParams, LISTING_LIMIT};
pub use metadata::Metadata;
pub use registry::{db_files, db_path, Brokers};

#[cfg(test)]
mod testutil;
