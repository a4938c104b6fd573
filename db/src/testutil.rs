//! Test helpers: a temporary device folder removed on drop.

use std::path::{Path, PathBuf};

pub(crate) struct TempDevice {
    root: PathBuf,
}

impl TempDevice {
    pub(crate) fn new() -> TempDevice {
        let root = std::env::temp_dir().join(format!("swiftlet-db-test-{}", crate::conn::unique_name()));
        std::fs::create_dir_all(root.join("sda1/tmp")).expect("temp folder");
        TempDevice { root }
    }

    /// The device folder (`{root}/sda1`).
    pub(crate) fn device(&self) -> PathBuf {
        self.root.join("sda1")
    }

    pub(crate) fn tmp(&self) -> PathBuf {
        self.device().join("tmp")
    }

    /// A database path in Swift's layout for a made-up hash.
    pub(crate) fn db(&self, kind: crate::Kind, hash: &str) -> PathBuf {
        crate::db_path(&self.device(), kind, 7, hash).expect("hash")
    }
}

impl Drop for TempDevice {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

pub(crate) fn ts(s: &str) -> crate::Timestamp {
    crate::Timestamp::parse(s).expect("timestamp")
}

/// A small deterministic generator (xorshift64*).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

#[allow(dead_code)]
pub(crate) fn exists(p: &Path) -> bool {
    p.exists()
}
