//! swiftlet-aio as a user runs it: the binary on free ports in a temp
//! folder, the curl commands it prints run by real `curl`, a restart on the
//! same folder, a killed object server restarted, SIGTERM/SIGINT, errors.
//!
//! The object server and proxy binaries must sit next to swiftlet-aio:
//! `cargo test --workspace` builds them; these tests also run
//! `cargo build -p swiftlet-object-server -p swiftlet-proxy` once (cargo
//! never builds the binaries of dependencies), so `cargo test -p
//! swiftlet-aio` works alone and never runs stale binaries.

use rustix::process::{kill_process, Pid, Signal};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Once;
use std::time::{Duration, Instant};

const AIO: &str = env!("CARGO_BIN_EXE_swiftlet-aio");

fn build_servers() {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "-p", "swiftlet-object-server", "-p", "swiftlet-proxy", "--bins"]);
        if Path::new(AIO).components().any(|c| c.as_os_str() == "release") {
            cmd.arg("--release");
        }
        let status = cmd.current_dir(env!("CARGO_MANIFEST_DIR")).status().expect("run cargo build");
        assert!(status.success(), "cannot build swiftlet-object-server and swiftlet-proxy-server");
    });
}

fn require_curl() {
    let found = Command::new("sh").args(["-c", "command -v curl"]).stdout(Stdio::null()).status();
    assert!(
        found.is_ok_and(|s| s.success()),
        "curl is not installed: these tests run the curl commands swiftlet-aio prints; \
         install curl (Debian: apt-get install curl) and run them again"
    );
}

use test_support::TempDir;

/// A port p with p..=p+n all free (the proxy's and the nodes').
fn free_ports(n: u16) -> u16 {
    test_support::free_port_run(n + 1)
}

fn alive(pid: u32) -> bool {
    // A zombie is not alive: read the state from /proc/<pid>/stat.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

fn signal(pid: u32, sig: Signal) {
    kill_process(Pid::from_raw(pid as i32).unwrap(), sig).unwrap();
}

fn read_pid(data: &Path, name: &str) -> Option<u32> {
    std::fs::read_to_string(data.join("run").join(format!("{name}.pid"))).ok()?.trim().parse().ok()
}

struct Aio {
    child: Child,
    data: PathBuf,
    stderr: PathBuf,
    banner: Vec<String>,
}

impl Aio {
    fn start(data: &Path, args: &[&str]) -> Aio {
        build_servers();
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let stderr = data.with_extension(format!("stderr-{}", RUNS.fetch_add(1, Ordering::SeqCst)));
        let mut child = Command::new(AIO)
            .env_remove("CARGO") // the servers are built above
            .arg("--data")
            .arg(data)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                if tx.send(line.unwrap_or_default()).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut banner = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) if line.starts_with("Ctrl-C stops") => break,
                Ok(line) => banner.push(line),
                Err(_) => {
                    if let Ok(Some(s)) = child.try_wait() {
                        panic!("swiftlet-aio exited ({s}): {}", std::fs::read_to_string(&stderr).unwrap());
                    }
                    assert!(Instant::now() < deadline, "swiftlet-aio did not print its banner: {banner:?}");
                }
            }
        }
        Aio { child, data: data.to_path_buf(), stderr, banner }
    }

    /// The commands under "Try it".
    fn commands(&self) -> Vec<String> {
        let start = self.banner.iter().position(|l| l.starts_with("Try it")).expect("a Try it section");
        self.banner[start + 1..].iter().take_while(|l| !l.trim().is_empty()).map(|l| l.trim().to_string()).collect()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "swiftlet-aio did not exit: {}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn child_pids(&self, nodes: usize) -> Vec<u32> {
        let mut names: Vec<String> = (1..=nodes).map(|i| format!("object-server-{i}")).collect();
        names.push("proxy-server".into());
        names.iter().map(|n| read_pid(&self.data, n).unwrap_or_else(|| panic!("no pid file for {n}"))).collect()
    }
}

impl Drop for Aio {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            signal(self.child.id(), Signal::TERM);
            let deadline = Instant::now() + Duration::from_secs(20);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("swiftlet-aio's stderr:\n{}", self.stderr());
        }
    }
}

