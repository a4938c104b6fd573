//! What every crate's tests share, so that a fix lands once: ports that
//! are never handed out twice, temp folders, waiting for a server to
//! listen, and polling a condition under a deadline. A dev-dependency
//! only (the functional tests' library is itself test code).
//!
//! None of these synchronise by sleeping: [`eventually`] and
//! [`wait_listening`] poll a real signal (a condition, a connect) and
//! fail at their deadline.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Ports handed out in this process.
static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A port nothing listens on, never the same twice in this test process:
/// the servers bind with `SO_REUSEPORT`, so two of the tests' servers
/// handed one port would share it silently (each answering the other's
/// requests, or resetting them when killed).
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if GIVEN.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            return port;
        }
    }
}

/// The first of `n` consecutive free ports (a cluster's proxy and nodes),
/// none of them handed out before in this process.
pub fn free_port_run(n: u16) -> u16 {
    for _ in 0..1000 {
        let base = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let Some(last) = base.checked_add(n.saturating_sub(1)) else { continue };
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if (base..=last).any(|p| given.contains(&p)) {
            continue;
        }
        if (base..=last).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            given.extend(base..=last);
            return base;
        }
    }
    panic!("no run of {n} free ports on 127.0.0.1");
}

/// A unique temp folder (per process and call), removed on drop unless
/// the test is panicking: then it is kept, and its path printed, for the
/// logs in it.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("swiftlet-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for its logs", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Polls `f` until it is true or `timeout` passes; the last answer.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// Waits until something accepts connections on `port` of 127.0.0.1;
/// panics if `child` exits first or nothing listens within 20 s.
pub fn wait_listening(port: u16, child: &mut Child, what: &str) {
    let up = eventually(Duration::from_secs(20), || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited: {status}");
        }
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "{what} did not listen on {port}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_never_handed_out_twice() {
        let mut seen = BTreeSet::new();
        for _ in 0..200 {
            assert!(seen.insert(free_port()));
        }
        let run = free_port_run(5);
        for p in run..run + 5 {
            assert!(seen.insert(p), "{p} was handed out before");
        }
    }

    #[test]
    fn temp_dirs_are_unique_and_removed() {
        let (a, b) = (TempDir::new("t"), TempDir::new("t"));
        assert_ne!(a.path(), b.path());
        let p = a.path().to_path_buf();
        assert!(p.is_dir());
        drop(a);
        assert!(!p.exists());
    }

    #[test]
    fn eventually_is_true_as_soon_as_the_condition_is() {
        let mut n = 0;
        assert!(eventually(Duration::from_secs(5), || {
            n += 1;
            n == 3
        }));
        assert_eq!(n, 3);
        assert!(!eventually(Duration::from_millis(30), || false));
    }
}
