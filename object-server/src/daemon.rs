//! What the storage node's background daemons (the object replicator and
//! auditor, each its own process) share: their command line, rate
//! limits, the recon cache file, and which ring devices are this node's.
//!
//! A daemon runs outside the request workers, in its own process with its
//! own `tpool`, so a daemon that fails or falls behind never takes client
//! requests with it; its supervisor (systemd's `Restart=`, or
//! `swiftlet-aio`) restarts it if it dies.

use crate::config::Config;
use crate::context::Context;
use crate::error::{Error, Result};
use ring::{Device, Ring};
use serde_json::{Map, Value};
use std::fs;
use std::io;
use std::net::{IpAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A daemon's command line: `--config PATH [--once] [--devices a,b]
/// [--partitions 1,2]` (Swift's daemons take the same `--once`,
/// `--devices` and `--partitions`).
#[derive(clap::Parser, Debug, Clone)]
pub struct Args {
    /// Path of object-server.conf (Swift's format and keys).
    #[arg(long, value_name = "PATH")]
    pub config: PathBuf,
    /// One pass, then exit.
    #[arg(long)]
    pub once: bool,
    /// Only these devices (comma-separated names).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub devices: Vec<String>,
    /// Only these partitions (comma-separated; replicator only).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub partitions: Vec<u32>,
}

/// Loads the config and builds the context a daemon's work gets.
pub fn context(args: &Args) -> Result<Context> {
    Context::start(Config::load(&args.config)?)
}

/// Lowers the calling thread's CPU and I/O priority as the config says
/// (the threads it starts afterwards inherit them): call it first thing.
/// A priority that cannot be set is reported and not fatal.
pub fn lower_priority(p: &crate::config::Priority) {
    if let Some(nice) = p.nice {
        if let Err(e) = rustix::process::setpriority_process(None, nice) {
            crate::log::warn(&format!("cannot set nice_priority {nice}: {e}"));
        }
    }
    if let Some((class, level)) = p.ionice {
        if let Err(e) = hub::set_io_priority(class, level) {
            crate::log::warn(&format!("cannot set ionice_class {class:?} and ionice_priority {level}: {e}"));
        }
    }
}

/// The object ring of `swift_dir` (`object.ring`), reloaded by itself
/// when the file changes.
pub fn object_ring(ctx: &Context) -> Result<Ring> {
    let path = ctx.conf().server.swift_dir.join("object.ring");
    Ring::open(&path, ctx.hasher().clone()).map_err(|e| Error::Startup { path, reason: e.to_string() })
}

/// This host's addresses (Swift's `whataremyips`): the IPv4 addresses
/// the kernel routes as `host LOCAL` and the IPv6 addresses of every
/// interface, read from this process's network namespace; `None` if
/// neither file can be read.
fn local_ips() -> Option<Vec<IpAddr>> {
    let v4 = fs::read_to_string("/proc/self/net/fib_trie").ok();
    let v6 = fs::read_to_string("/proc/self/net/if_inet6").ok();
    if v4.is_none() && v6.is_none() {
        return None;
    }
    let mut ips = Vec::new();
    let mut last: Option<IpAddr> = None;
    for line in v4.as_deref().unwrap_or("").lines().map(str::trim) {
        if let Some(ip) = line.strip_prefix("|-- ") {
            last = ip.parse().ok();
        } else if line.starts_with("/32 host LOCAL") {
            ips.extend(last);
        }
    }
    for line in v6.as_deref().unwrap_or("").lines() {
        let hex = line.split_whitespace().next().unwrap_or("");
        if let Ok(n) = u128::from_str_radix(hex, 16) {
            ips.push(IpAddr::V6(std::net::Ipv6Addr::from(n)));
        }
    }
    ips.sort();
    ips.dedup();
    Some(ips)
}

/// Whether `ip` is one of this host's addresses ([`local_ips`]; where
/// /proc cannot be read, whether a socket can be bound to it).
fn is_local_ip(ip: &str, local: Option<&[IpAddr]>) -> bool {
    match (ip.parse::<IpAddr>(), local) {
        (Ok(addr), _) if addr.is_loopback() => true,
        (Ok(addr), Some(local)) => local.contains(&addr),
        (Ok(addr), None) => UdpSocket::bind((addr, 0)).is_ok(),
        (Err(_), _) => false,
    }
}

/// The ring's devices that are this node's: on its replication port (or
/// port), at one of this host's addresses ([`local_ips`]), and present in
/// `devices`. Two such devices with the same name would be one folder
/// taken for two ring devices (one holding partitions the other does
/// not, which the replicator would then remove): none is returned, and
/// the error says why.
pub fn local_devices(ctx: &Context, ring: &Ring) -> Vec<Arc<Device>> {
    let keys = &ctx.conf().server;
    let local = local_ips();
    let mine: Vec<Arc<Device>> = ring
        .devices()
        .into_iter()
        .flatten()
        .filter(|d| d.replication_port == keys.bind_port || d.port == keys.bind_port)
        .filter(|d| {
            d.replication_ip.parse::<IpAddr>().ok() == Some(keys.bind_ip)
                || is_local_ip(&d.replication_ip, local.as_deref())
        })
        .filter(|d| ctx.device_path(&d.device).is_dir())
        .collect();
    let mut names: Vec<&str> = mine.iter().map(|d| d.device.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        crate::log::error(&format!(
            "the ring has several devices named {} at this node's addresses and port: not replicating",
            w[0]
        ));
        return Vec::new();
    }
    mine
}

/// The address a peer takes replication traffic on.
pub fn replication_addr(d: &Device) -> io::Result<std::net::SocketAddr> {
    format!("{}:{}", ring::device::bracket_ipv6(&d.replication_ip), d.replication_port)
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("bad address {}", d.replication_ip)))
}

