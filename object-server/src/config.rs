//! `object-server.conf`: Swift's file and key names, INI format.
//!
//! The server reads `[app:object-server]` and falls back to `[DEFAULT]`
//! for every key, as Swift's paste.deploy does; the updater reads
//! `[object-updater]`, then `[DEFAULT]`. Unknown keys are ignored (Swift's
//! files carry many we do not implement). A malformed value is an error
//! that names its section and key. `etc/object-server.conf-sample` lists
//! every key read here, at its default. The typed getters are
//! `swiftlet_server::Section`'s.

use crate::error::{Error, Result};
pub use common::config::{parse_bool, LogLevel};
use common::constraints::Constraints;
use common::Ini;
use common::Section;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const APP_SECTION: &str = "app:object-server";
pub const UPDATER_SECTION: &str = "object-updater";
pub const REPLICATOR_SECTION: &str = "object-replicator";
pub const AUDITOR_SECTION: &str = "object-auditor";

/// Space to keep free when allocating a new object (`fallocate_reserve`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reserve {
    Bytes(u64),
    /// A percentage of the filesystem's size.
    Percent(f64),
}

/// The object-updater's settings (`[object-updater]`).
#[derive(Clone, Debug)]
pub struct UpdaterConfig {
    /// swiftlet's switch for the updater green thread (not a Swift key:
    /// Swift runs it as its own daemon).
    pub enabled: bool,
    /// Seconds between sweeps of `async_pending` (and the backoff unit).
    pub interval: Duration,
    /// Updates sent at once.
    pub concurrency: usize,
    /// Records processed per second at most (0: no limit).
    pub objects_per_second: f64,
    pub node_timeout: Duration,
    pub conn_timeout: Duration,
}

/// How a background daemon lowers its own priority at start (Swift's
/// `nice_priority`, `ionice_class`, `ionice_priority`; unset: unchanged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Priority {
    /// -20 (highest) to 19.
    pub nice: Option<i32>,
    /// The I/O class and level (0 to 7).
    pub ionice: Option<(hub::IoClass, u8)>,
}

impl Priority {
    fn read(sect: &Section<'_>) -> Result<Priority> {
        let nice = sect.parse("nice_priority", None, "a number from -20 to 19", |v| {
            v.parse::<i32>().ok().filter(|n| (-20..=19).contains(n)).map(Some)
        })?;
        let class =
            sect.parse("ionice_class", None, "IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE", |v| match v {
                "IOPRIO_CLASS_RT" => Some(Some(hub::IoClass::RealTime)),
                "IOPRIO_CLASS_BE" => Some(Some(hub::IoClass::BestEffort)),
                "IOPRIO_CLASS_IDLE" => Some(Some(hub::IoClass::Idle)),
                _ => None,
            })?;
        let level =
            sect.parse("ionice_priority", 4, "a number from 0 to 7", |v| v.parse::<u8>().ok().filter(|n| *n <= 7))?;
        Ok(Priority { nice, ionice: class.map(|c| (c, level)) })
    }
}

/// The object replicator's settings (`[object-replicator]`,
/// docs/replication.md).
#[derive(Clone, Debug)]
pub struct ReplicatorConfig {
    /// Seconds between the starts of two passes.
    pub interval: Duration,
    /// Files in flight to peers at once, per device.
    pub concurrency: usize,
    /// Files sent per second at most, for the whole process (0: no limit).
    pub files_per_second: f64,
    /// Body bytes sent per second at most, for the whole process (0: no
    /// limit).
    pub bytes_per_second: f64,
    /// Partitions this node only holds as a handoff go first in a pass.
    pub handoffs_first: bool,
    pub node_timeout: Duration,
    pub conn_timeout: Duration,
    /// Where `object.recon` (the pass statistics) is written.
    pub recon_cache_path: PathBuf,
    pub priority: Priority,
}

/// The object auditor's settings (`[object-auditor]`).
#[derive(Clone, Debug)]
pub struct AuditorConfig {
    /// Seconds between the starts of two passes.
    pub interval: Duration,
    /// Objects checked per second at most (0: no limit).
    pub files_per_second: f64,
    /// Bytes read per second at most (0: no limit).
    pub bytes_per_second: f64,
    /// Where `object.recon` (the pass statistics) is written.
    pub recon_cache_path: PathBuf,
    pub priority: Priority,
}

