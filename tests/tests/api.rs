//! The proxy's API surface (issue 6) through a real cluster, or the
//! endpoint in `SWIFTLET_TEST_URL`: TempAuth, accounts, containers,
//! objects, metadata, listings, ACLs, ranges, conditionals, copies,
//! expiry, constraints, `/info` and `/healthcheck`. Every test works in
//! its own uniquely named containers, so they run in parallel and against
//! an endpoint that keeps earlier runs' data.

use functional::cluster::{TESTER, TESTER2, TESTER3};
use functional::{Cluster, Session};

fn setup() -> (&'static Cluster, Session) {
    let c = Cluster::shared();
    let s = c.login(TESTER);
    (c, s)
}

/// A new container of `s`'s account, with `headers`; returns its name.
fn container(c: &Cluster, s: &Session, prefix: &str, headers: &[(&str, &str)]) -> String {
    let name = Cluster::unique(prefix);
    let r = c.req("PUT", &s.path(&name), &s.headers(headers), b"");
    assert_eq!(r.status, 201, "PUT container {name}: {}", r.text());
    name
}

fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn tempauth_answers_every_v1_path_and_both_header_styles() {
    let c = Cluster::shared();
    for path in ["/auth/v1.0", "/auth/v1", "/v1.0"] {
        let r = c.req("GET", path, &[("X-Auth-User", TESTER.0), ("X-Auth-Key", TESTER.1)], b"");
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(r.header("x-auth-token").is_some_and(|t| t.starts_with("AUTH_tk")), "{path}");
        assert_eq!(r.header("x-auth-token"), r.header("x-storage-token"));
        assert!(r.header("x-storage-url").is_some_and(|u| u.ends_with("/v1/AUTH_test")));
        assert!(r.header("x-auth-token-expires").is_some_and(|e| e.parse::<u64>().is_ok()));
    }
    let r = c.req("GET", "/auth/v1.0", &[("X-Storage-User", TESTER.0), ("X-Storage-Pass", TESTER.1)], b"");
    assert_eq!(r.status, 200);
    let r = c.req("GET", "/auth/v1.0", &[("X-Auth-User", TESTER.0), ("X-Auth-Key", "wrong")], b"");
    assert_eq!(r.status, 401);
    let r = c.req("GET", "/auth/v1.0", &[], b"");
    assert_eq!(r.status, 401);
    // A token works; a forged one and none do not.
    let s = c.login(TESTER);
    assert_eq!(c.req("HEAD", &s.account, &s.headers(&[]), b"").status, 204);
    let forged = format!("{}x", s.token);
    assert_eq!(c.req("HEAD", &s.account, &[("X-Auth-Token", &forged)], b"").status, 401);
    let r = c.req("GET", &s.account, &[], b"");
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_some_and(|v| v.starts_with("Swift realm=")), "{:?}", r.headers);
}

#[test]
fn every_answer_carries_a_transaction_id() {
    let (c, s) = setup();
    let paths = [s.account.clone(), s.path("no-such-container"), "/info".into(), "/v1".into()];
    for p in &paths {
        let r = c.req("GET", p, &s.headers(&[]), b"");
        let tx = r.header("x-trans-id").unwrap_or_else(|| panic!("{p}: no X-Trans-Id"));
        assert!(tx.starts_with("tx"), "{p}: {tx}");
        assert_eq!(r.header("x-openstack-request-id"), Some(tx), "{p}");
    }
}

#[test]
fn info_and_healthcheck_need_no_token() {
    let c = Cluster::shared();
    assert_eq!(c.req("GET", "/healthcheck", &[], b"").text(), "OK");
    let info = c.req("GET", "/info", &[], b"").json();
    assert_eq!(info["swift"]["max_file_size"], 5_368_709_122u64);
    assert_eq!(info["swift"]["max_meta_count"], 90);
    assert_eq!(info["swift"]["container_listing_limit"], 10_000);
    // Honest: nothing swiftlet lacks is advertised.
    for missing in ["slo", "versioned_writes", "staticweb", "bulk_delete"] {
        assert!(info.get(missing).is_none(), "/info advertises {missing}");
    }
    assert_eq!(info["tempurl"]["methods"], serde_json::json!(["GET", "HEAD", "PUT", "POST", "DELETE"]));
}

