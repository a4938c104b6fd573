//! Per-partition suffix hashes, for replication (Swift's `hashes.pkl`,
//! as JSON).
//!
//! `objects/{part}/hashes.json` maps each suffix to the md5 of what its
//! hash folders hold (folder names and file names, after cleanup).
//! Every write appends its suffix to `objects/{part}/hashes.invalid`;
//! [`get_hashes`] folds those in, rehashes the invalid suffixes (and any
//! suffix folder it has not seen), and rewrites `hashes.json` atomically.
//! Three processes share these files (the object server: writes and
//! `REPLICATE`; the replicator; the auditor), so they are locked with
//! `flock`s of two files in the partition folder:
//!
//! * `.lock` (Swift's `lock_path`): writers append to `hashes.invalid`
//!   holding it shared; a hasher holds it exclusively only for the moment
//!   it takes the invalidations so far (into `hashes.invalid.taken`, read
//!   again if a hasher died before it finished). A client write never
//!   waits for a rehash, only for that moment.
//! * `.hashing.lock`: held exclusively through a whole [`get_hashes`], so
//!   two hashers (a replicator and a peer's `REPLICATE`) never interleave
//!   their reads and writes of `hashes.json`.
//!
//! Blocking: call them on `tpool` threads.
//!
//! The invalid file is appended without fsync (as Swift does): after a
//! power loss, a stale entry is possible until the suffix is next written
//! or named in a `REPLICATE` request.

use super::layout::{classify, is_suffix, list_names as list, Kind};
use crate::timestamp::Timestamp;
use md5::{Digest, Md5};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

pub const HASHES_FILE: &str = "hashes.json";
pub const INVALID_FILE: &str = "hashes.invalid";
/// The invalidations a hasher has taken and not yet folded in.
pub const TAKEN_FILE: &str = "hashes.invalid.taken";
/// The lock of `hashes.invalid`: shared by writers, exclusive for a taker.
pub const LOCK_FILE: &str = ".lock";
/// The lock of the hashers.
pub const HASHING_LOCK_FILE: &str = ".hashing.lock";

/// Suffix to hash (`None`: to recalculate).
pub type Hashes = BTreeMap<String, Option<String>>;

/// Holds the partition's lock (every process and thread) until dropped.
pub struct PartitionLock {
    _file: fs::File,
}

/// Takes a lock of the partition (`name`, shared or exclusive), waiting
/// for the holders that exclude it. Blocking.
fn lock(part_dir: &Path, name: &str, shared: bool) -> io::Result<PartitionLock> {
    use rustix::fs::FlockOperation::{LockExclusive, LockShared};
    let f = fs::OpenOptions::new().create(true).truncate(false).write(true).open(part_dir.join(name))?;
    rustix::fs::flock(&f, if shared { LockShared } else { LockExclusive })?;
    Ok(PartitionLock { _file: f })
}

/// Marks `suffix` of the partition as changed. Blocking: call on `tpool`.
pub fn invalidate(part_dir: &Path, suffix: &str) -> io::Result<()> {
    let _held = lock(part_dir, LOCK_FILE, true)?;
    let mut f = fs::OpenOptions::new().create(true).append(true).open(part_dir.join(INVALID_FILE))?;
    f.write_all(format!("{suffix}\n").as_bytes())
}

