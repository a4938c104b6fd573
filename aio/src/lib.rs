//! swiftlet-aio: a whole local cluster from one command.
//!
//! `swiftlet-aio [--data DIR] [--bind IP] [--port PORT] [--nodes N]
//! [--replicas R]` makes (on the first run) or reuses (later) a data folder
//! holding `swift.conf` with fresh hash secrets, the account, container and
//! object rings, one object server config per node and the proxy config
//! (see [`setup`]), starts N `swiftlet-object-server` processes and the
//! `swiftlet-proxy-server` found next to its own executable, waits until
//! they answer, prints the URL, the users and curl commands that work, and
//! then restarts any child that dies (see [`supervise`]) until SIGTERM or
//! Ctrl-C, which stops them all and exits 0.
//!
//! Folder layout: `aio.conf` (the settings), `etc/` (swift.conf, rings,
//! builders, configs), `nodes/<i>/d<i>/` (node i's device), `logs/` (each
//! child's stdout and stderr), `run/` (pid files while running).
#![forbid(unsafe_code)]

pub mod setup;
pub mod supervise;

use clap::Parser;
use setup::{Layout, Settings};
use std::ffi::OsString;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use supervise::{Probe, Proc, Supervisor};

/// How long a child may take to answer at start.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long children get to stop after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(10);

#[derive(Parser, Debug)]
#[command(
    name = "swiftlet-aio",
    about = "Runs a local swiftlet cluster: N object servers and a proxy, configs and rings under a data folder",
    after_help = "A later run on the same --data folder reuses its configs, rings and data; \
                  --bind, --port, --nodes and --replicas then default to the folder's."
)]
pub struct Args {
    /// The cluster's folder (configs, rings, objects, logs).
    #[arg(long, value_name = "DIR", default_value = "swiftlet-data")]
    pub data: PathBuf,
    /// The proxy's address [default: 127.0.0.1]; storage nodes always use 127.0.0.1.
    #[arg(long, value_name = "IP")]
    pub bind: Option<String>,
    /// The proxy's port [default: 8080]; node i listens on PORT + i.
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Object servers, one device each, in zones 1..N [default: 4].
    #[arg(long, value_name = "N")]
    pub nodes: Option<usize>,
    /// Copies of each account, container and object [default: 3].
    #[arg(long, value_name = "R")]
    pub replicas: Option<u32>,
    /// Stop the cluster (as on SIGTERM) when the process that started swiftlet-aio exits: for test harnesses.
    #[arg(long)]
    pub exit_with_parent: bool,
    /// Do not run the object replicators and auditors (probe tests run them once, on demand).
    #[arg(long)]
    pub no_daemons: bool,
}

/// The whole program: parses `args` (program name first), runs the
/// cluster until SIGTERM/SIGINT, returns the exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args = match Args::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match main_loop(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swiftlet-aio: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The settings of this run: the folder's `aio.conf` if it has one (a
/// different explicit value is an error: the rings hold the old one), else
/// the arguments with their defaults.
pub fn resolve_settings(args: &Args, stored: Option<Settings>) -> Result<Settings, String> {
    let data = args.data.display();
    if let Some(s) = stored {
        let mismatch = |name: &str, given: Option<String>, have: String| match given {
            Some(g) if g != have => Err(format!(
                "{data} holds a cluster made with --{name} {have} (its configs and rings say so); \
                 run without --{name}, with --{name} {have}, or use another --data folder"
            )),
            _ => Ok(()),
        };
        mismatch("bind", args.bind.clone(), s.bind.clone())?;
        mismatch("port", args.port.map(|p| p.to_string()), s.port.to_string())?;
        mismatch("nodes", args.nodes.map(|p| p.to_string()), s.nodes.to_string())?;
        mismatch("replicas", args.replicas.map(|p| p.to_string()), s.replicas.to_string())?;
        return Ok(s);
    }
    let s = Settings {
        bind: args.bind.clone().unwrap_or_else(|| "127.0.0.1".into()),
        port: args.port.unwrap_or(8080),
        nodes: args.nodes.unwrap_or(4),
        replicas: args.replicas.unwrap_or(3),
    };
    if s.nodes == 0 || s.nodes > 64 {
        return Err(format!("--nodes {} is out of range (1 to 64)", s.nodes));
    }
    if s.replicas == 0 || s.replicas as usize > s.nodes {
        return Err(format!("--replicas {} must be between 1 and --nodes ({})", s.replicas, s.nodes));
    }
    if s.port == 0 || s.port as usize + s.nodes > 65535 {
        return Err(format!("--port {} leaves no room for {} node ports after it", s.port, s.nodes));
    }
    s.bind.parse::<std::net::IpAddr>().map_err(|_| format!("--bind {:?} is not an IP address", s.bind))?;
    Ok(s)
}

