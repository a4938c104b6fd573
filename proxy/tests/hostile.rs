//! Hostile requests against a real cluster: nothing a client sends may
//! make a storage node answer 5xx or an unparsable answer, or stop
//! answering, and no request can error-limit a node for everyone else.
//!
//! Requests are raw bytes on fresh connections (so header values can hold
//! any byte but CR, LF and NUL), sent straight to the object, container and
//! account backends of every node and through the proxy, with every header
//! Swift's servers read and values drawn from a fixed pseudo-random
//! sequence (the run is the same every time; a failure names its request).

mod common;

use common::Cluster;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The headers the object, container and account servers and the proxy
/// read from a request.
const HEADERS: &[&str] = &[
    "Range",
    "If-Match",
    "If-None-Match",
    "If-Modified-Since",
    "If-Unmodified-Since",
    "X-Timestamp",
    "X-Delete-At",
    "X-Delete-After",
    "X-If-Delete-At",
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "Content-Disposition",
    "ETag",
    "Expect",
    "Accept",
    "X-Newest",
    "X-Copy-From",
    "X-Copy-From-Account",
    "Destination",
    "Destination-Account",
    "X-Fresh-Metadata",
    "X-Object-Manifest",
    "X-Symlink-Target",
    "X-Symlink-Target-Account",
    "X-Symlink-Target-Etag",
    "X-Static-Large-Object",
    "X-Object-Meta-Color",
    "X-Object-Sysmeta-X",
    "X-Remove-Object-Meta-Color",
    "X-Container-Meta-Color",
    "X-Container-Sysmeta-X",
    "X-Remove-Container-Meta-Color",
    "X-Container-Read",
    "X-Container-Write",
    "X-Container-Meta-Access-Control-Allow-Origin",
    "X-Container-Meta-Temp-URL-Key",
    "X-Account-Meta-Color",
    "X-Account-Meta-Temp-URL-Key",
    "X-Account-Access-Control",
    "X-Versions-Location",
    "X-Storage-Policy",
    "Origin",
    "Referer",
    "Access-Control-Request-Method",
    "X-Put-Timestamp",
    "X-Delete-Timestamp",
    "X-Object-Count",
    "X-Bytes-Used",
    "X-Size",
    "X-Etag",
    "X-Content-Type",
    "X-Content-Type-Timestamp",
    "X-Meta-Timestamp",
    "X-Container-Host",
    "X-Container-Device",
    "X-Container-Partition",
    "X-Account-Host",
    "X-Account-Device",
    "X-Account-Partition",
    "X-Backend-Container-Update",
    "X-Backend-Account-Update",
    "X-Backend-Obj-Content-Length",
    "X-Backend-Checksums",
    "X-Backend-Etag",
    "X-Backend-Crc32c",
    "X-Backend-Timestamp",
    "X-Backend-Storage-Policy-Index",
    "X-Backend-No-Timestamp-Update",
    "X-Backend-Replication",
    "X-Trans-Id",
    "X-Auth-Token",
    "X-Service-Token",
    "Transfer-Encoding",
    "Connection",
];

/// Values that once broke a parser somewhere, or might.
const NASTY: &[&str] = &[
    "",
    " ",
    "\t",
    "-1",
    "0",
    "-0",
    "+5",
    "1e400",
    "nan",
    "inf",
    "0x10",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999",
    "-99999999999999999999999999999999",
    "9999999999.99999",
    "1700000000.12345_0000000000000001",
    "1700000000.12345_zz",
    "bytes\u{e9}=0-1",
    "\u{e9}\u{e9}\u{e9}=0-1",
    "bytes=0-1\u{e9}",
    "bytes=1-18446744073709551615",
    "bytes=-18446744073709551615",
    "bytes=18446744073709551615-",
    "bytes=0-0,0-0,0-0,0-0",
    "bytes=--",
    "bytes=,,,,",
    "\"*\"",
    "*",
    "W/\"x\"",
    "\"\"",
    "Thu, 01 Jan 1970 00:00:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Mon, 32 Foo 2020 99:99:99 GMT",
    "chunked",
    "gzip, chunked",
    "100-continue",
    "true",
    "trailer",
    "header",
    "c/o",
    "/",
    "//",
    "../../etc/passwd",
    "%2e%2e%2f",
    "%ff%fe",
    "a%00b",
    ".r:*",
    ".r:-*,.rlistings",
    "{\"admin\": [\"*\"]}",
    "{",
    "\u{2603}\u{1F600}",
    "127.0.0.1:1",
    "[::1]:99999",
    "sda/../../x",
    "1-2-3",
];