#[test]
fn objects_round_trip_with_metadata_and_etags() {
    let (c, s) = setup();
    let cont = container(c, &s, "obj", &[]);
    let body: Vec<u8> = (0..1_500_000u32).map(|i| (i * 7 % 253) as u8).collect();
    let etag = md5_hex(&body);
    let path = s.path(&format!("{cont}/dir/big.bin"));
    let put = c.req("PUT", &path, &s.headers(&[("X-Object-Meta-Color", "blue"), ("ETag", &etag)]), &body);
    assert_eq!(put.status, 201, "{}", put.text());
    assert_eq!(put.header("etag"), Some(etag.as_str()));
    let r = c.req("GET", &path, &s.headers(&[]), b"");
    assert_eq!(r.status, 200);
    assert!(r.body == body, "GET returned other bytes");
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(r.header("x-object-meta-color"), Some("blue"));
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert!(r.header("last-modified").is_some() && r.header("x-timestamp").is_some());
    let h = c.req("HEAD", &path, &s.headers(&[]), b"");
    assert_eq!((h.status, h.header("content-length")), (200, Some("1500000")));

    // A wrong ETag stores nothing; chunked uploads work.
    let other = s.path(&format!("{cont}/other"));
    let r = c.req("PUT", &other, &s.headers(&[("ETag", "00000000000000000000000000000000")]), b"data");
    assert_eq!(r.status, 422);
    assert_eq!(c.req("HEAD", &other, &s.headers(&[]), b"").status, 404);
    let r = c.req("PUT", &other, &s.headers(&[("Transfer-Encoding", "chunked")]), &body[..5000]);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(c.req("GET", &other, &s.headers(&[]), b"").body, &body[..5000]);

    // POST replaces user metadata; Content-Type is guessed from the name.
    let r = c.req("POST", &path, &s.headers(&[("X-Object-Meta-Shape", "round")]), b"");
    assert_eq!(r.status, 202);
    let h = c.req("HEAD", &path, &s.headers(&[]), b"");
    assert_eq!((h.header("x-object-meta-shape"), h.header("x-object-meta-color")), (Some("round"), None));
    let txt = s.path(&format!("{cont}/page.html"));
    assert_eq!(c.req("PUT", &txt, &s.headers(&[]), b"<p>").status, 201);
    assert_eq!(c.req("HEAD", &txt, &s.headers(&[]), b"").header("content-type"), Some("text/html"));

    // DELETE, then 404 for GET, HEAD and a second DELETE.
    assert_eq!(c.req("DELETE", &path, &s.headers(&[]), b"").status, 204);
    assert_eq!(c.req("GET", &path, &s.headers(&[]), b"").status, 404);
    assert_eq!(c.req("HEAD", &path, &s.headers(&[]), b"").status, 404);
    assert_eq!(c.req("DELETE", &path, &s.headers(&[]), b"").status, 404);
}