/// `name`, next to this executable (or, from a test binary in `deps/`,
/// one folder up): the same cargo target folder.
pub fn find_bin(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own executable: {e}"))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let mut dirs = vec![dir.to_path_buf()];
    if dir.file_name().is_some_and(|n| n == "deps") {
        dirs.extend(dir.parent().map(Path::to_path_buf));
    }
    for d in &dirs {
        let bin = d.join(name);
        if bin.is_file() {
            return Ok(bin);
        }
    }
    let release = if exe.components().any(|c| c.as_os_str() == "release") { "--release " } else { "" };
    Err(format!(
        "{name} not found in {}, next to {}: build it with \
         `cargo build {release}-p swiftlet-object-server -p swiftlet-proxy` (or install it beside swiftlet-aio)",
        dir.display(),
        exe.display()
    ))
}

/// Under `cargo run --bin swiftlet-aio` (cargo sets `CARGO` and
/// `CARGO_PKG_NAME` for the program it runs), builds the server binaries
/// with the same profile first: cargo never builds the binaries of other
/// packages for `cargo run`, and this way they are never stale either.
fn build_servers_under_cargo_run() -> Result<(), String> {
    let (Some(cargo), Some(pkg)) = (std::env::var_os("CARGO"), std::env::var_os("CARGO_PKG_NAME")) else {
        return Ok(());
    };
    if pkg != "swiftlet-aio" {
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own executable: {e}"))?;
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "-p", "swiftlet-object-server", "-p", "swiftlet-proxy", "--bins"]);
    match exe.parent().and_then(Path::file_name).and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(profile) => {
            cmd.args(["--profile", profile]);
        }
    }
    if let Some(dir) = exe.parent().and_then(Path::parent) {
        cmd.arg("--target-dir").arg(dir);
    }
    if let Some(manifest) = std::env::var_os("CARGO_MANIFEST_DIR") {
        cmd.current_dir(manifest);
    }
    eprintln!("swiftlet-aio: building the object server and the proxy (started by cargo run)");
    let status = cmd.stdout(std::process::Stdio::null()).status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("cargo build of the object server and the proxy failed ({s})")),
        Err(e) => Err(format!("cannot run cargo to build the object server and the proxy: {e}")),
    }
}

/// Checks that `ip:port` can be listened on (the listener is closed again).
fn check_port(ip: &str, port: u16, what: &str, layout: &Layout) -> Result<(), String> {
    match TcpListener::bind(supervise::addr(ip, port)?) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let mut msg = format!("port {port} on {ip} ({what}) is busy: another program listens there");
            let pids = live_pid_files(layout);
            if !pids.is_empty() {
                msg.push_str(&format!(
                    "; {} lists children of an earlier swiftlet-aio that still run (pids {}): stop them first",
                    layout.run().display(),
                    pids.join(", ")
                ));
            }
            Err(msg)
        }
        Err(e) => Err(format!("cannot listen on {ip} port {port} ({what}): {e}")),
    }
}

