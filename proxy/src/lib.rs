//! swiftlet-proxy: the public endpoint, Swift's API v1. Laid out as
//! Swift's proxy: a request goes through the [`pipeline`] (Swift's
//! middleware, in Swift's order) to a controller, which talks to the
//! storage nodes.
//!
//! * [`server`]: the process (workers, start-up shared via `swiftlet_server`);
//! * [`pipeline`]: one request through the middleware to its controller,
//!   errors answered in one place;
//! * [`app`]: the state every handler reads ([`App`]: config, TempAuth,
//!   rings, info caches);
//! * [`controllers`]: account, container and object controllers, `/info`,
//!   CORS, what they share ([`controllers::base`]) and the backend
//!   requests (node order, error limiting, quorum);
//! * [`middleware`]: healthcheck, the access log, TempURL, TempAuth and
//!   ACLs, copy, DLO, symlinks;
//! * [`config`], [`constraints`]: `proxy-server.conf` and swift.conf;
//! * [`endpoint`]: routing of a request target to an [`endpoint::Endpoint`];
//! * [`infocache`]: container and account info kept per process;
//! * [`mimetypes`]: Python's content types by extension;
//! * [`log`]: messages on stderr;
//! * [`error`]: the one error type and its HTTP status.
//!
//! Design: docs/proxy.md.
#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod constraints;
pub mod controllers;
pub mod endpoint;
pub mod error;
pub mod infocache;
pub mod log;
pub mod middleware;
pub mod mimetypes;
pub mod pipeline;
pub mod server;
#[cfg(test)]
mod testkit;

pub use app::App;
pub use config::Config;
pub use error::{Error, Result};
pub use server::run;
