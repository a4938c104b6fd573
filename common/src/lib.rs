//! swiftlet-common: the vocabulary every swiftlet crate shares, with no
//! dependency of its own (the proxy links it, not SQLite).
//!
//! | module | what |
//! |---|---|
//! | [`timestamp`] | Swift's `X-Timestamp` forms ([`Timestamp`]) |
//! | [`ini`] | the INI files Swift reads (`swift.conf`, the server configs) |
//! | [`constraints`] | Swift's constraints: defaults and `[swift-constraints]` |
//! | [`config`] | typed reads of one section with `[DEFAULT]` behind it, the common server keys' getters, `log_level` |
//! | [`log`] | messages on stderr filtered by `log_level` |
//! | [`date`] | UTC calendar dates (HTTP dates, log lines, listings) |
//! | [`percent`] | %-encoding and decoding of paths |
//! | [`hex`] | lower-case hex |
//! | [`etag`] | ETag normalisation |
//! | [`xml`] | XML text escaping |
//!
//! And [`POLICY_NAME`], the one storage policy.
#![forbid(unsafe_code)]

pub mod config;
pub mod constraints;
pub mod date;
pub mod etag;
pub mod hex;
pub mod ini;
pub mod log;
pub mod percent;
pub mod timestamp;
pub mod xml;

pub use config::{ConfigError, LogLevel, Section};
pub use ini::Ini;
pub use log::Logger;
pub use timestamp::Timestamp;

/// The name of swiftlet's one storage policy (policy 0).
pub const POLICY_NAME: &str = "Policy-0";