#[test]
fn ranges_and_conditional_requests() {
    let (c, s) = setup();
    let cont = container(c, &s, "range", &[]);
    let path = s.path(&format!("{cont}/digits"));
    let put = c.req("PUT", &path, &s.headers(&[]), b"0123456789");
    let etag = put.header("etag").unwrap().to_string();
    let get = |h: &[(&str, &str)]| c.req("GET", &path, &s.headers(h), b"");

    let r = get(&[("Range", "bytes=2-4")]);
    assert_eq!((r.status, r.text().as_str()), (206, "234"));
    assert_eq!(r.header("content-range"), Some("bytes 2-4/10"));
    assert_eq!(get(&[("Range", "bytes=-3")]).text(), "789");
    assert_eq!(get(&[("Range", "bytes=7-")]).text(), "789");
    let r = get(&[("Range", "bytes=0-0,8-9")]);
    assert_eq!(r.status, 206);
    assert!(r.header("content-type").is_some_and(|t| t.starts_with("multipart/byteranges;boundary=")));
    let text = r.text();
    assert!(text.contains("Content-Range: bytes 0-0/10") && text.contains("Content-Range: bytes 8-9/10"), "{text}");
    assert_eq!(get(&[("Range", "bytes=20-30")]).status, 416);
    // An unparsable range is ignored: the whole object.
    assert_eq!(get(&[("Range", "bytes=x-y")]).status, 200);

    let quoted = format!("\"{etag}\"");
    assert_eq!(get(&[("If-Match", &quoted)]).status, 200);
    assert_eq!(get(&[("If-Match", "\"nope\"")]).status, 412);
    assert_eq!(get(&[("If-None-Match", &quoted)]).status, 304);
    assert_eq!(get(&[("If-None-Match", "\"nope\"")]).status, 200);
    assert_eq!(get(&[("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT")]).status, 304);
    assert_eq!(get(&[("If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:10 GMT")]).status, 412);
    // If-None-Match: * on PUT refuses to overwrite.
    assert_eq!(c.req("PUT", &path, &s.headers(&[("If-None-Match", "*")]), b"x").status, 412);
}

#[test]
fn containers_metadata_listings_and_deletes() {
    let (c, s) = setup();
    let cont = container(c, &s, "list", &[("X-Container-Meta-Team", "blue")]);
    // A second PUT updates: 202.
    assert_eq!(c.req("PUT", &s.path(&cont), &s.headers(&[]), b"").status, 202);
    for name in ["a/1", "a/2", "b", "c.txt"] {
        assert_eq!(c.req("PUT", &s.path(&format!("{cont}/{name}")), &s.headers(&[]), name.as_bytes()).status, 201);
    }
    let h = c.req("HEAD", &s.path(&cont), &s.headers(&[]), b"");
    assert_eq!(h.status, 204);
    assert_eq!(h.header("x-container-meta-team"), Some("blue"));
    assert_eq!(h.header("x-container-object-count"), Some("4"));
    assert_eq!(h.header("x-container-bytes-used"), Some("12"));

    let list = |q: &str| c.req("GET", &format!("{}{q}", s.path(&cont)), &s.headers(&[]), b"");
    assert_eq!(list("").text(), "a/1\na/2\nb\nc.txt\n");
    assert_eq!(list("?limit=2").text(), "a/1\na/2\n");
    assert_eq!(list("?marker=a/2").text(), "b\nc.txt\n");
    assert_eq!(list("?end_marker=b").text(), "a/1\na/2\n");
    assert_eq!(list("?prefix=a/").text(), "a/1\na/2\n");
    assert_eq!(list("?delimiter=/").text(), "a/\nb\nc.txt\n");
    assert_eq!(list("?reverse=true").text(), "c.txt\nb\na/2\na/1\n");
    let json = list("?format=json").json();
    assert_eq!(json[0]["name"], "a/1");
    assert_eq!(json[0]["bytes"], 3);
    assert_eq!(json[0]["hash"], md5_hex(b"a/1"));
    assert!(json[0]["last_modified"].as_str().is_some_and(|t| t.contains('T')));
    let xml = list("?format=xml").text();
    assert!(xml.starts_with("<?xml") && xml.contains("<name>c.txt</name>"), "{xml}");
    let r = list("?limit=10001");
    assert_eq!(r.status, 412);
    // An empty listing is 204.
    assert_eq!(list("?prefix=zzz").status, 204);

    // POST metadata; removal with X-Remove-.
    let r = c.req("POST", &s.path(&cont), &s.headers(&[("X-Remove-Container-Meta-Team", "x")]), b"");
    assert_eq!(r.status, 204);
    assert_eq!(c.req("HEAD", &s.path(&cont), &s.headers(&[]), b"").header("x-container-meta-team"), None);

    // A non-empty container is not deleted; an empty one is.
    assert_eq!(c.req("DELETE", &s.path(&cont), &s.headers(&[]), b"").status, 409);
    for name in ["a/1", "a/2", "b", "c.txt"] {
        assert_eq!(c.req("DELETE", &s.path(&format!("{cont}/{name}")), &s.headers(&[]), b"").status, 204);
    }
    assert_eq!(c.req("DELETE", &s.path(&cont), &s.headers(&[]), b"").status, 204);
    assert_eq!(c.req("HEAD", &s.path(&cont), &s.headers(&[]), b"").status, 404);
    assert_eq!(c.req("PUT", &s.path(&format!("{cont}/o")), &s.headers(&[]), b"x").status, 404);
}

