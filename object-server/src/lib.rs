//! swiftlet-object-server: the storage node.
//!
//! * [`config`]: `object-server.conf` (Swift's keys and sections);
//! * [`context`]: what every handler gets (config, devices, hasher);
//! * [`path`]: backend paths, validated, and routing by depth;
//! * [`object`]: the backend object API (PUT/GET/HEAD/DELETE/POST/REPLICATE);
//! * [`account`], [`container`]: account and container handlers;
//! * [`diskfile`]: objects on disk: layout, format, write and read paths,
//!   quarantine, suffix hashes;
//! * [`ranges`], [`conditional`], [`timestamp`]: Swift's HTTP rules;
//! * [`container_update`], [`async_pending`], [`updater`]: container
//!   listings kept up to date, now or later;
//! * [`server`]: the process (workers, access log; start-up shared via
//!   `swiftlet_server`);
//! * [`error`]: the one error type and its HTTP status.
//!
//! On-disk format, durability and status codes: docs/object-server.md.
#![forbid(unsafe_code)]

pub mod account;
pub mod async_pending;
pub mod conditional;
pub mod config;
pub mod container;
pub mod container_update;
pub mod context;
pub mod diskfile;
pub mod error;
pub mod log;
pub mod object;
pub mod path;
pub mod ranges;
pub mod server;
pub mod timestamp;
pub mod updater;

pub use config::Config;
pub use context::Context;
pub use error::{Error, Result};
pub use server::run;
