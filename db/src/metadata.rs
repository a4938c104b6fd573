//! Container and account metadata: every key carries the timestamp of the
//! request that set it, the newest timestamp per key wins, and an empty
//! value is a removal kept (as a tombstone) until `reclaim_age` so that an
//! older POST arriving late cannot bring the key back. Stored as Swift
//! does, a JSON object `{"X-Container-Meta-Color": ["blue", "1700000000.12345"]}`.

use crate::error::{Error, Result};
use common::Timestamp;
use std::collections::BTreeMap;

/// Key (a header name as the handler canonicalized it) → (value, timestamp).
pub type Metadata = BTreeMap<String, (String, Timestamp)>;

/// Merges `updates` into `meta`, newest timestamp per key winning (ties
/// keep what is there). Returns true if anything changed.
pub fn merge(meta: &mut Metadata, updates: &Metadata) -> bool {
    let mut changed = false;
    for (k, (v, ts)) in updates {
        match meta.get(k) {
            Some((_, old)) if old >= ts => {}
            _ => {
                meta.insert(k.clone(), (v.clone(), *ts));
                changed = true;
            }
        }
    }
    changed
}

/// Most metadata items of any kind (user, system, ACLs, ...) a database
/// keeps, and their most bytes (names and values): every item is a header
/// of a HEAD answer, which must stay well inside what the proxy parses
/// (`http::head::MAX_HEADERS` = 200 headers, a 64 KiB block) beside the
/// answer's own ~20 headers. User metadata has Swift's tighter limits.
pub const MAX_STORED_ITEMS: usize = 150;
pub const MAX_STORED_SIZE: usize = 32 * 1024;

/// The limits of a database's metadata: Swift's `max_meta_count` and
/// `max_meta_overall_size` for user metadata (swift.conf's
/// `[swift-constraints]`; [`Limits::default`] is Swift's default), and
/// [`MAX_STORED_ITEMS`] and [`MAX_STORED_SIZE`] for all of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub count: usize,
    pub overall_size: usize,
}

impl From<&common::constraints::Constraints> for Limits {
    fn from(c: &common::constraints::Constraints) -> Limits {
        Limits { count: c.max_meta_count, overall_size: c.max_meta_overall_size }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::from(&common::constraints::Constraints::default())
    }
}

/// What metadata takes: user items and their bytes (the `X-*-Meta-`
/// prefix not counted), all items and their bytes. Keys without a value
/// (removals) take nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Usage {
    count: usize,
    size: usize,
    items: usize,
    bytes: usize,
}

fn usage(meta: &Metadata) -> Usage {
    let mut u = Usage::default();
    for (k, (v, _)) in meta.iter().filter(|(_, (v, _))| !v.is_empty()) {
        u.items += 1;
        u.bytes += k.len() + v.len();
        let lower = k.to_ascii_lowercase();
        if let Some(key) = lower.strip_prefix("x-account-meta-").or_else(|| lower.strip_prefix("x-container-meta-")) {
            u.count += 1;
            u.size += key.len() + v.len();
        }
    }
    u
}

impl Limits {
    /// Swift's `DatabaseBroker.validate_metadata`: what `updates` merged
    /// into `meta` would leave must stay within the limits. Checked on
    /// every write that sets metadata (PUT and POST alike, in the write
    /// transaction: [`crate::ContainerBroker::update_metadata_checked`]),
    /// so no series of writes, concurrent or not, can pile it up. Metadata
    /// already over a limit (a lowered limit, an older version) may still
    /// take updates that do not grow what is over. The error is Swift's
    /// 400 body.
    pub fn check(&self, meta: &Metadata, updates: &Metadata) -> std::result::Result<(), String> {
        let mut merged = meta.clone();
        merge(&mut merged, updates);
        let (before, after) = (usage(meta), usage(&merged));
        if after.count > self.count && after.count > before.count {
            return Err(format!("Too many metadata items; max {}", self.count));
        }
        if after.size > self.overall_size && after.size > before.size {
            return Err(format!("Total metadata too large; max {}", self.overall_size));
        }
        if after.items > MAX_STORED_ITEMS && after.items > before.items {
            return Err(format!("Too many metadata items; max {MAX_STORED_ITEMS} of every kind"));
        }
        if after.bytes > MAX_STORED_SIZE && after.bytes > before.bytes {
            return Err(format!("Total metadata too large; max {MAX_STORED_SIZE} bytes of every kind"));
        }
        Ok(())
    }
}

/// Drops removal tombstones (empty values) older than `age`.
pub fn reclaim(meta: &mut Metadata, age: Timestamp) -> bool {
    let before = meta.len();
    meta.retain(|_, (v, ts)| !(v.is_empty() && *ts < age));
    meta.len() != before
}

/// The keys with a value, as response headers.
pub fn visible(meta: &Metadata) -> impl Iterator<Item = (&str, &str)> {
    meta.iter().filter(|(_, (v, _))| !v.is_empty()).map(|(k, (v, _))| (k.as_str(), v.as_str()))
}

/// The stored form: `{"key": ["value", "timestamp"], ...}`.
pub fn to_json(meta: &Metadata) -> String {
    let map: serde_json::Map<String, serde_json::Value> =
        meta.iter().map(|(k, (v, ts))| (k.clone(), serde_json::Value::from(vec![v.clone(), ts.internal()]))).collect();
    serde_json::Value::Object(map).to_string()
}

