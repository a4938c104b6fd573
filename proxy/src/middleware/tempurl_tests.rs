use super::*;
use crate::config::Config;
use crate::testkit::{call, call_with, FakeObject, FakeReq, Fakes, Got, Store};
use std::sync::Mutex;

const DOC_PATH: &str = "/v1/AUTH_account/container/object";

fn sig_ok(sig: &str, msg: &str) -> bool {
    let (digest, bytes) = parse_sig(sig).expect("parses");
    digest.expect("a known digest").verify(b"mykey", msg.as_bytes(), &bytes)
}

#[test]
fn swifts_documented_signatures_check_out() {
    // The examples of Swift's tempurl documentation (key "mykey").
    let sha256 = "732fcac368abb10c78a4cbe95c3fab7f311584532bf779abd5074e13cbe8b88b";
    assert!(sig_ok(sha256, &format!("GET\n1512508563\n{DOC_PATH}")));
    assert!(!sig_ok(sha256, &format!("PUT\n1512508563\n{DOC_PATH}")));
    assert!(!sig_ok(sha256, &format!("GET\n1512508564\n{DOC_PATH}")));
    let sha512 = "sha512:ZrSijn0GyDhsv1ltIj9hWUTrbAeE45NcKXyBaz7aPbSMvROQ4jtYH4nRAmm5ErY2X11Yc1Yhy2OMCyN3yueeXg==";
    assert!(sig_ok(sha512, &format!("GET\n1516741234\n{DOC_PATH}")));
    let ip = "3f48476acaf5ec272acd8e99f7b5bad96c52ddba53ed27c60613711774a06f0c";
    assert!(sig_ok(ip, &String::from_utf8(message(Some("1.2.3.4"), "GET", 1648082711, DOC_PATH)).unwrap()));
    let net = "6ff81256b8a3ba11d239da51a703b9c06a56ffddeb8caab74ca83af8f73c9c83";
    assert!(sig_ok(net, &String::from_utf8(message(Some("1.2.3.0/24"), "GET", 1648082711, DOC_PATH)).unwrap()));
    // The same message with HMAC-SHA1 (Python's hmac), and a prefix URL.
    assert!(sig_ok("a83dcf0587a84542b5f23a7807c38ff4bcaa6924", &format!("GET\n1512508563\n{DOC_PATH}")));
    let prefix = "32f398a48a1a8ca6f2711efcca444100723360239733c6e7b31d868f62f66b47";
    assert!(sig_ok(prefix, "GET\n1512508563\nprefix:/v1/AUTH_account/container/pre"));
}

#[test]
fn signatures_are_hex_by_length_or_named_base64() {
    let raw: Vec<u8> = (0u8..32).collect();
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(parse_sig(&hex), Some((Some(Digest::Sha256), raw.clone())));
    assert_eq!(parse_sig(&hex.to_uppercase()), None, "Swift compares lower-case hex");
    assert_eq!(parse_sig(&hex[2..]), None, "62 hex digits name no digest");
    assert_eq!(parse_sig(&format!("{}zz", &hex[2..])), None);
    // Standard, unpadded and URL-safe base64 of the same bytes.
    let b = [0xfbu8, 0xff, 0x01];
    assert_eq!(parse_sig("sha1:+/8B"), Some((Some(Digest::Sha1), b.to_vec())));
    assert_eq!(parse_sig("sha1:-_8B"), Some((Some(Digest::Sha1), b.to_vec())));
    assert_eq!(parse_sig("sha512:+/8="), Some((Some(Digest::Sha512), b[..2].to_vec())));
    assert_eq!(parse_sig("sha512:+/8"), Some((Some(Digest::Sha512), b[..2].to_vec())));
    assert_eq!(parse_sig("md5:+/8B"), Some((None, b.to_vec())), "an unknown digest is refused later");
    for bad in ["sha1:+/8B!", "sha1:+_8B", "sha1:+/8B5", "sha1:+/=8B"] {
        assert_eq!(parse_sig(bad), None, "{bad}");
    }
}

