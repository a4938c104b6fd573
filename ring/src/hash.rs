//! Swift's name hashing: `md5(prefix + "/" + account [+ "/" + container
//! [+ "/" + object]] + suffix)`; the partition is the first four bytes of
//! the digest, big-endian, shifted right by `32 - part_power`.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use crate::error::{Error, Result};
use common::Ini;

/// Where Swift looks for `swift.conf` by default.
pub const DEFAULT_SWIFT_DIR: &str = "/etc/swift";

/// The cluster's hash secrets (`[swift-hash]` in `swift.conf`). They must
/// never change once a cluster holds data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathHasher {
    prefix: Vec<u8>,
    suffix: Vec<u8>,
}

impl PathHasher {
    /// A hasher from explicit prefix and suffix bytes. At least one must be
    /// non-empty, as Swift insists.
    pub fn new(prefix: &[u8], suffix: &[u8]) -> Result<PathHasher> {
        if prefix.is_empty() && suffix.is_empty() {
            return Err(Error::MissingHashConf { path: PathBuf::from("<inline>") });
        }
        Ok(PathHasher { prefix: prefix.to_vec(), suffix: suffix.to_vec() })
    }

    /// Reads `swift_hash_path_prefix` / `swift_hash_path_suffix` from the
    /// `[swift-hash]` section of a `swift.conf` file.
    pub fn from_swift_conf(path: &Path) -> Result<PathHasher> {
        let ini = Ini::load(path).map_err(|e| Error::io(path, e))?;
        let prefix = ini.get("swift-hash", "swift_hash_path_prefix").unwrap_or_default();
        let suffix = ini.get("swift-hash", "swift_hash_path_suffix").unwrap_or_default();
        if prefix.is_empty() && suffix.is_empty() {
            return Err(Error::MissingHashConf { path: path.to_path_buf() });
        }
        Ok(PathHasher { prefix: prefix.to_vec(), suffix: suffix.to_vec() })
    }

    /// `from_swift_conf(dir/swift.conf)`.
    pub fn from_swift_dir(dir: &Path) -> Result<PathHasher> {
        PathHasher::from_swift_conf(&dir.join("swift.conf"))
    }

    /// The raw md5 digest of a name, like Swift's `hash_path(...,
    /// raw_digest=True)`. Empty container/object count as absent, as in
    /// Swift; an object without a container is an error.
    pub fn digest(&self, account: &str, container: Option<&str>, object: Option<&str>) -> Result<[u8; 16]> {
        let container = container.filter(|c| !c.is_empty());
        let object = object.filter(|o| !o.is_empty());
        if object.is_some() && container.is_none() {
            return Err(Error::BadName("container is required if object is provided".into()));
        }
        let mut md5 = Md5::new();
        md5.update(&self.prefix);
        md5.update(b"/");
        md5.update(account.as_bytes());
        for part in [container, object].into_iter().flatten() {
            md5.update(b"/");
            md5.update(part.as_bytes());
        }
        md5.update(&self.suffix);
        Ok(md5.finalize().into())
    }

    /// The hex digest, as Swift prints and uses in on-disk paths.
    pub fn hash_path(&self, account: &str, container: Option<&str>, object: Option<&str>) -> Result<String> {
        Ok(hex(&self.digest(account, container, object)?))
    }
}

/// The partition of a digest in a ring of `2^part_power` partitions.
pub fn partition(digest: &[u8; 16], part_power: u8) -> u32 {
    let top = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    if part_power == 0 {
        0
    } else {
        top >> (32 - u32::from(part_power))
    }
}

use common::hex::hex;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_without_container_is_rejected() {
        let h = PathHasher::new(b"", b"changeme").unwrap();
        assert!(h.digest("a", None, Some("o")).is_err());
        assert!(h.digest("a", Some(""), Some("o")).is_err());
    }

    #[test]
    fn empty_secrets_are_refused() {
        assert!(PathHasher::new(b"", b"").is_err());
    }

    #[test]
    fn partition_takes_the_top_bits() {
        let d = [0xAB, 0xCD, 0xEF, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(partition(&d, 8), 0xAB);
        assert_eq!(partition(&d, 32), 0xABCDEF12);
        assert_eq!(partition(&d, 0), 0);
    }
}