/// A fixed pseudo-random sequence (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A header value: a nasty one, random bytes (any but CR, LF, NUL),
    /// a long run, or a number.
    fn value(&mut self) -> Vec<u8> {
        match self.below(6) {
            0 | 1 => NASTY[self.below(NASTY.len())].as_bytes().to_vec(),
            2 => {
                let n = self.below(40);
                (0..n).map(|_| self.next() as u8).filter(|b| !matches!(b, b'\r' | b'\n' | 0)).collect()
            }
            3 => vec![b"9-,=\xc3\xa9"[self.below(6)]; 1 + self.below(7000)],
            4 => format!("{}", self.next() as i64).into_bytes(),
            _ => format!("{}.{:05}", self.next() % 20_000_000_000, self.next() % 100_000).into_bytes(),
        }
    }
}

/// One raw request on a fresh connection; the answer's status line and
/// head are checked to parse. Returns the status.
fn send_raw(port: u16, method: &str, target: &str, headers: &[(String, Vec<u8>)], body: &[u8]) -> u16 {
    let what = format!("{method} {target} {:?}", printable(headers));
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect for {what}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n").into_bytes();
    for (k, v) in headers {
        req.extend_from_slice(k.as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(v);
        req.extend_from_slice(b"\r\n");
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding"))
    {
        req.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    req.extend_from_slice(body);
    // The server may answer and close before reading it all.
    let _ = s.write_all(&req);
    let mut answer = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !answer.is_empty() => break,
            Err(e) => panic!("reading the answer to {what}: {e} (after {} bytes)", answer.len()),
        }
        if answer.windows(4).any(|w| w == b"\r\n\r\n") && method == "HEAD" {
            break;
        }
    }
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete answer head to {what}: {:?}", String::from_utf8_lossy(&answer)));
    // Each line with its CRLF; the empty piece after the last LF dropped.
    let head = &answer[..end + 2];
    let mut lines = head.split(|b| *b == b'\n');
    let _ = lines.next_back();
    let status_line = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?} to {what}"));
    let mut count = 0;
    for line in lines {
        count += 1;
        let line = line.strip_suffix(b"\r").unwrap_or_else(|| panic!("bare LF in the answer to {what}"));
        assert!(!line.contains(&b'\r'), "bare CR in the answer to {what}");
        let colon = line.iter().position(|b| *b == b':');
        assert!(
            colon.is_some_and(|c| c > 0),
            "header line without a name to {what}: {:?}",
            String::from_utf8_lossy(line)
        );
    }
    assert!(count < 200, "{count} headers in the answer to {what}");
    status
}

fn printable(headers: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
    headers.iter().map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v[..v.len().min(80)]).into_owned())).collect()
}

/// Random hostile headers: 1 to 6 of [`HEADERS`] with random values.
fn hostile_headers(rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let n = 1 + rng.below(6);
    (0..n).map(|_| (HEADERS[rng.below(HEADERS.len())].to_string(), rng.value())).collect()
}

