//! Temporary URLs through a real cluster booted from the sample config
//! (what Swift's `test/functional/test_tempurl.py` checks): signed
//! requests without a token, their limits, and the headers of answers.

mod common;

use common::Cluster;
use hmac::{Hmac, Mac};
use std::time::{SystemTime, UNIX_EPOCH};

/// `path?temp_url_sig=<HMAC-SHA1 hex>&temp_url_expires=<in an hour>`.
fn temp_url(key: &str, method: &str, path: &str) -> String {
    let expires = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 3600;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{method}\n{expires}\n{path}").as_bytes());
    format!("{path}?temp_url_sig={}&temp_url_expires={expires}", ::common::hex::hex(&mac.finalize().into_bytes()))
}

#[test]
fn temp_urls_grant_their_object_and_method_without_a_token() {
    let c = Cluster::start("tempurl", "account_autocreate = true");
    let (token, acct) = c.login("test:tester", "testing");
    let auth = [("X-Auth-Token", token.as_str())];
    let r = c.req("PUT", &format!("{acct}/c"), &[auth[0], ("X-Container-Meta-Temp-URL-Key", "ckey")], b"");
    assert_eq!(r.status, 201, "{}", r.text());
    let r = c.req("POST", &acct, &[auth[0], ("X-Account-Meta-Temp-URL-Key-2", "akey")], b"");
    assert_eq!(r.status, 204, "{}", r.text());
    let meta = [auth[0], ("X-Object-Meta-Secret", "s"), ("X-Object-Meta-Public-Color", "red")];
    assert_eq!(c.req("PUT", &format!("{acct}/c/o"), &meta, b"contents").status, 201);

    // GET (and so HEAD) with the container's key; answers lose private
    // metadata and gain Content-Disposition and Expires.
    let get = temp_url("ckey", "GET", &format!("{acct}/c/o"));
    let r = c.req("GET", &get, &[], b"");
    assert_eq!((r.status, r.text().as_str()), (200, "contents"));
    assert_eq!(r.header("content-disposition"), Some("attachment; filename=\"o\"; filename*=UTF-8''o"));
    assert!(r.header("expires").is_some_and(|e| e.ends_with(" GMT")));
    assert_eq!((r.header("x-object-meta-secret"), r.header("x-object-meta-public-color")), (None, Some("red")));
    assert_eq!(c.req("HEAD", &get, &[], b"").status, 200);
    let r = c.req("PUT", &get, &[], b"overwritten");
    assert_eq!((r.status, r.text().as_str()), (401, "401 Unauthorized: Temp URL invalid\n"));
    assert_eq!(c.req("GET", &get.replace("/c/o?", "/c/other?"), &[], b"").status, 401);

    // PUT and DELETE URLs with the account's second key.
    let put = temp_url("akey", "PUT", &format!("{acct}/c/new"));
    assert_eq!(c.req("PUT", &put, &[], b"uploaded").status, 201);
    let r = c.req("GET", &format!("{acct}/c/new"), &auth, b"");
    assert_eq!((r.status, r.text().as_str()), (200, "uploaded"));
    let r = c.req("PUT", &put, &[("X-Object-Manifest", "c/o")], b"");
    assert_eq!(r.status, 400, "{}", r.text());
    let delete = temp_url("akey", "DELETE", &format!("{acct}/c/new"));
    assert_eq!(c.req("DELETE", &delete, &[], b"").status, 204);
    assert_eq!(c.req("GET", &format!("{acct}/c/new"), &auth, b"").status, 404);

    // Only the owner sees the keys; /info lists tempurl.
    let r = c.req("HEAD", &format!("{acct}/c"), &auth, b"");
    assert_eq!(r.header("x-container-meta-temp-url-key"), Some("ckey"));
    let info = c.req("GET", "/info", &[], b"").text();
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["tempurl"]["allowed_digests"], serde_json::json!(["sha1", "sha256", "sha512"]));
}