/// Everything the object server reads from its config file.
#[derive(Clone, Debug)]
pub struct Config {
    /// The keys every server reads alike (listening, workers, clients,
    /// timeouts, `swift_dir`, logging).
    pub server: swiftlet_server::ServerKeys,
    pub devices: PathBuf,
    pub mount_check: bool,
    pub disk_chunk_size: usize,
    pub network_chunk_size: usize,
    pub node_timeout: Duration,
    pub conn_timeout: Duration,
    pub container_update_timeout: Duration,
    pub max_upload_time: Duration,
    /// Threads for blocking disk calls (open, fsync, rename, SQLite), per
    /// process (`eventlet_tpool_num_threads`; Swift's default is
    /// eventlet's 20, which `auto` means here too).
    pub tpool_threads: usize,
    /// fdatasync a big body every this many bytes (`mb_per_sync`).
    pub bytes_per_sync: u64,
    pub disable_fallocate: bool,
    pub fallocate_reserve: Reserve,
    /// Tombstones older than this are removed (`reclaim_age`).
    pub reclaim_age: Duration,
    /// swift.conf's `[swift-constraints]` (filled in by [`Config::load`]):
    /// `max_file_size`, the largest object body taken, declared or
    /// chunked (413 past it, checked as the body arrives), and the
    /// container and account metadata limits.
    pub constraints: Constraints,
    /// Headers besides `X-Object-Meta-*` stored with an object, lower case.
    pub allowed_headers: Vec<String>,
    pub updater: UpdaterConfig,
    pub replicator: ReplicatorConfig,
    pub auditor: AuditorConfig,
}

/// Swift's `config_fallocate_value`: `1%`, `2.5%` or bytes.
pub fn parse_reserve(v: &str) -> Option<Reserve> {
    match v.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().ok().filter(|p| (0.0..=100.0).contains(p)).map(Reserve::Percent),
        None => v.parse::<u64>().ok().map(Reserve::Bytes),
    }
}

/// Swift's default `allowed_headers`.
pub const DEFAULT_ALLOWED_HEADERS: &str = "Content-Disposition, Content-Encoding, X-Delete-At, X-Object-Manifest, \
     X-Static-Large-Object, Cache-Control, Content-Language, Expires, X-Robots-Tag";

