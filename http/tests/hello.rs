//! The hello example as a real process: workers share a port, SIGTERM
//! lets the request in flight finish and the process exits 0.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn hello_bin() -> std::path::PathBuf {
    // target/debug/deps/hello-xxxx -> target/debug/examples/hello
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples").join("hello")
}

use test_support::free_port;

fn start(args: &[&str]) -> (Child, u16) {
    start_with(Command::new(hello_bin()), args)
}

/// Starts hello under `prlimit` with `fds` as its soft and hard fd limit.
fn start_with_fd_limit(fds: u32, args: &[&str]) -> (Child, u16) {
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--nofile={fds}:{fds}")).arg("--").arg(hello_bin());
    start_with(cmd, args)
}

fn start_with(mut cmd: Command, args: &[&str]) -> (Child, u16) {
    let port = free_port();
    let child = cmd
        .args(["--port", &port.to_string()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("build the examples first (cargo test builds them)");
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(10), "hello did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port)
}

fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
}

fn wait_exit(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if t.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            panic!("server did not exit within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn hello_answers_on_every_worker() {
    let (mut child, port) = start(&["--workers", "2"]);
    for _ in 0..20 {
        let r = get(port, "/");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n") && r.ends_with("hello"), "{r}");
    }
    sigterm(&child);
    assert!(wait_exit(&mut child, 10).success());
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_exits_0() {
    let (mut child, port) = start(&["--workers", "2", "--delay-ms", "500"]);
    let inflight = std::thread::spawn(move || get(port, "/slow"));
    // The server has the request (its handler began) before the signal.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(10)).expect("hello printed nothing for the request");
    assert_eq!(line.trim(), "delaying /slow");
    sigterm(&child);
    let answer = inflight.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("hello"), "{answer}");
    let st = wait_exit(&mut child, 10);
    assert_eq!(st.code(), Some(0));
    // And it stopped accepting.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn at_the_fd_limit_silent_connections_make_room_for_a_real_client() {
    // 100 fds: the servers of the process hold at most 50 connections
    // together. Holding 90 silent ones would use up the fds (accept fails
    // with EMFILE, and a real client waits in the backlog until they time
    // out); instead the oldest silent ones are closed to make room.
    let (child, port) = start_with_fd_limit(100, &["--workers", "2"]);
    let mut child = KilledOnDrop(child);
    hub::run_within(20, move || {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let closed = hub::Queue::new(100);
        let mut readers = Vec::new();
        for _ in 0..90 {
            let s = hub::TcpStream::connect(addr, Some(Duration::from_secs(5))).unwrap();
            let closed = closed.clone();
            readers.push(hub::spawn(move || {
                let mut one = [0u8; 1];
                if matches!((&s).read(&mut one), Ok(0)) {
                    closed.put(()).unwrap();
                }
            }));
        }
        // All 90 accepted, 40 closed to stay at 50 (an EOF each, seen as
        // it comes).
        for _ in 0..40 {
            closed.get().unwrap();
        }
        let mut real = hub::TcpStream::connect(addr, Some(Duration::from_secs(5))).unwrap();
        real.set_read_timeout(Some(Duration::from_secs(5)));
        real.write_all(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
        let mut r = String::new();
        real.read_to_string(&mut r).unwrap();
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n") && r.ends_with("hello"), "{r}");
        // It made room by closing one more silent connection.
        closed.get().unwrap();
        for h in readers {
            h.kill();
        }
    });
    sigterm(&child.0);
    assert!(wait_exit(&mut child.0, 10).success());
}

/// A server process that does not outlive a failed test.
struct KilledOnDrop(Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
