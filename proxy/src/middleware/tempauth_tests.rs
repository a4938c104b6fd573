use super::*;
use crate::config::Config;

fn auth() -> TempAuth {
    let conf = Config::from_text(
        b"[filter:tempauth]\nuser_test_tester = testing .admin\nuser_test_tester3 = testing3\n\
          user_test2_tester2 = testing2 .admin\nuser_admin_admin = admin .reseller_admin\n",
    )
    .unwrap();
    TempAuth::new(conf.auth, b"cluster secret")
}

fn login(a: &TempAuth, user: &str, key: &str) -> Result<TokenReply> {
    let mut h = Headers::new();
    h.set("X-Auth-User", user);
    h.set("X-Auth-Key", key);
    a.get_token(&h, "127.0.0.1:8080")
}

fn ident(a: &TempAuth, user: &str, key: &str) -> Identity {
    let t = login(a, user, key).unwrap();
    a.identify(Some(&t.token), "x").unwrap().unwrap()
}

fn req<'a>(
    identity: Option<&'a Identity>,
    method: &'a str,
    path: (&'a str, Option<&'a str>, Option<&'a str>),
) -> AuthRequest<'a> {
    AuthRequest {
        identity,
        method,
        account: path.0,
        container: path.1,
        object: path.2,
        acl: None,
        account_acl: None,
        referrer: None,
    }
}

#[test]
fn get_token_answers_url_and_token() {
    let a = auth();
    let t = login(&a, "test:tester", "testing").unwrap();
    assert!(t.token.starts_with("AUTH_tk"));
    assert_eq!(t.storage_url, "http://127.0.0.1:8080/v1/AUTH_test");
    assert_eq!(t.expires_in, 86400);
    let mut h = Headers::new();
    h.set("X-Storage-User", "test:tester");
    h.set("X-Storage-Pass", "testing");
    assert!(a.get_token(&h, "h").is_ok());
}

#[test]
fn bad_logins_are_401() {
    let a = auth();
    for (u, k) in [("test:tester", "wrong"), ("test:nobody", "testing"), ("testtester", "testing"), ("", "")] {
        assert_eq!(login(&a, u, k).unwrap_err().status(), 401, "{u}");
    }
    assert_eq!(a.get_token(&Headers::new(), "h").unwrap_err().status(), 401);
}

#[test]
fn tokens_verify_on_any_instance_with_the_same_secret() {
    let (a, b) = (auth(), auth());
    let t = login(&a, "test:tester", "testing").unwrap();
    let id = b.identify(Some(&t.token), "AUTH_test").unwrap().unwrap();
    assert_eq!(id.groups, vec!["test:tester", "test", "AUTH_test"]);
    let other = TempAuth::new(
        Config::from_text(b"[filter:tempauth]\nuser_test_tester = testing .admin\n").unwrap().auth,
        b"other",
    );
    assert_eq!(other.identify(Some(&t.token), "AUTH_test").unwrap_err().status(), 401);
}

