//! Swift's timestamps: `1700000000.12345` (normal form, `%016.05f`) with an
//! optional internal offset `_%016x`. Stored in the databases as their
//! internal string, whose byte order is their time order (fixed width), so
//! SQL can compare them as text.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Ticks of 10 µs since the epoch, plus Swift's offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    ticks: u64,
    offset: u64,
}

/// Ticks per second (five decimals).
const TICKS: u64 = 100_000;
/// Largest normal form that still fits `%016.05f` (Swift's limit).
const MAX_SECONDS: u64 = 9_999_999_999;

impl Timestamp {
    /// Zero, which Swift stores as `'0'` for "never".
    pub const ZERO: Timestamp = Timestamp { ticks: 0, offset: 0 };

    pub fn now() -> Timestamp {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp { ticks: d.as_secs() * TICKS + u64::from(d.subsec_micros()) / 10, offset: 0 }
    }

    pub fn from_secs_f64(secs: f64) -> Timestamp {
        let ticks = (secs.max(0.0) * TICKS as f64).round() as u64;
        Timestamp { ticks: ticks.min((MAX_SECONDS + 1) * TICKS - 1), offset: 0 }
    }

    pub fn with_offset(self, offset: u64) -> Timestamp {
        Timestamp { offset, ..self }
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn secs_f64(&self) -> f64 {
        self.ticks as f64 / TICKS as f64
    }

    /// This time minus `secs` seconds (for `reclaim_age`), offset dropped.
    pub fn minus_secs(&self, secs: u64) -> Timestamp {
        Timestamp { ticks: self.ticks.saturating_sub(secs.saturating_mul(TICKS)), offset: 0 }
    }

    /// Parses what Swift accepts in `X-Timestamp`: `1700000000`,
    /// `1700000000.1`, `1700000000.12345`, `1700000000.12345_000000000000000a`,
    /// `0`, leading zeros and surrounding spaces (more than five decimals are
    /// rounded, as Swift does). Negative, malformed or at/above 10^10 s fails.
    pub fn parse(s: &str) -> Result<Timestamp, BadTimestamp> {
        let bad = || BadTimestamp(s.to_string());
        let t = s.trim();
        let (time, offset) = match t.split_once('_') {
            Some((v, o)) => {
                if o.is_empty() || o.len() > 16 || !o.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad());
                }
                (v, u64::from_str_radix(o, 16).map_err(|_| bad())?)
            }
            None => (t, 0),
        };
        let (int, frac) = time.split_once('.').unwrap_or((time, ""));
        if int.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let int = int.trim_start_matches('0');
        if int.len() > 10 {
            return Err(bad());
        }
        let secs: u64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad())? };
        // Round to five decimals: look at the sixth digit.
        let mut ticks_frac = 0u64;
        for i in 0..5 {
            ticks_frac = ticks_frac * 10 + frac.as_bytes().get(i).map_or(0, |b| u64::from(b - b'0'));
        }
        let mut ticks = secs * TICKS + ticks_frac;
        if frac.as_bytes().get(5).is_some_and(|b| *b >= b'5') {
            ticks += 1;
        }
        if ticks >= (MAX_SECONDS + 1) * TICKS {
            return Err(bad());
        }
        Ok(Timestamp { ticks, offset })
    }

    /// A timestamp of whole seconds (for tests and expiry).
    pub fn from_secs(secs: u64) -> Timestamp {
        Timestamp { ticks: secs.min(MAX_SECONDS) * TICKS, offset: 0 }
    }

    /// Whole seconds, rounded up (Swift's `Last-Modified`).
    pub fn ceil_secs(&self) -> u64 {
        self.ticks.div_ceil(TICKS)
    }

    /// Whole seconds, rounded down.
    pub fn secs(&self) -> u64 {
        self.ticks / TICKS
    }

    /// `1700000000.12345`, zero-padded to 16 characters.
    pub fn normal(&self) -> String {
        format!("{:010}.{:05}", self.ticks / TICKS, self.ticks % TICKS)
    }

    /// The normal form, plus `_%016x` when there is an offset.
    pub fn internal(&self) -> String {
        if self.offset == 0 {
            self.normal()
        } else {
            format!("{}_{:016x}", self.normal(), self.offset)
        }
    }

    /// `2023-11-14T22:13:20.123450` (UTC, microseconds), as Swift's
    /// `Timestamp.isoformat` prints `last_modified` in listings.
    pub fn isoformat(&self) -> String {
        let secs = self.ticks / TICKS;
        let micros = (self.ticks % TICKS) * 10;
        let rem = secs % 86_400;
        let (y, m, d) = crate::date::civil_from_days(secs / 86_400);
        format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}", rem / 3600, rem / 60 % 60, rem % 60)
    }
}

/// A string that is not one of Swift's timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTimestamp(pub String);

impl fmt::Display for BadTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timestamp {:?}", self.0)
    }
}

impl std::error::Error for BadTimestamp {}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.internal())
    }
}

/// Parses a stored timestamp column; Swift stores `'0'` for "never".
pub fn stored(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap_or(Timestamp::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_and_internal_forms_match_swift() {
        let t = Timestamp::parse("1700000000.12345").unwrap();
        assert_eq!(t.normal(), "1700000000.12345");
        assert_eq!(Timestamp::parse("1700000000").unwrap().normal(), "1700000000.00000");
        assert_eq!(Timestamp::parse("1.5").unwrap().normal(), "0000000001.50000");
        assert_eq!(Timestamp::parse("0").unwrap().internal(), "0000000000.00000");
        let o = Timestamp::parse("1700000000.12345_000000000000000a").unwrap();
        assert_eq!(o.offset(), 10);
        assert_eq!(o.internal(), "1700000000.12345_000000000000000a");
        assert!(o > t);
        assert_eq!(Timestamp::parse("1700000000.123456").unwrap().normal(), "1700000000.12346");
    }

    #[test]
    fn bad_timestamps_are_rejected() {
        for s in ["", "abc", "-1", "1.2.3", "1_", "1_xyz", "99999999999", "1e9", "1 2", "1_00000000000000001"] {
            assert!(Timestamp::parse(s).is_err(), "{s:?}");
        }
        // Python's float() takes surrounding spaces and leading zeros.
        assert_eq!(Timestamp::parse(" 0001 ").unwrap().normal(), "0000000001.00000");
    }

    #[test]
    fn string_order_is_time_order() {
        let v = ["1.5", "10", "1700000000.12345", "1700000000.12345_0000000000000001", "1700000000.12346"];
        let ts: Vec<_> = v.iter().map(|s| Timestamp::parse(s).unwrap()).collect();
        for w in ts.windows(2) {
            assert!(w[0] < w[1]);
            assert!(w[0].internal() < w[1].internal());
        }
    }

    #[test]
    fn isoformat_is_utc_with_microseconds() {
        assert_eq!(Timestamp::parse("0").unwrap().isoformat(), "1970-01-01T00:00:00.000000");
        assert_eq!(Timestamp::parse("1700000000.12345").unwrap().isoformat(), "2023-11-14T22:13:20.123450");
        assert_eq!(Timestamp::parse("951782400").unwrap().isoformat(), "2000-02-29T00:00:00.000000");
    }
}
