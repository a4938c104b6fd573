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

/// A port nothing listens on, never the same twice in this test process:
/// hello's workers bind with `SO_REUSEPORT`, so two tests' servers handed
/// one port would share it silently.
fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if GIVEN.lock().unwrap().insert(port) {
            return port;
        }
    }
}

fn start(args: &[&str]) -> (Child, u16) {
    let port = free_port();
    let child = Command::new(hello_bin())
        .args(["--port", &port.to_string()])
        .args(args)
        .stdout(Stdio::null())
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
    std::thread::sleep(Duration::from_millis(150));
    sigterm(&child);
    let answer = inflight.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("hello"), "{answer}");
    let st = wait_exit(&mut child, 10);
    assert_eq!(st.code(), Some(0));
    // And it stopped accepting.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}