#[test]
fn tampered_expired_and_foreign_tokens() {
    let a = auth();
    let t = login(&a, "test:tester", "testing").unwrap().token;
    let mut bytes = t.clone().into_bytes();
    let last = bytes.len() - 20;
    bytes[last] = if bytes[last] == b'0' { b'1' } else { b'0' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert_eq!(a.identify(Some(&tampered), "r").unwrap_err().status(), 401);
    let u = a.user("test", "tester").unwrap().clone();
    let old = a.issue(&u, 1000);
    assert!(a.check(old.strip_prefix("AUTH_tk").unwrap(), 999).is_some());
    assert!(a.check(old.strip_prefix("AUTH_tk").unwrap(), 1000).is_none());
    assert_eq!(a.identify(Some("AUTH_tkjunk"), "r").unwrap_err().status(), 401);
    assert_eq!(a.identify(Some("OTHER_token"), "r").unwrap(), None);
    assert_eq!(a.identify(None, "r").unwrap(), None);
}

#[test]
fn changing_a_key_revokes_its_tokens() {
    let a = auth();
    let t = login(&a, "test:tester", "testing").unwrap().token;
    let b = TempAuth::new(
        Config::from_text(b"[filter:tempauth]\nuser_test_tester = newkey .admin\n").unwrap().auth,
        b"cluster secret",
    );
    assert!(b.identify(Some(&t), "r").is_err());
}

/// Swift's 401/403 table for tempauth's `authorize`.
#[test]
fn authorize_401_403_table() {
    let a = auth();
    let admin = ident(&a, "test:tester", "testing");
    let plain = ident(&a, "test:tester3", "testing3");
    let other = ident(&a, "test2:tester2", "testing2");
    let reseller = ident(&a, "admin:admin", "admin");
    let acct = ("AUTH_test", None, None);
    let cont = ("AUTH_test", Some("c"), None);
    let obj = ("AUTH_test", Some("c"), Some("o"));
    let status = |r: AuthRequest<'_>| match a.authorize(&r) {
        Ok(Access::Owner) => 0,
        Ok(Access::Acl) => 1,
        Err(e) => e.status(),
    };
    assert_eq!(status(req(None, "GET", acct)), 401);
    assert_eq!(status(req(None, "GET", obj)), 401);
    assert_eq!(status(req(Some(&admin), "GET", acct)), 0);
    assert_eq!(status(req(Some(&admin), "PUT", cont)), 0);
    assert_eq!(status(req(Some(&admin), "PUT", acct)), 403);
    assert_eq!(status(req(Some(&admin), "DELETE", acct)), 403);
    assert_eq!(status(req(Some(&plain), "GET", acct)), 403);
    assert_eq!(status(req(Some(&plain), "GET", obj)), 403);
    assert_eq!(status(req(Some(&other), "HEAD", cont)), 403);
    assert_eq!(status(req(Some(&reseller), "PUT", acct)), 0);
    assert_eq!(status(req(Some(&reseller), "GET", obj)), 0);
    assert_eq!(status(req(Some(&admin), "GET", ("OTHER_test", None, None))), 403);
    assert_eq!(status(req(None, "GET", ("OTHER_test", None, None))), 401);
}

#[test]
fn container_acls_grant_reads_and_writes() {
    let a = auth();
    let plain = ident(&a, "test:tester3", "testing3");
    let other = ident(&a, "test2:tester2", "testing2");
    let with = |identity, method, path, acl, referrer| {
        let mut r = req(identity, method, path);
        r.acl = acl;
        r.referrer = referrer;
        a.authorize(&r).map_err(|e| e.status())
    };
    let obj = ("AUTH_test", Some("c"), Some("o"));
    let cont = ("AUTH_test", Some("c"), None);
    assert_eq!(with(None, "GET", obj, Some(".r:*"), None), Ok(Access::Acl));
    assert_eq!(with(None, "GET", cont, Some(".r:*"), None), Err(401));
    assert_eq!(with(None, "GET", cont, Some(".r:*,.rlistings"), None), Ok(Access::Acl));
    assert_eq!(with(Some(&plain), "GET", cont, Some(".r:*"), None), Err(403));
    assert_eq!(with(Some(&plain), "GET", obj, Some("test:tester3"), None), Ok(Access::Acl));
    assert_eq!(with(Some(&other), "PUT", obj, Some("test2"), None), Ok(Access::Acl));
    assert_eq!(with(Some(&other), "PUT", obj, Some("test:tester3"), None), Err(403));
    assert_eq!(with(None, "GET", obj, Some(".r:.example.com"), Some("http://x.example.com/")), Ok(Access::Acl));
    assert_eq!(with(None, "GET", obj, Some(".r:.example.com"), Some("http://evil.com/")), Err(401));
}

