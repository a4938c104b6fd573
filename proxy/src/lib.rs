//! swiftlet-proxy: the public endpoint, Swift's API v1.
//!
//! * [`config`], [`constraints`]: `proxy-server.conf` and swift.conf;
//! * [`endpoint`]: routing of a request target to an [`endpoint::Endpoint`];
//! * [`controllers`]: account, container and object controllers, what
//!   they share, and the backend requests (rings, node order, error
//!   limiting, quorum);
//! * [`middleware`]: TempAuth and ACLs, TempURL, copy, DLO, symlinks,
//!   the access log;
//! * [`infocache`]: container and account info kept per process;
//! * [`server`], [`log`]: the process (start-up shared via `swiftlet_server`);
//! * [`error`]: the one error type and its HTTP status.
//!
//! Design: docs/proxy.md.
#![forbid(unsafe_code)]

pub mod config;
pub mod constraints;
pub mod controllers;
pub mod endpoint;
pub mod error;
pub mod infocache;
pub mod log;
pub mod middleware;
pub mod mimetypes;
pub mod server;
#[cfg(test)]
mod testkit;

pub use config::Config;
pub use error::{Error, Result};
pub use server::run;