/// A rate limit: at most `per_second` units, spread evenly (a unit may
/// be a file or a byte). `0` is no limit.
#[derive(Debug)]
pub struct Pacer {
    per_second: f64,
    /// When the next unit may go (none taken yet: now).
    next: Option<Instant>,
}

impl Pacer {
    pub fn new(per_second: f64) -> Pacer {
        Pacer { per_second, next: None }
    }

    /// Takes `n` units; returns how long to wait before using them (the
    /// budget unused for more than a second is not kept).
    pub fn take(&mut self, n: u64, now: Instant) -> Duration {
        if self.per_second <= 0.0 || n == 0 {
            return Duration::ZERO;
        }
        let floor = now.checked_sub(Duration::from_secs(1)).unwrap_or(now);
        let start = self.next.unwrap_or(now).max(floor);
        let next = start + Duration::from_nanos((n as f64 * 1e9 / self.per_second) as u64);
        self.next = Some(next);
        next.saturating_duration_since(now)
    }
}

/// `recon_cache_path/object.recon`, Swift's recon cache file of the object
/// daemons: a JSON object whose keys each daemon overwrites with its own.
pub fn recon_file(dir: &Path) -> PathBuf {
    dir.join("object.recon")
}

/// Sets `entries` in the recon cache file (read, merge, write to a temp
/// file and rename, under an exclusive lock, so two daemons never lose
/// each other's keys). Blocking.
pub fn update_recon(dir: &Path, entries: Map<String, Value>) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let lock = fs::File::options().create(true).truncate(false).write(true).open(dir.join(".object.recon.lock"))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)?;
    let path = recon_file(dir);
    let mut all: Map<String, Value> = match fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Map::new(),
        Err(e) => return Err(e),
    };
    all.extend(entries);
    let tmp = dir.join(format!(".object.recon.{}.tmp", std::process::id()));
    fs::write(&tmp, serde_json::to_vec(&Value::Object(all))?)?;
    fs::rename(&tmp, &path)
}

/// Seconds since the epoch, as recon writes times.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pacer_spreads_units_evenly_and_keeps_no_old_budget() {
        let t0 = Instant::now();
        let mut p = Pacer::new(10.0);
        assert_eq!(p.take(1, t0), Duration::from_millis(100));
        assert_eq!(p.take(1, t0), Duration::from_millis(200));
        // Idle for a minute: at most a second of budget is there.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(p.take(10, later), Duration::ZERO);
        assert_eq!(p.take(1, later), Duration::from_millis(100));
        let mut free = Pacer::new(0.0);
        assert_eq!(free.take(1 << 40, t0), Duration::ZERO);
    }

    #[test]
    fn recon_entries_of_two_daemons_are_merged() {
        let dir = std::env::temp_dir().join(format!("swiftlet-recon-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let one = |k: &str, v: i64| {
            let mut m = Map::new();
            m.insert(k.into(), v.into());
            m
        };
        update_recon(&dir, one("object_replication_last", 1)).unwrap();
        update_recon(&dir, one("object_auditor_stats_ALL", 2)).unwrap();
        update_recon(&dir, one("object_replication_last", 3)).unwrap();
        let all: Value = serde_json::from_slice(&fs::read(recon_file(&dir)).unwrap()).unwrap();
        assert_eq!(all, serde_json::json!({"object_replication_last": 3, "object_auditor_stats_ALL": 2}));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn this_hosts_addresses_are_local_and_others_are_not() {
        let local = local_ips().expect("/proc/self/net");
        assert!(local.iter().any(|ip| ip.is_loopback()), "{local:?}");
        assert!(is_local_ip("127.0.0.1", Some(&local)));
        assert!(is_local_ip("127.0.0.5", Some(&local)));
        assert!(!is_local_ip("198.51.100.77", Some(&local)));
        assert!(!is_local_ip("not an ip", Some(&local)));
        // Every address listed is one a socket can be bound to.
        for ip in &local {
            assert!(UdpSocket::bind((*ip, 0)).is_ok() || ip.is_ipv6(), "{ip}");
        }
    }
}
