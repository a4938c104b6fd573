//! swiftlet-proxy: the public endpoint, Swift's API v1.
//!
//! * [`config`], [`constraints`]: `proxy-server.conf` and swift.conf;
//! * [`endpoint`]: routing of a request target to an [`endpoint::Endpoint`];
//! * [`tempauth`], [`acl`]: tokens, users, authorization, container ACLs;
//! * [`backend`]: rings, node order, error limiting, quorum;
//! * [`controller`]: what the controllers share (header filtering,
//!   container info, authorization);
//! * [`account`], [`container`], [`obj`], [`putter`]: the controllers;
//! * [`getter`]: reading an object from its nodes, resuming mid-body;
//! * [`dlo`]: dynamic large objects (`X-Object-Manifest`);
//! * [`symlink`]: symlinks (`X-Symlink-Target`), followed by GET/HEAD;
//! * [`cors`]: CORS preflights and answer headers;
//! * [`tempurl`]: temporary URLs (signed, expiring object access);
//! * [`server`], [`log`]: the process (start-up shared via `swiftlet_server`);
//! * [`error`]: the one error type and its HTTP status.
//!
//! Design: docs/proxy.md.
#![forbid(unsafe_code)]

pub mod account;
pub mod acl;
pub mod backend;
pub mod config;
pub mod constraints;
pub mod container;
pub mod controller;
pub mod copy;
pub mod cors;
pub mod dlo;
pub mod endpoint;
pub mod error;
pub mod getter;
pub mod infocache;
pub mod log;
pub mod mimetypes;
pub mod obj;
pub mod putter;
pub mod server;
pub mod symlink;
pub mod tempauth;
pub mod tempurl;
#[cfg(test)]
mod testkit;

pub use config::Config;
pub use error::{Error, Result};
pub use server::run;
