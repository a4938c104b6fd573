//! What an idle connection costs a server: resident memory, memory maps
//! and kernel socket memory per connection, never-used and kept-alive.
//! docs/architecture.md ("HTTP/1.1") records the figures and the
//! `max_clients` default taken from them. A measurement, not a check:
//!
//!     cargo test -p swiftlet-http --release --test idle_memory -- --ignored --nocapture
//!
//! `IDLE_CONNS` (default 8,000; both ends are in this process, so the fd limit must be over twice that) sets the number of connections, and
//! `IDLE_HANDLER_STACK_KIB` (default 0) makes the handler touch that much
//! more stack, as a deeper request path does (a kept-alive connection
//! keeps every stack page its requests touched).
use http::{Headers, Server, ServerConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn maps() -> usize {
    std::fs::read_to_string("/proc/self/maps").unwrap().lines().count()
}

/// The kernel's slab memory in KiB (the whole machine's: approximate, and
/// both ends of each loopback connection count).
fn slab_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/meminfo").unwrap();
    let line = s.lines().find(|l| l.starts_with("Slab:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[derive(Clone, Copy)]
struct Sample {
    rss: u64,
    maps: usize,
    slab: u64,
}

fn sample() -> Sample {
    Sample { rss: status_kib("VmRSS:"), maps: maps(), slab: slab_kib() }
}

fn report(what: &str, before: Sample, after: Sample, n: usize) {
    let rss = after.rss.saturating_sub(before.rss) as f64 * 1024.0 / n as f64;
    let maps = after.maps.saturating_sub(before.maps) as f64 / n as f64;
    let kernel = after.slab.saturating_sub(before.slab) as f64 * 1024.0 / n as f64 / 2.0;
    println!(
        "{what}: {n} connections, VmRSS {} -> {} KiB: {:.0} bytes per connection, {maps:.2} maps per connection, \
         kernel slab about {:.0} bytes per connection end (machine-wide, approximate)",
        before.rss, after.rss, rss, kernel
    );
}

/// Touches `kib` KiB of stack below the handler's frame.
#[inline(never)]
fn touch_stack(kib: usize) -> u8 {
    if kib == 0 {
        return 0;
    }
    let mut page = [0u8; 1024];
    page[kib % 1024] = kib as u8;
    let below = touch_stack(kib - 1);
    std::hint::black_box(&mut page)[0].wrapping_add(below)
}

/// Reads one `200` answer with a Content-Length body.
fn read_answer(s: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "server closed");
        buf.extend_from_slice(&chunk[..n]);
        if let Ok(Some((h, used))) = http::head::parse_response_head(&buf) {
            let len: usize = h.headers.get("content-length").unwrap().parse().unwrap();
            if buf.len() >= used + len {
                assert_eq!(h.status, 200);
                return;
            }
        }
    }
}

#[test]
#[ignore = "a measurement: run it by hand with --release --ignored --nocapture"]
fn rss_per_idle_connection() {
    let n = env_usize("IDLE_CONNS", 8_000);
    let deep = env_usize("IDLE_HANDLER_STACK_KIB", 0);
    let limit = hub::raise_fd_limit().unwrap();
    assert!(limit as usize > 2 * n + 100, "fd limit {limit} too low for {n} connections at both ends");
    let (tx, rx) = mpsc::channel::<SocketAddr>();
    // The server on its own hub and thread, with the servers' stack size.
    std::thread::spawn(move || {
        hub::run_with(hub::Config::default(), move || {
            let l = hub::TcpListener::bind_with("127.0.0.1:0".parse().unwrap(), 4096, false).unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            let cfg = ServerConfig { max_clients: n + 10, ..Default::default() };
            let server = Server::new(cfg, move |req, resp| {
                req.body.drain(u64::MAX)?;
                let mut h = Headers::new();
                h.set("X-Touched", touch_stack(deep).to_string());
                resp.send(200, &h, b"hello")
            });
            server.serve(l).unwrap();
        })
    });
    let addr = rx.recv().unwrap();
    let get = |s: &mut TcpStream| {
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        read_answer(s);
    };
    // Warm up: the server's first connection, stack and buffers, served
    // and closed (its stack goes back to the hub's pool).
    {
        let mut s = TcpStream::connect(addr).unwrap();
        get(&mut s);
    }
    let mut last = TcpStream::connect(addr).unwrap();
    last.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    get(&mut last);
    let base = sample();
    // Never-used connections. The answer on `last` after them comes once
    // the server accepted them all (in order) and their green threads ran
    // to their first wait (the run queue is in order too).
    let mut conns: Vec<TcpStream> = (0..n).map(|_| TcpStream::connect(addr).unwrap()).collect();
    get(&mut last);
    let silent = sample();
    report("never used", base, silent, n);
    // Each serves one request and is kept alive.
    for s in conns.iter_mut() {
        get(s);
    }
    get(&mut last);
    let kept = sample();
    report("kept alive", base, kept, n);
    println!(
        "handler stack touched: {deep} KiB more; green stack size {} KiB; VmHWM {} KiB",
        hub::DEFAULT_STACK_SIZE / 1024,
        status_kib("VmHWM:")
    );
}
