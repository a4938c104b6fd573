//! [`Cluster`]: the endpoint the functional tests talk to.
//!
//! * Local (the default): `swiftlet-aio` runs 4 object servers (3
//!   replicas) and the proxy on free ports, with its data folder in the
//!   temp folder. The binaries come from this cargo target folder: the
//!   harness runs `cargo build` for them once per test binary, so they are
//!   never stale. Dropping the cluster stops it (SIGTERM, as Ctrl-C) and
//!   removes the folder, unless the test is failing: then the folder and
//!   its `logs/` stay and their place is printed. [`Cluster::shared`] is
//!   one cluster for all tests of a test binary, started with
//!   `--exit-with-parent` so it stops when the test binary exits.
//! * External: `SWIFTLET_TEST_URL=http://host:port` points the same tests
//!   at any running endpoint (a swiftlet deployment, or Swift itself). It
//!   must have the users Swift's functional tests expect
//!   (`test:tester/testing` admin, `test:tester3/testing3`,
//!   `test2:tester2/testing2` admin). Tests that need to own the processes
//!   skip themselves there ([`Cluster::is_local`]).

use crate::client::{self, Resp, Session};
use rustix::process::{kill_process, Pid, Signal};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Object servers in a local cluster.
const NODES: u16 = 4;
/// How long a local cluster may take to answer (debug builds, first run).
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The users of Swift's functional tests: (user, key).
pub const TESTER: (&str, &str) = ("test:tester", "testing");
pub const TESTER3: (&str, &str) = ("test:tester3", "testing3");
pub const TESTER2: (&str, &str) = ("test2:tester2", "testing2");

pub struct Cluster {
    /// `http://host:port`, no trailing slash.
    pub url: String,
    addr: SocketAddr,
    host: String,
    local: Option<Local>,
}

struct Local {
    aio: Mutex<Child>,
    data: PathBuf,
}

impl Cluster {
    /// The endpoint in `SWIFTLET_TEST_URL` if set, else a new local cluster
    /// whose folder is named after `name`.
    pub fn from_env(name: &str) -> Cluster {
        match std::env::var("SWIFTLET_TEST_URL") {
            Ok(url) if !url.is_empty() => Cluster::external(&url),
            _ => Cluster::start(name),
        }
    }