/// A valid request to build on: method, target, headers, body.
type Kind = (&'static str, &'static str, Vec<(&'static str, String)>, &'static [u8]);

const METHODS: &[&str] = &["GET", "HEAD", "PUT", "POST", "DELETE", "COPY", "OPTIONS", "REPLICATE", "UPDATE", "PATCH"];

/// Backend targets: object, container and account paths (existing and
/// not, odd names), the partition of which does not matter here.
fn backend_target(rng: &mut Rng) -> String {
    let names =
        ["AUTH_test/c/o", "AUTH_test/c", "AUTH_test", "AUTH_test/c/o%0Ax", "AUTH_test/nope/o", "AUTH_x/c/o%E2%98%83"];
    let name = names[rng.below(names.len())];
    let query =
        ["", "?format=json", "?format=xml&delimiter=/&limit=5", "?marker=%FF", "?limit=-1", "?path=", "?prefix=%"]
            [rng.below(7)];
    format!("/sda/{}/{name}{query}", rng.below(64))
}

fn proxy_target(rng: &mut Rng) -> String {
    let names = ["c/o", "c", "", "c/o%0Ax", "nope/o", "c/%E2%98%83"];
    let name = names[rng.below(names.len())];
    let query = ["", "?format=json", "?multipart-manifest=get", "?symlink=get", "?delimiter=/&limit=abc"][rng.below(5)];
    format!("/v1/AUTH_test/{name}{query}")
}

/// A cluster where test:tester's public container `c` holds `c/o`
/// (`0123456789`); the token and the account path.
fn start(name: &str) -> (Cluster, String, String) {
    let c = Cluster::start(name, "account_autocreate = true");
    let (token, acct) = c.login("test:tester", "testing");
    let auth = [("X-Auth-Token", token.as_str())];
    assert_eq!(c.req("PUT", &format!("{acct}/c"), &[auth[0], ("X-Container-Read", ".r:*")], b"").status, 201);
    assert_eq!(c.req("PUT", &format!("{acct}/c/o"), &auth, b"0123456789").status, 201);
    (c, token, acct)
}

#[test]
fn hostile_requests_never_get_a_5xx_and_never_hurt_another_tenant() {
    let (c, token, acct) = start("hostile");
    let auth = [("X-Auth-Token", token.as_str())];

    // Every header Swift's servers read, with every nasty value, on top of
    // an otherwise valid request of each kind, to one node.
    let ts =
        || format!("{}.00000", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs());
    let kinds: [Kind; 6] = [
        // First, so the GETs find an object (whose Range is then parsed).
        ("PUT", "/sda/1/AUTH_test/c/o", vec![("X-Timestamp", ts()), ("Content-Type", "a/b".into())], b"0123456789"),
        ("GET", "/sda/1/AUTH_test/c/o", vec![], b""),
        ("POST", "/sda/1/AUTH_test/c/o", vec![("X-Timestamp", ts())], b""),
        ("PUT", "/sda/1/AUTH_test/c", vec![("X-Timestamp", ts())], b""),
        ("GET", "/sda/1/AUTH_test/c?format=json&delimiter=/", vec![], b""),
        ("POST", "/sda/1/AUTH_test", vec![("X-Timestamp", ts())], b""),
    ];
    let port = c.ports[0];
    for (method, target, base, body) in &kinds {
        for name in HEADERS {
            for value in NASTY {
                let mut headers: Vec<(String, Vec<u8>)> = base
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case(name))
                    .map(|(k, v)| (k.to_string(), v.clone().into_bytes()))
                    .collect();
                headers.push((name.to_string(), value.as_bytes().to_vec()));
                let status = send_raw(port, method, target, &headers, body);
                assert!(
                    status < 500 || status == 501,
                    "{status} from node {port} to {method} {target} {name}: {value:?}"
                );
            }
        }
    }

    // Straight to every node: object, container and account backends.
    let mut rng = Rng(0x5eed_1e55_dead_beef);
    for &port in &c.ports {
        for _ in 0..250 {
            let method = METHODS[rng.below(METHODS.len())];
            let target = backend_target(&mut rng);
            let headers = hostile_headers(&mut rng);
            let body: &[u8] = if rng.below(4) == 0 { b"some body" } else { b"" };
            let status = send_raw(port, method, &target, &headers, body);
            // 501 is Swift's answer to what it does not implement (a
            // transfer coding other than chunked): about the request, not
            // the node, and the proxy never counts it against one.
            assert!(
                status < 500 || status == 501,
                "{status} from node {port} to {method} {target} {:?}",
                printable(&headers)
            );
        }
        // The node still answers a plain request.
        assert_eq!(send_raw(port, "HEAD", "/sda/0/AUTH_test/c/o", &[], b""), 404, "wrong partition, but an answer");
    }

    // Through the proxy, as the owner and anonymously (the container
    // is public): the proxy may answer 5xx only if the nodes did, and
    // they may not.
    let auth_header = || vec![("X-Auth-Token".to_string(), token.clone().into_bytes())];
    for i in 0..400 {
        let method = METHODS[rng.below(METHODS.len())];
        let target = proxy_target(&mut rng);
        let mut headers = hostile_headers(&mut rng);
        if i % 2 == 0 {
            headers.extend(auth_header());
        }
        let status = send_raw(c.proxy_port, method, &target, &headers, b"");
        assert!(
            status < 500 || status == 501,
            "{status} from the proxy to {method} {target} {:?}",
            printable(&headers)
        );
    }

    // The cluster serves as before (the owner's hostile writes may have
    // changed their own objects, nobody else's): nothing was error-limited,
    // and another tenant is served.
    assert_eq!(c.req("PUT", &format!("{acct}/after"), &auth, b"").status / 100, 2);
    assert_eq!(c.req("PUT", &format!("{acct}/after/o"), &auth, b"0123456789").status, 201);
    for _ in 0..10 {
        let r = c.req("GET", &format!("{acct}/after/o"), &auth, b"");
        assert_eq!((r.status, r.body.as_slice()), (200, b"0123456789".as_slice()));
    }
    let (t2, acct2) = c.login("test2:tester2", "testing2");
    let auth2 = [("X-Auth-Token", t2.as_str())];
    assert_eq!(c.req("PUT", &format!("{acct2}/c2"), &auth2, b"").status, 201);
    assert_eq!(c.req("PUT", &format!("{acct2}/c2/o"), &auth2, b"x").status, 201);
    assert_eq!(c.req("GET", &format!("{acct2}/c2/o"), &auth2, b"").status, 200);
    let log = std::fs::read_to_string(c.dir.0.join("proxy.err.log")).unwrap_or_default();
    assert!(!log.contains("error limited"), "a node was error-limited:\n{log}");
    assert!(!log.contains("ERROR with node"), "an error was counted against a node:\n{log}");
}

