//! swiftlet-server: what every swiftlet server process (object server,
//! proxy) does the same way around its own handlers.
//!
//! * [`config`]: typed reads of one section of Swift's INI config with
//!   `[DEFAULT]` behind it, errors naming section and key, `log_level`;
//! * [`log`]: messages on stderr filtered by `log_level` (each crate keeps
//!   its own access-line format);
//! * [`date`]: UTC calendar dates for HTTP headers and log lines;
//! * [`worker`]: a worker's start-up: listen, `READY=1` once all listen,
//!   `STOPPING=1` on stop, the http `ServerConfig` from the config keys.
#![forbid(unsafe_code)]

pub mod config;
pub mod date;
pub mod log;
pub mod worker;

pub use config::{ConfigError, LogLevel, Section};
pub use log::Logger;

/// This process's id, asked of the kernel once (glibc no longer caches
/// it, and it goes into every access line and backend `User-Agent`).
pub fn pid() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}
