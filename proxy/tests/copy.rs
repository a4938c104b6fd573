//! Server-side copy (`X-Copy-From`, `COPY`) and `X-Newest` against a real
//! cluster: 4 object servers, 3 replicas.

mod common;

use common::{request, Cluster, READ_BY_ZONE};
use ring::{PathHasher, Ring};

#[test]
fn copies_objects_and_reads_the_newest_replica() {
    let c = Cluster::start("copy", &format!("account_autocreate = true\n{READ_BY_ZONE}"));
    let (token, acct) = c.login("test:tester", "testing");
    let auth = ("X-Auth-Token", token.as_str());
    for cont in ["c", "c2"] {
        assert_eq!(c.req("PUT", &format!("{acct}/{cont}"), &[auth], b"").status, 201);
    }
    let src_headers =
        [auth, ("X-Object-Meta-Color", "blue"), ("X-Object-Meta-Size", "big"), ("Content-Type", "image/png")];
    let r = c.req("PUT", &format!("{acct}/c/src"), &src_headers, b"source bytes");
    assert_eq!(r.status, 201, "{}", r.text());
    let etag = r.header("etag").unwrap().to_string();

    // X-Copy-From: metadata carried, the request's own wins.
    let r = c.req(
        "PUT",
        &format!("{acct}/c2/dst"),
        &[auth, ("X-Copy-From", "/c/src"), ("X-Object-Meta-Color", "red")],
        b"",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("x-copied-from"), Some("c/src"));
    assert_eq!(r.header("x-copied-from-account"), Some("AUTH_test"));
    assert!(r.header("x-copied-from-last-modified").is_some_and(|v| v.ends_with("GMT")));
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = c.req("GET", &format!("{acct}/c2/dst"), &[auth], b"");
    assert_eq!((r.status, r.text().as_str()), (200, "source bytes"));
    assert_eq!(r.header("x-object-meta-color"), Some("red"));
    assert_eq!(r.header("x-object-meta-size"), Some("big"));
    assert_eq!(r.header("content-type"), Some("image/png"));
    let r = c.req("GET", &format!("{acct}/c2"), &[auth], b"");
    assert_eq!(r.text(), "dst\n");

    // X-Fresh-Metadata drops the source's user metadata, not its type.
    let h = [auth, ("X-Copy-From", "c/src"), ("X-Fresh-Metadata", "true"), ("X-Object-Meta-New", "1")];
    assert_eq!(c.req("PUT", &format!("{acct}/c2/fresh"), &h, b"").status, 201);
    let r = c.req("HEAD", &format!("{acct}/c2/fresh"), &[auth], b"");
    assert_eq!((r.status, r.header("x-object-meta-new")), (200, Some("1")));
    assert_eq!((r.header("x-object-meta-color"), r.header("x-object-meta-size")), (None, None));
    assert_eq!(r.header("content-type"), Some("image/png"));

    // COPY with Destination (and Destination-Account).
    let r = c.req("COPY", &format!("{acct}/c/src"), &[auth, ("Destination", "/c2/via%20copy")], b"");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("x-copied-from"), Some("c/src"));
    let r = c.req("GET", &format!("{acct}/c2/via%20copy"), &[auth], b"");
    assert_eq!((r.status, r.text().as_str(), r.header("x-object-meta-color")), (200, "source bytes", Some("blue")));
    let h = [auth, ("Destination", "c2/other"), ("Destination-Account", "AUTH_test")];
    assert_eq!(c.req("COPY", &format!("{acct}/c/src"), &h, b"").status, 201);
    assert_eq!(c.req("GET", &format!("{acct}/c2/other"), &[auth], b"").text(), "source bytes");

    // A bigger object streams through in chunks.
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(c.req("PUT", &format!("{acct}/c/big"), &[auth], &big).status, 201);
    assert_eq!(c.req("PUT", &format!("{acct}/c2/big"), &[auth, ("X-Copy-From", "/c/big")], b"").status, 201);
    assert_eq!(c.req("GET", &format!("{acct}/c2/big"), &[auth], b"").body, big);

    // A range copies that part, with its own ETag.
    let r =
        c.req("COPY", &format!("{acct}/c/big"), &[auth, ("Destination", "c2/part"), ("Range", "bytes=100-200")], b"");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(c.req("GET", &format!("{acct}/c2/part"), &[auth], b"").body, &big[100..201]);

    // Errors: missing source 404, bad headers 412, a body 400, no container 404.
    assert_eq!(c.req("PUT", &format!("{acct}/c2/x"), &[auth, ("X-Copy-From", "/c/missing")], b"").status, 404);
    assert_eq!(c.req("COPY", &format!("{acct}/c/missing"), &[auth, ("Destination", "/c2/x")], b"").status, 404);
    assert_eq!(c.req("GET", &format!("{acct}/c2/x"), &[auth], b"").status, 404);
    let r = c.req("PUT", &format!("{acct}/c2/x"), &[auth, ("X-Copy-From", "nocontainer")], b"");
    assert_eq!(r.status, 412);
    assert!(r.text().contains("X-Copy-From header must be of the form"), "{}", r.text());
    assert_eq!(c.req("COPY", &format!("{acct}/c/src"), &[auth, ("Destination", "/c2")], b"").status, 412);
    assert_eq!(c.req("COPY", &format!("{acct}/c/src"), &[auth], b"").status, 412);
    let h = [auth, ("X-Copy-From", "/c/src"), ("X-Copy-From-Account", "a/b")];
    assert_eq!(c.req("PUT", &format!("{acct}/c2/x"), &h, b"").status, 412);
    assert_eq!(c.req("PUT", &format!("{acct}/c2/x"), &[auth, ("X-Copy-From", "/c/src")], b"body").status, 400);
    assert_eq!(c.req("COPY", &format!("{acct}/c/src"), &[auth, ("Destination", "/nope/x")], b"").status, 404);

    // Authorization: writing the destination and reading the source.
    let (t3, _) = c.login("test:tester3", "testing3");
    let a3 = ("X-Auth-Token", t3.as_str());
    assert_eq!(c.req("PUT", &format!("{acct}/c2/t3"), &[a3, ("X-Copy-From", "/c/src")], b"").status, 403);
    assert_eq!(c.req("POST", &format!("{acct}/c2"), &[auth, ("X-Container-Write", "test:tester3")], b"").status, 204);
    assert_eq!(c.req("PUT", &format!("{acct}/c2/t3"), &[a3, ("X-Copy-From", "/c/src")], b"").status, 403);
    assert_eq!(c.req("POST", &format!("{acct}/c"), &[auth, ("X-Container-Read", "test:tester3")], b"").status, 204);
    assert_eq!(c.req("PUT", &format!("{acct}/c2/t3"), &[a3, ("X-Copy-From", "/c/src")], b"").status, 201);
    assert_eq!(c.req("COPY", &format!("{acct}/c/src"), &[a3, ("Destination", "/c/t3")], b"").status, 403);
    // The source is looked up first: a missing one is 404 even where the
    // destination would be 403 (Swift's order).
    assert_eq!(c.req("COPY", &format!("{acct}/c/missing"), &[a3, ("Destination", "/c/t3")], b"").status, 404);

    // X-Newest: make the primary read last (READ_BY_ZONE: the one in the
    // highest zone) newer behind the proxy's back.
    assert_eq!(c.req("PUT", &format!("{acct}/c/n"), &[auth], b"old").status, 201);
    let swift_dir = c.dir.0.join("swift");
    let hasher = PathHasher::from_swift_dir(&swift_dir).unwrap();
    let ring = Ring::open(swift_dir.join("object.ring"), hasher).unwrap();
    let (part, nodes) = ring.nodes("AUTH_test", Some("c"), Some("n")).unwrap();
    let last = nodes.iter().max_by_key(|d| d.zone).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let ts = format!("{:.5}", now + 5.0);
    let h = [("X-Timestamp", ts.as_str()), ("Content-Type", "text/plain")];
    let r = request(last.port, "PUT", &format!("/{}/{part}/AUTH_test/c/n", last.device), &h, b"newer");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(c.req("GET", &format!("{acct}/c/n"), &[auth], b"").text(), "old");
    let r = c.req("GET", &format!("{acct}/c/n"), &[auth, ("X-Newest", "true")], b"");
    assert_eq!((r.status, r.text().as_str()), (200, "newer"));
    let r = c.req("HEAD", &format!("{acct}/c/n"), &[auth, ("X-Newest", "true")], b"");
    assert_eq!((r.status, r.header("content-length")), (200, Some("5")));
    let r = c.req("PUT", &format!("{acct}/c2/n"), &[auth, ("X-Copy-From", "/c/n"), ("X-Newest", "true")], b"");
    assert_eq!(r.status, 201);
    assert_eq!(c.req("GET", &format!("{acct}/c2/n"), &[auth], b"").text(), "newer");
    // A copy reads the newest replica even without X-Newest (Swift's copy
    // middleware sets it).
    assert_eq!(c.req("COPY", &format!("{acct}/c/n"), &[auth, ("Destination", "c2/n2")], b"").status, 201);
    assert_eq!(c.req("GET", &format!("{acct}/c2/n2"), &[auth], b"").text(), "newer");
}