    /// One cluster for every test of this test binary ([`from_env`]); a
    /// local one stops when the test binary exits.
    ///
    /// [`from_env`]: Cluster::from_env
    pub fn shared() -> &'static Cluster {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        SHARED.get_or_init(|| {
            let exe = std::env::current_exe().ok();
            let name = exe.as_deref().and_then(Path::file_stem).and_then(|s| s.to_str()).unwrap_or("shared");
            let name = format!("shared-{}", name.split('-').next().unwrap_or(name));
            remove_dead_runs(&name);
            let c = Cluster::from_env(&name);
            // Never dropped: `--exit-with-parent` stops it with the process.
            if let Some(local) = &c.local {
                eprintln!("functional tests: cluster {} in {}", c.url, local.data.display());
            }
            c
        })
    }

    /// An endpoint that is already running.
    pub fn external(url: &str) -> Cluster {
        let url = url.trim_end_matches('/').to_string();
        let host = url.split_once("://").map_or(url.as_str(), |(_, r)| r).split('/').next().unwrap_or("").to_string();
        let addr = host
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .unwrap_or_else(|| panic!("SWIFTLET_TEST_URL={url}: cannot resolve {host:?} (want http://host:port)"));
        Cluster { url, addr, host, local: None }
    }

    /// A new local cluster: swiftlet-aio on free ports, data under the
    /// temp folder in `swiftlet-functional-<name>-<pid>`.
    pub fn start(name: &str) -> Cluster {
        build_binaries();
        let data = std::env::temp_dir().join(format!("swiftlet-functional-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("cannot create {}: {e}", data.display()));
        let port = test_support::free_port_run(NODES + 1);
        let out = std::fs::File::create(data.join("aio.out")).expect("aio.out");
        let err = std::fs::File::create(data.join("aio.err")).expect("aio.err");
        let mut cmd = Command::new(bin_dir().join("swiftlet-aio"));
        cmd.arg("--data")
            .arg(data.join("cluster"))
            .args(["--port", &port.to_string(), "--nodes", &NODES.to_string(), "--exit-with-parent"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = spawn_from_lasting_thread(cmd).unwrap_or_else(|e| panic!("cannot run swiftlet-aio: {e}"));
        let url = format!("http://127.0.0.1:{port}");
        let c = Cluster {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            host: format!("127.0.0.1:{port}"),
            url,
            local: Some(Local { aio: Mutex::new(child), data: data.clone() }),
        };
        c.wait_ready();
        c
    }

    fn wait_ready(&self) {
        let local = self.local.as_ref().expect("local");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let out = std::fs::read_to_string(local.data.join("aio.out")).unwrap_or_default();
            if out.contains("swiftlet is running at") {
                return;
            }
            if let Ok(Some(status)) = local.aio.lock().unwrap().try_wait() {
                let err = std::fs::read_to_string(local.data.join("aio.err")).unwrap_or_default();
                panic!("swiftlet-aio exited ({status}) before the cluster answered:\n{err}");
            }
            assert!(Instant::now() < deadline, "the cluster did not answer within {START_TIMEOUT:?}; {}", self.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the harness started (and owns) the processes.
    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }

    /// A local cluster's swiftlet-aio data folder (configs, rings, each
    /// node's devices under `nodes/<i>/d<i>`, logs).
    pub fn data(&self) -> Option<PathBuf> {
        self.local.as_ref().map(|l| l.data.join("cluster"))
    }

    /// Where a local cluster keeps its logs, for failure messages.
    pub fn logs(&self) -> String {
        match &self.local {
            Some(l) => format!("logs in {}", l.data.display()),
            None => format!("external endpoint {}", self.url),
        }
    }

    /// One request; panics (with the logs' place) if the connection fails.
    pub fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        client::request(self.addr, &self.host, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e} ({})", self.logs()))
    }

    /// Logs `(user, key)` in with TempAuth's v1.0 headers.
    pub fn login(&self, (user, key): (&str, &str)) -> Session {
        let r = self.req("GET", "/auth/v1.0", &[("X-Auth-User", user), ("X-Auth-Key", key)], b"");
        assert_eq!(r.status, 200, "login {user}: {} ({})", r.text(), self.logs());
        let token = r.header("x-auth-token").expect("X-Auth-Token").to_string();
        let url = r.header("x-storage-url").expect("X-Storage-Url");
        let path = url.split_once("://").and_then(|(_, r)| r.split_once('/')).map(|(_, p)| p).unwrap_or("");
        Session { token, account: format!("/{path}") }
    }

    /// A name no other test run uses: `prefix` with this process's id and
    /// a clock reading (an external endpoint keeps earlier runs' data).
    pub fn unique(prefix: &str) -> String {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        format!("{prefix}-{}-{nanos:x}", std::process::id())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let Some(local) = &self.local else { return };
        let mut aio = local.aio.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pid) = Pid::from_raw(aio.id() as i32) {
            let _ = kill_process(pid, Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while matches!(aio.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = aio.kill();
        let _ = aio.wait();
        if std::thread::panicking() {
            eprintln!("functional tests: cluster {} kept: {}", self.url, self.logs());
        } else {
            let _ = std::fs::remove_dir_all(&local.data);
        }
    }
}

/// Removes the folders of earlier runs of `name` whose process is gone:
/// a shared cluster is never dropped, so its folder (and logs) stays until
/// the next run.
fn remove_dead_runs(name: &str) {
    let prefix = format!("swiftlet-functional-{name}-");
    let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for e in dir.flatten() {
        let file = e.file_name();
        let Some(pid) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else { continue };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The cargo target folder holding this test binary (`target/debug`).
pub(crate) fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().expect("exe folder");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().expect("target folder").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// `cargo build` of swiftlet-aio and the servers, once per test binary,
/// with this test binary's profile (cargo never builds other packages'
/// binaries for a test, and stale ones would test old code).
fn build_binaries() {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "-p", "swiftlet-aio", "-p", "swiftlet-object-server", "-p", "swiftlet-proxy", "--bins"]);
        if bin_dir().file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.current_dir(env!("CARGO_MANIFEST_DIR")).status().expect("run cargo build");
        assert!(status.success(), "cannot build swiftlet-aio and the servers");
    });
}

type SpawnJob = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Spawns `cmd` from a thread that lives as long as the process: the
/// kernel's parent-death signal (`--exit-with-parent`) follows the thread
/// that forked, and test threads end after each test.
pub(crate) fn spawn_from_lasting_thread(cmd: Command) -> std::io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnJob>>> = OnceLock::new();
    let tx = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("cluster-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
                // The senders live in a static: this loop never ends.
            })
            .expect("spawner thread");
        Mutex::new(tx)
    });
    let (reply, answer) = mpsc::channel();
    tx.lock().unwrap().send((cmd, reply)).map_err(|_| std::io::Error::other("spawner thread gone"))?;
    answer.recv().map_err(|_| std::io::Error::other("spawner thread gone"))?
}
