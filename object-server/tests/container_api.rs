//! The container backend over HTTP against the real binary: Swift's status
//! codes, headers, metadata, object rows and listings.

mod common;

use common::*;

const C: &str = "/sda/0/AUTH_a/c";

fn row(s: &ObjectServer, name: &str, size: u64) -> Reply {
    let (t, sz) = (ts(), size.to_string());
    let h = [
        ("X-Timestamp", t.as_str()),
        ("X-Size", sz.as_str()),
        ("X-Content-Type", "text/plain"),
        ("X-Etag", "d41d8cd98f00b204e9800998ecf8427e"),
        ("X-Backend-Container-Update", "true"),
    ];
    s.request("PUT", &format!("{C}/{name}"), &h, b"")
}

fn names(s: &ObjectServer, query: &str) -> Vec<String> {
    let r = s.request("GET", &format!("{C}?format=json&{query}"), &[], b"");
    assert_eq!(r.status, 200, "{query}: {}", String::from_utf8_lossy(&r.body));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i.get("name").or(i.get("subdir")).and_then(|n| n.as_str()).unwrap().to_string())
        .collect()
}

#[test]
fn container_put_head_delete_follow_swift_statuses() {
    let s = ObjectServer::start("cont-put");
    assert_eq!(s.request("PUT", C, &[], b"").status, 400, "no X-Timestamp");
    assert_eq!(s.request("HEAD", C, &[], b"").status, 404);
    let t1 = ts();
    assert_eq!(s.request("PUT", C, &[("X-Timestamp", &t1)], b"").status, 201);
    assert_eq!(s.request("PUT", C, &[("X-Timestamp", &ts())], b"").status, 202);
    let h = s.request("HEAD", C, &[], b"");
    assert_eq!(h.status, 204);
    assert_eq!(h.header("X-Container-Object-Count"), Some("0"));
    assert_eq!(h.header("X-Container-Bytes-Used"), Some("0"));
    assert!(h.header("X-Timestamp").is_some());
    assert!(h.header("X-PUT-Timestamp").unwrap() > t1.as_str());
    assert_eq!(s.request("GET", C, &[], b"").status, 204, "empty plain listing");
    let j = s.request("GET", &format!("{C}?format=json"), &[], b"");
    assert_eq!((j.status, j.body.as_slice()), (200, &b"[]"[..]));
    assert_eq!(j.header("Content-Type"), Some("application/json; charset=utf-8"));
    assert_eq!(s.request("DELETE", C, &[("X-Timestamp", &ts())], b"").status, 204);
    assert_eq!(s.request("HEAD", C, &[], b"").status, 404);
    assert_eq!(s.request("DELETE", C, &[("X-Timestamp", &ts())], b"").status, 404);
    // An old PUT loses against the newer DELETE; a new one recreates.
    assert_eq!(s.request("PUT", C, &[("X-Timestamp", &t1)], b"").status, 409);
    assert_eq!(s.request("PUT", C, &[("X-Timestamp", &ts())], b"").status, 201);
}

#[test]
fn object_rows_update_counts_and_block_delete() {
    let s = ObjectServer::start("cont-rows");
    assert_eq!(row(&s, "o", 3).status, 404, "no container yet");
    s.request("PUT", C, &[("X-Timestamp", &ts())], b"");
    assert_eq!(row(&s, "o1", 3).status, 201);
    assert_eq!(row(&s, "o2", 5).status, 201);
    let h = s.request("HEAD", C, &[], b"");
    assert_eq!((h.header("X-Container-Object-Count"), h.header("X-Container-Bytes-Used")), (Some("2"), Some("8")));
    assert_eq!(s.request("DELETE", C, &[("X-Timestamp", &ts())], b"").status, 409);
    let d = [("X-Timestamp", ts()), ("X-Backend-Container-Update", "true".into())];
    let d: Vec<(&str, &str)> = d.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(s.request("DELETE", &format!("{C}/o1"), &d, b"").status, 204);
    assert_eq!(s.request("HEAD", C, &[], b"").header("X-Container-Object-Count"), Some("1"));
    assert_eq!(names(&s, ""), ["o2"]);
    let missing =
        s.request("PUT", &format!("{C}/o3"), &[("X-Timestamp", &ts()), ("X-Backend-Container-Update", "t")], b"");
    assert_eq!(missing.status, 400, "X-Size and friends are required");
}

