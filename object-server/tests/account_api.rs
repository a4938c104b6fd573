//! The account backend over HTTP against the real binary, and the account
//! updates containers send (at once, and from the container updater).

mod common;

use common::*;

const A: &str = "/sda/0/AUTH_a";

#[test]
fn account_put_head_delete_follow_swift_statuses() {
    let s = ObjectServer::start("acct-put");
    assert_eq!(s.request("HEAD", A, &[], b"").status, 404);
    let put = [("X-Timestamp", ts()), ("X-Account-Meta-Owner", "me".into())];
    let put: Vec<(&str, &str)> = put.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(s.request("PUT", A, &put, b"").status, 201);
    assert_eq!(s.request("PUT", A, &[("X-Timestamp", &ts())], b"").status, 202);
    let h = s.request("HEAD", A, &[], b"");
    assert_eq!(h.status, 204);
    assert_eq!(h.header("X-Account-Container-Count"), Some("0"));
    assert_eq!(h.header("X-Account-Object-Count"), Some("0"));
    assert_eq!(h.header("X-Account-Bytes-Used"), Some("0"));
    assert_eq!(h.header("X-Account-Meta-Owner"), Some("me"));
    assert_eq!(s.request("POST", A, &[("X-Timestamp", &ts()), ("X-Account-Meta-Owner", "")], b"").status, 204);
    assert_eq!(s.request("HEAD", A, &[], b"").header("X-Account-Meta-Owner"), None);
    assert_eq!(s.request("GET", A, &[], b"").status, 204, "empty plain listing");
    assert_eq!(s.request("DELETE", A, &[("X-Timestamp", &ts())], b"").status, 204);
    let h = s.request("HEAD", A, &[], b"");
    assert_eq!((h.status, h.header("X-Account-Status")), (404, Some("Deleted")));
    assert_eq!(s.request("PUT", A, &[("X-Timestamp", &ts())], b"").status, 403, "recently deleted");
}

#[test]
fn container_rows_show_in_the_account_listing() {
    let s = ObjectServer::start("acct-rows");
    s.request("PUT", A, &[("X-Timestamp", &ts())], b"");
    let row = |name: &str, put: &str, del: &str, n: &str| {
        let h = [
            ("X-Put-Timestamp", put),
            ("X-Delete-Timestamp", del),
            ("X-Object-Count", n),
            ("X-Bytes-Used", n),
            ("X-Timestamp", put),
            ("X-Backend-Account-Update", "true"),
        ];
        s.request("PUT", &format!("{A}/{name}"), &h, b"").status
    };
    let t = ts();
    assert_eq!(row("c1", &t, "0", "2"), 201);
    assert_eq!(row("c2", &t, "0", "3"), 201);
    assert_eq!(row("d-1", &t, "0", "0"), 201);
    let h = s.request("HEAD", A, &[], b"");
    assert_eq!(h.header("X-Account-Container-Count"), Some("3"));
    assert_eq!(h.header("X-Account-Object-Count"), Some("5"));
    let r = s.request("GET", &format!("{A}?format=json&delimiter=-"), &[], b"");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v[0]["name"], "c1");
    assert_eq!((v[0]["count"].as_u64(), v[0]["bytes"].as_u64()), (Some(2), Some(2)));
    assert!(v[0]["last_modified"].as_str().unwrap().contains('T'));
    assert_eq!(v[2]["subdir"], "d-");
    assert_eq!(row("c2", &t, &ts(), "0"), 204, "a deleted row");
    let plain = s.request("GET", &format!("{A}?reverse=on"), &[], b"");
    assert_eq!(plain.body, b"d-1\nc1\n");
    assert_eq!(s.request("GET", &format!("{A}?limit=10001"), &[], b"").status, 412);
    let xml = s.request("GET", &format!("{A}?format=xml"), &[], b"");
    assert!(String::from_utf8(xml.body)
        .unwrap()
        .contains("<account name=\"AUTH_a\"><container><name>c1</name><count>2</count>"));
    assert_eq!(row("c9", &t, "0", "0"), 201);
    assert_eq!(
        s.request(
            "PUT",
            "/sda/0/AUTH_nobody/c",
            &[("X-Put-Timestamp", &t), ("X-Object-Count", "0"), ("X-Backend-Account-Update", "1")],
            b""
        )
        .status,
        404
    );
}

#[test]
fn container_put_tells_the_account_and_the_updater_sends_fresh_counts() {
    let s = ObjectServer::start("acct-update");
    s.request("PUT", A, &[("X-Timestamp", &ts())], b"");
    let host = format!("127.0.0.1:{}", s.port);
    let acct = [("X-Account-Host", host.as_str()), ("X-Account-Device", "sda"), ("X-Account-Partition", "0")];
    let t = ts();
    let mut h = vec![("X-Timestamp", t.as_str())];
    h.extend(acct);
    assert_eq!(s.request("PUT", &format!("{A}/c"), &h, b"").status, 201);
    assert_eq!(s.request("GET", A, &[], b"").body, b"c\n", "told at once");
    // Rows change the counts; the container updater reports them.
    for i in 0..3 {
        let h = [
            ("X-Timestamp", ts()),
            ("X-Size", "10".into()),
            ("X-Content-Type", "a/b".into()),
            ("X-Etag", "e".into()),
            ("X-Backend-Container-Update", "true".into()),
        ];
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(s.request("PUT", &format!("{A}/c/o{i}"), &h, b"").status, 201);
    }
    assert!(
        eventually(15, || s.request("HEAD", A, &[], b"").header("X-Account-Object-Count") == Some("3")),
        "{}",
        s.stderr()
    );
    assert_eq!(s.request("HEAD", A, &[], b"").header("X-Account-Bytes-Used"), Some("30"));
    // Mismatched account hosts and devices are refused.
    let bad = [
        ("X-Timestamp", t.as_str()),
        ("X-Account-Host", "127.0.0.1:1,127.0.0.1:2"),
        ("X-Account-Device", "sda"),
        ("X-Account-Partition", "0"),
    ];
    assert_eq!(s.request("PUT", &format!("{A}/c2"), &bad, b"").status, 400);
}

#[test]
fn a_failed_account_update_is_retried_by_the_updater() {
    let s = ObjectServer::start("acct-retry");
    let host = format!("127.0.0.1:{}", s.port);
    let acct = [("X-Account-Host", host.as_str()), ("X-Account-Device", "sda"), ("X-Account-Partition", "0")];
    // The account does not exist yet: the immediate update gets a 404.
    let t = ts();
    let mut h = vec![("X-Timestamp", t.as_str())];
    h.extend(acct);
    assert_eq!(s.request("PUT", &format!("{A}/late"), &h, b"").status, 201);
    assert_eq!(s.request("PUT", A, &[("X-Timestamp", &ts())], b"").status, 201);
    assert!(eventually(15, || s.request("GET", A, &[], b"").body == b"late\n"), "{}", s.stderr());
}