/// Hashes one suffix folder, removing obsolete files and empty folders on
/// the way. `None` if the suffix folder is gone or empty.
pub fn hash_suffix(suffix_dir: &Path, now: Timestamp, reclaim_age_secs: u64) -> io::Result<Option<String>> {
    let hash_dirs = match list(suffix_dir) {
        Ok(h) => h,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut md5 = Md5::new();
    let mut any = false;
    for hash in hash_dirs {
        let dir = suffix_dir.join(&hash);
        let Ok(names) = list(&dir) else { continue };
        let on_disk = classify(&names, now, reclaim_age_secs);
        for name in &on_disk.obsolete {
            let _ = fs::remove_file(dir.join(name));
        }
        let kept: Vec<String> = [
            on_disk.data.map(|t| super::layout::file_name(t, Kind::Data)),
            on_disk.tombstone.map(|t| super::layout::file_name(t, Kind::Tombstone)),
            on_disk.meta.map(|t| super::layout::file_name(t, Kind::Meta)),
        ]
        .into_iter()
        .flatten()
        .collect();
        if kept.is_empty() {
            let _ = fs::remove_dir(&dir);
            continue;
        }
        any = true;
        md5.update(hash.as_bytes());
        for k in kept {
            md5.update(k.as_bytes());
        }
    }
    if !any {
        let _ = fs::remove_dir(suffix_dir);
        return Ok(None);
    }
    Ok(Some(common::hex::hex(&md5.finalize())))
}

/// The partition's suffix hashes, with `recalculate` and every invalidated
/// suffix rehashed. Blocking: call on `tpool`.
pub fn get_hashes(
    part_dir: &Path,
    recalculate: &[String],
    now: Timestamp,
    reclaim_age_secs: u64,
) -> io::Result<BTreeMap<String, String>> {
    let _hashing = match lock(part_dir, HASHING_LOCK_FILE, false) {
        Ok(l) => l,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    let suffix_dirs = match list(part_dir) {
        Ok(names) => names.into_iter().filter(|n| is_suffix(n)).collect::<Vec<_>>(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    let mut hashes: Hashes =
        fs::read(part_dir.join(HASHES_FILE)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let invalid = take_invalidations(part_dir)?;
    for s in invalid.lines().map(str::trim).chain(recalculate.iter().map(String::as_str)) {
        if is_suffix(s) {
            hashes.insert(s.to_string(), None);
        }
    }
    let stored = hashes.len();
    hashes.retain(|s, _| suffix_dirs.contains(s));
    for s in &suffix_dirs {
        hashes.entry(s.clone()).or_insert(None);
    }
    // Nothing to fold in, rehash or drop: the stored file stands (no
    // write, no fsync: a replicator pass asks every partition).
    let dirty = !invalid.is_empty() || hashes.len() != stored || hashes.values().any(Option::is_none);
    let mut out = BTreeMap::new();
    for (suffix, hash) in hashes.iter_mut() {
        if hash.is_none() {
            *hash = hash_suffix(&part_dir.join(suffix), now, reclaim_age_secs)?;
        }
        if let Some(h) = hash {
            out.insert(suffix.clone(), h.clone());
        }
    }
    hashes.retain(|_, h| h.is_some());
    if !dirty {
        return Ok(out);
    }
    let tmp = part_dir.join(format!(".{HASHES_FILE}.tmp"));
    fs::write(&tmp, serde_json::to_vec(&hashes).unwrap_or_default())?;
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, part_dir.join(HASHES_FILE))?;
    // What was taken is folded in (later invalidations are in a new file).
    match fs::remove_file(part_dir.join(TAKEN_FILE)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    Ok(out)
}

/// The invalidations so far (with any a hasher that died left taken),
/// moved to [`TAKEN_FILE`] in a moment of the exclusive `.lock`. Blocking.
fn take_invalidations(part_dir: &Path) -> io::Result<String> {
    let _writers = lock(part_dir, LOCK_FILE, false)?;
    let mut taken = fs::read_to_string(part_dir.join(TAKEN_FILE)).unwrap_or_default();
    let new = match fs::read_to_string(part_dir.join(INVALID_FILE)) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(taken),
        Err(e) => return Err(e),
    };
    taken.push_str(&new);
    fs::write(part_dir.join(TAKEN_FILE), &taken)?;
    fs::remove_file(part_dir.join(INVALID_FILE))?;
    Ok(taken)
}

/// Removes a partition folder that holds no suffix folder any more, with
/// its hashes and lock files (holding both locks meanwhile). Blocking.
pub fn remove_partition(part_dir: &Path) -> bool {
    let Ok(hashing) = lock(part_dir, HASHING_LOCK_FILE, false) else { return false };
    let Ok(writers) = lock(part_dir, LOCK_FILE, false) else { return false };
    let Ok(names) = list(part_dir) else { return false };
    if names.iter().any(|n| is_suffix(n)) {
        return false;
    }
    for n in [HASHES_FILE, INVALID_FILE, TAKEN_FILE, LOCK_FILE, HASHING_LOCK_FILE] {
        let _ = fs::remove_file(part_dir.join(n));
    }
    drop((writers, hashing));
    fs::remove_dir(part_dir).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn part_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("swiftlet-hashes-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn put(part: &Path, hash: &str, file: &str) {
        let dir = part.join(&hash[hash.len() - 3..]).join(hash);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(file), b"x").unwrap();
        invalidate(part, &hash[hash.len() - 3..]).unwrap();
    }

    #[test]
    fn hashes_change_when_a_suffix_changes_and_only_then() {
        let part = part_dir("change");
        let now = Timestamp::parse("1700000000").unwrap();
        put(&part, "00000000000000000000000000000abc", "1600000000.00000.data");
        put(&part, "00000000000000000000000000000def", "1600000000.00000.data");
        let first = get_hashes(&part, &[], now, 604800).unwrap();
        assert_eq!(first.keys().collect::<Vec<_>>(), vec!["abc", "def"]);
        assert!(!part.join(INVALID_FILE).exists());
        assert_eq!(get_hashes(&part, &[], now, 604800).unwrap(), first);
        put(&part, "00000000000000000000000000000abc", "1600000001.00000.data");
        let second = get_hashes(&part, &[], now, 604800).unwrap();
        assert_ne!(second["abc"], first["abc"]);
        assert_eq!(second["def"], first["def"]);
        // The older .data was cleaned up while hashing.
        let dir = part.join("abc/00000000000000000000000000000abc");
        assert_eq!(list(&dir).unwrap(), vec!["1600000001.00000.data".to_string()]);
        fs::remove_dir_all(&part).unwrap();
    }

    #[test]
    fn a_write_never_waits_for_a_rehash_and_a_dead_hashers_take_is_not_lost() {
        let part = part_dir("take");
        let now = Timestamp::parse("1700000000").unwrap();
        put(&part, "00000000000000000000000000000abc", "1600000000.00000.data");
        let first = get_hashes(&part, &[], now, 604800).unwrap();
        // A hasher at work (its lock held) does not hold writers up.
        let hashing = lock(&part, HASHING_LOCK_FILE, false).unwrap();
        put(&part, "00000000000000000000000000000abc", "1600000001.00000.data");
        drop(hashing);
        // A hasher that took the invalidations and died: the next one
        // folds them in all the same.
        assert_eq!(take_invalidations(&part).unwrap(), "abc\n");
        assert!(!part.join(INVALID_FILE).exists());
        let second = get_hashes(&part, &[], now, 604800).unwrap();
        assert_ne!(second["abc"], first["abc"]);
        assert!(!part.join(TAKEN_FILE).exists());
        // An empty partition goes, with its lock files.
        fs::remove_dir_all(part.join("abc")).unwrap();
        assert!(remove_partition(&part));
        assert!(!part.exists());
    }

    #[test]
    fn reclaimed_tombstones_empty_their_suffix() {
        let part = part_dir("reclaim");
        put(&part, "00000000000000000000000000000123", "1000000000.00000.ts");
        let h = get_hashes(&part, &[], Timestamp::parse("1700000000").unwrap(), 604800).unwrap();
        assert!(h.is_empty());
        assert!(!part.join("123").exists());
        fs::remove_dir_all(&part).unwrap();
    }
}