#[test]
fn account_metadata_and_listing() {
    let (c, s) = setup();
    let cont = container(c, &s, "acct", &[]);
    let key = Cluster::unique("X-Account-Meta-T");
    let r = c.req("POST", &s.account, &s.headers(&[(&key, "v")]), b"");
    assert_eq!(r.status, 204);
    let h = c.req("HEAD", &s.account, &s.headers(&[]), b"");
    assert_eq!(h.header(&key), Some("v"));
    assert!(h.header("x-account-container-count").is_some_and(|n| n.parse::<u64>().unwrap() >= 1));
    let r = c.req("GET", &format!("{}?format=json&prefix={cont}", s.account), &s.headers(&[]), b"");
    assert_eq!(r.json()[0]["name"], cont.as_str());
    let r = c.req("POST", &s.account, &s.headers(&[(&format!("X-Remove-{}", &key[2..]), "x")]), b"");
    assert_eq!(r.status, 204);
    assert_eq!(c.req("HEAD", &s.account, &s.headers(&[]), b"").header(&key), None);
}

#[test]
fn acls_decide_who_reads_and_writes() {
    let (c, s) = setup();
    let other = c.login(TESTER3);
    let cont = container(c, &s, "acl", &[]);
    let obj = s.path(&format!("{cont}/o"));
    assert_eq!(c.req("PUT", &obj, &s.headers(&[]), b"secret").status, 201);
    // Same account, no admin, no ACL: 403. Another account: 403.
    assert_eq!(c.req("GET", &obj, &other.headers(&[]), b"").status, 403);
    let stranger = c.login(TESTER2);
    assert_eq!(c.req("GET", &obj, &stranger.headers(&[]), b"").status, 403);
    assert_eq!(c.req("PUT", &obj, &other.headers(&[]), b"x").status, 403);

    // Read ACL for one user; write ACL for another account.
    let r = c.req("POST", &s.path(&cont), &s.headers(&[("X-Container-Read", TESTER3.0)]), b"");
    assert_eq!(r.status, 204);
    assert_eq!(c.req("GET", &obj, &other.headers(&[]), b"").text(), "secret");
    assert_eq!(c.req("GET", &s.path(&cont), &other.headers(&[]), b"").status, 200);
    let r = c.req("POST", &s.path(&cont), &s.headers(&[("X-Container-Write", "test2")]), b"");
    assert_eq!(r.status, 204);
    assert_eq!(c.req("PUT", &obj, &stranger.headers(&[]), b"from test2").status, 201);
    assert_eq!(c.req("GET", &obj, &s.headers(&[]), b"").text(), "from test2");
    // The ACL headers are the owner's to see.
    let h = c.req("HEAD", &s.path(&cont), &other.headers(&[]), b"");
    assert_eq!((h.status, h.header("x-container-read")), (204, None));
    let h = c.req("HEAD", &s.path(&cont), &s.headers(&[]), b"");
    assert_eq!(h.header("x-container-read"), Some(TESTER3.0));

    // Public read: objects without a token, but no listing without .rlistings.
    c.req("POST", &s.path(&cont), &s.headers(&[("X-Container-Read", ".r:*")]), b"");
    assert_eq!(c.req("GET", &obj, &[], b"").status, 200);
    assert_eq!(c.req("GET", &s.path(&cont), &[], b"").status, 401);
    c.req("POST", &s.path(&cont), &s.headers(&[("X-Container-Read", ".r:*,.rlistings")]), b"");
    assert_eq!(c.req("GET", &s.path(&cont), &[], b"").text(), "o\n");
    // Anonymous writes never pass.
    assert_eq!(c.req("PUT", &obj, &[], b"x").status, 401);
}

