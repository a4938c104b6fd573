//! swiftlet-server: what every swiftlet server process (object server,
//! proxy) does the same way around its own handlers: [`worker`], a
//! worker's start-up (listen, `READY=1` once all listen, `STOPPING=1` on
//! stop, the http `ServerConfig` from the config keys), and the process's
//! [`pid`], and the config keys every server reads alike ([`ServerKeys`]).
//! Config sections, logging and dates are `common`'s.
#![forbid(unsafe_code)]

pub mod keys;
pub mod worker;

pub use keys::ServerKeys;

/// This process's id, asked of the kernel once (glibc no longer caches
/// it, and it goes into every access line and backend `User-Agent`).
pub fn pid() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}
