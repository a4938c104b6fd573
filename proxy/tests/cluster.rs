//! The proxy against a real cluster: 4 object servers, 3 replicas.

mod common;

use common::Cluster;

#[test]
fn api_round_trips_through_a_real_cluster() {
    let mut c = Cluster::start("api", "account_autocreate = true");
    // Health, info, auth.
    assert_eq!(c.req("GET", "/healthcheck", &[], b"").text(), "OK");
    let info = c.req("GET", "/info", &[], b"");
    let info: serde_json::Value = serde_json::from_slice(&info.body).unwrap();
    assert_eq!(info["swift"]["max_file_size"], 5368709122u64);
    assert_eq!(c.req("GET", "/auth/v1.0", &[("X-Auth-User", "test:tester"), ("X-Auth-Key", "bad")], b"").status, 401);
    let (token, acct) = c.login("test:tester", "testing");
    assert_eq!(acct, "/v1/AUTH_test");
    let auth = [("X-Auth-Token", token.as_str())];

    // No token: 401 with Swift's realm; a bad token: 401.
    let r = c.req("GET", &acct, &[], b"");
    assert_eq!(r.status, 401);
    assert!(r.header("x-trans-id").is_some_and(|t| t.starts_with("tx")));
    assert_eq!(c.req("GET", &acct, &[("X-Auth-Token", "AUTH_tkbad")], b"").status, 401);

    // Container and objects.
    assert_eq!(c.req("PUT", &format!("{acct}/c"), &auth, b"").status, 201);
    assert_eq!(c.req("PUT", &format!("{acct}/c"), &auth, b"").status, 202);
    let r = c.req("PUT", &format!("{acct}/c/hello.txt"), &auth, b"hello world");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("etag"), Some("5eb63bbbe01eeed093cb22bb8f5acdc3"));
    let r = c.req("GET", &format!("{acct}/c/hello.txt"), &auth, b"");
    assert_eq!((r.status, r.text().as_str()), (200, "hello world"));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.header("etag"), Some("5eb63bbbe01eeed093cb22bb8f5acdc3"));
    assert!(r.headers.iter().all(|(k, _)| !k.to_ascii_lowercase().starts_with("x-backend")));
    let r = c.req("HEAD", &format!("{acct}/c/hello.txt"), &auth, b"");
    assert_eq!((r.status, r.header("content-length")), (200, Some("11")));
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(c.req("PUT", &format!("{acct}/c/big"), &auth, &big).status, 201);
    assert_eq!(c.req("GET", &format!("{acct}/c/big"), &auth, b"").body, big);
    let r = c.req("POST", &format!("{acct}/c/hello.txt"), &[auth[0], ("X-Object-Meta-Color", "blue")], b"");
    assert_eq!(r.status, 202);
    assert_eq!(c.req("HEAD", &format!("{acct}/c/hello.txt"), &auth, b"").header("x-object-meta-color"), Some("blue"));

    // Listings (the object servers updated the container rows).
    let r = c.req("GET", &format!("{acct}/c"), &auth, b"");
    assert_eq!((r.status, r.text().as_str()), (200, "big\nhello.txt\n"));
    let r = c.req("GET", &format!("{acct}?format=json"), &auth, b"");
    let listing: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(listing[0]["name"], "c", "{}", r.text());

    // Other users: 403 without an ACL, allowed with one.
    let (t3, _) = c.login("test:tester3", "testing3");
    let t3h = [("X-Auth-Token", t3.as_str())];
    assert_eq!(c.req("GET", &format!("{acct}/c/hello.txt"), &t3h, b"").status, 403);
    let r = c.req("POST", &format!("{acct}/c"), &[auth[0], ("X-Container-Read", "test:tester3")], b"");
    assert_eq!(r.status, 204);
    assert_eq!(c.req("GET", &format!("{acct}/c/hello.txt"), &t3h, b"").status, 200);
    assert_eq!(c.req("GET", &format!("{acct}/c/hello.txt"), &[], b"").status, 401);
    c.req("POST", &format!("{acct}/c"), &[auth[0], ("X-Container-Read", ".r:*")], b"");
    assert_eq!(c.req("GET", &format!("{acct}/c/hello.txt"), &[], b"").status, 200);
    assert_eq!(c.req("GET", &format!("{acct}/c"), &[], b"").status, 401);

    // Kill one object server: PUTs still reach a quorum, GETs fail over.
    c.kill(0);
    for i in 0..6 {
        let path = format!("{acct}/c/after-kill-{i}");
        let r = c.req("PUT", &path, &auth, format!("body {i}").as_bytes());
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(c.req("GET", &path, &auth, b"").text(), format!("body {i}"));
    }
    assert_eq!(c.req("GET", &format!("{acct}/c/big"), &auth, b"").body, big);

    // Deletes.
    assert_eq!(c.req("DELETE", &format!("{acct}/c/hello.txt"), &auth, b"").status, 204);
    assert_eq!(c.req("GET", &format!("{acct}/c/hello.txt"), &auth, b"").status, 404);
    assert_eq!(c.req("DELETE", &format!("{acct}/c"), &auth, b"").status, 409);
    let r = c.req("PUT", &format!("{acct}/nope/o"), &auth, b"x");
    assert_eq!(r.status, 404);
}

