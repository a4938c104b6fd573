//! Swift's layout under `devices/{device}/`:
//! `objects/{partition}/{suffix}/{hash}/{timestamp}.data|.ts|.meta`,
//! `tmp/`, `async_pending/`, `quarantined/objects/`. The suffix is the
//! last three hex digits of the hash.
//!
//! [`classify`] applies Swift's rules to the files of one hash folder:
//! the newest `.data` or `.ts` wins, a `.meta` newer than a winning
//! `.data` applies (the newest one), everything else is obsolete; a `.ts`
//! older than `reclaim_age` is obsolete too.

use crate::context::Context;
use crate::path::ObjectPath;
use crate::timestamp::Timestamp;
use std::path::PathBuf;

pub const OBJECTS: &str = "objects";
pub const TMP: &str = "tmp";
pub const ASYNC_PENDING: &str = "async_pending";
pub const QUARANTINED: &str = "quarantined";

/// Where one object lives.
#[derive(Clone, Debug)]
pub struct Location {
    pub device: String,
    /// `devices/{device}`.
    pub device_dir: PathBuf,
    pub partition: u32,
    /// Hex md5 of the name (Swift's `hash_path`).
    pub hash: String,
}

impl Location {
    pub fn new(ctx: &Context, path: &ObjectPath) -> Location {
        let hash = ctx
            .hasher()
            .hash_path(&path.account, Some(&path.container), Some(&path.object))
            .unwrap_or_else(|_| String::from("0").repeat(32));
        Location {
            device: path.device.clone(),
            device_dir: ctx.device_path(&path.device),
            partition: path.partition,
            hash,
        }
    }

    pub fn suffix(&self) -> &str {
        &self.hash[self.hash.len() - 3..]
    }

    /// `objects/{partition}`.
    pub fn partition_dir(&self) -> PathBuf {
        self.device_dir.join(OBJECTS).join(self.partition.to_string())
    }

    /// `objects/{partition}/{suffix}/{hash}`, built in one allocation (it
    /// is on every request's path).
    pub fn hash_dir(&self) -> PathBuf {
        let dev = self.device_dir.as_os_str();
        let mut path = std::ffi::OsString::with_capacity(dev.len() + OBJECTS.len() + 16 + self.hash.len() + 8);
        path.push(dev);
        path.push("/");
        path.push(OBJECTS);
        path.push("/");
        path.push(self.partition.to_string());
        path.push("/");
        path.push(self.suffix());
        path.push("/");
        path.push(&self.hash);
        PathBuf::from(path)
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.device_dir.join(TMP)
    }
}

/// A suffix folder's name: three hex digits (the end of a hash).
pub fn is_suffix(name: &str) -> bool {
    name.len() == 3 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A hash folder's name: 32 lowercase hex digits (an md5, as written).
pub fn is_hash(name: &str) -> bool {
    name.len() == 32 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The names in a folder, sorted. Blocking.
pub fn list_names(dir: &std::path::Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The kind of an object file, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Data,
    Meta,
    Tombstone,
}

impl Kind {
    pub fn ext(self) -> &'static str {
        match self {
            Kind::Data => ".data",
            Kind::Meta => ".meta",
            Kind::Tombstone => ".ts",
        }
    }
}

/// `{timestamp}{ext}` for a file of this kind.
pub fn file_name(ts: Timestamp, kind: Kind) -> String {
    format!("{}{}", ts.internal(), kind.ext())
}

/// Parses `{timestamp}.data|.meta|.ts`; anything else is not ours.
pub fn parse_file_name(name: &str) -> Option<(Timestamp, Kind)> {
    let (stem, kind) = if let Some(s) = name.strip_suffix(".data") {
        (s, Kind::Data)
    } else if let Some(s) = name.strip_suffix(".meta") {
        (s, Kind::Meta)
    } else if let Some(s) = name.strip_suffix(".ts") {
        (s, Kind::Tombstone)
    } else {
        return None;
    };
    let ts = Timestamp::parse(stem).ok()?;
    (ts.internal() == stem).then_some((ts, kind))
}

/// What a hash folder holds, by Swift's rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OnDisk {
    pub data: Option<Timestamp>,
    pub meta: Option<Timestamp>,
    pub tombstone: Option<Timestamp>,
    /// Files to remove.
    pub obsolete: Vec<String>,
}

impl OnDisk {
    /// The timestamp of the winning `.data` or `.ts`.
    pub fn winner(&self) -> Option<Timestamp> {
        self.data.or(self.tombstone)
    }
}

