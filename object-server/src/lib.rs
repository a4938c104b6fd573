//! swiftlet-object-server: the storage node.
//!
//! Laid out as Swift's storage servers are, one folder a server with its
//! background work beside it:
//!
//! * [`object`]: the object server (`object/`: handlers, `diskfile/`,
//!   the container updates of its writes and the object updater; the
//!   object replicator and auditor go here);
//! * [`container`]: the container server (`container/`: handlers, the
//!   account updates of its databases and the container updater; the
//!   container replicator, auditor and sharder go here);
//! * [`account`]: the account server (`account/`; the account replicator,
//!   auditor and reaper go here);
//! * [`database`]: the database plumbing the account and container
//!   servers share (open databases, `tpool` calls, errors, listings);
//! * [`path`]: backend paths, validated, and routing by depth;
//! * [`ranges`], [`conditional`], [`timestamp`]: Swift's HTTP rules;
//! * [`config`], [`context`] (what every handler gets: config, devices,
//!   hasher), [`server`] (the process: workers, access log, start-up
//!   shared via `swiftlet_server`), [`log`], [`error`] (the one error
//!   type and its HTTP status).
//!
//! On-disk format, durability and status codes: docs/object-server.md.
#![forbid(unsafe_code)]

pub mod account;
pub mod conditional;
pub mod config;
pub mod container;
pub mod context;
pub mod daemon;
pub mod database;
pub mod error;
pub mod log;
pub mod object;
pub mod path;
pub mod ranges;
pub mod server;
pub mod timestamp;

pub use config::Config;
pub use context::Context;
pub use error::{Error, Result};
pub use server::run;