#[test]
fn account_and_container_heads_carry_swifts_headers_and_errors_have_plain_bodies() {
    let c = Cluster::start("heads", "account_autocreate = true");
    let (token, acct) = c.login("test:tester", "testing");
    let auth = [("X-Auth-Token", token.as_str())];
    let cont = format!("{acct}/c");
    let empty = |c: &Cluster, method: &str, path: &str| {
        let r = c.req(method, path, &auth, b"");
        assert_eq!((r.status, r.header("content-length")), (204, Some("0")), "{method} {path}");
    };
    empty(&c, "GET", &acct);
    assert_eq!(c.req("PUT", &cont, &auth, b"").status, 201);
    for (method, path) in [("HEAD", &acct), ("HEAD", &cont), ("GET", &cont)] {
        empty(&c, method, path);
    }
    let r = c.req("HEAD", &format!("{acct}/c"), &auth, b"");
    assert!(r.header("last-modified").is_some_and(|v| v.ends_with(" GMT")), "{:?}", r.headers);
    assert_eq!(r.header("x-storage-policy"), Some("Policy-0"));

    // A policy we do not have: 400; ours by name: fine.
    let r = c.req("PUT", &format!("{acct}/c2"), &[auth[0], ("X-Storage-Policy", "gold")], b"");
    assert_eq!((r.status, r.text().as_str()), (400, "Invalid X-Storage-Policy 'gold'"));
    assert_eq!(c.req("PUT", &format!("{acct}/c2"), &[auth[0], ("X-Storage-Policy", "Policy-0")], b"").status, 201);

    // Metadata adding up over the limit across POSTs (each within it): 400.
    let v = "x".repeat(250);
    let meta = |kind: &str, prefix: &str, n: usize| -> Vec<(String, String)> {
        (0..n).map(|i| (format!("X-{kind}-Meta-{prefix}{i:02}"), v.clone())).collect()
    };
    for (kind, path) in [("Container", &cont), ("Account", &acct)] {
        for (prefix, n, status) in [("a", 15, 204), ("b", 2, 400)] {
            let m = meta(kind, prefix, n);
            let mut h: Vec<(&str, &str)> = m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            h.push(auth[0]);
            let r = c.req("POST", path, &h, b"");
            assert_eq!(r.status, status, "{kind} {prefix}: {}", r.text());
            if status == 400 {
                assert_eq!(r.text().trim_end(), "Total metadata too large; max 4096");
            }
        }
    }

    // Object DELETE: swob's Content-Type; a bad X-If-Delete-At is 400.
    assert_eq!(c.req("PUT", &format!("{cont}/o"), &auth, b"x").status, 201);
    let r = c.req("DELETE", &format!("{cont}/o"), &[auth[0], ("X-If-Delete-At", "bad")], b"");
    assert_eq!((r.status, r.text().as_str()), (400, "Bad X-If-Delete-At header value"));
    let r = c.req("DELETE", &format!("{cont}/o"), &auth, b"");
    assert_eq!((r.status, r.header("content-type")), (204, Some("text/html; charset=UTF-8")));

    // Account listings name each container's storage policy.
    let r = c.req("GET", &format!("{acct}?format=json"), &auth, b"");
    let listing: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(listing[0]["storage_policy"], "Policy-0", "{}", r.text());
}
