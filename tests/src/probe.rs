//! [`ProbeCluster`]: a local cluster the probe tests own process by
//! process (Swift's `test/probe` harness, for swiftlet).
//!
//! The folder is made by swiftlet-aio's own setup code
//! ([`aio::setup::create`]: swift.conf, rings, one config per node), but
//! no supervisor runs: the harness starts the 4 `swiftlet-object-server`s
//! and the `swiftlet-proxy-server` itself, so a test can `kill -9` node
//! `i` and start it again when it likes ([`ProbeCluster::kill`],
//! [`ProbeCluster::start`]). No background daemon runs either: the object
//! replicator runs once, on demand, on one node ([`ProbeCluster::replicate`])
//! or on all ([`ProbeCluster::replicate_all`],
//! [`ProbeCluster::get_to_final_state`]: every node, twice), like Swift's
//! `Manager(['object-replicator']).once()`.
//!
//! Nodes are numbered from 1 as in swiftlet-aio: node `i` listens on the
//! proxy's port + `i` and holds one device, `d<i>`, in
//! `nodes/<i>/d<i>`. Where an object is, and what each replica holds, is
//! read from the ring file ([`ProbeCluster::place`]), the device folders
//! ([`ProbeCluster::files`]) and direct backend requests
//! ([`ProbeCluster::direct`], Swift's `direct_client`).
//!
//! Every process's stdout and stderr go to `logs/<name>.log` in the
//! cluster folder (appended across restarts). Dropping the cluster kills
//! every process; the folder is removed, unless the test is failing: then
//! it stays and its place is printed. Each process is also started under
//! `setpriv --pdeathsig KILL` (when there is one), so none outlives a test
//! binary that is killed.

use crate::client::{self, Resp, Session};
use crate::cluster::{bin_dir, spawn_from_lasting_thread, TESTER};
use aio::setup::{self, Layout, Settings};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// Object servers at the start (one device each, zones 1 to 4).
pub const NODES: usize = 4;
/// Copies of each object.
pub const REPLICAS: u32 = 3;
/// Ports kept after the proxy's: node `i` has the proxy's + `i`, and one
/// more node may be added ([`ProbeCluster::add_node`]).
const PORTS: u16 = NODES as u16 + 2;
/// The account of [`TESTER`].
pub const ACCOUNT: &str = "AUTH_test";
/// How long one `--once` pass of a daemon may take.
const DAEMON_TIMEOUT: Duration = Duration::from_secs(120);

/// Where an object lives: its partition, its name's hash, and the nodes
/// (by number) the ring gives it, primaries in replica order, then the
/// handoffs in the order the proxy tries them.
#[derive(Clone, Debug)]
pub struct Place {
    pub part: u32,
    pub hash: String,
    pub primaries: Vec<usize>,
    pub handoffs: Vec<usize>,
    /// `/account/container/object`.
    pub path: String,
}

impl Place {
    /// The hash folder under a device, relative: `objects/<part>/<suffix>/<hash>`.
    pub fn hash_dir(&self) -> PathBuf {
        Path::new("objects").join(self.part.to_string()).join(&self.hash[self.hash.len() - 3..]).join(&self.hash)
    }
}

/// A probe cluster; see the module documentation.
pub struct ProbeCluster {
    pub layout: Layout,
    pub settings: Settings,
    /// The temp folder (the cluster folder is `cluster/` in it).
    root: PathBuf,
    proxy: SocketAddr,
    /// Running processes: `object-server-<i>` and `proxy-server`.
    procs: Mutex<BTreeMap<String, Child>>,
    /// Nodes in the cluster (4, or 5 after [`ProbeCluster::add_node`]).
    nodes: Mutex<usize>,
}

/// `cargo build` of every binary the probe tests run, once per test
/// binary, with this test binary's profile.
fn build_binaries() {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "-p", "swiftlet-object-server", "-p", "swiftlet-proxy", "-p", "swiftlet-ring", "--bins"]);
        if bin_dir().file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.current_dir(env!("CARGO_MANIFEST_DIR")).status().expect("run cargo build");
        assert!(status.success(), "cannot build the servers, the daemons and the ring tools");
    });
}

/// `setpriv`, if this system has one that can set a parent-death signal.
fn setpriv() -> Option<&'static Path> {
    ["/usr/bin/setpriv", "/bin/setpriv"].into_iter().map(Path::new).find(|p| p.is_file())
}

/// Whether a binary of this name was built next to the test binary (a
/// daemon another change may not have added yet).
pub fn has_bin(name: &str) -> bool {
    bin_dir().join(name).is_file()
}