#[test]
fn expiry_is_seconds_or_iso8601_and_must_be_ahead() {
    let now = 1_700_000_000;
    assert_eq!(parse_expires("1700000100", now), Some(1_700_000_100));
    assert_eq!(parse_expires(" +1700000100 ", now), Some(1_700_000_100));
    assert_eq!(parse_expires("2023-11-14T22:15:00Z", now), Some(1_700_000_100));
    for gone in ["1700000000", "1699999999", "-5", "0", "2023-11-14T22:13:20Z"] {
        assert_eq!(parse_expires(gone, now), None, "{gone}");
    }
    for bad in ["", "soon", "1.5e9", "2023-11-14 22:15:00"] {
        assert_eq!(parse_expires(bad, now), None, "{bad}");
    }
}

#[test]
fn ip_ranges_are_addresses_or_strict_networks() {
    let v4: IpAddr = "1.2.3.4".parse().unwrap();
    assert_eq!(ip_in_range(v4, "1.2.3.4"), Some(true));
    assert_eq!(ip_in_range(v4, "1.2.3.5"), Some(false));
    assert_eq!(ip_in_range(v4, "1.2.3.0/24"), Some(true));
    assert_eq!(ip_in_range(v4, "1.2.4.0/24"), Some(false));
    assert_eq!(ip_in_range(v4, "0.0.0.0/0"), Some(true));
    assert_eq!(ip_in_range(v4, "1.2.3.4/24"), None, "host bits set: Python's ip_network refuses it");
    assert_eq!(ip_in_range(v4, "1.2.3.0/33"), None);
    assert_eq!(ip_in_range(v4, "nowhere"), None);
    assert_eq!(ip_in_range(v4, "::/0"), Some(false), "another IP version");
    let v6: IpAddr = "2001:db8::7".parse().unwrap();
    assert_eq!(ip_in_range(v6, "2001:db8::/32"), Some(true));
    assert_eq!(ip_in_range(v6, "2001:db9::/32"), Some(false));
    assert_eq!(ip_in_range(v6, "::/0"), Some(true));
}

#[test]
fn header_rules_drop_names_and_prefixes_but_not_their_exceptions() {
    let conf = Config::from_text(b"").unwrap().tempurl;
    let out = &conf.outgoing;
    assert!(out.drops("X-Object-Meta-Secret"));
    assert!(!out.drops("X-Object-Meta-Public-Color"));
    assert!(!out.drops("Content-Type"));
    assert!(conf.incoming.drops("x-timestamp") && conf.incoming.drops("X-Open-Expired"));
    let mut h = Headers::new();
    h.set("X-Object-Meta-A", "1");
    h.set("x-object-meta-public-b", "2");
    h.set("Etag", "e");
    out.apply(&mut h);
    assert_eq!(h.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["x-object-meta-public-b", "Etag"]);
}

#[test]
fn config_defaults_and_info_are_swifts() {
    let conf = Config::from_text(b"").unwrap().tempurl;
    assert_eq!(
        conf.info(),
        serde_json::json!({
            "methods": ["GET", "HEAD", "PUT", "POST", "DELETE"],
            "allowed_digests": ["sha1", "sha256", "sha512"],
            "deprecated_digests": ["sha1"],
            "incoming_remove_headers": ["x-timestamp", "x-open-expired"],
            "incoming_allow_headers": [],
            "outgoing_remove_headers": ["x-object-meta-*"],
            "outgoing_allow_headers": ["x-object-meta-public-*"],
        })
    );
    let some = Config::from_text(b"[filter:tempurl]\nallowed_digests = SHA512 md5 sha256\nmethods = GET\n").unwrap();
    assert_eq!(some.tempurl.allowed_digests, [Digest::Sha256, Digest::Sha512], "md5 is ignored, as Swift");
    assert!(some.tempurl.info().get("deprecated_digests").is_none());
    let e = Config::from_text(b"[filter:tempurl]\nallowed_digests = md5\n").unwrap_err().to_string();
    assert!(e.contains("allowed_digests"), "{e}");
}

