//! The files of a small cluster: `swift.conf` with fresh hash secrets,
//! account/container/object rings (and their builder files) with one
//! device per node, one `object-server.conf` per node and the
//! `proxy-server.conf`, all generated from the `etc/` samples with only
//! paths, addresses and ports changed (plus Swift's SAIO account settings
//! for the proxy). The pieces are public so test harnesses can build the
//! same cluster without the launcher.

use ring::{NewDevice, RingBuilder};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// `etc/object-server.conf-sample`, as built into this binary.
pub const OBJECT_SERVER_SAMPLE: &str = include_str!("../../etc/object-server.conf-sample");
/// `etc/proxy-server.conf-sample`, as built into this binary.
pub const PROXY_SERVER_SAMPLE: &str = include_str!("../../etc/proxy-server.conf-sample");
/// `etc/swift.conf-sample`, as built into this binary.
pub const SWIFT_CONF_SAMPLE: &str = include_str!("../../etc/swift.conf-sample");
/// The three rings, each served by every node's object server.
pub const RING_NAMES: [&str; 3] = ["account", "container", "object"];
/// Partitions = 2^PART_POWER (Swift's SAIO uses 10).
pub const PART_POWER: u8 = 10;
/// Hours before a partition may move again after a rebalance.
pub const MIN_PART_HOURS: u32 = 1;

/// `n` random bytes from /dev/urandom, in hex.
pub fn random_hex(n: usize) -> io::Result<String> {
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(common::hex::hex(&buf))
}

/// The cluster's `swift.conf`: the sample with the given hash path prefix
/// and suffix.
pub fn swift_conf(prefix: &str, suffix: &str) -> String {
    let mut t = set_option(SWIFT_CONF_SAMPLE, "swift-hash", "swift_hash_path_prefix", prefix);
    t = set_option(&t, "swift-hash", "swift_hash_path_suffix", suffix);
    format!("# Written by swiftlet-aio from etc/swift.conf-sample.\n{t}")
}