/// Parses the stored form ([`to_json`]); an empty string is no metadata.
pub fn from_json(s: &str) -> Result<Metadata> {
    if s.is_empty() {
        return Ok(Metadata::new());
    }
    let bad = || Error::Invalid("stored metadata is not {key: [value, timestamp]}".into());
    let v: serde_json::Value = serde_json::from_str(s).map_err(|_| bad())?;
    let obj = v.as_object().ok_or_else(bad)?;
    let mut meta = Metadata::new();
    for (k, pair) in obj {
        let arr = pair.as_array().ok_or_else(bad)?;
        let (Some(val), Some(ts)) = (arr.first().and_then(|v| v.as_str()), arr.get(1).and_then(|v| v.as_str())) else {
            return Err(bad());
        };
        meta.insert(k.clone(), (val.to_string(), Timestamp::parse(ts)?));
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn m(items: &[(&str, &str, &str)]) -> Metadata {
        items.iter().map(|(k, v, t)| (k.to_string(), (v.to_string(), ts(t)))).collect()
    }

    #[test]
    fn aggregate_metadata_over_the_limit_is_refused_after_merging() {
        let big = "x".repeat(Limits::default().overall_size - 11);
        let meta = m(&[("X-Container-Meta-A", &big, "10")]);
        assert_eq!(Limits::default().check(&meta, &m(&[("X-Container-Meta-Bb", "12345678", "20")])), Ok(()));
        assert_eq!(
            Limits::default().check(&meta, &m(&[("X-Container-Meta-Bb", "123456789", "20")])),
            Err(format!("Total metadata too large; max {}", Limits::default().overall_size))
        );
        // Replacing or removing a key frees its share.
        assert_eq!(
            Limits::default().check(&meta, &m(&[("X-Container-Meta-A", "", "20"), ("X-Account-Meta-C", "y", "20")])),
            Ok(())
        );
        let many: Metadata =
            (0..=Limits::default().count).map(|i| (format!("X-Account-Meta-{i}"), ("v".into(), ts("1")))).collect();
        assert!(Limits::default().check(&Metadata::new(), &many).unwrap_err().starts_with("Too many metadata items"));
        // System metadata and ACLs count towards the stored total.
        let sys: Vec<(String, String, String)> =
            (0..151).map(|i| (format!("X-Container-Sysmeta-K{i}"), "v".to_string(), "20".to_string())).collect();
        let sys: Vec<(&str, &str, &str)> = sys.iter().map(|(k, v, t)| (k.as_str(), v.as_str(), t.as_str())).collect();
        assert!(Limits::default().check(&Metadata::new(), &m(&sys)).unwrap_err().contains("of every kind"));
        assert_eq!(Limits::default().check(&Metadata::new(), &m(&sys[..150])), Ok(()));
        let big = "x".repeat(8000);
        let huge: Vec<(String, String)> = (0..5).map(|i| (format!("X-Container-Sysmeta-B{i}"), big.clone())).collect();
        let huge: Vec<(&str, &str, &str)> = huge.iter().map(|(k, v)| (k.as_str(), v.as_str(), "20")).collect();
        assert!(Limits::default().check(&Metadata::new(), &m(&huge)).unwrap_err().contains("bytes of every kind"));
        // Configured limits apply, and what is already over may shrink.
        let tight = Limits { count: 2, overall_size: 4096 };
        let two = m(&[("X-Container-Meta-A", "1", "10"), ("X-Container-Meta-B", "1", "10")]);
        assert!(tight.check(&two, &m(&[("X-Container-Meta-C", "1", "20")])).is_err());
        let over = m(&[
            ("X-Container-Meta-A", "1", "10"),
            ("X-Container-Meta-B", "1", "10"),
            ("X-Container-Meta-C", "1", "10"),
        ]);
        assert_eq!(tight.check(&over, &m(&[("X-Container-Meta-A", "", "20")])), Ok(()), "a removal is taken");
        assert_eq!(tight.check(&over, &m(&[("X-Container-Read", ".r:*", "20")])), Ok(()), "so is an ACL");
        assert!(tight.check(&over, &m(&[("X-Container-Meta-D", "1", "20")])).is_err());
    }

    #[test]
    fn newest_timestamp_per_key_wins() {
        let mut meta = m(&[("X-Container-Meta-A", "1", "10"), ("X-Container-Meta-B", "1", "20")]);
        assert!(merge(&mut meta, &m(&[("X-Container-Meta-A", "2", "15"), ("X-Container-Meta-B", "2", "15")])));
        assert_eq!(meta["X-Container-Meta-A"].0, "2");
        assert_eq!(meta["X-Container-Meta-B"].0, "1");
        assert!(!merge(&mut meta, &m(&[("X-Container-Meta-A", "3", "15")])), "a tie keeps what is there");
    }

    #[test]
    fn empty_value_removes_and_blocks_older_values_until_reclaimed() {
        let mut meta = m(&[("X-Container-Meta-A", "1", "10")]);
        merge(&mut meta, &m(&[("X-Container-Meta-A", "", "20")]));
        assert_eq!(visible(&meta).count(), 0);
        merge(&mut meta, &m(&[("X-Container-Meta-A", "late", "15")]));
        assert_eq!(visible(&meta).count(), 0);
        assert!(!reclaim(&mut meta, ts("20")));
        assert!(reclaim(&mut meta, ts("21")));
        assert!(meta.is_empty());
    }

    #[test]
    fn json_round_trip_uses_swifts_shape() {
        let meta = m(&[("X-Container-Read", ".r:*", "1700000000.12345")]);
        let j = to_json(&meta);
        assert_eq!(j, r#"{"X-Container-Read":[".r:*","1700000000.12345"]}"#);
        assert_eq!(from_json(&j).unwrap(), meta);
        assert!(from_json("[1]").is_err());
        assert!(from_json("").unwrap().is_empty());
    }
}