/// Pids in `run/*.pid` whose process is alive.
fn live_pid_files(layout: &Layout) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(layout.run()) else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .map(|s| s.trim().to_string())
        .filter(|pid| !pid.is_empty() && Path::new("/proc").join(pid).exists())
        .collect()
}

/// The data folder, created if needed and checked writable, made absolute.
fn prepare_data(data: &Path) -> Result<PathBuf, String> {
    let shown = data.display();
    std::fs::create_dir_all(data).map_err(|e| format!("cannot create the data folder {shown}: {e}"))?;
    let probe = data.join(".swiftlet-aio-write-test");
    std::fs::write(&probe, b"ok").map_err(|e| format!("the data folder {shown} is not writable: {e}"))?;
    let _ = std::fs::remove_file(&probe);
    data.canonicalize().map_err(|e| format!("cannot resolve the data folder {shown}: {e}"))
}

/// What to print once everything answers.
pub fn banner(layout: &Layout, s: &Settings, proxy_conf: &str) -> String {
    let host = match s.bind.as_str() {
        "0.0.0.0" => "127.0.0.1".to_string(),
        "::" => "[::1]".to_string(),
        ip if ip.contains(':') => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let url = format!("http://{host}:{}", s.port);
    let mut b = format!(
        "swiftlet is running at {url} ({} object servers on ports {}-{}, {} replicas)\n\
         data: {}\nlogs: {}\n\nUsers (account:user key groups):\n",
        s.nodes,
        s.node_port(1),
        s.node_port(s.nodes),
        s.replicas,
        layout.data.display(),
        layout.logs().display()
    );
    for u in setup::users(proxy_conf) {
        let who = format!("{}:{}", u.account, u.user);
        let line = format!("  {who:<16} {:<10} {}", u.key, u.groups.join(" "));
        b.push_str(line.trim_end());
        b.push('\n');
    }
    b.push_str(&format!(
        "\nTry it (log in, upload, download):\n\
         \x20 TOKEN=$(curl -s -D - -o /dev/null -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' {url}/auth/v1.0 | tr -d '\\r' | awk 'tolower($1) == \"x-auth-token:\" {{print $2}}')\n\
         \x20 curl -i -X PUT -H \"X-Auth-Token: $TOKEN\" {url}/v1/AUTH_test/demo\n\
         \x20 echo 'Hello, swiftlet!' | curl -i -T - -H \"X-Auth-Token: $TOKEN\" {url}/v1/AUTH_test/demo/hello.txt\n\
         \x20 curl -H \"X-Auth-Token: $TOKEN\" {url}/v1/AUTH_test/demo/hello.txt\n\
         \nCtrl-C stops the cluster.\n"
    ));
    b
}

type SupervisorThread = JoinHandle<Result<(), String>>;

fn signal_name(sig: i32) -> &'static str {
    match sig {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

/// Asks the kernel for a SIGTERM when our parent exits (strictly: when the
/// parent's thread that started us exits), which stops the cluster like
/// Ctrl-C. A parent that already exited left us with init's pid as parent.
fn exit_with_parent() -> Result<(), String> {
    use rustix::process::{getppid, set_parent_process_death_signal, Signal};
    set_parent_process_death_signal(Some(Signal::TERM)).map_err(|e| format!("--exit-with-parent: prctl: {e}"))?;
    match getppid() {
        Some(p) if !p.is_init() => Ok(()),
        _ => Err("--exit-with-parent: the parent process has already exited".into()),
    }
}

fn main_loop(args: &Args) -> Result<(), String> {
    if args.exit_with_parent {
        exit_with_parent()?;
    }
    let data = prepare_data(&args.data)?;
    let layout = Layout::new(&data);
    let stored = match std::fs::read_to_string(layout.settings()) {
        Ok(text) => Some(Settings::parse(&text).ok_or_else(|| {
            format!("{} is damaged: fix it or use another --data folder", layout.settings().display())
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", layout.settings().display())),
    };
    let s = resolve_settings(args, stored)?;
    check_port(&s.bind, s.port, "the proxy", &layout)?;
    for i in 1..=s.nodes {
        check_port(s.node_ip(), s.node_port(i), &format!("object server {i}"), &layout)?;
    }
    build_servers_under_cargo_run()?;
    let object_bin = find_bin("swiftlet-object-server")?;
    let daemons = if args.no_daemons {
        Vec::new()
    } else {
        vec![
            ("object-replicator", find_bin("swiftlet-object-replicator")?),
            ("object-auditor", find_bin("swiftlet-object-auditor")?),
        ]
    };
    let proxy_bin = find_bin("swiftlet-proxy-server")?;
    setup::create(&layout, &s)?;
    let proxy_conf = std::fs::read_to_string(layout.proxy_conf())
        .map_err(|e| format!("cannot read {}: {e}", layout.proxy_conf().display()))?;

    let (logs, run) = (layout.logs(), layout.run());
    let mut procs = Vec::new();
    for i in 1..=s.nodes {
        let probe = Probe::AnyHttp(supervise::addr(s.node_ip(), s.node_port(i))?);
        procs.push(Proc::new(&format!("object-server-{i}"), &object_bin, &layout.object_conf(i), &logs, &run, probe));
        for (name, bin) in &daemons {
            let conf = layout.object_conf(i);
            procs.push(Proc::new(&format!("{name}-{i}"), bin, &conf, &logs, &run, Probe::Running));
        }
    }
    let connect_ip = match s.bind.as_str() {
        "0.0.0.0" => "127.0.0.1",
        "::" => "::1",
        ip => ip,
    };
    let probe = Probe::Healthcheck(supervise::addr(connect_ip, s.port)?);
    procs.push(Proc::new("proxy-server", &proxy_bin, &layout.proxy_conf(), &logs, &run, probe));
    let banner = banner(&layout, &s, &proxy_conf);

    let stop = Arc::new(AtomicBool::new(false));
    let procs = Arc::new(Mutex::new(Some(procs)));
    let handle: Arc<Mutex<Option<SupervisorThread>>> = Arc::default();
    let (stop2, handle2) = (stop.clone(), handle.clone());
    // One hub in one worker thread: workers::run blocks SIGTERM/SIGINT in
    // every thread and reports them here; the supervisor thread is started
    // from the worker, so it inherits the mask (std resets it in children).
    let on_signal = |sig: i32| {
        eprintln!("swiftlet-aio: {} received: stopping the cluster", signal_name(sig));
        stop.store(true, Ordering::SeqCst);
    };
    let sig = hub::workers::run(1, hub::Config::default(), on_signal, move |_| {
        let Some(procs) = procs.lock().unwrap().take() else { return };
        let (stop, banner) = (stop2.clone(), banner.clone());
        let supervisor = move || -> Result<(), String> {
            let mut sup = Supervisor::start(procs, &stop, START_TIMEOUT)?;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
            drop(out);
            sup.watch(&stop);
            sup.stop(GRACE);
            Ok(())
        };
        let h = std::thread::Builder::new().name("supervisor".into()).spawn(supervisor);
        let h = match h {
            Ok(h) => h,
            Err(e) => {
                eprintln!("swiftlet-aio: cannot start a thread: {e}");
                return;
            }
        };
        let stopping = hub::stop_event();
        while !stopping.is_set() && !h.is_finished() {
            let _ = hub::sleep(Duration::from_millis(100));
        }
        *handle2.lock().unwrap() = Some(h);
    })
    .map_err(|e| format!("cannot set up signal handling: {e}"))?;
    stop.store(true, Ordering::SeqCst);
    let h = handle.lock().unwrap().take();
    let result = match h {
        Some(h) => h.join().unwrap_or_else(|_| Err("the supervisor thread panicked".into())),
        None => Err("the supervisor did not start".into()),
    };
    match (sig, result) {
        (Some(_), _) => {
            eprintln!("swiftlet-aio: stopped");
            Ok(())
        }
        (None, r) => r,
    }
}
