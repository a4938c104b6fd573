//! CORS (Swift's `cors_validation` and `Controller.OPTIONS`), in Swift's
//! default strict mode (`strict_cors_mode = true`).
//!
//! A container allows origins with `X-Container-Meta-Access-Control-
//! Allow-Origin` (space-separated, `*` for any), and sets
//! `-Max-Age` and `-Expose-Headers`.
//!
//! * `OPTIONS` needs no token. Without `Origin` it is 200 with `Allow`.
//!   With one (a preflight) on a container or object: 401 unless the
//!   origin is allowed and `Access-Control-Request-Method` is one of the
//!   allowed methods; else 200 with `Access-Control-Allow-Origin`
//!   (`*`, or the origin with `Vary: Origin`), `-Allow-Methods`,
//!   `-Max-Age` and the requested headers as `-Allow-Headers`. An
//!   account preflight gets the plain answer, as Swift.
//! * Other container and object requests with an allowed `Origin` get
//!   `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers`
//!   (the simple response headers, `etag`, `x-timestamp`, the trans ids,
//!   the answer's `X-Container-Meta-*`/`X-Object-Meta-*` and the
//!   container's list); a refused origin gets no CORS headers.
//! * Not done: Swift's `cors_allow_origin`/`cors_expose_headers` config,
//!   non-strict mode, CORS headers on error answers.

use crate::app::App;
use crate::controllers::base::{container_info, trans_headers, Resource};
use crate::error::{Error, Result};
use http::{Headers, Request, Response};
use std::collections::BTreeSet;

/// A container's CORS metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    pub allow_origin: Option<String>,
    pub expose_headers: Option<String>,
    pub max_age: Option<String>,
}

impl Rules {
    /// From a container HEAD's headers.
    pub fn from_headers(h: &Headers) -> Rules {
        let get = |k: &str| h.get(&format!("X-Container-Meta-Access-Control-{k}")).map(String::from);
        Rules { allow_origin: get("Allow-Origin"), expose_headers: get("Expose-Headers"), max_age: get("Max-Age") }
    }

    /// Swift's `is_origin_allowed`.
    pub fn allows(&self, origin: &str) -> bool {
        self.allow_origin.as_deref().unwrap_or_default().split(' ').any(|a| a == origin || a == "*")
    }

    /// What an allowed `origin` is answered: `*`, or the origin itself
    /// (with `Vary: Origin`).
    fn allow_origin_value(&self, origin: &str) -> (String, bool) {
        if self.allow_origin.as_deref().is_some_and(|a| a.trim() == "*") {
            ("*".into(), false)
        } else {
            (origin.to_string(), true)
        }
    }
}

/// The CORS headers a request's answer gets (its origin is allowed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    allow_origin: String,
    vary: bool,
    /// The container's `Expose-Headers`, lower-cased.
    expose: Vec<String>,
}

/// Headers Swift always exposes.
const EXPOSED: [&str; 10] = [
    "cache-control",
    "content-language",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
    "etag",
    "x-timestamp",
    "x-trans-id",
    "x-openstack-request-id",
];

impl Grant {
    /// Adds the CORS headers to an answer's headers (Swift's
    /// `cors_validation`), keeping any the answer already has.
    pub fn decorate(&self, h: &mut Headers) {
        if !h.contains("Access-Control-Expose-Headers") {
            let mut expose: BTreeSet<String> = EXPOSED.iter().map(|s| s.to_string()).collect();
            for (k, _) in h.iter() {
                let k = k.to_ascii_lowercase();
                if k.starts_with("x-container-meta-") || k.starts_with("x-object-meta-") {
                    expose.insert(k);
                }
            }
            expose.extend(self.expose.iter().cloned());
            h.set("Access-Control-Expose-Headers", expose.into_iter().collect::<Vec<_>>().join(", "));
        }
        if !h.contains("Access-Control-Allow-Origin") {
            h.set("Access-Control-Allow-Origin", self.allow_origin.clone());
            if self.vary {
                let vary = h.get("Vary").map_or("Origin".to_string(), |v| format!("{v}, Origin"));
                h.set("Vary", vary);
            }
        }
    }
}

/// For a container or object request with `Origin`: the grant if the
/// container allows that origin (a container HEAD), else `None`.
pub fn grant(ctx: &App, req: &Request<'_>, t: &Resource) -> Option<Grant> {
    let origin = req.header("Origin").filter(|o| !o.is_empty())?;
    t.container.as_ref()?;
    let rules = Rules::from_headers(&container_info(ctx, t).headers);
    if !rules.allows(origin) {
        return None;
    }
    let (allow_origin, vary) = rules.allow_origin_value(origin);
    let expose = rules
        .expose_headers
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    Some(Grant { allow_origin, vary, expose })
}