#[test]
fn server_side_copies() {
    let (c, s) = setup();
    let cont = container(c, &s, "copy", &[]);
    let src = s.path(&format!("{cont}/src"));
    let r = c.req("PUT", &src, &s.headers(&[("X-Object-Meta-A", "1"), ("Content-Type", "text/x-src")]), b"bytes");
    assert_eq!(r.status, 201);
    let dst = format!("{cont}/dst");
    let r = c.req("COPY", &src, &s.headers(&[("Destination", &dst), ("X-Object-Meta-B", "2")]), b"");
    assert_eq!(r.status, 201, "{}", r.text());
    let g = c.req("GET", &s.path(&dst), &s.headers(&[]), b"");
    assert_eq!(g.text(), "bytes");
    assert_eq!((g.header("x-object-meta-a"), g.header("x-object-meta-b")), (Some("1"), Some("2")));
    assert_eq!(g.header("content-type"), Some("text/x-src"));
    let fresh = s.path(&format!("{cont}/fresh"));
    let from = format!("{cont}/src");
    let r = c.req("PUT", &fresh, &s.headers(&[("X-Copy-From", &from), ("X-Fresh-Metadata", "true")]), b"");
    assert_eq!(r.status, 201);
    let g = c.req("HEAD", &fresh, &s.headers(&[]), b"");
    assert_eq!(g.header("x-object-meta-a"), None);
    let r = c.req("PUT", &fresh, &s.headers(&[("X-Copy-From", &format!("{cont}/missing"))]), b"");
    assert_eq!(r.status, 404);
    assert_eq!(c.req("GET", &src, &s.headers(&[("X-Newest", "true")]), b"").text(), "bytes");
}

#[test]
fn expiring_objects_disappear() {
    let (c, s) = setup();
    let cont = container(c, &s, "exp", &[]);
    let path = s.path(&format!("{cont}/soon"));
    assert_eq!(c.req("PUT", &path, &s.headers(&[("X-Delete-After", "1")]), b"gone").status, 201);
    let h = c.req("HEAD", &path, &s.headers(&[]), b"");
    assert!(h.header("x-delete-at").is_some(), "{:?}", h.headers);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(c.req("GET", &path, &s.headers(&[]), b"").status, 404);
    let r = c.req("PUT", &path, &s.headers(&[("X-Delete-At", "1")]), b"past");
    assert_eq!(r.status, 400);
}

#[test]
fn constraints_answer_swifts_status_codes() {
    let (c, s) = setup();
    let cont = container(c, &s, "limits", &[]);
    let long = "x".repeat(1025);
    assert_eq!(c.req("PUT", &s.path(&format!("{cont}/{long}")), &s.headers(&[]), b"").status, 400);
    assert_eq!(c.req("PUT", &s.path(&"c".repeat(257)), &s.headers(&[]), b"").status, 400);
    let big = c.req("PUT", &s.path(&format!("{cont}/huge")), &s.headers(&[("Content-Length", "5368709123")]), b"");
    assert_eq!(big.status, 413);
    let value = "v".repeat(257);
    let r = c.req("PUT", &s.path(&format!("{cont}/meta")), &s.headers(&[("X-Object-Meta-Big", &value)]), b"");
    assert_eq!(r.status, 400);
    let names: Vec<String> = (0..91).map(|i| format!("X-Object-Meta-K{i}")).collect();
    let mut h = s.headers(&[]);
    h.extend(names.iter().map(|n| (n.as_str(), "v")));
    assert_eq!(c.req("PUT", &s.path(&format!("{cont}/meta")), &h, b"").status, 400);
    let mut h = s.headers(&[]);
    h.extend(names.iter().take(90).map(|n| (n.as_str(), "v")));
    assert_eq!(c.req("PUT", &s.path(&format!("{cont}/meta")), &h, b"").status, 201);
    assert_eq!(c.req("HEAD", &s.path(&format!("{cont}/meta")), &s.headers(&[]), b"").status, 200);
}

