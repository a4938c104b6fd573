//! The shared context every handler gets: the config, the devices folder,
//! `mount_check`, the ring hasher.
//!
//! One [`Context`] is built at startup and cloned into each worker hub and
//! into `tpool` closures (it is `Send + Sync` and cheap to clone: an `Arc`
//! inside). Account and container handlers (`account.rs`, `container.rs`)
//! get the same `&Context` as the object handlers:
//!
//! ```text
//! pub fn handle(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()>
//! ```
//!
//! * `ctx.conf()` has every `object-server.conf` setting (timeouts,
//!   `disk_chunk_size`, `allowed_headers`, ...);
//! * `ctx.check_device(dev)` returns `devices/{dev}` or a 507 error when the
//!   drive is unmounted (with `mount_check`) or missing: call it inside
//!   `hub::tpool::execute`, it stats;
//! * `ctx.hasher()` hashes names as Swift does (`hash_path(a, c, o)`);
//! * errors: return `crate::Error` (its `status()` is the one mapping to
//!   HTTP); `Error::io(what, e)` for disk failures, `Error::bad_request`.

use crate::config::Config;
use crate::error::{Error, Result};
use ring::PathHasher;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// See the module docs.
#[derive(Clone, Debug)]
pub struct Context {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    conf: Config,
    hasher: PathHasher,
    /// When each device last passed [`Context::check_device`].
    passed: Mutex<HashMap<String, Instant>>,
}

/// How long a passed device check is trusted by [`Context::device_passed_recently`].
const DEVICE_CHECK_TRUSTED: Duration = Duration::from_secs(1);

impl Context {
    pub fn new(conf: Config, hasher: PathHasher) -> Context {
        Context { inner: Arc::new(Inner { conf, hasher, passed: Mutex::new(HashMap::new()) }) }
    }

    /// The context of a process reading `conf`: its log level set, the
    /// name hasher from `swift_dir/swift.conf` (a start-up error if it
    /// cannot be read).
    pub fn start(conf: Config) -> Result<Context> {
        crate::log::set_level(conf.server.log_level);
        let swift_conf = conf.server.swift_dir.join("swift.conf");
        let hasher = PathHasher::from_swift_dir(&conf.server.swift_dir)
            .map_err(|e| Error::Startup { path: swift_conf, reason: e.to_string() })?;
        Ok(Context::new(conf, hasher))
    }

    /// Every setting of the config file.
    pub fn conf(&self) -> &Config {
        &self.inner.conf
    }

    /// The folder holding one folder (or mount point) per device.
    pub fn devices(&self) -> &Path {
        &self.inner.conf.devices
    }

    pub fn mount_check(&self) -> bool {
        self.inner.conf.mount_check
    }

    /// Swift's name hasher, from `swift_dir/swift.conf`.
    pub fn hasher(&self) -> &PathHasher {
        &self.inner.hasher
    }

    /// `devices/{device}` without any check. `device` must come from a
    /// validated path (see `path.rs`).
    pub fn device_path(&self, device: &str) -> PathBuf {
        self.devices().join(device)
    }

    /// `devices/{device}` if it may be used: a mount point when
    /// `mount_check` is on, else a folder; otherwise 507, as Swift's
    /// `check_drive`. Blocking (stat): call it on `tpool`.
    pub fn check_device(&self, device: &str) -> Result<PathBuf> {
        let path = self.device_path(device);
        let ok = if self.mount_check() { is_mount(&path) } else { path.is_dir() };
        if ok {
            if let Ok(mut passed) = self.inner.passed.lock() {
                passed.insert(device.to_string(), Instant::now());
            }
            Ok(path)
        } else {
            let why = if self.mount_check() { "is not mounted" } else { "does not exist" };
            Err(Error::InsufficientStorage(format!("{} {why}", path.display())))
        }
    }
}

impl Context {
    /// Whether `device` passed [`Context::check_device`] within the last
    /// second: the read path then skips the check (its `stat`s) and may
    /// open page-cache-hot files on the hub. So a device unmounted (or
    /// removed) is noticed by reads within a second, by writes at once.
    /// Never blocks on the disk (the lock guards only this map).
    pub fn device_passed_recently(&self, device: &str) -> bool {
        let Ok(passed) = self.inner.passed.lock() else {
            return false;
        };
        passed.get(device).is_some_and(|at| at.elapsed() < DEVICE_CHECK_TRUSTED)
    }
}

/// True if `path` is a mount point: its device differs from its parent's,
/// or it is its parent (`/`), as Python's `os.path.ismount`.
pub fn is_mount(path: &Path) -> bool {
    let (Ok(me), Ok(parent)) = (std::fs::symlink_metadata(path), std::fs::metadata(path.join(".."))) else {
        return false;
    };
    if !me.is_dir() {
        return false;
    }
    me.dev() != parent.dev() || me.ino() == parent.ino()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_device_check_is_trusted_for_a_second_and_a_failed_one_never() {
        let devices = std::env::temp_dir().join(format!("swiftlet-ctx-devs-{}", std::process::id()));
        std::fs::create_dir_all(devices.join("sda")).unwrap();
        let text = format!("[DEFAULT]\ndevices = {}\nmount_check = false\n", devices.display());
        let conf = Config::from_ini(&common::Ini::parse(text.as_bytes())).unwrap();
        let ctx = Context::new(conf, PathHasher::new(b"p", b"s").unwrap());
        assert!(!ctx.device_passed_recently("sda"));
        assert!(ctx.check_device("sda").is_ok());
        assert!(ctx.device_passed_recently("sda"));
        assert!(ctx.check_device("sdb").is_err());
        assert!(!ctx.device_passed_recently("sdb"));
        std::fs::remove_dir_all(&devices).unwrap();
    }

    #[test]
    fn root_is_a_mount_and_a_plain_folder_is_not() {
        assert!(is_mount(Path::new("/")));
        let dir = std::env::temp_dir().join(format!("swiftlet-ctx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(!is_mount(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