/// Sorts the names of one hash folder out (see the module docs). `now` and
/// `reclaim_age_secs` reclaim old tombstones.
pub fn classify(names: &[String], now: Timestamp, reclaim_age_secs: u64) -> OnDisk {
    let mut files: Vec<(Timestamp, Kind, &String)> =
        names.iter().filter_map(|n| parse_file_name(n).map(|(t, k)| (t, k, n))).collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut out = OnDisk::default();
    let mut newer_metas: Vec<(Timestamp, &String)> = Vec::new();
    // A tombstone past reclaim_age is gone, and so is everything older:
    // a .data it had deleted never comes back.
    let mut reclaimed = false;
    for (ts, kind, name) in files {
        if out.winner().is_some() || reclaimed {
            out.obsolete.push(name.clone());
            continue;
        }
        match kind {
            Kind::Meta => newer_metas.push((ts, name)),
            Kind::Data => out.data = Some(ts),
            Kind::Tombstone => {
                if ts.secs().saturating_add(reclaim_age_secs) < now.secs() {
                    out.obsolete.push(name.clone());
                    reclaimed = true;
                } else {
                    out.tombstone = Some(ts);
                }
            }
        }
    }
    // Metas apply only over a .data; only the newest is kept.
    for (i, (ts, name)) in newer_metas.into_iter().enumerate() {
        if i == 0 && out.data.is_some() {
            out.meta = Some(ts);
        } else {
            out.obsolete.push(name.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn location_follows_swifts_layout() {
        let loc = Location {
            device: "sda".into(),
            device_dir: PathBuf::from("/srv/node/sda"),
            partition: 123,
            hash: "d41d8cd98f00b204e9800998ecf8427e".into(),
        };
        assert_eq!(loc.suffix(), "27e");
        assert_eq!(loc.hash_dir(), PathBuf::from("/srv/node/sda/objects/123/27e/d41d8cd98f00b204e9800998ecf8427e"));
        assert_eq!(file_name(ts("1700000000.5"), Kind::Data), "1700000000.50000.data");
        assert_eq!(parse_file_name("1700000000.50000.ts"), Some((ts("1700000000.5"), Kind::Tombstone)));
        assert_eq!(parse_file_name("1700000000.5.ts"), None);
        assert_eq!(parse_file_name("hashes.json"), None);
    }

    #[test]
    fn newest_data_wins_and_older_files_are_obsolete() {
        let d = classify(
            &names(&["0000000001.00000.data", "0000000002.00000.data", "0000000003.00000.meta", "junk"]),
            ts("10"),
            100,
        );
        assert_eq!(d.data, Some(ts("2")));
        assert_eq!(d.meta, Some(ts("3")));
        assert_eq!(d.obsolete, names(&["0000000001.00000.data"]));
    }

    #[test]
    fn tombstone_wins_over_older_data_and_drops_metas() {
        let d =
            classify(&names(&["0000000001.00000.data", "0000000002.00000.ts", "0000000003.00000.meta"]), ts("10"), 100);
        assert_eq!(d.tombstone, Some(ts("2")));
        assert_eq!(d.data, None);
        assert_eq!(d.meta, None);
        let mut obsolete = d.obsolete.clone();
        obsolete.sort();
        assert_eq!(obsolete, names(&["0000000001.00000.data", "0000000003.00000.meta"]));
    }

    #[test]
    fn only_the_newest_meta_is_kept_and_old_tombstones_are_reclaimed() {
        let d = classify(
            &names(&["0000000001.00000.data", "0000000002.00000.meta", "0000000003.00000.meta"]),
            ts("10"),
            100,
        );
        assert_eq!(d.meta, Some(ts("3")));
        assert_eq!(d.obsolete, names(&["0000000002.00000.meta"]));
        let d = classify(&names(&["0000000001.00000.ts"]), ts("1000"), 100);
        assert_eq!(d.winner(), None);
        assert_eq!(d.obsolete, names(&["0000000001.00000.ts"]));
        // An older .data beside a reclaimed tombstone stays deleted.
        let d = classify(&names(&["0000000001.00000.data", "0000000002.00000.ts"]), ts("1000"), 100);
        assert_eq!(d.winner(), None);
        assert_eq!(d.obsolete.len(), 2);
        // No overflow with the longest reclaim_age.
        assert_eq!(classify(&names(&["0000000002.00000.ts"]), ts("1000"), u64::MAX).tombstone, Some(ts("2")));
    }
}
