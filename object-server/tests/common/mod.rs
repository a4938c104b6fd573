//! Test harness: the real `swiftlet-object-server` binary booted from
//! `etc/object-server.conf-sample` with overrides, in a temp folder, on a
//! free port; a tiny HTTP/1.1 client on std::net; a fake container server
//! (an `http::Server` on its own hub thread) that records updates.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_swiftlet-object-server");

pub use test_support::{free_port, TempDir};

/// The sample config with `overrides` appended to `[app:object-server]`
/// and `updater` to `[object-updater]`.
pub fn config_text(
    devices: &Path,
    swift_dir: &Path,
    port: u16,
    app: &[(&str, &str)],
    updater: &[(&str, &str)],
) -> String {
    let sample = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../etc/object-server.conf-sample"))
        .expect("etc/object-server.conf-sample");
    let mut text = sample;
    text.push_str(&format!(
        "\n[app:object-server]\nbind_ip = 127.0.0.1\nbind_port = {port}\nworkers = 2\ndevices = {}\n\
         mount_check = false\nswift_dir = {}\nlog_level = DEBUG\n",
        devices.display(),
        swift_dir.display()
    ));
    for (k, v) in app {
        text.push_str(&format!("{k} = {v}\n"));
    }
    text.push_str("\n[object-updater]\ninterval = 1\n");
    for (k, v) in updater {
        text.push_str(&format!("{k} = {v}\n"));
    }
    text
}

/// A running object server.
pub struct ObjectServer {
    pub dir: TempDir,
    pub port: u16,
    pub child: Option<Child>,
    pub conf: PathBuf,
}

impl ObjectServer {
    pub fn start(name: &str) -> ObjectServer {
        ObjectServer::start_with(name, &[], &[])
    }

    /// Starts a server on a free port; if another test took that port in
    /// the meantime (the server exits: "cannot listen"), tries another.
    pub fn start_with(name: &str, app: &[(&str, &str)], updater: &[(&str, &str)]) -> ObjectServer {
        for _ in 0..4 {
            let mut s = ObjectServer::prepare(TempDir::new(name), app, updater);
            s.spawn_child(None);
            match s.try_wait_listening() {
                Ok(()) => return s,
                Err(e) if e.contains("cannot listen") => continue,
                Err(e) => panic!("{e}"),
            }
        }
        panic!("no free port for the object server");
    }

    /// Writes swift.conf, devices/sda and the config; does not start.
    pub fn prepare(dir: TempDir, app: &[(&str, &str)], updater: &[(&str, &str)]) -> ObjectServer {
        let port = free_port();
        let swift_dir = dir.0.join("swift");
        std::fs::create_dir_all(&swift_dir).unwrap();
        std::fs::write(swift_dir.join("swift.conf"), "[swift-hash]\nswift_hash_path_suffix = testsuffix\n").unwrap();
        std::fs::create_dir_all(dir.0.join("devices/sda")).unwrap();
        let conf = dir.0.join("object-server.conf");
        std::fs::write(&conf, config_text(&dir.0.join("devices"), &swift_dir, port, app, updater)).unwrap();
        ObjectServer { dir, port, child: None, conf }
    }

    /// Starts the binary (under `wrapper` if given, e.g. `unshare -m sh -c`).
    pub fn spawn(mut self, wrapper: Option<&[&str]>) -> ObjectServer {
        self.spawn_child(wrapper);
        self.wait_listening();
        self
    }

    fn spawn_child(&mut self, wrapper: Option<&[&str]>) {
        let log = |n: &str| std::fs::File::options().create(true).append(true).open(self.dir.0.join(n)).unwrap();
        let mut cmd = match wrapper {
            Some(w) => {
                let mut c = Command::new(w[0]);
                c.args(&w[1..]);
                c
            }
            None => {
                let mut c = Command::new(BIN);
                c.arg("--config").arg(&self.conf);
                c
            }
        };
        let child = cmd.stdout(Stdio::from(log("stdout.log"))).stderr(Stdio::from(log("stderr.log"))).spawn().unwrap();
        self.child = Some(child);
    }

    pub fn restart(mut self) -> ObjectServer {
        self.kill9();
        self.spawn(None)
    }

    fn wait_listening(&mut self) {
        if let Err(e) = self.try_wait_listening() {
            panic!("{e}");
        }
    }

    fn try_wait_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(Ok(Some(st))) = self.child.as_mut().map(|c| c.try_wait()) {
                return Err(format!("object server exited with {st}: {}", self.stderr()));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("object server did not listen: {}", self.stderr()))
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("stderr.log")).unwrap_or_default()
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("stdout.log")).unwrap_or_default()
    }

    pub fn device(&self) -> PathBuf {
        self.dir.0.join("devices/sda")
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        request(self.addr(), method, path, headers, body)
    }
}

