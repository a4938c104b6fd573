//! Container ACLs (`swift/common/middleware/acl.py`): `X-Container-Read`
//! takes `.r:<referrer>` (`*`, a host, `.domain`, `-` to deny),
//! `.rlistings`, `account` and `account:user`; `X-Container-Write` takes
//! accounts and users only. Account ACLs (`X-Account-Access-Control`,
//! TempAuth's version-2 JSON: `admin`, `read-write`, `read-only` lists)
//! are kept in the account's `X-Account-Sysmeta-Core-Access-Control`.

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

/// Where an account keeps its ACL (Swift's sysmeta name).
pub const ACCOUNT_ACL_SYSMETA: &str = "X-Account-Sysmeta-Core-Access-Control";

/// An account's ACL: who is `admin` (an owner), `read-write` (everything
/// below the account, and reading it) and `read-only` (GET/HEAD).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AccountAcl {
    pub admin: Vec<String>,
    pub read_write: Vec<String>,
    pub read_only: Vec<String>,
}

const ACCOUNT_ACL_KEYS: [&str; 3] = ["admin", "read-write", "read-only"];

/// Swift's `parse_acl(version=2)`: `{}` for an empty string, `None` for
/// anything but a JSON object.
fn parse_v2(data: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    if data.is_empty() {
        return Some(serde_json::Map::new());
    }
    match serde_json::from_str(data) {
        Ok(serde_json::Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// TempAuth's check of an `X-Account-Access-Control` value: `Err` with
/// Swift's message for what is wrong.
pub fn check_account_acl(value: &str) -> std::result::Result<(), String> {
    let m = parse_v2(value).ok_or_else(|| format!("Syntax error in input ({value:?})"))?;
    if let Some(k) = m.keys().find(|k| !ACCOUNT_ACL_KEYS.contains(&k.as_str())) {
        return Err(format!("Key {} not recognized", serde_json::Value::from(k.as_str())));
    }
    for (k, v) in &m {
        let list = v.as_array().ok_or_else(|| format!("Value for key {} must be a list", serde_json::json!(k)))?;
        if !list.iter().all(serde_json::Value::is_string) {
            return Err(format!("Elements of {} list must be strings", serde_json::json!(k)));
        }
    }
    Ok(())
}

/// Swift's `acls_from_account_info`: the stored ACL, or `None` when there
/// is none, it does not parse, or every list is empty.
pub fn account_acl(stored: Option<&str>) -> Option<AccountAcl> {
    let m = parse_v2(stored?)?;
    let list = |k: &str| -> Vec<String> {
        let items = m.get(k).and_then(serde_json::Value::as_array);
        items.map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect()).unwrap_or_default()
    };
    let acl = AccountAcl { admin: list("admin"), read_write: list("read-write"), read_only: list("read-only") };
    let empty = acl.admin.is_empty() && acl.read_write.is_empty() && acl.read_only.is_empty();
    (!empty).then_some(acl)
}

/// Swift's `format_acl(version=2)` of the stored ACL, for its owners'
/// `X-Account-Access-Control`: compact JSON, sorted keys, ASCII only;
/// `None` for an empty or unparsable one.
pub fn format_account_acl(stored: &str) -> Option<String> {
    let m = parse_v2(stored).filter(|m| !m.is_empty())?;
    // serde_json's Map is ordered by key (no `preserve_order` feature).
    let json = serde_json::Value::Object(m).to_string();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    Some(out)
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

    #[test]
    fn account_acls_are_checked_read_and_formatted_as_tempauth() {
        assert_eq!(check_account_acl(r#"{"admin":["a:b"],"read-only":[]}"#), Ok(()));
        assert_eq!(check_account_acl(""), Ok(()));
        assert_eq!(check_account_acl("{}"), Ok(()));
        assert!(check_account_acl("invalid").unwrap_err().starts_with("Syntax error in input"));
        assert!(check_account_acl("[1]").unwrap_err().starts_with("Syntax error in input"));
        assert_eq!(check_account_acl(r#"{"admin":[],"x":1}"#), Err("Key \"x\" not recognized".into()));
        assert_eq!(check_account_acl(r#"{"admin":"a"}"#), Err("Value for key \"admin\" must be a list".into()));
        assert_eq!(
            check_account_acl(r#"{"read-write":[1]}"#),
            Err("Elements of \"read-write\" list must be strings".into())
        );

        let acl = account_acl(Some(r#"{"read-only":["test:tester3"],"admin":["x"]}"#)).unwrap();
        assert_eq!(
            (acl.admin, acl.read_only, acl.read_write),
            (vec!["x".to_string()], vec!["test:tester3".to_string()], vec![])
        );
        assert_eq!(account_acl(Some("{}")), None);
        assert_eq!(account_acl(Some(r#"{"admin":[]}"#)), None);
        assert_eq!(account_acl(Some("garbage")), None);
        assert_eq!(account_acl(None), None);

        assert_eq!(
            format_account_acl(r#"{ "read-only": ["b"], "admin": ["a"] }"#).unwrap(),
            r#"{"admin":["a"],"read-only":["b"]}"#
        );
        assert_eq!(format_account_acl(r#"{"admin":["é"]}"#).unwrap(), r#"{"admin":["\u00e9"]}"#);
        assert_eq!(format_account_acl("{}"), None);
        assert_eq!(format_account_acl(""), None);
    }
}