/// `AUTH_test` with an account key, container `c` with its own key, and
/// objects in `c` and `c2` (and a DLO manifest in `c` over `c2`).
fn cluster(name: &str) -> Fakes {
    let mut s = Store { page: 100, ..Store::default() };
    let mut obj = FakeObject::new(b"obj contents", "1700000000.00000");
    obj.headers.push(("X-Object-Meta-Secret".into(), "s".into()));
    obj.headers.push(("X-Object-Meta-Public-Color".into(), "red".into()));
    s.objects.insert("/AUTH_test/c/obj".into(), obj);
    let mut named = FakeObject::new(b"named", "1700000000.00000");
    named.headers.push(("Content-Disposition".into(), "attachment; filename=\"own.txt\"".into()));
    s.objects.insert("/AUTH_test/c/dir/named/".into(), named);
    s.objects.insert("/AUTH_test/c2/seg1".into(), FakeObject::new(b"one ", "1700000000.00000"));
    s.objects.insert("/AUTH_test/c2/seg2".into(), FakeObject::new(b"two", "1700000000.00000"));
    let mut manifest = FakeObject::new(b"", "1700000000.00000");
    manifest.headers.push(("X-Object-Manifest".into(), "c2/seg".into()));
    s.objects.insert("/AUTH_test/c/manifest".into(), manifest);
    s.container_headers.insert("/AUTH_test".into(), vec![("X-Account-Meta-Temp-Url-Key".into(), "acctkey".into())]);
    s.container_headers
        .insert("/AUTH_test/c".into(), vec![("X-Container-Meta-Temp-Url-Key-2".into(), "contkey".into())]);
    let store = Arc::new(Mutex::new(s));
    Fakes::start(name, 4, "", Arc::new(move |r: &FakeReq| store.lock().unwrap().answer(r)))
}

/// The expiry of the URLs signed here (in 2096).
fn expires() -> u64 {
    4_000_000_000
}

fn sign(key: &str, method: &str, expires: u64, path: &str) -> String {
    let mut mac = <Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{method}\n{expires}\n{path}").as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// `path?temp_url_sig=...&temp_url_expires=...` for `method` with `key`.
fn url(key: &str, method: &str, path: &str) -> String {
    let e = expires();
    format!("{path}?temp_url_sig={}&temp_url_expires={e}", sign(key, method, e, path))
}

fn invalid(g: &Got) -> bool {
    g.status == 401 && g.body == b"401 Unauthorized: Temp URL invalid\n"
}

#[test]
fn a_signed_get_needs_no_token_and_hides_private_metadata() {
    let f = cluster("tu-get");
    let u = url("acctkey", "GET", "/v1/AUTH_test/c/obj");
    // A bad token is ignored: the temp URL is the request's authorization.
    for headers in [&[][..], &[("X-Auth-Token", "AUTH_tkbogus")][..]] {
        let g = call(&f.ctx, "GET", &u, headers);
        assert_eq!((g.status, &g.body[..]), (200, &b"obj contents"[..]));
        assert_eq!(g.headers.get("Content-Disposition"), Some("attachment; filename=\"obj\"; filename*=UTF-8''obj"));
        assert_eq!(g.headers.get("Expires").and_then(http::date::parse_http_date), Some(expires()));
        assert_eq!(g.headers.get("X-Object-Meta-Secret"), None);
        assert_eq!(g.headers.get("X-Object-Meta-Public-Color"), Some("red"));
    }
    let head = call(&f.ctx, "HEAD", &u, &[]);
    assert_eq!(head.status, 200, "a GET signature allows HEAD");
    assert!(head.headers.contains("Content-Disposition"));
    let container_key = call(&f.ctx, "GET", &url("contkey", "GET", "/v1/AUTH_test/c/obj"), &[]);
    assert_eq!(container_key.status, 200);
    let iso =
        u.replace(&format!("temp_url_expires={}", expires()), &format!("temp_url_expires={}", iso8601(expires())));
    assert_eq!(call(&f.ctx, "GET", &iso, &[]).status, 200);
}

fn iso8601(secs: u64) -> String {
    let c = common::date::Civil::from_secs(secs);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.year, c.month, c.day, c.hour, c.minute, c.second)
}

