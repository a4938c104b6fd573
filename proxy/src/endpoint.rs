//! Routing: a request target becomes an [`Endpoint`] before anything else
//! happens, so the rules are unit-tested here (garage's router style).
//!
//! `/healthcheck`, `/info`, TempAuth's `/auth/v1.0`, `/auth/v1` and
//! `/v1.0`, and the API `/{v1|v1.0}/{account}[/{container}[/{object}]]`.
//! Names are %-decoded and must be UTF-8 without NUL (else 412, as
//! Swift's `check_utf8`); a path without an account is 412 "Bad URL",
//! anything else 404.

use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Healthcheck,
    Info,
    Auth,
    Account { account: String },
    Container { account: String, container: String },
    Object { account: String, container: String, object: String },
}

impl Endpoint {
    pub fn account(&self) -> Option<&str> {
        match self {
            Endpoint::Account { account } | Endpoint::Container { account, .. } | Endpoint::Object { account, .. } => {
                Some(account)
            }
            _ => None,
        }
    }
}

/// The endpoint of `target` and its raw query string (without `?`).
pub fn parse(target: &str) -> Result<(Endpoint, String)> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = unquote(path)?;
    let ep = match path.as_str() {
        "/healthcheck" => Endpoint::Healthcheck,
        "/info" => Endpoint::Info,
        "/auth/v1.0" | "/auth/v1" | "/v1.0" | "/auth/v1.0/" | "/auth/v1/" | "/v1.0/" => Endpoint::Auth,
        _ => api(&path)?,
    };
    Ok((ep, query.to_string()))
}

fn api(path: &str) -> Result<Endpoint> {
    let rest = path.strip_prefix('/').ok_or(Error::NotFound)?;
    let (version, rest) = rest.split_once('/').unwrap_or((rest, ""));
    if version.is_empty() {
        return Err(Error::NotFound);
    }
    let mut parts = rest.splitn(3, '/');
    let account = parts.next().unwrap_or_default().to_string();
    let container = parts.next().map(String::from);
    let object = parts.next().map(String::from);
    if account.is_empty() && rest.is_empty() {
        // Swift finds no controller for a path that ends before the account.
        return Err(Error::PreconditionFailed("Bad URL".into()));
    }
    if account.is_empty() {
        return Err(Error::NotFound);
    }
    if version != "v1" && version != "v1.0" {
        return Err(Error::NotFound);
    }
    Ok(match (container, object) {
        (None, _) => Endpoint::Account { account },
        (Some(c), None) if c.is_empty() => Endpoint::Account { account },
        (Some(c), _) if c.is_empty() => return Err(Error::NotFound),
        (Some(container), None) => Endpoint::Container { account, container },
        (Some(container), Some(o)) if o.is_empty() => Endpoint::Container { account, container },
        (Some(container), Some(object)) => Endpoint::Object { account, container, object },
    })
}

/// %-decodes a path; 412 for bad UTF-8 or NUL (Swift's message).
pub fn unquote(s: &str) -> Result<String> {
    let bad = || Error::PreconditionFailed("Invalid UTF8 or contains NULL".into());
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).and_then(|&c| hex(c)), b.get(i + 2).and_then(|&c| hex(c))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    let s = String::from_utf8(out).map_err(|_| bad())?;
    if s.contains('\0') {
        return Err(bad());
    }
    Ok(s)
}

/// The value of `key` in a raw query string, %-decoded (`+` is a space).
pub fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| unquote(&v.replace('+', " ")).unwrap_or_default())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::percent::quote;

    fn ep(t: &str) -> Result<Endpoint> {
        parse(t).map(|(e, _)| e)
    }

    #[test]
    fn routes_the_fixed_paths() {
        assert_eq!(ep("/healthcheck").unwrap(), Endpoint::Healthcheck);
        assert_eq!(ep("/info").unwrap(), Endpoint::Info);
        for p in ["/auth/v1.0", "/auth/v1", "/v1.0"] {
            assert_eq!(ep(p).unwrap(), Endpoint::Auth, "{p}");
        }
    }

    #[test]
    fn routes_accounts_containers_objects() {
        let a = || "AUTH_test".to_string();
        assert_eq!(ep("/v1/AUTH_test").unwrap(), Endpoint::Account { account: a() });
        assert_eq!(ep("/v1.0/AUTH_test/").unwrap(), Endpoint::Account { account: a() });
        assert_eq!(
            ep("/v1/AUTH_test/c?format=json").unwrap(),
            Endpoint::Container { account: a(), container: "c".into() }
        );
        assert_eq!(ep("/v1/AUTH_test/c/").unwrap(), Endpoint::Container { account: a(), container: "c".into() });
        assert_eq!(
            ep("/v1/AUTH_test/c/a/b%20c/").unwrap(),
            Endpoint::Object { account: a(), container: "c".into(), object: "a/b c/".into() }
        );
        assert_eq!(parse("/v1/AUTH_test/c?limit=2&x").unwrap().1, "limit=2&x");
    }

    #[test]
    fn unknown_and_bad_paths() {
        for p in ["/", "//v1/AUTH_test", "/v2/AUTH_test", "/v1//c", "/v1//c/o", "/v1///o"] {
            assert_eq!(ep(p).unwrap_err().status(), 404, "{p}");
        }
    }

    #[test]
    fn a_path_without_an_account_is_a_bad_url() {
        for p in ["/v1", "/v1/", "/nope", "/info%20asdf"] {
            let e = ep(p).unwrap_err();
            assert_eq!((e.status(), e.to_string()), (412, "Bad URL".to_string()), "{p}");
        }
        assert_eq!(ep("/v1/AUTH_test/c/%FF").unwrap_err().status(), 412);
        assert_eq!(ep("/v1/AUTH_test/c/%00").unwrap_err().status(), 412);
    }

    #[test]
    fn quoting_round_trips() {
        assert_eq!(quote("/sda/1/a/c/o x\u{2603}"), "/sda/1/a/c/o%20x%E2%98%83");
        assert_eq!(unquote(&quote("/a b/\u{e9}")).unwrap(), "/a b/\u{e9}");
        assert_eq!(query_param("a=1&prefix=x+y%2F&b", "prefix").as_deref(), Some("x y/"));
        assert_eq!(query_param("a=1", "b"), None);
    }
}
