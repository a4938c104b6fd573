//! A real little cluster in a temp folder: swift.conf, account, container
//! and object rings (3 replicas over 4 devices) built with the ring
//! crate's `RingBuilder`, 4 `swiftlet-object-server` processes booted from
//! `etc/object-server.conf-sample`, and the proxy booted from
//! `etc/proxy-server.conf-sample`; requests go through the functional
//! tests' client (`functional::client`).
#![allow(dead_code)]

use ring::{NewDevice, RingBuilder};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const PROXY_BIN: &str = env!("CARGO_BIN_EXE_swiftlet-proxy-server");

/// `target/debug/swiftlet-object-server`, next to this test's `deps/`.
/// `cargo test --workspace` builds it; `cargo test -p swiftlet-proxy` does
/// not (binaries of dependencies are never built), so build it here once.
pub fn object_server_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("swiftlet-object-server");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "swiftlet-object-server", "--bin", "swiftlet-object-server"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build of swiftlet-object-server");
        assert!(status.success(), "cannot build swiftlet-object-server");
    }
    bin
}

pub use test_support::{free_port, wait_listening, TempDir};

fn spawn(bin: &Path, conf: &Path, dir: &Path, name: &str) -> Child {
    let log = |n: String| std::fs::File::create(dir.join(n)).unwrap();
    Command::new(bin)
        .arg("--config")
        .arg(conf)
        .stdout(Stdio::from(log(format!("{name}.out.log"))))
        .stderr(Stdio::from(log(format!("{name}.err.log"))))
        .spawn()
        .unwrap()
}

/// Proxy config that makes reads try the primaries by zone (object server
/// `i` is in zone `i + 1`), not in a random order, so a test knows which
/// node a GET reads first.
pub const READ_BY_ZONE: &str = "sorting_method = affinity\nread_affinity = r1z1=1, r1z2=2, r1z3=3, r1z4=4";

pub struct Cluster {
    pub dir: TempDir,
    pub proxy_port: u16,
    pub ports: Vec<u16>,
    pub servers: Vec<Option<Child>>,
    pub proxy: Child,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in self.servers.iter_mut().flatten().chain(std::iter::once(&mut self.proxy)) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn build_ring(path: &Path, ports: &[u16]) {
    let mut b = RingBuilder::new(6, 3, 0).unwrap();
    for (i, port) in ports.iter().enumerate() {
        b.add_dev(NewDevice::local(i as u32 + 1, "127.0.0.1", *port, "sda")).unwrap();
    }
    b.rebalance(1).unwrap();
    b.get_ring().unwrap().save(path).unwrap();
}

impl Cluster {
    pub fn start(name: &str, proxy_overrides: &str) -> Cluster {
        let root = env!("CARGO_MANIFEST_DIR");
        let dir = TempDir::new(name);
        let swift_dir = dir.0.join("swift");
        std::fs::create_dir_all(&swift_dir).unwrap();
        std::fs::write(swift_dir.join("swift.conf"), "[swift-hash]\nswift_hash_path_suffix = proxytest\n").unwrap();
        let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
        for ring in ["account", "container", "object"] {
            build_ring(&swift_dir.join(format!("{ring}.ring")), &ports);
        }
        let os_sample = std::fs::read_to_string(format!("{root}/../etc/object-server.conf-sample")).unwrap();
        let bin = object_server_bin();
        let mut servers = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            let devices = dir.0.join(format!("node{i}"));
            std::fs::create_dir_all(devices.join("sda")).unwrap();
            let conf = dir.0.join(format!("object-server{i}.conf"));
            let text = format!(
                "{os_sample}\n[app:object-server]\nbind_ip = 127.0.0.1\nbind_port = {port}\nworkers = 1\n\
                 devices = {}\nmount_check = false\nswift_dir = {}\n\n[object-updater]\ninterval = 1\n",
                devices.display(),
                swift_dir.display()
            );
            std::fs::write(&conf, text).unwrap();
            let mut child = spawn(&bin, &conf, &dir.0, &format!("node{i}"));
            wait_listening(*port, &mut child, "object server");
            servers.push(Some(child));
        }
        let proxy_port = free_port();
        let sample = std::fs::read_to_string(format!("{root}/../etc/proxy-server.conf-sample")).unwrap();
        let conf = dir.0.join("proxy-server.conf");
        let text = format!(
            "{sample}\n[app:proxy-server]\nbind_ip = 127.0.0.1\nbind_port = {proxy_port}\nworkers = 1\n\
             swift_dir = {}\nnode_timeout = 2\nrecoverable_node_timeout = 2\n{proxy_overrides}\n",
            swift_dir.display()
        );
        std::fs::write(&conf, text).unwrap();
        let mut proxy = spawn(Path::new(PROXY_BIN), &conf, &dir.0, "proxy");
        wait_listening(proxy_port, &mut proxy, "proxy");
        Cluster { dir, proxy_port, ports, servers, proxy }
    }

    /// kill -9 of object server `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.servers[i].take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) to object server `i` by its pid.
    pub fn signal(&self, i: usize, signal: &str) {
        let pid = self.servers[i].as_ref().expect("object server running").id();
        let status = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().unwrap();
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Starts object server `i` again (after [`Cluster::kill`]) on its
    /// config and data.
    pub fn restart(&mut self, i: usize) {
        assert!(self.servers[i].is_none(), "object server {i} still runs");
        let conf = self.dir.0.join(format!("object-server{i}.conf"));
        let mut child = spawn(&object_server_bin(), &conf, &self.dir.0, &format!("node{i}-restarted"));
        wait_listening(self.ports[i], &mut child, "object server");
        self.servers[i] = Some(child);
    }

    pub fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        request(self.proxy_port, method, path, headers, body)
    }

    /// Logs in and returns (token, storage path like `/v1/AUTH_test`).
    pub fn login(&self, user: &str, key: &str) -> (String, String) {
        let r = self.req("GET", "/auth/v1.0", &[("X-Auth-User", user), ("X-Auth-Key", key)], b"");
        assert_eq!(r.status, 200, "{}", r.text());
        let url = r.header("x-storage-url").unwrap().to_string();
        let path = url.split_once("://").unwrap().1.split_once('/').unwrap().1;
        (r.header("x-auth-token").unwrap().to_string(), format!("/{path}"))
    }
}

pub use functional::Resp;

/// One request on a fresh connection (`Connection: close`), with the
/// functional tests' client.
pub fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    functional::client::request(addr, &format!("127.0.0.1:{port}"), method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}