/// Sets `key = value` in `[section]` of INI text: replaces the first
/// uncommented `key` line of that section, or adds the line at the end of
/// the section (or a new section at the end). Comments and order are kept.
pub fn set_option(text: &str, section: &str, key: &str, value: &str) -> String {
    let header = format!("[{section}]");
    let line = format!("{key} = {value}");
    let mut out: Vec<String> = Vec::new();
    let mut in_section = false;
    let mut done = false;
    let mut last: Option<usize> = None; // last non-empty line of the section
    for raw in text.lines() {
        let t = raw.trim();
        if t.starts_with('[') {
            in_section = t == header;
            if in_section {
                last = Some(out.len());
            }
            out.push(raw.to_string());
            continue;
        }
        if in_section && !done && !t.starts_with('#') && !t.starts_with(';') {
            if let Some((k, _)) = t.split_once('=') {
                if k.trim().eq_ignore_ascii_case(key) {
                    last = Some(out.len());
                    out.push(line.clone());
                    done = true;
                    continue;
                }
            }
        }
        if in_section && !t.is_empty() {
            last = Some(out.len());
        }
        out.push(raw.to_string());
    }
    if !done {
        match last {
            Some(i) => out.insert(i + 1, line),
            None => {
                out.push(String::new());
                out.push(header);
                out.push(line);
            }
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// The object server config of one node: the sample with its address,
/// port, devices folder and swift_dir, `mount_check = false` (the
/// devices are plain folders), and for its replicator and auditor a
/// pass every 10 s (a wiped device of a few hundred objects is whole
/// again within seconds) and a recon cache folder of its own.
pub fn object_server_conf(ip: &str, port: u16, devices: &Path, swift_dir: &Path, recon: &Path) -> String {
    let mut t = OBJECT_SERVER_SAMPLE.to_string();
    for (k, v) in [
        ("bind_ip", ip.to_string()),
        ("bind_port", port.to_string()),
        ("devices", devices.display().to_string()),
        ("mount_check", "false".into()),
        ("swift_dir", swift_dir.display().to_string()),
    ] {
        t = set_option(&t, "DEFAULT", k, &v);
    }
    for section in ["object-replicator", "object-auditor"] {
        t = set_option(&t, section, "interval", "10");
        t = set_option(&t, section, "recon_cache_path", &recon.display().to_string());
        t = set_option(&t, section, "nice_priority", "10");
        t = set_option(&t, section, "ionice_class", "IOPRIO_CLASS_BE");
        t = set_option(&t, section, "ionice_priority", "7");
    }
    format!("# Written by swiftlet-aio from etc/object-server.conf-sample.\n{t}")
}

/// The proxy config: the sample with its address, port and swift_dir, and
/// Swift SAIO's `account_autocreate = true` and `allow_account_management
/// = true` (a TempAuth account exists once a container is put in it), and
/// its service accounts (`reseller_prefix = AUTH, SERVICE`, owned with a
/// token of the `service` group: `test5:tester5`).
pub fn proxy_server_conf(ip: &str, port: u16, swift_dir: &Path) -> String {
    let mut t = PROXY_SERVER_SAMPLE.to_string();
    t = set_option(&t, "DEFAULT", "bind_ip", ip);
    t = set_option(&t, "DEFAULT", "bind_port", &port.to_string());
    t = set_option(&t, "DEFAULT", "swift_dir", &swift_dir.display().to_string());
    t = set_option(&t, "app:proxy-server", "account_autocreate", "true");
    t = set_option(&t, "app:proxy-server", "allow_account_management", "true");
    t = set_option(&t, "filter:tempauth", "reseller_prefix", "AUTH, SERVICE");
    t = set_option(&t, "filter:tempauth", "SERVICE_require_group", "service");
    format!("# Written by swiftlet-aio from etc/proxy-server.conf-sample.\n{t}")
}

/// One storage node of a ring: one device on one port.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub ip: String,
    pub port: u16,
    pub zone: u32,
    pub device: String,
}

/// Builds a ring over `nodes` (weight 100 each, region 1), saves the ring
/// file and, if asked, the builder file (for `swiftlet-ring-builder`).
pub fn build_ring(
    ring_path: &Path,
    builder_path: Option<&Path>,
    nodes: &[Node],
    part_power: u8,
    replicas: u32,
    min_part_hours: u32,
) -> ring::Result<()> {
    let mut b = RingBuilder::new(part_power, replicas, min_part_hours)?;
    for n in nodes {
        b.add_dev(NewDevice::local(n.zone, n.ip.clone(), n.port, n.device.clone()))?;
    }
    b.rebalance(1)?;
    if let Some(p) = builder_path {
        b.save(p)?;
    }
    b.get_ring()?.save(ring_path)
}

/// A TempAuth user of the proxy config.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub account: String,
    pub user: String,
    pub key: String,
    pub groups: Vec<String>,
}

/// The `user_<account>_<user> = <key> [groups...] [url]` lines of
/// `[filter:tempauth]`, in file order.
pub fn users(proxy_conf: &str) -> Vec<User> {
    let mut in_auth = false;
    let mut out = Vec::new();
    for raw in proxy_conf.lines() {
        let t = raw.trim();
        if t.starts_with('[') {
            in_auth = t == "[filter:tempauth]";
            continue;
        }
        if !in_auth || t.starts_with('#') {
            continue;
        }
        let Some((k, v)) = t.split_once('=') else { continue };
        let Some((account, user)) = k.trim().strip_prefix("user_").and_then(|r| r.split_once('_')) else { continue };
        let mut words = v.split_whitespace();
        let Some(key) = words.next() else { continue };
        out.push(User {
            account: account.into(),
            user: user.into(),
            key: key.into(),
            groups: words.filter(|w| !w.contains("://")).map(String::from).collect(),
        });
    }
    out
}

/// Where everything lives under the data folder.
#[derive(Clone, Debug)]
pub struct Layout {
    pub data: PathBuf,
}

impl Layout {
    pub fn new(data: impl Into<PathBuf>) -> Layout {
        Layout { data: data.into() }
    }
    /// The launcher's settings (bind address, port, nodes, replicas).
    pub fn settings(&self) -> PathBuf {
        self.data.join("aio.conf")
    }
    /// swift_dir: swift.conf, rings, builders and the configs.
    pub fn etc(&self) -> PathBuf {
        self.data.join("etc")
    }
    pub fn proxy_conf(&self) -> PathBuf {
        self.etc().join("proxy-server.conf")
    }
    /// Node `i` (1-based)'s config.
    pub fn object_conf(&self, i: usize) -> PathBuf {
        self.etc().join(format!("object-server-{i}.conf"))
    }
    /// Node `i`'s `devices` folder (it holds one device, [`Layout::device`]).
    pub fn devices(&self, i: usize) -> PathBuf {
        self.data.join("nodes").join(i.to_string())
    }
    /// Node `i`'s recon cache folder (its daemons' statistics).
    pub fn recon(&self, i: usize) -> PathBuf {
        self.data.join("recon").join(i.to_string())
    }
    pub fn device(i: usize) -> String {
        format!("d{i}")
    }
    pub fn logs(&self) -> PathBuf {
        self.data.join("logs")
    }
    /// Pid files of the running children.
    pub fn run(&self) -> PathBuf {
        self.data.join("run")
    }
}

/// What a cluster is made of; kept in `aio.conf` after the first run.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The proxy's address (the storage nodes always listen on loopback).
    pub bind: String,
    /// The proxy's port; node i listens on port + i.
    pub port: u16,
    pub nodes: usize,
    pub replicas: u32,
}