#[test]
fn account_acls_grant_read_only_read_write_and_admin() {
    // The owner is test2, so no other test's expectations about AUTH_test
    // change while this one runs.
    let c = Cluster::shared();
    let owner = c.login(TESTER2);
    let user = c.login(TESTER3);
    let acct = owner.account.clone();
    let set_acl = |json: &str| c.req("POST", &acct, &owner.headers(&[("X-Account-Access-Control", json)]), b"");
    let cont = container(c, &owner, "acct-acl", &[("X-Container-Read", "nobody")]);
    assert_eq!(c.req("GET", &acct, &user.headers(&[]), b"").status, 403);

    // Bad ACLs: 400, nothing stored.
    assert_eq!(set_acl("invalid").status, 400);
    assert_eq!(set_acl(r#"{"admin":"x"}"#).status, 400);
    assert_eq!(set_acl(r#"{"owner":[]}"#).status, 400);

    let grant = |kind: &str| {
        let r = set_acl(&format!(r#"{{"{kind}":["{}"]}}"#, TESTER3.0));
        assert_eq!(r.status, 204, "{kind}: {}", r.text());
    };
    grant("read-only");
    let h = c.req("HEAD", &acct, &user.headers(&[]), b"");
    assert_eq!((h.status, h.header("x-account-access-control")), (204, None));
    assert_eq!(c.req("GET", &owner.path(&cont), &user.headers(&[]), b"").status, 204);
    assert_eq!(c.req("PUT", &owner.path(&format!("{cont}/o")), &user.headers(&[]), b"x").status, 403);
    assert_eq!(c.req("POST", &acct, &user.headers(&[("X-Account-Meta-A", "b")]), b"").status, 403);

    grant("read-write");
    assert_eq!(c.req("PUT", &owner.path(&format!("{cont}/o")), &user.headers(&[]), b"x").status, 201);
    // A read-write user writes containers but not their ACLs.
    let r = c.req("POST", &owner.path(&cont), &user.headers(&[("X-Container-Read", ".r:*")]), b"");
    assert_eq!(r.status, 204);
    let h = c.req("HEAD", &owner.path(&cont), &owner.headers(&[]), b"");
    assert_eq!(h.header("x-container-read"), Some("nobody"));
    assert_eq!(c.req("POST", &acct, &user.headers(&[("X-Account-Meta-A", "b")]), b"").status, 403);

    grant("admin");
    let h = c.req("HEAD", &acct, &user.headers(&[]), b"");
    assert_eq!(h.header("x-account-access-control"), Some(r#"{"admin":["test:tester3"]}"#));
    assert_eq!(c.req("POST", &acct, &user.headers(&[("X-Account-Meta-A", "b")]), b"").status, 204);
    // An admin may even revoke their own access.
    let r = c.req("POST", &acct, &user.headers(&[("X-Account-Access-Control", "{}")]), b"");
    assert_eq!(r.status, 204);
    assert_eq!(c.req("GET", &acct, &user.headers(&[]), b"").status, 403);
    assert_eq!(c.req("HEAD", &acct, &owner.headers(&[]), b"").header("x-account-access-control"), None);
}
