//! Functional tests of swiftlet as its users see it: a real cluster of the
//! built binaries, started through `swiftlet-aio` on free ports in a temp
//! folder ([`Cluster`]), or any external endpoint named by
//! `SWIFTLET_TEST_URL` (see [`Cluster::from_env`]); driven over plain
//! HTTP/1.1 ([`client`]) and with the real `curl`.
//!
//! The tests themselves live in `tests/tests/`: `api.rs` covers the proxy's
//! API surface, `curl.rs` every command the README shows and curl's upload
//! modes, `probe.rs` the replicator healing a cluster whose nodes the
//! tests kill, wipe and add ([`probe::ProbeCluster`]).
#![forbid(unsafe_code)]

pub mod client;
pub mod cluster;
pub mod probe;

pub use client::{Resp, Session};
pub use cluster::Cluster;
