//! Symlinks through a real cluster (or `SWIFTLET_TEST_URL`): links made
//! with `X-Symlink-Target`, followed by GET/HEAD up to `symloop_max`,
//! read themselves with `?symlink=get`, static links checked against
//! their target's ETag, POST answered 307, copies, and the listing's
//! `symlink_path`.

use functional::cluster::{TESTER, TESTER2};
use functional::{Cluster, Session};

fn setup() -> (&'static Cluster, Session) {
    let c = Cluster::shared();
    let s = c.login(TESTER);
    (c, s)
}

fn container(c: &Cluster, s: &Session, prefix: &str) -> String {
    let name = Cluster::unique(prefix);
    let r = c.req("PUT", &s.path(&name), &s.headers(&[]), b"");
    assert_eq!(r.status, 201, "PUT container {name}: {}", r.text());
    name
}

fn put(c: &Cluster, s: &Session, path: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let r = c.req("PUT", &s.path(path), &s.headers(headers), body);
    assert!(r.status < 500, "PUT {path}: {} {}", r.status, r.text());
    r.status
}

#[test]
fn a_link_is_followed_and_read_itself_with_symlink_get() {
    let (c, s) = setup();
    let cont = container(c, &s, "sym-follow");
    assert_eq!(put(c, &s, &format!("{cont}/target"), &[("Content-Type", "text/x-t")], b"target body"), 201);
    assert_eq!(put(c, &s, &format!("{cont}/link"), &[("X-Symlink-Target", &format!("{cont}/target"))], b""), 201);

    let r = c.req("GET", &s.path(&format!("{cont}/link")), &s.headers(&[]), b"");
    assert_eq!((r.status, r.text().as_str()), (200, "target body"));
    assert_eq!(r.header("content-type"), Some("text/x-t"));
    let location = format!("{}/{cont}/target", s.account);
    assert_eq!(r.header("content-location"), Some(location.as_str()));
    let r = c.req("GET", &s.path(&format!("{cont}/link")), &s.headers(&[("Range", "bytes=7-10")]), b"");
    assert_eq!((r.status, r.text().as_str()), (206, "body"));

    let r = c.req("GET", &s.path(&format!("{cont}/link?symlink=get")), &s.headers(&[]), b"");
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert_eq!(r.header("x-symlink-target"), Some(format!("{cont}/target").as_str()));
    assert_eq!(r.header("content-type"), Some("application/symlink"));
    assert_eq!(r.header("content-location"), None);

    // A missing target: 404 that still says where the link points.
    assert_eq!(put(c, &s, &format!("{cont}/dangling"), &[("X-Symlink-Target", &format!("{cont}/nope"))], b""), 201);
    let r = c.req("HEAD", &s.path(&format!("{cont}/dangling")), &s.headers(&[]), b"");
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-location"), Some(format!("{}/{cont}/nope", s.account).as_str()));
}

#[test]
fn chains_longer_than_symloop_max_are_409() {
    let (c, s) = setup();
    let cont = container(c, &s, "sym-loop");
    let max = c.req("GET", "/info", &[], b"").json()["symlink"]["symloop_max"].as_u64().unwrap();
    put(c, &s, &format!("{cont}/o"), &[], b"end");
    let mut previous = "o".to_string();
    for i in 0..max {
        let name = format!("l{i}");
        put(c, &s, &format!("{cont}/{name}"), &[("X-Symlink-Target", &format!("{cont}/{previous}"))], b"");
        previous = name;
    }
    let r = c.req("GET", &s.path(&format!("{cont}/{previous}")), &s.headers(&[]), b"");
    assert_eq!((r.status, r.text().as_str()), (200, "end"));
    put(c, &s, &format!("{cont}/over"), &[("X-Symlink-Target", &format!("{cont}/{previous}"))], b"");
    let r = c.req("GET", &s.path(&format!("{cont}/over")), &s.headers(&[]), b"");
    assert_eq!(r.status, 409);
    assert_eq!(r.text(), format!("Too many levels of symbolic links, maximum allowed is {max}"));
}

#[test]
fn bad_link_puts_are_refused() {
    let (c, s) = setup();
    let cont = container(c, &s, "sym-bad");
    let link = format!("{cont}/link");
    for (headers, body, status, text) in [
        (
            vec![("X-Symlink-Target", "no-container")],
            &b""[..],
            412,
            "X-Symlink-Target header must be of the form <container name>/<object name>",
        ),
        (
            vec![("X-Symlink-Target", "/c/o")],
            &b""[..],
            412,
            "X-Symlink-Target header must be of the form <container name>/<object name>",
        ),
        (vec![("X-Symlink-Target", "c/o")], &b"body"[..], 400, "Symlink requests require a zero byte body"),
        (vec![("X-Symlink-Target", link.as_str())], &b""[..], 400, "Symlink cannot target itself"),
        (
            vec![("X-Symlink-Target", "c/o"), ("X-Symlink-Target-Etag", "a\"b")],
            &b""[..],
            400,
            "Bad X-Symlink-Target-Etag format",
        ),
    ] {
        let r = c.req("PUT", &s.path(&link), &s.headers(&headers), body);
        assert_eq!((r.status, r.text().as_str()), (status, text), "{headers:?}");
    }
    let r = c.req("POST", &s.path(&link), &s.headers(&[("X-Symlink-Target", "c/o")]), b"");
    assert_eq!((r.status, r.text().as_str()), (400, "A PUT request is required to set a symlink target"));
}