impl Config {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read(path)
            .map_err(|e| Error::Startup { path: path.to_path_buf(), reason: format!("cannot read config: {e}") })?;
        let mut conf = Config::from_ini(&Ini::parse(&text))?;
        // A missing swift.conf fails the start where the hash secrets are read.
        if let Ok(sw) = std::fs::read(conf.server.swift_dir.join("swift.conf")) {
            conf.constraints = Constraints::from_ini(&Ini::parse(&sw))?;
        }
        Ok(conf)
    }

    /// Reads the settings from parsed INI text.
    pub fn from_ini(ini: &Ini) -> Result<Config> {
        let app = Section { ini, name: APP_SECTION };
        let upd = Section { ini, name: UPDATER_SECTION };
        let rep = Section { ini, name: REPLICATOR_SECTION };
        let aud = Section { ini, name: AUDITOR_SECTION };
        let rate = |sect: &Section<'_>, key: &str, default: f64| {
            sect.parse(key, default, "a number >= 0", |v| v.parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0))
        };
        let allowed = app.string("allowed_headers", DEFAULT_ALLOWED_HEADERS);
        Ok(Config {
            server: swiftlet_server::ServerKeys::read(&app, 6200)?,
            devices: PathBuf::from(app.string("devices", "/srv/node")),
            mount_check: app.bool("mount_check", true)?,
            disk_chunk_size: app.positive("disk_chunk_size", 65536)?,
            network_chunk_size: app.positive("network_chunk_size", 65536)?,
            node_timeout: app.seconds("node_timeout", 3.0)?,
            conn_timeout: app.seconds("conn_timeout", 0.5)?,
            container_update_timeout: app.seconds("container_update_timeout", 1.0)?,
            max_upload_time: app.seconds("max_upload_time", 86400.0)?,
            tpool_threads: app.parse("eventlet_tpool_num_threads", 20, "a number or auto", |v| match v {
                "auto" => Some(20),
                n => n.parse().ok().filter(|&n| n > 0),
            })?,
            bytes_per_sync: app.positive::<u64>("mb_per_sync", 512)? * 1024 * 1024,
            disable_fallocate: app.bool("disable_fallocate", false)?,
            fallocate_reserve: app.parse(
                "fallocate_reserve",
                Reserve::Percent(1.0),
                "bytes or a percentage",
                parse_reserve,
            )?,
            reclaim_age: app.seconds("reclaim_age", 604800.0)?,
            constraints: Constraints::default(),
            allowed_headers: allowed
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            updater: UpdaterConfig {
                enabled: upd.bool("enabled", true)?,
                interval: upd.seconds("interval", 300.0)?,
                concurrency: upd.positive("concurrency", 8)?,
                objects_per_second: upd.parse("objects_per_second", 50.0, "a number >= 0", |v| {
                    v.parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0)
                })?,
                node_timeout: upd.seconds("node_timeout", 10.0)?,
                conn_timeout: upd.seconds("conn_timeout", 0.5)?,
            },
            replicator: ReplicatorConfig {
                interval: rep.seconds("interval", 30.0)?,
                concurrency: rep.positive("concurrency", 16)?,
                files_per_second: rate(&rep, "files_per_second", 100.0)?,
                bytes_per_second: rate(&rep, "bytes_per_second", 104857600.0)?,
                handoffs_first: rep.bool("handoffs_first", false)?,
                node_timeout: rep.seconds("node_timeout", 10.0)?,
                conn_timeout: rep.seconds("conn_timeout", 0.5)?,
                recon_cache_path: PathBuf::from(rep.string("recon_cache_path", "/var/cache/swift")),
                priority: Priority::read(&rep)?,
            },
            auditor: AuditorConfig {
                interval: aud.seconds("interval", 30.0)?,
                files_per_second: rate(&aud, "files_per_second", 20.0)?,
                bytes_per_second: rate(&aud, "bytes_per_second", 10000000.0)?,
                recon_cache_path: PathBuf::from(aud.string("recon_cache_path", "/var/cache/swift")),
                priority: Priority::read(&aud)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> Result<Config> {
        Config::from_ini(&Ini::parse(text.as_bytes()))
    }

    #[test]
    fn defaults_are_swifts() {
        let c = conf("").unwrap();
        assert_eq!(c.server.bind_port, 6200);
        assert!(c.mount_check);
        assert_eq!(c.devices, PathBuf::from("/srv/node"));
        assert_eq!(c.fallocate_reserve, Reserve::Percent(1.0));
        assert_eq!(c.container_update_timeout, Duration::from_secs(1));
        assert_eq!(c.bytes_per_sync, 512 << 20);
        assert!(c.allowed_headers.contains(&"x-delete-at".to_string()));
        assert_eq!(c.updater.interval, Duration::from_secs(300));
    }

    #[test]
    fn the_sample_config_lists_the_defaults() {
        let sample = include_str!("../../etc/object-server.conf-sample");
        let from_sample = format!("{:?}", conf(sample).unwrap());
        let defaults = format!("{:?}", conf("").unwrap());
        assert_eq!(from_sample, defaults);
    }

    #[test]
    fn app_section_overrides_default() {
        let c =
            conf("[DEFAULT]\nbind_port = 6000\nmount_check = false\n[app:object-server]\nbind_port = 6010\n").unwrap();
        assert_eq!(c.server.bind_port, 6010);
        assert!(!c.mount_check);
    }

    #[test]
    fn updater_reads_its_section() {
        let c = conf("[DEFAULT]\nconn_timeout = 2\n[object-updater]\ninterval = 1.5\n").unwrap();
        assert_eq!(c.updater.interval, Duration::from_millis(1500));
        assert_eq!(c.updater.conn_timeout, Duration::from_secs(2));
    }

    #[test]
    fn bad_values_name_their_key() {
        for (text, key) in [
            ("[DEFAULT]\neventlet_tpool_num_threads = 0\n", "eventlet_tpool_num_threads"),
            ("[DEFAULT]\nbind_port = http\n", "bind_port"),
            ("[app:object-server]\nmount_check = maybe\n", "mount_check"),
            ("[DEFAULT]\nfallocate_reserve = 120%\n", "fallocate_reserve"),
            ("[DEFAULT]\nnode_timeout = -1\n", "node_timeout"),
            ("[DEFAULT]\nworkers = many\n", "workers"),
            ("[object-updater]\ninterval = soon\n", "interval"),
            ("[object-replicator]\nnice_priority = 20\n", "nice_priority"),
            ("[object-auditor]\nionice_class = IDLE\n", "ionice_class"),
            ("[object-auditor]\nionice_priority = 8\n", "ionice_priority"),
        ] {
            let e = conf(text).unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
    }

    #[test]
    fn daemons_read_swifts_priority_keys() {
        let c = conf("[object-replicator]\nnice_priority = 10\nionice_class = IOPRIO_CLASS_BE\nionice_priority = 7\n")
            .unwrap();
        assert_eq!(c.replicator.priority, Priority { nice: Some(10), ionice: Some((hub::IoClass::BestEffort, 7)) });
        assert_eq!(c.auditor.priority, Priority::default());
    }

    #[test]
    fn reserve_takes_bytes_or_percent() {
        assert_eq!(parse_reserve("10485760"), Some(Reserve::Bytes(10 << 20)));
        assert_eq!(parse_reserve("2.5%"), Some(Reserve::Percent(2.5)));
        assert_eq!(parse_reserve("lots"), None);
    }
}