#[test]
fn anything_else_signed_is_401_temp_url_invalid() {
    let f = cluster("tu-bad");
    let get = url("acctkey", "GET", "/v1/AUTH_test/c/obj");
    let e = expires();
    let cases = [
        ("GET", url("acctkey", "GET", "/v1/AUTH_test/c2/seg1").replace("c2/seg1", "c/obj"), "another object's"),
        ("PUT", get.clone(), "another method's"),
        ("HEAD", url("acctkey", "DELETE", "/v1/AUTH_test/c/obj"), "a DELETE does not allow HEAD"),
        ("GET", url("wrongkey", "GET", "/v1/AUTH_test/c/obj"), "no such key"),
        ("GET", url("contkey", "GET", "/v1/AUTH_test/c2/seg1"), "c's key is not c2's"),
        ("GET", get.replace(&e.to_string(), &(e + 1).to_string()), "another expiry"),
        ("GET", url("acctkey", "GET", "/v1/AUTH_test/c/obj").replace(&e.to_string(), "1000"), "expired"),
        ("GET", "/v1/AUTH_test/c/obj?temp_url_expires=9999999999".to_string(), "no signature"),
        (
            "GET",
            format!("/v1/AUTH_test/c/obj?temp_url_sig={}", sign("acctkey", "GET", e, "/v1/AUTH_test/c/obj")),
            "no expiry",
        ),
        ("GET", url("acctkey", "GET", "/v1/AUTH_test/c"), "a container"),
        ("COPY", url("acctkey", "COPY", "/v1/AUTH_test/c/obj"), "a method not in `methods`"),
        ("GET", url("acctkey", "GET", "/v1.0/AUTH_test/c/obj"), "not /v1/"),
    ];
    for (method, target, why) in cases {
        let g = call(&f.ctx, method, &target, &[("X-Auth-Token", &f.token("tester"))]);
        let ok = if method == "HEAD" { g.status == 401 && g.body.is_empty() } else { invalid(&g) };
        assert!(ok, "{why}: {} {:?}", g.status, String::from_utf8_lossy(&g.body));
        assert_eq!(g.headers.get("Www-Authenticate"), Some("Swift realm=\"AUTH_test\""), "{why}");
    }
    let head = call(&f.ctx, "HEAD", &get.replace("c/obj", "c2/seg1"), &[]);
    assert_eq!((head.status, head.body.len()), (401, 0));
    let sha1_only = Fakes::start_with(
        "tu-sha1",
        4,
        "",
        |c| c.tempurl.allowed_digests = vec![Digest::Sha1],
        Arc::new(|_: &FakeReq| crate::testkit::Reply::status(404)),
    );
    assert!(invalid(&call(&sha1_only.ctx, "GET", &get, &[])), "sha256 not allowed");
}

#[test]
fn prefix_urls_cover_the_objects_under_their_prefix() {
    let f = cluster("tu-prefix");
    let e = expires();
    let sig = sign("acctkey", "GET", e, "prefix:/v1/AUTH_test/c/ob");
    let q = format!("temp_url_sig={sig}&temp_url_expires={e}&temp_url_prefix=ob");
    assert_eq!(call(&f.ctx, "GET", &format!("/v1/AUTH_test/c/obj?{q}"), &[]).status, 200);
    assert!(invalid(&call(&f.ctx, "GET", &format!("/v1/AUTH_test/c/dir/named/?{q}"), &[])), "not under ob");
    let plain = format!("temp_url_sig={sig}&temp_url_expires={e}");
    assert!(invalid(&call(&f.ctx, "GET", &format!("/v1/AUTH_test/c/obj?{plain}"), &[])), "prefix left out");
    let empty = sign("acctkey", "GET", e, "prefix:/v1/AUTH_test/c/");
    let q = format!("temp_url_sig={empty}&temp_url_expires={e}&temp_url_prefix=");
    assert_eq!(call(&f.ctx, "GET", &format!("/v1/AUTH_test/c/obj?{q}"), &[]).status, 200, "the empty prefix");
}

#[test]
fn ip_ranges_limit_the_callers() {
    let f = cluster("tu-ip");
    let e = expires();
    let path = "/v1/AUTH_test/c/obj";
    for (range, status) in [("127.0.0.1", 200), ("127.0.0.0/8", 200), ("10.0.0.0/8", 401), ("127.0.0.1/8", 401)] {
        let mut mac = <Hmac<sha2::Sha512> as hmac::digest::KeyInit>::new_from_slice(b"acctkey").unwrap();
        mac.update(format!("ip={range}\nGET\n{e}\n{path}").as_bytes());
        let sig: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let target = format!("{path}?temp_url_sig={sig}&temp_url_expires={e}&temp_url_ip_range={}", quote(range));
        assert_eq!(call(&f.ctx, "GET", &target, &[]).status, status, "{range}");
        let unsigned = target.replace(&format!("&temp_url_ip_range={}", quote(range)), "");
        assert_eq!(call(&f.ctx, "GET", &unsigned, &[]).status, 401, "{range} left out");
    }
}

