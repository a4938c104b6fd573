//! Typed reads of Swift's INI config files.
//!
//! A server reads its own section (`[app:object-server]`,
//! `[app:proxy-server]`, ...) and falls back to `[DEFAULT]` for every key,
//! as Swift's paste.deploy does. A missing key is its default; a malformed
//! value is a [`ConfigError`] that names the section it was found in and
//! its key. Which keys exist, and their defaults, stay with each server.

use crate::ini::Ini;
use std::fmt;
use std::time::Duration;

/// A malformed value: `config [section] key: reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The section the value was read from (the server's or `DEFAULT`).
    pub section: String,
    pub key: String,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config [{}] {}: {}", self.section, self.key, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// How much a process logs (`log_level`), least severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
}

/// Swift's log level names: `NOTICE` counts as `INFO`, `CRITICAL` as
/// `ERROR`; case does not matter.
pub fn parse_log_level(v: &str) -> Option<LogLevel> {
    match v.to_ascii_uppercase().as_str() {
        "DEBUG" => Some(LogLevel::Debug),
        "INFO" | "NOTICE" => Some(LogLevel::Info),
        "WARNING" | "WARN" => Some(LogLevel::Warning),
        "ERROR" | "CRITICAL" => Some(LogLevel::Error),
        _ => None,
    }
}

/// Swift's `config_true_value` and its false values; `None` for anything
/// else.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

/// A view of one section of the INI file with `[DEFAULT]` behind it.
pub struct Section<'a> {
    pub ini: &'a Ini,
    pub name: &'a str,
}

impl Section<'_> {
    /// The value of `key` (lossy UTF-8) and the section it came from.
    fn raw(&self, key: &str) -> Option<(String, &str)> {
        if let Some(v) = self.ini.get(self.name, key) {
            return Some((String::from_utf8_lossy(v).into_owned(), self.name));
        }
        self.ini.get("DEFAULT", key).map(|v| (String::from_utf8_lossy(v).into_owned(), "DEFAULT"))
    }

    /// `default` if `key` is absent, else `f` of its trimmed value; `None`
    /// from `f` is an error saying `what` was expected.
    pub fn parse<T>(&self, key: &str, default: T, what: &str, f: impl Fn(&str) -> Option<T>) -> Result<T, ConfigError> {
        match self.raw(key) {
            None => Ok(default),
            Some((v, section)) => f(v.trim()).ok_or_else(|| ConfigError {
                section: section.to_string(),
                key: key.to_string(),
                reason: format!("{what} expected, got {v:?}"),
            }),
        }
    }

    /// The value as written (untrimmed), or `default`.
    pub fn string(&self, key: &str, default: &str) -> String {
        self.raw(key).map(|(v, _)| v).unwrap_or_else(|| default.to_string())
    }

    /// A boolean in Swift's spellings ([`parse_bool`]).
    pub fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        self.parse(key, default, "a boolean (true/false)", parse_bool)
    }

    /// A number greater than zero.
    pub fn positive<T: std::str::FromStr + PartialOrd + Default>(
        &self,
        key: &str,
        default: T,
    ) -> Result<T, ConfigError> {
        self.parse(key, default, "a positive number", |v| v.parse().ok().filter(|n| *n > T::default()))
    }

    /// A duration in (fractional) seconds, more than 0 and under 1e9.
    pub fn seconds(&self, key: &str, default: f64) -> Result<Duration, ConfigError> {
        self.parse(key, Duration::from_secs_f64(default), "a number of seconds", |v| {
            v.parse::<f64>().ok().filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9).map(Duration::from_secs_f64)
        })
    }

    /// `log_level`: DEBUG, INFO, WARNING or ERROR ([`parse_log_level`]).
    pub fn log_level(&self, key: &str, default: LogLevel) -> Result<LogLevel, ConfigError> {
        self.parse(key, default, "DEBUG, INFO, WARNING or ERROR", parse_log_level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_section_overrides_default_and_errors_name_where_the_value_was() {
        let ini = Ini::parse(b"[DEFAULT]\na = 1\nb = 2\nt = soon\n[app:x]\nb = 3\n");
        let s = Section { ini: &ini, name: "app:x" };
        assert_eq!(s.positive::<u32>("a", 9), Ok(1));
        assert_eq!(s.positive::<u32>("b", 9), Ok(3));
        assert_eq!(s.positive::<u32>("c", 9), Ok(9));
        let e = s.seconds("t", 1.0).unwrap_err();
        assert_eq!((e.section.as_str(), e.key.as_str()), ("DEFAULT", "t"));
        assert!(e.to_string().starts_with("config [DEFAULT] t: a number of seconds expected"), "{e}");
    }

    #[test]
    fn bools_and_levels_take_swifts_spellings() {
        assert_eq!(parse_bool("Yes"), Some(true));
        assert_eq!(parse_bool("off"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
        assert_eq!(parse_log_level("notice"), Some(LogLevel::Info));
        assert_eq!(parse_log_level("CRITICAL"), Some(LogLevel::Error));
        assert_eq!(parse_log_level("loud"), None);
    }
}
