//! Messages on stderr, `<process>: <LEVEL>: <message>`, dropped below the
//! process's `log_level`.
//!
//! Each server keeps one `static` [`Logger`] named for it (so a process
//! that runs two servers' code keeps their levels apart) and its own
//! access-line format on stdout.

use crate::config::LogLevel;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

/// A process's stderr logger; starts at `INFO`.
pub struct Logger {
    name: &'static str,
    level: AtomicU8,
}

impl Logger {
    /// A logger whose lines start with `name` (`proxy-server`).
    pub const fn new(name: &'static str) -> Logger {
        Logger { name, level: AtomicU8::new(LogLevel::Info as u8) }
    }

    /// Sets the level below which messages are dropped.
    pub fn set_level(&self, l: LogLevel) {
        self.level.store(l as u8, Ordering::Relaxed);
    }

    /// Whether a message at `l` would be written.
    pub fn enabled(&self, l: LogLevel) -> bool {
        l as u8 >= self.level.load(Ordering::Relaxed)
    }

    fn emit(&self, l: LogLevel, tag: &str, msg: &str) {
        if self.enabled(l) {
            let _ = writeln!(std::io::stderr().lock(), "{}: {tag}: {msg}", self.name);
        }
    }

    pub fn error(&self, msg: &str) {
        self.emit(LogLevel::Error, "ERROR", msg)
    }

    pub fn warn(&self, msg: &str) {
        self.emit(LogLevel::Warning, "WARNING", msg)
    }

    pub fn info(&self, msg: &str) {
        self.emit(LogLevel::Info, "INFO", msg)
    }

    pub fn debug(&self, msg: &str) {
        self.emit(LogLevel::Debug, "DEBUG", msg)
    }
}

/// Defines a server's logger, `pub static LOG`, with lines starting with
/// `$name`, and the module functions its code calls: `set_level`,
/// `error`, `warn`, `info`, `debug`.
#[macro_export]
macro_rules! server_logger {
    ($name:expr) => {
        /// This server's stderr logger.
        pub static LOG: $crate::Logger = $crate::Logger::new($name);

        /// Sets the level below which messages are dropped.
        pub fn set_level(l: $crate::LogLevel) {
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

        pub fn debug(msg: &str) {
            LOG.debug(msg)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_below_the_level_are_dropped() {
        let log = Logger::new("test");
        assert!(log.enabled(LogLevel::Info) && !log.enabled(LogLevel::Debug));
        log.set_level(LogLevel::Error);
        assert!(log.enabled(LogLevel::Error) && !log.enabled(LogLevel::Warning));
        log.set_level(LogLevel::Debug);
        assert!(log.enabled(LogLevel::Debug));
    }
}
