//! Dynamic large objects through a real cluster (what Swift's
//! `test/functional/test_dlo.py` checks).

mod common;

use common::Cluster;

#[test]
fn dlo_manifests_answer_their_segments() {
    let c = Cluster::start("dlo", "account_autocreate = true");
    let (token, acct) = c.login("test:tester", "testing");
    let auth = [("X-Auth-Token", token.as_str())];
    let put = |path: &str, headers: &[(&str, &str)], body: &[u8]| {
        let mut h = auth.to_vec();
        h.extend_from_slice(headers);
        let r = c.req("PUT", &format!("{acct}/{path}"), &h, body);
        assert_eq!(r.status, 201, "PUT {path}: {}", r.text());
    };
    put("c", &[], b"");
    put("segs", &[], b"");
    for l in ["a", "b", "c", "d", "e"] {
        put(&format!("segs/p/seg_lower{l}"), &[], l.repeat(10).as_bytes());
        put(&format!("segs/p/seg_upper_%25ff{l}"), &[], l.to_uppercase().repeat(10).as_bytes());
    }
    put("c/man1", &[("X-Object-Manifest", "segs/p/seg_lower")], b"man1-contents");
    put("c/man2", &[("X-Object-Manifest", "segs/p/seg_upper_%25ff")], b"man2-contents");
    let lower = b"aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeee";
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut h = auth.to_vec();
        h.extend_from_slice(headers);
        c.req("GET", &format!("{acct}/{path}"), &h, b"")
    };

    let r = get("c/man1", &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &lower[..]));
    assert_eq!(r.header("x-object-manifest"), Some("segs/p/seg_lower"));
    let r = get("c/man2", &[]);
    assert_eq!((r.status, r.text().as_str()), (200, "AAAAAAAAAABBBBBBBBBBCCCCCCCCCCDDDDDDDDDDEEEEEEEEEE"));
    let head = c.req("HEAD", &format!("{acct}/c/man1"), &auth, b"");
    assert_eq!((head.status, head.header("content-length")), (200, Some("50")));
    let etag = head.header("etag").unwrap().to_string();
    assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");

    // The manifest itself, ranges, conditions.
    let r = get("c/man1?multipart-manifest=get", &[]);
    assert_eq!((r.status, r.text().as_str()), (200, "man1-contents"));
    let r = get("c/man1", &[("Range", "bytes=8-32")]);
    assert_eq!((r.status, r.text().as_str()), (206, "aabbbbbbbbbbccccccccccddd"));
    let r = get("c/man1", &[("Range", "bytes=47-47")]);
    assert_eq!((r.status, r.text().as_str()), (206, "e"));
    let r = get("c/man1", &[("Range", "bytes=50-56")]);
    assert_eq!((r.status, r.header("content-range")), (416, Some("bytes */50")));
    let r = get("c/man1", &[("Range", "bytes=0-4,10-14")]);
    assert_eq!((r.status, r.body.as_slice()), (200, &lower[..]));
    assert_eq!(get("c/man1", &[("If-Match", &format!("not-{etag}"))]).status, 412);
    assert_eq!(get("c/man1", &[("If-Match", &etag)]).status, 200);
    assert_eq!(get("c/man1", &[("If-None-Match", &etag)]).status, 304);

    // Copies: the concatenation, or with multipart-manifest=get the
    // manifest itself.
    let r = c.req("COPY", &format!("{acct}/c/man1"), &[auth[0], ("Destination", "c/copied")], b"");
    assert_eq!(r.status, 201, "{}", r.text());
    let r = get("c/copied", &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &lower[..]));
    assert_eq!(r.header("x-object-manifest"), None);
    let r = c.req(
        "PUT",
        &format!("{acct}/c/copied-man?multipart-manifest=get"),
        &[auth[0], ("X-Copy-From", "c/man1")],
        b"",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(get("c/copied-man?multipart-manifest=get", &[]).text(), "man1-contents");
    let r = get("c/copied-man", &[]);
    assert_eq!((r.body.as_slice(), r.header("x-object-manifest")), (&lower[..], Some("segs/p/seg_lower")));

    // A bad manifest header; a POST that repoints the manifest.
    let r = c.req("PUT", &format!("{acct}/c/bad"), &[auth[0], ("X-Object-Manifest", "nocontainer")], b"");
    assert_eq!(r.status, 400);
    let r = c.req("POST", &format!("{acct}/c/man1"), &[auth[0], ("X-Object-Manifest", "segs/p/seg_upper_%25ff")], b"");
    assert_eq!(r.status, 202);
    assert_eq!(get("c/man1", &[]).text(), "AAAAAAAAAABBBBBBBBBBCCCCCCCCCCDDDDDDDDDDEEEEEEEEEE");
    let r = c.req("POST", &format!("{acct}/c/man1"), &auth, b"");
    assert_eq!(r.status, 202);
    assert_eq!(get("c/man1", &[]).text(), "man1-contents", "a POST without the header ends the manifest");

    // Segments are read as the user: a referrer needs the segment
    // container's ACL too.
    let (t3, _) = c.login("test:tester3", "testing3");
    let as3 = [("X-Auth-Token", t3.as_str()), ("Referer", "http://blah.example.com")];
    let read = [("X-Container-Read", ".r:*.example.com,.rlistings")];
    assert_eq!(c.req("GET", &format!("{acct}/c/man2"), &as3, b"").status, 403);
    assert_eq!(c.req("POST", &format!("{acct}/c"), &[auth[0], read[0]], b"").status, 204);
    assert_eq!(c.req("GET", &format!("{acct}/c/man2"), &as3, b"").status, 403);
    assert_eq!(c.req("POST", &format!("{acct}/segs"), &[auth[0], read[0]], b"").status, 204);
    let r = c.req("GET", &format!("{acct}/c/man2"), &as3, b"");
    assert_eq!((r.status, r.text().as_str()), (200, "AAAAAAAAAABBBBBBBBBBCCCCCCCCCCDDDDDDDDDDEEEEEEEEEE"));
}