/// `OPTIONS` of an account, container or object (Swift's
/// `Controller.OPTIONS`); `allowed` is the methods of that kind.
pub fn options(ctx: &App, req: &Request<'_>, resp: &mut Response<'_>, t: &Resource, allowed: &[&str]) -> Result<()> {
    let mut h = Headers::new();
    trans_headers(&mut h, &t.trans_id);
    h.set("Allow", allowed.join(", "));
    h.set("Content-Type", "text/html; charset=UTF-8");
    let send = |resp: &mut Response<'_>, status: u16, h: &Headers| {
        resp.send(status, h, b"").map_err(|_| Error::ClientDisconnect)
    };
    let origin = req.header("Origin").filter(|o| !o.is_empty());
    let (Some(origin), Some(_)) = (origin, &t.container) else { return send(resp, 200, &h) };
    let rules = Rules::from_headers(&container_info(ctx, t).headers);
    let method_ok = req.header("Access-Control-Request-Method").is_some_and(|m| allowed.contains(&m));
    if !rules.allows(origin) || !method_ok {
        return send(resp, 401, &h);
    }
    let (allow_origin, vary) = rules.allow_origin_value(origin);
    h.set("Access-Control-Allow-Origin", allow_origin);
    if vary {
        h.set("Vary", "Origin");
    }
    if let Some(age) = &rules.max_age {
        h.set("Access-Control-Max-Age", age.clone());
    }
    h.set("Access-Control-Allow-Methods", allowed.join(", "));
    let requested: BTreeSet<&str> = req
        .header("Access-Control-Request-Headers")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if !requested.is_empty() {
        h.set("Access-Control-Allow-Headers", requested.into_iter().collect::<Vec<_>>().join(", "));
    }
    send(resp, 200, &h)
}

#[cfg(test)]
mod tests {
    use crate::testkit::{call, FakeObject, FakeReq, Fakes, Got, Store};
    use std::sync::{Arc, Mutex};

    /// `AUTH_test/c/cat` with `X-Object-Meta-Color`, container `c`
    /// allowing `allow`.
    fn cluster(name: &str, allow: &str) -> Fakes {
        let mut s = Store { page: 100, ..Store::default() };
        let mut cat = FakeObject::new(b"test", "1700000000.00000");
        cat.headers.push(("X-Object-Meta-Color".into(), "red".into()));
        s.objects.insert("/AUTH_test/c/cat".into(), cat);
        let meta = |k: &str, v: &str| (format!("X-Container-Meta-Access-Control-{k}"), v.to_string());
        s.container_headers.insert(
            "/AUTH_test/c".into(),
            vec![meta("Allow-Origin", allow), meta("Max-Age", "60"), meta("Expose-Headers", "X-Foo")],
        );
        let store = Arc::new(Mutex::new(s));
        Fakes::start(name, 4, "", Arc::new(move |r: &FakeReq| store.lock().unwrap().answer(r)))
    }

    fn header<'a>(g: &'a Got, k: &str) -> Option<&'a str> {
        g.headers.get(k)
    }

    #[test]
    fn preflights_need_an_allowed_origin_and_method() {
        let f = cluster("cors-pre", "*");
        let pre = |h: &[(&str, &str)]| call(&f.ctx, "OPTIONS", "/v1/AUTH_test/c/cat", h);
        let plain = pre(&[]);
        assert_eq!((plain.status, header(&plain, "Allow")), (200, Some("DELETE, GET, HEAD, OPTIONS, POST, PUT")));
        assert_eq!(pre(&[("Origin", "http://m.com")]).status, 401, "no Access-Control-Request-Method");
        assert_eq!(pre(&[("Origin", "http://m.com"), ("Access-Control-Request-Method", "COPY")]).status, 401);
        let ok = pre(&[
            ("Origin", "http://m.com"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "x-auth-token, content-type"),
        ]);
        assert_eq!((ok.status, header(&ok, "Access-Control-Allow-Origin")), (200, Some("*")));
        assert_eq!(header(&ok, "Access-Control-Max-Age"), Some("60"));
        assert_eq!(header(&ok, "Access-Control-Allow-Headers"), Some("content-type, x-auth-token"));
        assert_eq!(header(&ok, "Access-Control-Expose-Headers"), None, "only a preflight");
        let acct = call(&f.ctx, "OPTIONS", "/v1/AUTH_test", &[("Origin", "http://m.com")]);
        assert_eq!((acct.status, header(&acct, "Allow")), (200, Some("GET, HEAD, OPTIONS, POST")));
    }

    #[test]
    fn answers_to_allowed_origins_carry_cors_headers() {
        let f = cluster("cors-any", "*");
        let token = f.token("tester");
        let get =
            |origin: &str| call(&f.ctx, "GET", "/v1/AUTH_test/c/cat", &[("X-Auth-Token", &token), ("Origin", origin)]);
        let g = get("http://m.com");
        assert_eq!((g.status, header(&g, "Access-Control-Allow-Origin")), (200, Some("*")));
        let exposed: Vec<&str> = header(&g, "Access-Control-Expose-Headers").unwrap().split(", ").collect();
        for k in ["x-object-meta-color", "etag", "x-trans-id", "x-foo"] {
            assert!(exposed.contains(&k), "{k} in {exposed:?}");
        }

        let f = cluster("cors-one", "http://secret.com");
        let token = f.token("tester");
        let get =
            |origin: &str| call(&f.ctx, "GET", "/v1/AUTH_test/c/cat", &[("X-Auth-Token", &token), ("Origin", origin)]);
        let refused = get("http://m.com");
        assert_eq!((refused.status, header(&refused, "Access-Control-Allow-Origin")), (200, None));
        let pre = call(
            &f.ctx,
            "OPTIONS",
            "/v1/AUTH_test/c/cat",
            &[("Origin", "http://m.com"), ("Access-Control-Request-Method", "GET")],
        );
        assert_eq!(pre.status, 401);
        let allowed = get("http://secret.com");
        assert_eq!(header(&allowed, "Access-Control-Allow-Origin"), Some("http://secret.com"));
        assert_eq!(header(&allowed, "Vary"), Some("Origin"));
        let plain = call(&f.ctx, "GET", "/v1/AUTH_test/c/cat", &[("X-Auth-Token", &token)]);
        assert_eq!(header(&plain, "Access-Control-Allow-Origin"), None, "not a CORS request");
    }
}
