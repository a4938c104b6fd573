//! The proxy's messages on stderr, filtered by `log_level`
//! (`proxy-server: LEVEL: message`). The access log, one line per
//! request on stdout, is [`crate::middleware::proxy_logging`].

use common::LogLevel;
use common::Logger;

/// The proxy's stderr logger (`proxy-server: LEVEL: message`).
pub static LOG: Logger = Logger::new("proxy-server");

/// Sets the level below which messages are dropped.
pub fn set_level(l: LogLevel) {
    LOG.set_level(l)
}

pub fn error(msg: &str) {
    LOG.error(msg)
}

pub fn warn(msg: &str) {
    LOG.warn(msg)
}

pub fn info(msg: &str) {
    LOG.info(msg)
}
