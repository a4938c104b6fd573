//! Probe test (Swift's probe layer): out of 4 object servers (3
//! replicas), one is killed (kill -9) and another stopped (SIGSTOP, so it
//! accepts connections and never answers). PUTs, GETs and listings must
//! all succeed within bounded time, and after SIGCONT and a restart every
//! object reads back byte-identical.

mod common;

use common::{Cluster, READ_BY_ZONE};
use std::time::{Duration, Instant};

/// Each request under faults: at most one wait for the stopped node
/// (`node_timeout`) plus the object servers' own wait for a container
/// update to it (`container_update_timeout`, 1 s), with room for a busy
/// machine.
const BOUND: Duration = Duration::from_secs(10);

fn body(i: usize) -> Vec<u8> {
    let len = [0, 1, 1000, 65_537, 300_000][i % 5] + i;
    (0..len).map(|j| ((j * 7 + i) % 251) as u8).collect()
}

#[test]
fn writes_and_reads_survive_one_node_killed_and_one_stopped() {
    let mut c = Cluster::start(
        "probe",
        // node_timeout above the object servers' container_update_timeout
        // (1 s), which a PUT answer may wait for when the stopped node
        // holds a container replica.
        "account_autocreate = true\nnode_timeout = 2\nrecoverable_node_timeout = 1\nconn_timeout = 0.5",
    );
    let (token, acct) = c.login("test:tester", "testing");
    let auth = [("X-Auth-Token", token.as_str())];
    assert_eq!(c.req("PUT", &format!("{acct}/probe"), &auth, b"").status, 201);
    let before: Vec<String> = (0..5).map(|i| format!("before-{i}")).collect();
    for (i, name) in before.iter().enumerate() {
        assert_eq!(c.req("PUT", &format!("{acct}/probe/{name}"), &auth, &body(i)).status, 201);
    }

    c.kill(0);
    c.signal(1, "STOP");
    let timed = |what: &str, f: &dyn Fn() -> common::Resp| {
        let t = Instant::now();
        let r = f();
        assert!(t.elapsed() < BOUND, "{what} took {:?}", t.elapsed());
        r
    };
    let during: Vec<String> = (0..15).map(|i| format!("during-{i}")).collect();
    for (i, name) in during.iter().enumerate() {
        let path = format!("{acct}/probe/{name}");
        let r = timed(&format!("PUT {name}"), &|| c.req("PUT", &path, &auth, &body(100 + i)));
        assert_eq!(r.status, 201, "PUT {name}: {}", r.text());
    }
    let all: Vec<(usize, &String)> =
        before.iter().enumerate().chain(during.iter().enumerate().map(|(i, n)| (100 + i, n))).collect();
    for (i, name) in &all {
        let path = format!("{acct}/probe/{name}");
        let r = timed(&format!("GET {name}"), &|| c.req("GET", &path, &auth, b""));
        assert_eq!(r.status, 200, "GET {name}");
        assert!(r.body == body(*i), "GET {name}: {} bytes, not the {} written", r.body.len(), body(*i).len());
    }
    let r = timed("listing", &|| c.req("GET", &format!("{acct}/probe"), &auth, b""));
    assert_eq!(r.status, 200);
    let listed = r.text();
    for name in &before {
        assert!(listed.lines().any(|l| l == name), "{name} not listed: {listed}");
    }

    c.signal(1, "CONT");
    c.restart(0);
    for (i, name) in &all {
        let r = c.req("GET", &format!("{acct}/probe/{name}"), &auth, b"");
        assert_eq!(r.status, 200, "GET {name} after recovery");
        assert!(r.body == body(*i), "GET {name} after recovery: {} bytes", r.body.len());
    }
}

/// The object server (index in `c.ports`) a proxy with [`READ_BY_ZONE`]
/// reads an object from first: its primary in the lowest zone.
fn first_primary(c: &Cluster, account: &str, container: &str, object: &str) -> usize {
    let swift_dir = c.dir.0.join("swift");
    let hasher = ring::PathHasher::from_swift_dir(&swift_dir).unwrap();
    let ring = ring::Ring::open(swift_dir.join("object.ring"), hasher).unwrap();
    let (_, nodes) = ring.nodes(account, Some(container), Some(object)).unwrap();
    let first = nodes.iter().min_by_key(|d| d.zone).unwrap();
    c.ports.iter().position(|p| *p == first.port).unwrap()
}