impl Drop for ObjectServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A response: status, headers (lower-case names), body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// Sends one request with `Connection: close` (and a Content-Length for
/// the body unless a Transfer-Encoding is given) and reads the answer.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let has_te = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"));
    let has_cl = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
    if !has_te && !has_cl && (method == "PUT" || method == "POST" || !body.is_empty()) {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let expect = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("expect") && v.contains("100"));
    if expect {
        // Wait for 100 Continue (or a final answer) before the body.
        let mut raw = Vec::new();
        let mut b = [0u8; 1];
        while find(&raw, b"\r\n\r\n").is_none() {
            match s.read(&mut b) {
                Ok(1) => raw.push(b[0]),
                _ => break,
            }
        }
        if !raw.starts_with(b"HTTP/1.1 100") {
            let _ = s.read_to_end(&mut raw);
            return parse_reply(&raw, method == "HEAD");
        }
    }
    let _ = s.write_all(body);
    read_reply(&mut s, method == "HEAD")
}

pub fn read_reply(s: &mut TcpStream, head_only: bool) -> Reply {
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_reply(&raw, head_only)
}

pub fn parse_reply(raw: &[u8], _head_only: bool) -> Reply {
    let mut start = 0;
    // Skip interim 100 Continue answers.
    loop {
        let end = find(&raw[start..], b"\r\n\r\n").map(|e| start + e).expect("a response head");
        let head = String::from_utf8_lossy(&raw[start..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        if status == 100 {
            start = end + 4;
            continue;
        }
        let mut headers = HashMap::new();
        for l in lines {
            if let Some((k, v)) = l.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let mut body = raw[end + 4..].to_vec();
        if headers.get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            body = dechunk(&body);
        }
        return Reply { status, headers, body };
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(e) = find(b, b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..e]).trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[e + 2..e + 2 + n]);
        b = &b[e + 4 + n..];
    }
    out
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A fresh Swift timestamp, strictly increasing within the test process.
pub fn ts() -> String {
    static LAST: Mutex<u64> = Mutex::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let mut ticks = now.as_secs() * 100_000 + u64::from(now.subsec_micros() / 10);
    let mut last = LAST.lock().unwrap();
    if ticks <= *last {
        ticks = *last + 1;
    }
    *last = ticks;
    format!("{:010}.{:05}", ticks / 100_000, ticks % 100_000)
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    common::hex::hex(&Md5::digest(data))
}

/// Every file under `dir` whose name ends with `ext`.
pub fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_with(&p, ext));
        } else if p.to_string_lossy().ends_with(ext) {
            out.push(p);
        }
    }
    out
}

/// Polls `f` until it is true or `secs` pass.
pub fn eventually(secs: u64, f: impl FnMut() -> bool) -> bool {
    test_support::eventually(Duration::from_secs(secs), f)
}

/// A request the fake container server received.
#[derive(Clone, Debug)]
pub struct Update {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
}

/// A fake container server on its own hub thread that answers 201/204
/// and records every request.
pub struct FakeContainer {
    pub port: u16,
    pub updates: Arc<Mutex<Vec<Update>>>,
    stop: hub::HubHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeContainer {
    /// Listens on `port`; 0 picks a free one (`FakeContainer::port`), with
    /// no race against other tests for it.
    pub fn start(port: u16) -> FakeContainer {
        let updates: Arc<Mutex<Vec<Update>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let u2 = updates.clone();
        let thread = std::thread::spawn(move || {
            hub::run(move || {
                let listener = hub::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).unwrap();
                tx.send((hub::handle(), listener.local_addr().unwrap().port())).unwrap();
                let server = http::Server::new(http::ServerConfig::default(), move |req, resp| {
                    req.body.drain(1 << 20)?;
                    let headers = req.headers().iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect();
                    u2.lock().unwrap().push(Update {
                        method: req.method().to_string(),
                        path: req.target().to_string(),
                        headers,
                    });
                    let status = if req.method() == "PUT" { 201 } else { 204 };
                    resp.send(status, &http::Headers::new(), b"")
                });
                let _ = server.serve(listener);
            })
        });
        let (stop, port) = rx.recv().unwrap();
        FakeContainer { port, updates, stop, thread: Some(thread) }
    }

    pub fn updates(&self) -> Vec<Update> {
        self.updates.lock().unwrap().clone()
    }
}

impl Drop for FakeContainer {
    fn drop(&mut self) {
        self.stop.request_stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