#[test]
fn listings_take_swifts_parameters_and_formats() {
    let s = ObjectServer::start("cont-list");
    s.request("PUT", C, &[("X-Timestamp", &ts())], b"");
    for n in ["a", "a/b", "a/c", "b", "b-1/x", "c&<\u{e9}>"] {
        assert_eq!(
            row(&s, &n.replace('&', "%26").replace('<', "%3C").replace('>', "%3E").replace('\u{e9}', "%C3%A9"), 1)
                .status,
            201
        );
    }
    assert_eq!(names(&s, ""), ["a", "a/b", "a/c", "b", "b-1/x", "c&<\u{e9}>"]);
    assert_eq!(names(&s, "delimiter=/"), ["a", "a/", "b", "b-1/", "c&<\u{e9}>"]);
    assert_eq!(names(&s, "delimiter=-1"), ["a", "a/b", "a/c", "b", "b-1", "c&<\u{e9}>"]);
    assert_eq!(names(&s, "prefix=a/&limit=1"), ["a/b"]);
    assert_eq!(names(&s, "marker=a/b&end_marker=b-1"), ["a/c", "b"]);
    assert_eq!(names(&s, "reverse=true&limit=2"), ["c&<\u{e9}>", "b-1/x"]);
    assert_eq!(names(&s, "path=a"), ["a/b", "a/c"]);
    let plain = s.request("GET", &format!("{C}?prefix=a"), &[], b"");
    assert_eq!((plain.status, plain.body.as_slice()), (200, &b"a\na/b\na/c\n"[..]));
    let xml = s.request("GET", &format!("{C}?prefix=c"), &[("Accept", "application/xml")], b"");
    assert_eq!(xml.header("Content-Type"), Some("application/xml; charset=utf-8"));
    let body = String::from_utf8(xml.body).unwrap();
    assert!(body.contains("<container name=\"c\"><object><name>c&amp;&lt;\u{e9}&gt;</name>"), "{body}");
    let j = s.request("GET", &format!("{C}?prefix=a/b"), &[("Accept", "application/json")], b"");
    let v: serde_json::Value = serde_json::from_slice(&j.body).unwrap();
    assert_eq!(v[0]["hash"], "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!((v[0]["bytes"].as_u64(), v[0]["content_type"].as_str()), (Some(1), Some("text/plain")));
    assert!(v[0]["last_modified"].as_str().unwrap().contains('T'));
    assert_eq!(s.request("GET", &format!("{C}?limit=10001"), &[], b"").status, 412);
    // Only digits count, as in Swift: anything else leaves the default.
    for odd in ["abc", "5000.0", "-1"] {
        assert_eq!(s.request("GET", &format!("{C}?limit={odd}"), &[], b"").status, 200, "{odd}");
    }
    assert_eq!(s.request("GET", &format!("{C}?limit=10000"), &[], b"").status, 200);
    assert_eq!(s.request("GET", C, &[("Accept", "image/png")], b"").status, 406);
}

#[test]
fn head_has_last_modified_and_aggregate_metadata_is_limited() {
    let s = ObjectServer::start("cont-lm");
    assert_eq!(s.request("PUT", C, &[("X-Timestamp", "1700000000.00001")], b"").status, 201);
    let h = s.request("HEAD", C, &[], b"");
    assert_eq!(h.header("Last-Modified"), Some("Tue, 14 Nov 2023 22:13:21 GMT"), "the PUT time rounded up");
    let big = "x".repeat(4000);
    let post = [("X-Timestamp", "1700000001.00000"), ("X-Container-Meta-A", big.as_str())];
    assert_eq!(s.request("POST", C, &post, b"").status, 204);
    let post = [("X-Timestamp", "1700000002.00000"), ("X-Container-Meta-B", big.as_str())];
    let r = s.request("POST", C, &post, b"");
    assert_eq!((r.status, String::from_utf8_lossy(&r.body).trim_end()), (400, "Total metadata too large; max 4096"));
    assert_eq!(s.request("HEAD", C, &[], b"").header("X-Container-Meta-B"), None);
    // A POST moves Last-Modified, unless X-Backend-No-Timestamp-Update.
    assert_eq!(s.request("HEAD", C, &[], b"").header("Last-Modified"), Some("Tue, 14 Nov 2023 22:13:21 GMT"));
    let post = [("X-Timestamp", "1700000010.00000"), ("X-Backend-No-Timestamp-Update", "true")];
    assert_eq!(s.request("POST", C, &post, b"").status, 204);
    assert_eq!(s.request("HEAD", C, &[], b"").header("Last-Modified"), Some("Tue, 14 Nov 2023 22:13:21 GMT"));
    assert_eq!(s.request("POST", C, &[("X-Timestamp", "1700000020.00000")], b"").status, 204);
    assert_eq!(s.request("HEAD", C, &[], b"").header("Last-Modified"), Some("Tue, 14 Nov 2023 22:13:40 GMT"));
}

#[test]
fn metadata_newest_per_key_wins_and_empty_removes() {
    let s = ObjectServer::start("cont-meta");
    let t0 = ts();
    let put = [("X-Timestamp", t0.as_str()), ("X-Container-Meta-Color", "blue"), ("X-Container-Read", ".r:*")];
    assert_eq!(s.request("PUT", C, &put, b"").status, 201);
    let h = s.request("HEAD", C, &[], b"");
    assert_eq!((h.header("X-Container-Meta-Color"), h.header("X-Container-Read")), (Some("blue"), Some(".r:*")));
    let t1 = ts();
    let post =
        [("X-Timestamp", t1.as_str()), ("x-container-meta-color", ""), ("X-Container-Sync-To", "http://x/v1/a/c")];
    assert_eq!(s.request("POST", C, &post, b"").status, 204);
    let stale = [("X-Timestamp", t0.as_str()), ("X-Container-Meta-Color", "red")];
    assert_eq!(s.request("POST", C, &stale, b"").status, 204);
    let h = s.request("GET", C, &[], b"");
    assert_eq!(h.header("X-Container-Meta-Color"), None, "removed, and an older POST does not bring it back");
    assert_eq!(h.header("X-Container-Sync-To"), Some("http://x/v1/a/c"));
    assert_eq!(h.header("X-Container-Read"), Some(".r:*"));
    assert_eq!(s.request("POST", "/sda/0/AUTH_a/nope", &[("X-Timestamp", &ts())], b"").status, 404);
}

#[test]
fn an_object_put_lands_in_the_listing_through_the_container_update() {
    let s = ObjectServer::start("cont-e2e");
    s.request("PUT", C, &[("X-Timestamp", &ts())], b"");
    let host = format!("127.0.0.1:{}", s.port);
    let body = b"hello";
    let h = [
        ("X-Timestamp", ts()),
        ("Content-Type", "text/x-greeting".into()),
        ("Content-Length", "5".into()),
        ("X-Container-Host", host),
        ("X-Container-Device", "sda".into()),
        ("X-Container-Partition", "0".into()),
    ];
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(s.request("PUT", &format!("{C}/greeting"), &h, body).status, 201);
    let r = s.request("GET", &format!("{C}?format=json"), &[], b"");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v[0]["name"], "greeting");
    assert_eq!(v[0]["hash"], md5_hex(body));
    assert_eq!((v[0]["bytes"].as_u64(), v[0]["content_type"].as_str()), (Some(5), Some("text/x-greeting")));
}