/// Runs shell lines with `sh -e`; returns what the last line printed.
fn run_lines(lines: &[String]) -> String {
    require_curl();
    let (last, first) = lines.split_last().unwrap();
    let script = format!("{}\necho @@last@@\n{last}\n", first.join("\n"));
    let out = Command::new("sh").args(["-ec", &script]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "script failed ({}): {script}\n{text}\n{err}", out.status);
    text.split_once("@@last@@\n").unwrap().1.to_string()
}

#[test]
fn curl_round_trip_restarts_and_supervision() {
    let tmp = TempDir::new("cluster");
    let data = tmp.0.join("data");
    let port = free_ports(4);
    let mut aio = Aio::start(&data, &["--port", &port.to_string()]);
    let banner = aio.banner.join("\n");
    assert!(banner.contains(&format!("http://127.0.0.1:{port}")), "{banner}");
    for user in ["test:tester", "test:tester3", "test2:tester2", "test5:tester5", "admin:admin"] {
        assert!(banner.contains(user), "{user} missing from {banner}");
    }

    // The printed commands: log in, container, upload, download.
    let cmds = aio.commands();
    assert_eq!(cmds.len(), 4, "{cmds:?}");
    assert!(cmds.iter().all(|c| c.contains("curl")));
    assert_eq!(run_lines(&cmds), "Hello, swiftlet!\n");
    // The README's commands (for port 8080) work too, and match the banner's.
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme.split_once("## Start a server").unwrap().1.split("\n## ").next().unwrap();
    let blocks: Vec<&str> = section.split("```sh\n").skip(1).map(|b| b.split("```").next().unwrap()).collect();
    assert_eq!(blocks[0].trim(), "cargo run --release --bin swiftlet-aio");
    let lines: Vec<String> =
        blocks[1].lines().map(|l| l.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))).collect();
    assert_eq!(run_lines(&lines), "Hello, swiftlet!\n");
    for (readme_line, printed) in lines.iter().zip(&cmds) {
        assert!(readme_line.starts_with(printed.as_str()), "README: {readme_line}\nprinted: {printed}");
    }
    let swift_conf = std::fs::read_to_string(data.join("etc/swift.conf")).unwrap();
    assert!(swift_conf.contains("swift_hash_path_prefix = ") && swift_conf.contains("swift_hash_path_suffix = "));
    let log = std::fs::read_to_string(data.join("logs/proxy-server.log")).unwrap();
    assert!(log.contains("hello.txt"), "the proxy's access log: {log}");

    // kill -9 of an object server: restarted on its port.
    let pids = aio.child_pids(4);
    signal(pids[1], Signal::KILL);
    let deadline = Instant::now() + Duration::from_secs(15);
    let new_pid = loop {
        match read_pid(&data, "object-server-2") {
            Some(p) if p != pids[1] && alive(p) && std::net::TcpStream::connect(("127.0.0.1", port + 2)).is_ok() => {
                break p
            }
            _ => assert!(Instant::now() < deadline, "object-server-2 not restarted: {}", aio.stderr()),
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(aio.stderr().contains("object-server-2 exited"), "{}", aio.stderr());
    assert!(aio.stderr().contains("restarted"), "{}", aio.stderr());
    assert_eq!(run_lines(&[cmds[0].clone(), cmds[3].clone()]), "Hello, swiftlet!\n");

    // SIGTERM: every child stops, exit 0.
    let pids = aio.child_pids(4);
    assert!(pids.contains(&new_pid));
    signal(aio.child.id(), Signal::TERM);
    let status = aio.wait(Duration::from_secs(20));
    assert!(status.success(), "{status}: {}", aio.stderr());
    for pid in pids {
        assert!(!alive(pid), "child {pid} still runs");
    }
    assert_eq!(std::fs::read_dir(data.join("run")).unwrap().count(), 0, "pid files left");
    drop(aio);

    // A later run reuses the folder (port from aio.conf) and the data.
    let mut aio = Aio::start(&data, &[]);
    assert!(aio.banner.join("\n").contains(&format!("http://127.0.0.1:{port}")));
    let cmds = aio.commands();
    assert_eq!(run_lines(&[cmds[0].clone(), cmds[3].clone()]), "Hello, swiftlet!\n");
    assert_eq!(std::fs::read_to_string(data.join("etc/swift.conf")).unwrap(), swift_conf);
    // Ctrl-C (SIGINT to swiftlet-aio alone) stops it cleanly too.
    let pids = aio.child_pids(4);
    signal(aio.child.id(), Signal::INT);
    let status = aio.wait(Duration::from_secs(20));
    assert!(status.success(), "{status}: {}", aio.stderr());
    assert!(pids.iter().all(|&p| !alive(p)));
    drop(aio);

    // Other settings on the same folder are refused, before starting anything.
    let out = Command::new(AIO).env_remove("CARGO").arg("--data").arg(&data).args(["--nodes", "3"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("--nodes 4"), "{err}");
}

#[test]
fn busy_port_unwritable_folder_and_missing_binaries_are_clear_errors() {
    build_servers();
    let tmp = TempDir::new("errors");
    let run = |bin: &Path, args: &[&str]| {
        let start = Instant::now();
        let out = Command::new(bin).env_remove("CARGO").args(args).output().unwrap();
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };

    // A busy proxy port, then a busy node port.
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let p = busy.local_addr().unwrap().port();
    let data = tmp.0.join("busy");
    let err = run(Path::new(AIO), &["--data", data.to_str().unwrap(), "--port", &p.to_string()]);
    assert!(err.contains(&format!("port {p} on 127.0.0.1 (the proxy) is busy")), "{err}");
    assert!(!data.join("etc").exists() && !data.join("logs").exists(), "something was made");
    let base = free_ports(4);
    let busy_node = TcpListener::bind(("127.0.0.1", base + 3)).unwrap();
    let err = run(Path::new(AIO), &["--data", data.to_str().unwrap(), "--port", &base.to_string()]);
    assert!(err.contains(&format!("port {} on 127.0.0.1 (object server 3) is busy", base + 3)), "{err}");
    drop((busy, busy_node));

    // A folder that cannot be made (a file is in the way).
    let file = tmp.0.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let err = run(Path::new(AIO), &["--data", file.join("data").to_str().unwrap()]);
    assert!(err.contains("cannot create the data folder"), "{err}");

    // Bad arguments.
    let err = run(Path::new(AIO), &["--data", data.to_str().unwrap(), "--nodes", "2", "--replicas", "3"]);
    assert!(err.contains("--replicas 3 must be between 1 and --nodes (2)"), "{err}");

    // swiftlet-aio alone, without the servers beside it.
    let lonely = tmp.0.join("bin");
    std::fs::create_dir_all(&lonely).unwrap();
    std::fs::copy(AIO, lonely.join("swiftlet-aio")).unwrap();
    let port = free_ports(4).to_string();
    let err = run(&lonely.join("swiftlet-aio"), &["--data", data.to_str().unwrap(), "--port", &port]);
    assert!(err.contains("swiftlet-object-server not found"), "{err}");
    assert!(err.contains("cargo build"), "{err}");
}

#[test]
fn exit_with_parent_stops_the_cluster_when_the_parent_exits() {
    build_servers();
    let tmp = TempDir::new("orphan");
    let data = tmp.0.join("data");
    let port = free_ports(2);
    // sh starts swiftlet-aio, waits for its banner, prints its pid, exits.
    let script = r#"
        "$AIO" --data "$DATA" --port "$PORT" --nodes 2 --replicas 2 --exit-with-parent >"$DATA.out" 2>&1 &
        for _ in $(seq 600); do grep -q 'Ctrl-C stops' "$DATA.out" 2>/dev/null && break; sleep 0.1; done
        echo $!
    "#;
    let out = Command::new("sh")
        .args(["-ec", script])
        .env("AIO", AIO)
        .env_remove("CARGO")
        .env("DATA", &data)
        .env("PORT", port.to_string())
        .output()
        .unwrap();
    let log = std::fs::read_to_string(data.with_extension("out")).unwrap_or_default();
    assert!(log.contains("Ctrl-C stops"), "swiftlet-aio did not start: {log}");
    let aio: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let children: Vec<u32> = ["object-server-1", "object-server-2", "proxy-server"]
        .iter()
        .map(|n| read_pid(&data, n).unwrap_or_else(|| panic!("no pid file for {n}")))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while (alive(aio) || children.iter().any(|&p| alive(p))) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(aio), "swiftlet-aio outlived its parent");
    assert!(children.iter().all(|&p| !alive(p)), "children outlived swiftlet-aio");
    let log = std::fs::read_to_string(data.with_extension("out")).unwrap_or_default();
    assert!(log.contains("SIGTERM received"), "{log}");
}