impl ProbeCluster {
    /// A new cluster of [`NODES`] object servers ([`REPLICAS`] replicas)
    /// and a proxy on free ports, in a temp folder named after `name`,
    /// every process started and answering.
    pub fn new(name: &str) -> ProbeCluster {
        build_binaries();
        let root = std::env::temp_dir().join(format!("swiftlet-probe-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let layout = Layout::new(root.join("cluster"));
        let port = port_run(PORTS);
        let settings = Settings { bind: "127.0.0.1".into(), port, nodes: NODES, replicas: REPLICAS };
        setup::create(&layout, &settings).unwrap_or_else(|e| panic!("cluster folder: {e}"));
        // One worker a process: six clusters may run at once on a small machine.
        for i in 1..=NODES {
            set_option(&layout.object_conf(i), "DEFAULT", "workers", "1");
        }
        set_option(&layout.proxy_conf(), "DEFAULT", "workers", "1");
        let c = ProbeCluster {
            layout,
            settings,
            root,
            proxy: SocketAddr::from(([127, 0, 0, 1], port)),
            procs: Mutex::default(),
            nodes: Mutex::new(NODES),
        };
        for i in 1..=NODES {
            c.start(i);
        }
        c.start_proxy();
        c
    }

    /// Nodes in the cluster now.
    pub fn nodes(&self) -> usize {
        *self.nodes.lock().unwrap()
    }

    /// Node `i`'s port.
    pub fn port(&self, i: usize) -> u16 {
        self.settings.node_port(i)
    }

    /// Node `i`'s device name (`d<i>`).
    pub fn device(i: usize) -> String {
        Layout::device(i)
    }

    /// Node `i`'s device folder (`nodes/<i>/d<i>`).
    pub fn device_dir(&self, i: usize) -> PathBuf {
        self.layout.devices(i).join(Layout::device(i))
    }

    /// Where the logs are, for failure messages.
    pub fn logs(&self) -> String {
        format!("logs in {}", self.layout.logs().display())
    }

    /// Starts `bin --config conf args...` with its output appended to
    /// `logs/<log>.log`.
    fn spawn(&self, bin: &str, conf: &Path, args: &[&str], log: &str) -> Child {
        let path = self.layout.logs().join(format!("{log}.log"));
        let out = OpenOptions::new().create(true).append(true).open(&path).expect("log file");
        let err = out.try_clone().expect("log file");
        let exe = bin_dir().join(bin);
        let mut cmd = match setpriv() {
            Some(sp) => {
                let mut c = Command::new(sp);
                c.args(["--pdeathsig", "KILL", "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.arg("--config").arg(conf).args(args).stdin(Stdio::null()).stdout(out).stderr(err);
        spawn_from_lasting_thread(cmd).unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()))
    }

    /// Starts node `i`'s object server and waits until it listens.
    pub fn start(&self, i: usize) {
        let name = format!("object-server-{i}");
        assert!(!self.procs.lock().unwrap().contains_key(&name), "{name} is already running");
        let mut child = self.spawn("swiftlet-object-server", &self.layout.object_conf(i), &[], &name);
        test_support::wait_listening(self.port(i), &mut child, &name);
        self.procs.lock().unwrap().insert(name, child);
    }

    /// `kill -9` of the proxy and a new one (which loads the rings as
    /// they are now, where a running one reloads a changed ring file at
    /// most every 15 s).
    pub fn restart_proxy(&self) {
        let child = self.procs.lock().unwrap().remove("proxy-server");
        if let Some(mut child) = child {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.start_proxy();
    }

    fn start_proxy(&self) {
        let mut child = self.spawn("swiftlet-proxy-server", &self.layout.proxy_conf(), &[], "proxy-server");
        test_support::wait_listening(self.settings.port, &mut child, "proxy-server");
        self.procs.lock().unwrap().insert("proxy-server".into(), child);
    }

    /// `kill -9` of node `i`'s object server (waited for: its port is
    /// closed when this returns).
    pub fn kill(&self, i: usize) {
        let name = format!("object-server-{i}");
        let mut child = self.procs.lock().unwrap().remove(&name).unwrap_or_else(|| panic!("{name} is not running"));
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts a daemon (`swiftlet-object-replicator`, ...) for node `i`
    /// with `args` after its `--config`; the caller waits for it or kills it.
    pub fn spawn_daemon(&self, bin: &str, i: usize, args: &[&str]) -> Child {
        let log = bin.strip_prefix("swiftlet-").unwrap_or(bin);
        self.spawn(bin, &self.layout.object_conf(i), args, &format!("{log}-{i}"))
    }

    /// Waits for a daemon started by [`ProbeCluster::spawn_daemon`] to
    /// exit, and checks that it exited with status 0.
    pub fn wait_daemon(&self, what: &str, mut child: Child) {
        let status = wait_exit(&mut child, DAEMON_TIMEOUT);
        match status {
            Some(s) if s.success() => {}
            Some(s) => panic!("{what} exited with {s}; {}", self.logs()),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {DAEMON_TIMEOUT:?}; {}", self.logs())
            }
        }
    }

    /// Runs a daemon once (`--once`) on each of `nodes` at the same time
    /// and waits until every one exited 0.
    pub fn once(&self, bin: &str, nodes: &[usize], extra: &[&str]) {
        let mut args = vec!["--once"];
        args.extend_from_slice(extra);
        let running: Vec<(usize, Child)> = nodes.iter().map(|&i| (i, self.spawn_daemon(bin, i, &args))).collect();
        for (i, child) in running {
            self.wait_daemon(&format!("{bin} --once on node {i}"), child);
        }
    }

    /// One replicator pass on node `i` (`--once`).
    pub fn replicate(&self, i: usize) {
        self.once("swiftlet-object-replicator", &[i], &[]);
    }

    /// One replicator pass on every node, all at once (Swift's
    /// `Manager(['object-replicator']).once()`); a node that is down runs
    /// none.
    pub fn replicate_all(&self) {
        let up: Vec<usize> = (1..=self.nodes()).filter(|&i| self.is_up(i)).collect();
        self.once("swiftlet-object-replicator", &up, &[]);
    }

    /// Swift's `get_to_final_state`: every node's replicator, twice (what
    /// one node pushes in the first round, it may be another's turn to
    /// push, or to remove as a handoff, in the second).
    pub fn get_to_final_state(&self) {
        self.replicate_all();
        self.replicate_all();
    }

    /// Whether node `i`'s object server is running (started by the harness).
    pub fn is_up(&self, i: usize) -> bool {
        self.procs.lock().unwrap().contains_key(&format!("object-server-{i}"))
    }

    /// The object ring as it is in `etc/object.ring` now.
    pub fn ring(&self) -> ring::Ring {
        let etc = self.layout.etc();
        let hasher = ring::PathHasher::from_swift_dir(&etc).expect("swift.conf");
        ring::Ring::open(etc.join("object.ring"), hasher).expect("object.ring")
    }

    /// The node a ring device belongs to (by its port).
    fn node_of(&self, d: &ring::Device) -> usize {
        let i = d.port.checked_sub(self.settings.port).map(usize::from);
        i.filter(|&i| i >= 1).unwrap_or_else(|| panic!("device {} is on no node of this cluster", d.format()))
    }

    /// Where `container/object` of [`ACCOUNT`] lives, by the ring file as
    /// it is now.
    pub fn place(&self, container: &str, object: &str) -> Place {
        let ring = self.ring();
        let (part, primaries) = ring.nodes(ACCOUNT, Some(container), Some(object)).expect("ring lookup");
        let hash = ring.hasher().hash_path(ACCOUNT, Some(container), Some(object)).expect("hash");
        Place {
            part,
            hash,
            primaries: primaries.iter().map(|d| self.node_of(d)).collect(),
            handoffs: ring.handoffs(part).map(|d| self.node_of(&d)).collect(),
            path: format!("/{ACCOUNT}/{container}/{object}"),
        }
    }

    /// The files node `i` holds for an object (`<timestamp>.data` and the
    /// like), sorted; empty if its hash folder is not there.
    pub fn files(&self, i: usize, place: &Place) -> Vec<String> {
        let dir = self.device_dir(i).join(place.hash_dir());
        let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
        let mut names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    /// The nodes holding a `.data` file of an object.
    pub fn nodes_with_data(&self, place: &Place) -> Vec<usize> {
        (1..=self.nodes()).filter(|&i| self.files(i, place).iter().any(|f| f.ends_with(".data"))).collect()
    }

    /// A request straight to node `i`'s object server, for the object at
    /// `place` (`/{device}/{part}/{account}/{container}/{object}`), as
    /// Swift's `direct_client` does.
    pub fn direct(&self, i: usize, method: &str, place: &Place, headers: &[(&str, &str)]) -> Resp {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port(i)));
        let path = format!("/{}/{}{}", Layout::device(i), place.part, place.path);
        client::request(addr, &addr.to_string(), method, &path, headers, b"")
            .unwrap_or_else(|e| panic!("{method} {path} on node {i}: {e} ({})", self.logs()))
    }

    /// A request to the proxy; panics if the connection fails.
    pub fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        client::request(self.proxy, &self.proxy.to_string(), method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e} ({})", self.logs()))
    }

    /// Logs [`TESTER`] in (TempAuth v1.0).
    pub fn login(&self) -> Session {
        let (user, key) = TESTER;
        let r = self.req("GET", "/auth/v1.0", &[("X-Auth-User", user), ("X-Auth-Key", key)], b"");
        assert_eq!(r.status, 200, "login {user}: {} ({})", r.text(), self.logs());
        let token = r.header("x-auth-token").expect("X-Auth-Token").to_string();
        Session { token, account: format!("/v1/{ACCOUNT}") }
    }

    /// Adds node `n` + 1 (one device, its own zone, weight 100) to the
    /// object ring and rebalances it (`swiftlet-ring-builder add`,
    /// `pretend_min_part_hours_passed`, `rebalance`: the new ring file is
    /// written in place, where the servers reload it and the daemons read
    /// it at start), writes its config and device folder, and starts its
    /// object server. Returns its number.
    pub fn add_node(&self) -> usize {
        let i = self.nodes() + 1;
        assert!(i < PORTS as usize, "no port kept for node {i}");
        let dev = self.device_dir(i);
        std::fs::create_dir_all(&dev).unwrap_or_else(|e| panic!("{}: {e}", dev.display()));
        let conf = setup::object_server_conf(
            self.settings.node_ip(),
            self.port(i),
            &self.layout.devices(i),
            &self.layout.etc(),
            &self.layout.recon(i),
        );
        std::fs::write(self.layout.object_conf(i), conf).expect("write the new node's config");
        set_option(&self.layout.object_conf(i), "DEFAULT", "workers", "1");
        // The object server first: the ring names it as soon as it is written.
        *self.nodes.lock().unwrap() = i;
        self.start(i);
        let value = format!("r1z{i}-{}:{}/{}", self.settings.node_ip(), self.port(i), Layout::device(i));
        self.ring_builder(&["add", &value, "100"]);
        self.ring_builder(&["pretend_min_part_hours_passed"]);
        let out = self.ring_builder(&["rebalance"]);
        assert!(out.contains("Reassigned"), "rebalance saved nothing: {out}");
        i
    }

    /// Runs `swiftlet-ring-builder etc/object.builder args...`; its
    /// output. Exit status 0 or 1 (a warning, as swift-ring-builder's) is
    /// success.
    pub fn ring_builder(&self, args: &[&str]) -> String {
        let out = Command::new(bin_dir().join("swiftlet-ring-builder"))
            .arg(self.layout.etc().join("object.builder"))
            .args(args)
            .output()
            .expect("run swiftlet-ring-builder");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(matches!(out.status.code(), Some(0 | 1)), "swiftlet-ring-builder {args:?}: {}: {text}", out.status);
        text
    }
}

impl Drop for ProbeCluster {
    fn drop(&mut self) {
        let mut procs = self.procs.lock().unwrap_or_else(|p| p.into_inner());
        for child in procs.values_mut() {
            let _ = child.kill();
        }
        for (_, mut child) in std::mem::take(&mut *procs) {
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("probe tests: cluster kept in {} ({})", self.root.display(), self.logs());
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// The first of `n` consecutive free ports below the kernel's ephemeral
/// range, none handed out before in this process.
///
/// Not `test_support::free_port_run`: its ports are ephemeral ones, and a
/// node is restarted on its port seconds after it was handed out, while
/// the other clusters of the test binary open hundreds of connections,
/// each from an ephemeral port the kernel may pick there; one such
/// connection alive on a node's port makes its restart fail with "Address
/// already in use".
fn port_run(n: u16) -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let ephemeral = range.split_whitespace().next().and_then(|p| p.parse::<u16>().ok()).unwrap_or(32768);
    let (low, high) = (10_000u16, ephemeral.max(20_000) - n);
    let span = u32::from(high - low);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let seed = std::process::id().wrapping_mul(7919) ^ nanos;
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for k in 0..span {
        let base = low + ((seed.wrapping_add(k.wrapping_mul(97))) % span) as u16;
        let run = base..base + n;
        if run.clone().any(|p| given.contains(&p)) {
            continue;
        }
        if run.clone().all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            given.extend(run);
            return base;
        }
    }
    panic!("no run of {n} free ports on 127.0.0.1 below {ephemeral}");
}

/// Polls `child` until it exits or `timeout` passes (`None`).
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sets `key = value` in `[section]` of a config file.
fn set_option(path: &Path, section: &str, key: &str, value: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::fs::write(path, setup::set_option(&text, section, key, value))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
