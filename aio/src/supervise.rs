//! The children: start them, wait until they answer, restart one that
//! dies (with a backoff), stop them all (SIGTERM, a grace, then SIGKILL).
//! Plain std::process in one OS thread, polling every 100 ms.

use rustix::process::{kill_process, Pid, Signal};
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(100);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A child that ran this long before dying starts again at FIRST_BACKOFF.
const STABLE: Duration = Duration::from_secs(10);

/// How to tell that a child is up.
#[derive(Clone, Debug)]
pub enum Probe {
    /// Any HTTP answer to `GET /healthcheck` (a storage node).
    AnyHttp(SocketAddr),
    /// `GET /healthcheck` answers 200 (the proxy).
    Healthcheck(SocketAddr),
    /// Running is all (a daemon with no port: a replicator, an auditor).
    Running,
}

/// One child process to keep running.
pub struct Proc {
    pub name: String,
    pub bin: PathBuf,
    pub conf: PathBuf,
    pub log: PathBuf,
    pub pid_file: PathBuf,
    pub probe: Probe,
    child: Option<Child>,
    started: Instant,
    backoff: Duration,
    restart_at: Option<Instant>,
}

impl Proc {
    pub fn new(name: &str, bin: &Path, conf: &Path, logs: &Path, run: &Path, probe: Probe) -> Proc {
        Proc {
            name: name.into(),
            bin: bin.into(),
            conf: conf.into(),
            log: logs.join(format!("{name}.log")),
            pid_file: run.join(format!("{name}.pid")),
            probe,
            child: None,
            started: Instant::now(),
            backoff: FIRST_BACKOFF,
            restart_at: None,
        }
    }

    /// The running child's pid.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let open = || OpenOptions::new().create(true).append(true).open(&self.log);
        let out = open().map_err(|e| format!("cannot open {}: {e}", self.log.display()))?;
        let err = out.try_clone().map_err(|e| format!("cannot open {}: {e}", self.log.display()))?;
        let child = Command::new(&self.bin)
            .arg("--config")
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        let _ = std::fs::write(&self.pid_file, format!("{}\n", child.id()));
        self.child = Some(child);
        self.started = Instant::now();
        Ok(())
    }

    /// The last lines of the child's log, for an error message.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n  ")
    }
}

fn probe(p: &Probe) -> bool {
    let (addr, want_ok) = match p {
        Probe::AnyHttp(a) => (a, false),
        Probe::Healthcheck(a) => (a, true),
        Probe::Running => return true,
    };
    let Ok(mut s) = TcpStream::connect_timeout(addr, Duration::from_secs(1)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /healthcheck HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = Vec::new();
    let _ = s.take(64).read_to_end(&mut buf);
    if want_ok {
        buf.starts_with(b"HTTP/1.1 200") || buf.starts_with(b"HTTP/1.0 200")
    } else {
        buf.starts_with(b"HTTP/1.")
    }
}

/// Resolves `ip:port` (an IPv6 address without brackets works too).
pub fn addr(ip: &str, port: u16) -> Result<SocketAddr, String> {
    (ip, port).to_socket_addrs().ok().and_then(|mut a| a.next()).ok_or_else(|| format!("bad address {ip:?}"))
}

/// The children, in start order (storage nodes, then the proxy).
pub struct Supervisor {
    pub procs: Vec<Proc>,
}

impl Supervisor {
    /// Starts each child in turn and waits (up to `timeout` each) until it
    /// answers. On failure, or if `stop` is set meanwhile, stops what it
    /// started and returns an error.
    pub fn start(procs: Vec<Proc>, stop: &AtomicBool, timeout: Duration) -> Result<Supervisor, String> {
        let mut s = Supervisor { procs };
        for i in 0..s.procs.len() {
            if let Err(e) = s.start_one(i, stop, timeout) {
                s.stop(Duration::from_secs(5));
                return Err(e);
            }
        }
        Ok(s)
    }

    fn start_one(&mut self, i: usize, stop: &AtomicBool, timeout: Duration) -> Result<(), String> {
        let p = &mut self.procs[i];
        p.spawn()?;
        let deadline = Instant::now() + timeout;
        loop {
            if stop.load(Ordering::SeqCst) {
                return Err("stopped while starting".into());
            }
            if let Ok(Some(status)) = p.child.as_mut().unwrap().try_wait() {
                p.child = None;
                return Err(format!(
                    "{} exited at start ({status}); the end of {}:\n  {}",
                    p.name,
                    p.log.display(),
                    p.log_tail()
                ));
            }
            if probe(&p.probe) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not answer within {timeout:?}; see {}:\n  {}",
                    p.name,
                    p.log.display(),
                    p.log_tail()
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Restarts children that die, until `stop` is set.
    pub fn watch(&mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            for p in &mut self.procs {
                if let Some(c) = p.child.as_mut() {
                    if let Ok(Some(status)) = c.try_wait() {
                        p.child = None;
                        if now.duration_since(p.started) > STABLE {
                            p.backoff = FIRST_BACKOFF;
                        }
                        eprintln!(
                            "swiftlet-aio: {} exited ({status}); restarting it in {:?} (log: {})",
                            p.name,
                            p.backoff,
                            p.log.display()
                        );
                        p.restart_at = Some(now + p.backoff);
                        p.backoff = (p.backoff * 2).min(MAX_BACKOFF);
                    }
                } else if p.restart_at.is_some_and(|t| now >= t) {
                    p.restart_at = None;
                    match p.spawn() {
                        Ok(()) => eprintln!("swiftlet-aio: {} restarted (pid {})", p.name, p.pid().unwrap_or(0)),
                        Err(e) => {
                            eprintln!("swiftlet-aio: {e}; trying again in {:?}", p.backoff);
                            p.restart_at = Some(now + p.backoff);
                            p.backoff = (p.backoff * 2).min(MAX_BACKOFF);
                        }
                    }
                }
            }
            std::thread::sleep(POLL);
        }
    }

    /// SIGTERM to every child (the proxy first), waits up to `grace` for
    /// them to exit, then SIGKILLs the rest; removes the pid files.
    pub fn stop(&mut self, grace: Duration) {
        for p in self.procs.iter().rev() {
            if let Some(c) = &p.child {
                let _ = kill_process(Pid::from_child(c), Signal::TERM);
            }
        }
        let deadline = Instant::now() + grace;
        loop {
            for p in &mut self.procs {
                if let Some(c) = p.child.as_mut() {
                    if !matches!(c.try_wait(), Ok(None)) {
                        p.child = None;
                    }
                }
            }
            if self.procs.iter().all(|p| p.child.is_none()) || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for p in &mut self.procs {
            if let Some(mut c) = p.child.take() {
                eprintln!("swiftlet-aio: {} did not stop within {grace:?}: SIGKILL", p.name);
                let _ = c.kill();
                let _ = c.wait();
            }
            let _ = std::fs::remove_file(&p.pid_file);
        }
    }
}