#[test]
fn a_get_whose_node_stops_mid_body_finishes_from_another_node() {
    use std::io::{Read, Write};
    let c = Cluster::start(
        "probe-midbody",
        &format!("account_autocreate = true\nrecoverable_node_timeout = 1\n{READ_BY_ZONE}"),
    );
    let (token, acct) = c.login("test:tester", "testing");
    let auth = [("X-Auth-Token", token.as_str())];
    assert_eq!(c.req("PUT", &format!("{acct}/probe"), &auth, b"").status, 201);
    // Bigger than the socket buffers between the object server and the
    // client, so the stop is felt mid-body.
    let big: Vec<u8> = (0..24_000_000u32).map(|i| (i % 253) as u8).collect();
    assert_eq!(c.req("PUT", &format!("{acct}/probe/big"), &auth, &big).status, 201);
    let source = first_primary(&c, "AUTH_test", "probe", "big");

    let mut s = std::net::TcpStream::connect(("127.0.0.1", c.proxy_port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head =
        format!("GET {acct}/probe/big HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let mut raw = vec![0u8; 65536];
    let mut got = Vec::new();
    while got.len() < 65536 {
        let n = s.read(&mut raw).unwrap();
        assert!(n > 0, "the proxy closed early");
        got.extend_from_slice(&raw[..n]);
    }
    c.signal(source, "STOP");
    let t = Instant::now();
    s.read_to_end(&mut got).unwrap();
    c.signal(source, "CONT");
    let end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(String::from_utf8_lossy(&got[..end]).starts_with("HTTP/1.1 200"));
    assert!(got[end..] == big[..], "the whole, correct body: {} of {} bytes", got.len() - end, big.len());
    assert!(t.elapsed() < BOUND, "resuming took {:?}", t.elapsed());
    let log = std::fs::read_to_string(c.dir.0.join("proxy.err.log")).unwrap();
    let port = c.ports[source];
    assert!(
        log.lines().any(|l| l.contains(&format!(":{port}/")) && l.contains("object GET body")),
        "the proxy did not resume from a stall of the node on {port}: {log}"
    );
}

/// The proxy keeps its connections to the object servers alive: after a
/// node is killed and started again, the connections to the dead process
/// are never reused (no request fails on one, no error is counted against
/// the node), and the next requests reach the new process.
#[test]
fn a_restarted_object_server_is_reached_on_new_connections() {
    let mut c = Cluster::start("pool-restart", &format!("account_autocreate = true\n{READ_BY_ZONE}"));
    let (token, acct) = c.login("test:tester", "testing");
    let auth = [("X-Auth-Token", token.as_str())];
    assert_eq!(c.req("PUT", &format!("{acct}/c"), &auth, b"").status, 201);
    let path = format!("{acct}/c/o");
    assert_eq!(c.req("PUT", &path, &auth, &body(3)).status, 201);
    for _ in 0..3 {
        assert_eq!(c.req("GET", &path, &auth, b"").status, 200);
    }
    let first = first_primary(&c, acct.trim_start_matches("/v1/"), "c", "o");
    c.kill(first);
    c.restart(first);
    for i in 0..3 {
        let r = c.req("GET", &path, &auth, b"");
        assert_eq!(r.status, 200, "GET {i} after the restart");
        assert!(r.body == body(3));
    }
    let served = std::fs::read_to_string(c.dir.0.join(format!("node{first}-restarted.out.log"))).unwrap();
    assert_eq!(served.lines().filter(|l| l.contains("\"GET /")).count(), 3, "the new process served the GETs");
    let proxy_err = std::fs::read_to_string(c.dir.0.join("proxy.err.log")).unwrap();
    assert!(!proxy_err.contains("ERROR with node"), "no error against any node: {proxy_err}");
}