#[test]
fn account_acls_grant_admin_read_write_and_read_only() {
    let a = auth();
    let t3 = ident(&a, "test:tester3", "testing3");
    let t2 = ident(&a, "test2:tester2", "testing2");
    let acct = ("AUTH_test", None, None);
    let cont = ("AUTH_test", Some("c"), None);
    let check = |acl: &AccountAcl, who: &Identity, method: &'static str, path| {
        let mut r = req(Some(who), method, path);
        r.account_acl = Some(acl);
        a.authorize(&r).map_err(|e| e.status())
    };
    let admin = AccountAcl { admin: vec!["test:tester3".into()], ..AccountAcl::default() };
    assert_eq!(check(&admin, &t3, "POST", acct), Ok(Access::Owner));
    assert_eq!(check(&admin, &t2, "GET", acct), Err(403));
    let rw = AccountAcl { read_write: vec!["test2".into()], ..AccountAcl::default() };
    assert_eq!(check(&rw, &t2, "HEAD", acct), Ok(Access::Acl));
    assert_eq!(check(&rw, &t2, "PUT", cont), Ok(Access::Acl));
    assert_eq!(check(&rw, &t2, "POST", acct), Err(403));
    let ro = AccountAcl { read_only: vec!["test:tester3".into()], ..AccountAcl::default() };
    assert_eq!(check(&ro, &t3, "GET", acct), Ok(Access::Acl));
    assert_eq!(check(&ro, &t3, "GET", ("AUTH_test", Some("c"), Some("o"))), Ok(Access::Acl));
    assert_eq!(check(&ro, &t3, "PUT", cont), Err(403));
    // A referrer ACL without .rlistings does not stop the account ACL.
    let mut r = req(Some(&t3), "GET", cont);
    r.acl = Some(".r:*");
    assert_eq!(a.authorize(&r).map_err(|e| e.status()), Err(403));
    r.account_acl = Some(&ro);
    assert_eq!(a.authorize(&r).map_err(|e| e.status()), Ok(Access::Acl));
    // Without the ACL, tester3 (no .admin) may not read the account.
    assert_eq!(a.authorize(&req(Some(&t3), "GET", acct)).map_err(|e| e.status()), Err(403));
}

#[test]
fn service_accounts_need_the_users_token_plus_a_service_token() {
    let conf = Config::from_text(
        b"[filter:tempauth]\nreseller_prefix = AUTH, SERVICE\nSERVICE_require_group = service\n\
          user_test_tester = testing .admin\nuser_test5_tester5 = testing5 service\n",
    )
    .unwrap();
    let a = TempAuth::new(conf.auth, b"cluster secret");
    let user = login(&a, "test:tester", "testing").unwrap();
    let service = login(&a, "test5:tester5", "testing5").unwrap();
    assert!(user.storage_url.ends_with("/v1/AUTH_test"));
    let who = |auth: &str, svc: Option<&str>| {
        let mut h = Headers::new();
        h.set("X-Auth-Token", auth);
        if let Some(s) = svc {
            h.set("X-Service-Token", s);
        }
        a.identify_request(&h, "r").unwrap().unwrap()
    };
    let status =
        |id: &Identity, method: &'static str, path| a.authorize(&req(Some(id), method, path)).map_err(|e| e.status());
    let svc_acct = ("SERVICE_test", None, None);
    let svc_obj = ("SERVICE_test", Some("c"), Some("o"));

    // The user alone owns AUTH_test but not SERVICE_test.
    let alone = who(&user.token, None);
    assert!(alone.groups.contains(&"SERVICE_test".to_string()));
    assert_eq!(status(&alone, "GET", ("AUTH_test", None, None)), Ok(Access::Owner));
    assert_eq!(status(&alone, "GET", svc_acct), Err(403));
    // The service user alone, or with its own token twice: no.
    assert_eq!(status(&who(&service.token, None), "GET", svc_obj), Err(403));
    assert_eq!(status(&who(&service.token, Some(&service.token)), "PUT", svc_obj), Err(403));
    // User token plus service token: owner, but no account PUT/DELETE.
    let both = who(&user.token, Some(&service.token));
    assert_eq!(status(&both, "PUT", svc_obj), Ok(Access::Owner));
    assert_eq!(status(&both, "POST", svc_acct), Ok(Access::Owner));
    assert_eq!(status(&both, "DELETE", svc_acct), Err(403));
    // A bad service token adds nothing; other prefixes are not ours.
    assert_eq!(status(&who(&user.token, Some("AUTH_tkjunk")), "GET", svc_acct), Err(403));
    assert_eq!(status(&both, "GET", ("OTHER_test", None, None)), Err(403));
}