impl Settings {
    /// Node `i` (1-based)'s port.
    pub fn node_port(&self, i: usize) -> u16 {
        self.port + i as u16
    }
    /// The storage nodes' address (also the one in the rings).
    pub fn node_ip(&self) -> &'static str {
        "127.0.0.1"
    }
    pub fn to_text(&self) -> String {
        format!(
            "# swiftlet-aio: this folder's cluster (the rings hold these ports).\n\
             [aio]\nbind_ip = {}\nport = {}\nnodes = {}\nreplicas = {}\n",
            self.bind, self.port, self.nodes, self.replicas
        )
    }
    pub fn parse(text: &str) -> Option<Settings> {
        let ini = common::Ini::parse(text.as_bytes());
        let get = |k: &str| ini.get("aio", k).map(|v| String::from_utf8_lossy(v).into_owned());
        Some(Settings {
            bind: get("bind_ip")?,
            port: get("port")?.parse().ok()?,
            nodes: get("nodes")?.parse().ok()?,
            replicas: get("replicas")?.parse().ok()?,
        })
    }
}

fn write_new(path: &Path, text: &str) -> io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Writes every missing file of the cluster (an existing file, above all
/// swift.conf with its secrets, is never replaced), then `aio.conf`.
pub fn create(layout: &Layout, s: &Settings) -> Result<(), String> {
    let etc = layout.etc();
    let ctx = |p: &Path| {
        let p = p.to_path_buf();
        move |e: io::Error| format!("cannot write {}: {e}", p.display())
    };
    for d in [etc.clone(), layout.logs(), layout.run()] {
        std::fs::create_dir_all(&d).map_err(ctx(&d))?;
    }
    let swift_conf_path = etc.join("swift.conf");
    if !swift_conf_path.exists() {
        let secrets = random_hex(16).and_then(|p| Ok((p, random_hex(16)?)));
        let (prefix, suffix) = secrets.map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
        write_new(&swift_conf_path, &swift_conf(&prefix, &suffix)).map_err(ctx(&swift_conf_path))?;
    }
    let nodes: Vec<Node> = (1..=s.nodes)
        .map(|i| Node { ip: s.node_ip().into(), port: s.node_port(i), zone: i as u32, device: Layout::device(i) })
        .collect();
    for name in RING_NAMES {
        let ring_path = etc.join(format!("{name}.ring"));
        if !ring_path.exists() {
            let builder = etc.join(format!("{name}.builder"));
            build_ring(&ring_path, Some(&builder), &nodes, PART_POWER, s.replicas, MIN_PART_HOURS)
                .map_err(|e| format!("cannot build the {name} ring: {e}"))?;
        }
    }
    for i in 1..=s.nodes {
        let dev = layout.devices(i).join(Layout::device(i));
        std::fs::create_dir_all(&dev).map_err(ctx(&dev))?;
        let conf = layout.object_conf(i);
        let text = object_server_conf(s.node_ip(), s.node_port(i), &layout.devices(i), &etc, &layout.recon(i));
        write_new(&conf, &text).map_err(ctx(&conf))?;
    }
    let conf = layout.proxy_conf();
    write_new(&conf, &proxy_server_conf(&s.bind, s.port, &etc)).map_err(ctx(&conf))?;
    let settings = layout.settings();
    write_new(&settings, &s.to_text()).map_err(ctx(&settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_option_replaces_in_its_section_or_adds() {
        let t = "[DEFAULT]\n# bind_ip = x\nbind_ip = 0.0.0.0\nworkers = auto\n\n[app:x]\nbind_ip = keep\n";
        let r = set_option(t, "DEFAULT", "bind_ip", "127.0.0.1");
        assert_eq!(r, "[DEFAULT]\n# bind_ip = x\nbind_ip = 127.0.0.1\nworkers = auto\n\n[app:x]\nbind_ip = keep\n");
        let r = set_option(t, "app:x", "new", "1");
        assert!(r.ends_with("[app:x]\nbind_ip = keep\nnew = 1\n"), "{r}");
        let r = set_option(t, "DEFAULT", "devices", "/d");
        assert!(r.starts_with("[DEFAULT]\n# bind_ip = x\nbind_ip = 0.0.0.0\nworkers = auto\ndevices = /d\n\n"), "{r}");
        let r = set_option(t, "other", "k", "v");
        assert!(r.ends_with("\n[other]\nk = v\n"), "{r}");
    }

    #[test]
    fn configs_change_only_paths_ports_and_addresses() {
        let t = object_server_conf(
            "127.0.0.1",
            6201,
            Path::new("/data/nodes/1"),
            Path::new("/data/etc"),
            Path::new("/data/recon/1"),
        );
        let changed: Vec<&str> = t.lines().filter(|l| !OBJECT_SERVER_SAMPLE.lines().any(|s| s == *l)).collect();
        assert_eq!(
            changed,
            [
                "# Written by swiftlet-aio from etc/object-server.conf-sample.",
                "bind_ip = 127.0.0.1",
                "bind_port = 6201",
                "devices = /data/nodes/1",
                "mount_check = false",
                "swift_dir = /data/etc",
                "interval = 10",
                "recon_cache_path = /data/recon/1",
                "nice_priority = 10",
                "ionice_class = IOPRIO_CLASS_BE",
                "ionice_priority = 7",
                "interval = 10",
                "recon_cache_path = /data/recon/1",
                "nice_priority = 10",
                "ionice_class = IOPRIO_CLASS_BE",
                "ionice_priority = 7"
            ]
        );
        let t = swift_conf("0123abcd", "4567ef89");
        let changed: Vec<&str> = t.lines().filter(|l| !SWIFT_CONF_SAMPLE.lines().any(|s| s == *l)).collect();
        assert_eq!(
            changed,
            [
                "# Written by swiftlet-aio from etc/swift.conf-sample.",
                "swift_hash_path_prefix = 0123abcd",
                "swift_hash_path_suffix = 4567ef89"
            ]
        );
        assert!(!t.contains("changeme"), "{t}");
        let t = proxy_server_conf("0.0.0.0", 9000, Path::new("/data/etc"));
        let changed: Vec<&str> = t.lines().filter(|l| !PROXY_SERVER_SAMPLE.lines().any(|s| s == *l)).collect();
        assert_eq!(
            changed,
            [
                "# Written by swiftlet-aio from etc/proxy-server.conf-sample.",
                "bind_port = 9000",
                "swift_dir = /data/etc",
                "allow_account_management = true",
                "account_autocreate = true",
                "reseller_prefix = AUTH, SERVICE",
                "SERVICE_require_group = service"
            ]
        );
    }

    #[test]
    fn the_sample_has_the_users_swifts_functional_tests_expect() {
        let u = users(PROXY_SERVER_SAMPLE);
        let names: Vec<String> = u.iter().map(|u| format!("{}:{}/{}", u.account, u.user, u.key)).collect();
        for want in ["test:tester/testing", "test:tester3/testing3", "test2:tester2/testing2", "test5:tester5/testing5"]
        {
            assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
        }
        assert!(u.iter().any(|u| u.account == "admin" && u.groups.iter().any(|g| g == ".reseller_admin")));
        assert!(u.iter().any(|u| u.account == "test5" && u.groups == ["service"]));
    }

    #[test]
    fn settings_round_trip_and_rings_build() {
        let s = Settings { bind: "127.0.0.1".into(), port: 8080, nodes: 4, replicas: 3 };
        assert_eq!(Settings::parse(&s.to_text()), Some(s.clone()));
        assert_eq!(s.node_port(4), 8084);
        let dir = std::env::temp_dir().join(format!("swiftlet-aio-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let layout = Layout::new(&dir);
        create(&layout, &s).unwrap();
        let conf = std::fs::read_to_string(layout.etc().join("swift.conf")).unwrap();
        let hasher = ring::PathHasher::from_swift_dir(&layout.etc()).unwrap();
        let ring = ring::Ring::open(layout.etc().join("object.ring"), hasher).unwrap();
        assert_eq!((ring.part_power(), ring.replica_count()), (PART_POWER, 3));
        let part = ring.partition("AUTH_test", Some("c"), Some("o")).unwrap();
        let ports: Vec<u16> = ring.part_nodes(part).iter().map(|d| d.port).collect();
        assert_eq!(ports.len(), 3);
        assert!(ports.iter().all(|p| (8081..=8084).contains(p)));
        // A second create keeps every file, above all the secrets.
        create(&layout, &Settings { port: 1, ..s }).unwrap();
        assert_eq!(std::fs::read_to_string(layout.etc().join("swift.conf")).unwrap(), conf);
        assert!(std::fs::read_to_string(layout.proxy_conf()).unwrap().contains("bind_port = 8080"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