#[test]
fn a_static_link_holds_its_targets_etag_and_lists_it() {
    let (c, s) = setup();
    let cont = container(c, &s, "sym-static");
    let links = container(c, &s, "sym-static-links");
    let target = format!("{cont}/t");
    put(c, &s, &target, &[("Content-Type", "application/target")], b"12345");
    let etag = c.req("HEAD", &s.path(&target), &s.headers(&[]), b"").header("etag").unwrap().to_string();
    let r = c.req(
        "PUT",
        &s.path(&format!("{links}/bad")),
        &s.headers(&[("X-Symlink-Target", &target), ("X-Symlink-Target-Etag", "nope")]),
        b"",
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.text(), format!("Object Etag '{etag}' does not match X-Symlink-Target-Etag header 'nope'"));
    let r = c.req(
        "PUT",
        &s.path(&format!("{links}/missing")),
        &s.headers(&[("X-Symlink-Target", &format!("{cont}/none")), ("X-Symlink-Target-Etag", &etag)]),
        b"",
    );
    assert_eq!((r.status, r.text().as_str()), (409, "X-Symlink-Target does not exist"));
    let link = format!("{links}/static");
    assert_eq!(put(c, &s, &link, &[("X-Symlink-Target", &target), ("X-Symlink-Target-Etag", &etag)], b""), 201);
    put(c, &s, &format!("{links}/dynamic"), &[("X-Symlink-Target", &target)], b"");

    let rows = c.req("GET", &s.path(&format!("{links}?format=json")), &s.headers(&[]), b"").json();
    let (dynamic, stat) = (&rows[0], &rows[1]);
    assert_eq!(stat["name"], "static");
    assert_eq!(stat["hash"], "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(stat["symlink_path"], format!("{}/{target}", s.account));
    assert_eq!((stat["symlink_etag"].as_str(), stat["symlink_bytes"].as_u64()), (Some(etag.as_str()), Some(5)));
    assert_eq!(stat["content_type"], "application/target");
    assert_eq!(dynamic["symlink_path"], format!("{}/{target}", s.account));
    assert!(dynamic.get("symlink_etag").is_none());

    // The target changes: the static link is broken (409), still naming it.
    put(c, &s, &target, &[], b"changed");
    let r = c.req("GET", &s.path(&link), &s.headers(&[]), b"");
    assert_eq!(r.status, 409);
    assert_eq!(r.header("content-location"), Some(format!("{}/{target}", s.account).as_str()));
    assert_eq!(c.req("GET", &s.path(&format!("{links}/dynamic")), &s.headers(&[]), b"").text(), "changed");

    // A POST lands on the link and answers 307 to the target.
    let r = c.req("POST", &s.path(&link), &s.headers(&[("X-Object-Meta-A", "1")]), b"");
    assert_eq!(r.status, 307);
    assert_eq!(r.header("location"), Some(format!("{}/{target}", s.account).as_str()));
    assert_eq!(r.header("x-symlink-target-etag"), Some(etag.as_str()));
    let r = c.req("HEAD", &s.path(&format!("{link}?symlink=get")), &s.headers(&[]), b"");
    assert_eq!(r.header("x-object-meta-a"), Some("1"));
}

#[test]
fn copies_take_the_target_or_with_symlink_get_the_link() {
    let (c, s) = setup();
    let cont = container(c, &s, "sym-copy");
    put(c, &s, &format!("{cont}/t"), &[], b"payload");
    put(c, &s, &format!("{cont}/link"), &[("X-Symlink-Target", &format!("{cont}/t"))], b"");
    let from = format!("{cont}/link");
    assert_eq!(put(c, &s, &format!("{cont}/copy"), &[("X-Copy-From", &from)], b""), 201);
    let r = c.req("GET", &s.path(&format!("{cont}/copy?symlink=get")), &s.headers(&[]), b"");
    assert_eq!((r.text().as_str(), r.header("x-symlink-target")), ("payload", None));
    let r = c.req(
        "COPY",
        &s.path(&format!("{from}?symlink=get")),
        &s.headers(&[("Destination", &format!("{cont}/link2"))]),
        b"",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = c.req("GET", &s.path(&format!("{cont}/link2")), &s.headers(&[]), b"");
    assert_eq!(r.text(), "payload");
    assert_eq!(r.header("content-location"), Some(format!("{}/{cont}/t", s.account).as_str()));
}

#[test]
fn a_target_in_another_account_is_read_as_the_caller() {
    let c = Cluster::shared();
    let (s, s2) = (c.login(TESTER), c.login(TESTER2));
    let cont = container(c, &s, "sym-acct");
    let cont2 = container(c, &s2, "sym-acct2");
    put(c, &s, &format!("{cont}/t"), &[], b"mine");
    let account = s.account.trim_start_matches("/v1/");
    let link = format!("{cont2}/link");
    let headers = [("X-Symlink-Target", format!("{cont}/t")), ("X-Symlink-Target-Account", account.to_string())];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(put(c, &s2, &link, &headers, b""), 201);
    let r = c.req("GET", &s2.path(&link), &s2.headers(&[]), b"");
    assert_eq!(r.status, 403);
    assert_eq!(r.header("content-location"), Some(format!("{}/{cont}/t", s.account).as_str()));
    let grant = c.req("POST", &s.path(&cont), &s.headers(&[("X-Container-Read", "test2:tester2")]), b"");
    assert_eq!(grant.status, 204);
    assert_eq!(c.req("GET", &s2.path(&link), &s2.headers(&[]), b"").text(), "mine");
}