#[test]
fn the_hostile_cases_of_issue_14_hold() {
    let (c, token, acct) = start("issue14");
    let auth = [("X-Auth-Token", token.as_str())];

    // 1. A Range holding a multi-byte character, anonymously, many times:
    // the whole object (Swift ignores a bad Range), and nobody is limited.
    let bad_range = vec![("Range".to_string(), b"bytes\xc3\xa9=0-1".to_vec())];
    for _ in 0..20 {
        assert_eq!(send_raw(c.proxy_port, "GET", &format!("{acct}/c/o"), &bad_range, b""), 200);
    }
    let (t2, acct2) = c.login("test2:tester2", "testing2");
    assert_eq!(c.req("PUT", &format!("{acct2}/x"), &[("X-Auth-Token", t2.as_str())], b"").status, 201);
    // 7. The largest end is the last byte: 206 of exactly what is sent.
    let r = c.req("GET", &format!("{acct}/c/o"), &[("Range", "bytes=1-18446744073709551615")], b"");
    assert_eq!((r.status, r.header("content-length"), r.body.as_slice()), (206, Some("9"), b"123456789".as_slice()));

    // 2. Metadata cannot pile up over PUTs.
    for round in 0..3 {
        let meta: Vec<(String, String)> =
            (0..90).map(|i| (format!("X-Container-Meta-R{round}-{i}"), "v".into())).collect();
        let mut h: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        h.push(auth[0]);
        let status = c.req("PUT", &format!("{acct}/meta"), &h, b"").status;
        assert_eq!(status, if round == 0 { 201 } else { 400 }, "round {round}");
    }
    assert_eq!(c.req("HEAD", &format!("{acct}/meta"), &auth, b"").status, 204);

    // 3. A name holding CR and LF is stored, read, listed and deleted.
    let name = format!("{acct}/c/line%0D%0Abreak");
    assert_eq!(c.req("PUT", &name, &auth, b"crlf").status, 201);
    for _ in 0..3 {
        let r = c.req("GET", &name, &auth, b"");
        assert_eq!((r.status, r.body.as_slice()), (200, b"crlf".as_slice()));
    }
    let listing = c.req("GET", &format!("{acct}/c?format=json"), &auth, b"").text();
    assert!(listing.contains("line\\r\\nbreak"), "{listing}");
    assert_eq!(c.req("DELETE", &name, &auth, b"").status, 204);
    assert_eq!(c.req("GET", &name, &auth, b"").status, 404);

    // 7. An account name in XML is escaped (a reseller admin lists an
    // account that does not exist: account_autocreate's empty listing).
    let (admin, _) = c.login("admin:admin", "admin");
    let r = c.req("GET", "/v1/AUTH_a%22b%3Cc?format=xml", &[("X-Auth-Token", admin.as_str())], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("<account name=\"AUTH_a&quot;b&lt;c\">"), "{}", r.text());
}
