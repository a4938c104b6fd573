//! swiftlet-ring: OpenStack Swift's consistent-hash ring.
//!
//! * [`hash`]: Swift's name hashing and partitions, secrets from `swift.conf`
//!   (read with `common::Ini`);
//! * [`device`]: devices and the operator syntaxes naming them;
//! * [`ringdata`]: the compact ring file ([`file`] frames it and writes
//!   atomically);
//! * [`runtime`]: [`Ring`], the lookup servers use: `nodes()`, `handoffs()`
//!   ([`handoff`]), reload on change;
//! * [`builder`]: [`RingBuilder`], placement, rebalance, reports, builder files;
//! * [`cli`]: the `swiftlet-ring-builder` and `swiftlet-get-nodes` commands.
//!
//! File formats: docs/ring-format.md.
#![forbid(unsafe_code)]

pub mod builder;
pub mod cli;
pub mod device;
pub mod error;
pub mod file;
pub mod handoff;
pub mod hash;
pub mod ringdata;
pub mod runtime;

pub use builder::{InfoChange, NewDevice, Rebalanced, RingBuilder};
pub use device::{DevId, Device, Search};
pub use error::{Error, Result};
pub use handoff::Handoffs;
pub use hash::{partition, PathHasher};
pub use ringdata::RingData;
pub use runtime::Ring;