#[test]
fn a_links_row_carries_its_target_into_the_json_listing() {
    let s = ObjectServer::start("cont-link");
    s.request("PUT", C, &[("X-Timestamp", &ts())], b"");
    let host = format!("127.0.0.1:{}", s.port);
    let override_etag = "d41d8cd98f00b204e9800998ecf8427e; symlink_target=tc/to; symlink_target_etag=abc; \
                         symlink_target_bytes=9";
    let h = [
        ("X-Timestamp", ts()),
        ("Content-Type", "application/target".into()),
        ("Content-Length", "0".into()),
        ("X-Object-Sysmeta-Symlink-Target", "tc/to".into()),
        ("X-Object-Sysmeta-Container-Update-Override-Etag", override_etag.into()),
        ("X-Container-Host", host.clone()),
        ("X-Container-Device", "sda".into()),
        ("X-Container-Partition", "0".into()),
    ];
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(s.request("PUT", &format!("{C}/link"), &h, b"").status, 201);
    let listed = || -> serde_json::Value {
        serde_json::from_slice(&s.request("GET", &format!("{C}?format=json"), &[], b"").body).unwrap()
    };
    let v = listed();
    assert_eq!(v[0]["hash"], "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(v[0]["symlink_path"], "/v1/AUTH_a/tc/to");
    assert_eq!((v[0]["symlink_etag"].as_str(), v[0]["symlink_bytes"].as_u64()), (Some("abc"), Some(9)));
    // A POST's new Content-Type keeps the overridden ETag in the row.
    let post = [
        ("X-Timestamp", ts()),
        ("Content-Type", "application/foo".into()),
        ("X-Container-Host", host),
        ("X-Container-Device", "sda".into()),
        ("X-Container-Partition", "0".into()),
    ];
    let post: Vec<(&str, &str)> = post.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(s.request("POST", &format!("{C}/link"), &post, b"").status, 202);
    let v = listed();
    assert_eq!((v[0]["content_type"].as_str(), v[0]["symlink_etag"].as_str()), (Some("application/foo"), Some("abc")));
}

#[test]
fn metadata_cannot_pile_up_over_puts() {
    let s = ObjectServer::start("cont-meta-puts");
    for (path, kind) in [(C, "Container"), ("/sda/0/AUTH_m", "Account")] {
        let batch = |round: usize| -> Vec<(String, String)> {
            (0..90).map(|i| (format!("X-{kind}-Meta-R{round}-{i}"), "v".to_string())).collect()
        };
        let put = |round: usize| {
            let (t, b) = (ts(), batch(round));
            let mut h: Vec<(&str, &str)> = b.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            h.push(("X-Timestamp", t.as_str()));
            s.request("PUT", path, &h, b"").status
        };
        assert_eq!(put(0), 201);
        assert_eq!(put(1), 400, "a second 90 items over PUT is refused, as over POST");
        assert_eq!(put(2), 400);
        let head = s.request("HEAD", path, &[], b"");
        assert_eq!(head.status, 204);
        let items = head.headers.iter().filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-")).count();
        assert!(items < 120, "{kind}: {items} headers");
        // Only the first batch is there, and a PUT without metadata still works.
        assert_eq!(head.header(&format!("X-{kind}-Meta-R0-7")), Some("v"));
        assert_eq!(head.header(&format!("X-{kind}-Meta-R1-7")), None);
        assert_eq!(s.request("PUT", path, &[("X-Timestamp", &ts())], b"").status, 202);
    }
}

#[test]
fn concurrent_posts_cannot_pile_metadata_up_together() {
    let s = ObjectServer::start("cont-meta-race");
    assert_eq!(s.request("PUT", C, &[("X-Timestamp", &ts())], b"").status, 201);
    let addr = s.addr();
    let posts: Vec<_> = (0..12)
        .map(|round| {
            std::thread::spawn(move || {
                let meta: Vec<(String, String)> =
                    (0..90).map(|i| (format!("X-Container-Meta-R{round}-{i}"), "v".to_string())).collect();
                let t = ts();
                let mut h: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                h.push(("X-Timestamp", t.as_str()));
                request(addr, "POST", C, &h, b"").status
            })
        })
        .collect();
    let statuses: Vec<u16> = posts.into_iter().map(|p| p.join().unwrap()).collect();
    assert!(statuses.iter().all(|s| *s == 204 || *s == 400), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 204).count(), 1, "one batch fits: {statuses:?}");
    let head = s.request("HEAD", C, &[], b"");
    let items = head.headers.iter().filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-container-meta-")).count();
    assert_eq!(items, 90);
}
