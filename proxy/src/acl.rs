//! Container ACLs (`swift/common/middleware/acl.py`): `X-Container-Read`
//! takes `.r:<referrer>` (`*`, a host, `.domain`, `-` to deny),
//! `.rlistings`, `account` and `account:user`; `X-Container-Write` takes
//! accounts and users only.

use crate::error::{Error, Result};

/// Referrer rules and groups of an ACL string.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Acl {
    pub referrers: Vec<String>,
    pub groups: Vec<String>,
}

/// Swift's `parse_acl` (version 1).
pub fn parse(acl: Option<&str>) -> Acl {
    let mut out = Acl::default();
    for item in acl.unwrap_or("").split(',').map(str::trim).filter(|v| !v.is_empty()) {
        match item.strip_prefix(".r:") {
            Some(r) => out.referrers.push(r.to_string()),
            None => out.groups.push(item.to_string()),
        }
    }
    out
}

/// Swift's `referrer_allowed`: the last matching rule wins.
pub fn referrer_allowed(referrer: Option<&str>, rules: &[String]) -> bool {
    let host = referrer.and_then(url_host).unwrap_or_else(|| "unknown".into());
    let matches = |rule: &str| rule == host || (rule.starts_with('.') && host.ends_with(rule));
    let mut allow = false;
    for rule in rules {
        match rule.strip_prefix('-') {
            Some(r) if matches(r) => allow = false,
            Some(_) => {}
            None if rule == "*" || matches(rule) => allow = true,
            None => {}
        }
    }
    allow
}

fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit('@').next()?;
    let host = hostport.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Swift's `clean_acl`: normalises an ACL header value (`.ref:`,
/// `.referer:`, `.referrer:` become `.r:`) and rejects what it cannot
/// mean (400).
pub fn clean(header: &str, value: &str) -> Result<String> {
    let write = header.eq_ignore_ascii_case("x-container-write");
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        if !item.starts_with('.') {
            out.push(item.to_string());
            continue;
        }
        if item == ".rlistings" && !write {
            out.push(item.to_string());
            continue;
        }
        let (kind, rest) = item.split_once(':').unwrap_or((item, ""));
        if ![".r", ".ref", ".referer", ".referrer"].contains(&kind) {
            return Err(Error::bad_request(format!("Unknown designator {kind:?} in ACL {value:?}")));
        }
        if write {
            return Err(Error::bad_request(format!("Referrers not allowed in write ACL: {value:?}")));
        }
        let rest = rest.trim();
        let (negate, host) = match rest.strip_prefix('-') {
            Some(h) => ("-", h.trim()),
            None => ("", rest),
        };
        // `*.example.com` means `.example.com`; `*` alone is any host.
        let host = if host != "*" { host.strip_prefix('*').map_or(host, str::trim) } else { host };
        if host.is_empty() || host == "." {
            return Err(Error::bad_request(format!(
                "No host/domain value after referrer designation in ACL: {value:?}"
            )));
        }
        out.push(format!(".r:{negate}{host}"));
    }
    Ok(out.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_referrers_and_groups() {
        let acl = parse(Some(".r:*, .rlistings,test:tester3 , test2"));
        assert_eq!(acl.referrers, vec!["*"]);
        assert_eq!(acl.groups, vec![".rlistings", "test:tester3", "test2"]);
        assert_eq!(parse(None), Acl::default());
    }

    #[test]
    fn referrer_rules_as_swift() {
        let rules = |s: &str| parse(Some(s)).referrers;
        assert!(referrer_allowed(None, &rules(".r:*")));
        assert!(referrer_allowed(Some("http://www.example.com/x"), &rules(".r:.example.com")));
        assert!(!referrer_allowed(Some("http://www.example.com/x"), &rules(".r:*,.r:-www.example.com")));
        assert!(referrer_allowed(Some("http://user@a.b:80/"), &rules(".r:a.b")));
        assert!(!referrer_allowed(Some("http://c.d/"), &rules(".r:a.b")));
        assert!(!referrer_allowed(None, &rules(".r:a.b")));
        assert!(!referrer_allowed(Some("http://a.b/"), &[]));
    }

    #[test]
    fn clean_normalises_and_rejects() {
        assert_eq!(clean("X-Container-Read", ".ref:*, .rlistings, a:b").unwrap(), ".r:*,.rlistings,a:b");
        assert_eq!(clean("X-Container-Read", ".referrer:-x.y").unwrap(), ".r:-x.y");
        assert_eq!(clean("X-Container-Read", ".r:*.example.com,.r:- *.x.y").unwrap(), ".r:.example.com,.r:-.x.y");
        assert!(clean("X-Container-Read", ".r:*.").is_err());
        assert!(clean("X-Container-Read", ".r:").is_err());
        assert!(clean("X-Container-Read", ".bogus:x").is_err());
        assert!(clean("X-Container-Write", ".r:*").is_err());
        assert!(clean("X-Container-Write", ".rlistings").is_err());
        assert_eq!(clean("X-Container-Write", "a, b:c").unwrap(), "a,b:c");
    }
}