#[test]
fn content_disposition_follows_inline_filename_or_the_object() {
    let f = cluster("tu-disp");
    let u = url("acctkey", "GET", "/v1/AUTH_test/c/obj");
    let disp =
        |q: &str| call(&f.ctx, "GET", &format!("{u}{q}"), &[]).headers.get("Content-Disposition").map(String::from);
    assert_eq!(disp("&inline").as_deref(), Some("inline"));
    let pdf = "attachment; filename=\"My Test File.pdf\"; filename*=UTF-8''My%20Test%20File.pdf";
    assert_eq!(disp("&filename=My+Test+File.pdf").as_deref(), Some(pdf));
    assert_eq!(disp("&inline&filename=a%22b").as_deref(), Some("inline; filename=\"a%22b\"; filename*=UTF-8''a%22b"));
    let own = call(&f.ctx, "GET", &url("acctkey", "GET", "/v1/AUTH_test/c/dir/named/"), &[]);
    assert_eq!(own.headers.get("Content-Disposition"), Some("attachment; filename=\"own.txt\""), "the object's own");
    let missing = call(&f.ctx, "GET", &url("acctkey", "GET", "/v1/AUTH_test/c/nothing"), &[]);
    assert_eq!((missing.status, missing.headers.get("Content-Disposition")), (404, None));
}

#[test]
fn writes_may_not_carry_pointers() {
    let f = cluster("tu-write");
    for (method, header) in [("PUT", "X-Object-Manifest"), ("POST", "X-Object-Manifest"), ("PUT", "X-Copy-From")] {
        let u = url("acctkey", method, "/v1/AUTH_test/c/new");
        let g = call_with(&f.ctx, method, &u, &[(header, "c2/seg")], b"");
        let why = format!("The header '{header}' is not allowed in this tempurl");
        assert_eq!((g.status, String::from_utf8_lossy(&g.body).into_owned()), (400, why));
    }
    let forged = call(&f.ctx, "PUT", &url("acctkey", "GET", "/v1/AUTH_test/c/new"), &[("X-Object-Manifest", "c2/seg")]);
    assert!(invalid(&forged), "the signature is checked first");
}

#[test]
fn a_container_key_reaches_only_its_container_even_through_a_dlo() {
    let f = cluster("tu-dlo");
    let by_account = call(&f.ctx, "GET", &url("acctkey", "GET", "/v1/AUTH_test/c/manifest"), &[]);
    assert_eq!((by_account.status, &by_account.body[..]), (200, &b"one two"[..]));
    assert!(by_account.headers.contains("Content-Disposition"));
    for method in ["GET", "HEAD"] {
        let by_container = call(&f.ctx, method, &url("contkey", "GET", "/v1/AUTH_test/c/manifest"), &[]);
        assert_eq!(by_container.status, 401, "{method}: segments in c2");
    }
    let t = |c: &str| Resource {
        account: "AUTH_test".into(),
        container: Some(c.into()),
        object: None,
        query: String::new(),
        identity: None,
        trans_id: "tx".into(),
        cors: None,
    };
    let grant = |scope| Grant {
        scope,
        account: "AUTH_test".into(),
        container: "c".into(),
        method: "GET".into(),
        expires: 0,
        name: "o".into(),
        filename: None,
        inline: false,
        outgoing: Arc::default(),
    };
    assert_eq!(grant(Scope::Container).authorize(&t("c")).ok(), Some(Access::Acl), "never the owner");
    assert_eq!(grant(Scope::Container).authorize(&t("c2")).unwrap_err().status(), 401);
    assert_eq!(grant(Scope::Account).authorize(&t("c2")).ok(), Some(Access::Acl));
    let other = Resource { account: "AUTH_other".into(), ..t("c") };
    assert_eq!(grant(Scope::Account).authorize(&other).unwrap_err().status(), 401);
}

#[test]
fn info_lists_tempurl() {
    let f = cluster("tu-info");
    let info = crate::controllers::info::info(&f.ctx);
    assert_eq!(info["tempurl"], f.ctx.conf().tempurl.info());
    assert_eq!(info["tempurl"]["methods"][0], "GET");
}
