//! Swift's constraints (`swift/common/constraints.py`): defaults,
//! `[swift-constraints]` overrides from swift.conf, the checks, and the
//! `swift` section of `/info`.

use crate::endpoint::unquote;
use crate::error::{Error, Result};
use http::Headers;
use serde_json::{json, Value};

pub use common::constraints::Constraints;

/// What the proxy does with the constraints: `/info` and the checks of a
/// request against them (Swift's `check_*`), answered with its errors.
pub trait Checks {
    fn info(&self) -> Value;
    fn check_metadata(&self, headers: &Headers, kind: &str) -> Result<()>;
    fn check_names(&self, account: &str, container: Option<&str>, object: Option<&str>) -> Result<()>;
    fn check_object_size(&self, headers: &Headers) -> Result<()>;
    fn check_limit(&self, limit: Option<&str>, max: usize) -> Result<()>;
}

impl Checks for Constraints {
    /// The `swift` section of `/info`.
    fn info(&self) -> Value {
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "max_file_size": self.max_file_size,
            "max_meta_name_length": self.max_meta_name_length,
            "max_meta_value_length": self.max_meta_value_length,
            "max_meta_count": self.max_meta_count,
            "max_meta_overall_size": self.max_meta_overall_size,
            "max_header_size": self.max_header_size,
            "max_object_name_length": self.max_object_name_length,
            "container_listing_limit": self.container_listing_limit,
            "account_listing_limit": self.account_listing_limit,
            "max_account_name_length": self.max_account_name_length,
            "max_container_name_length": self.max_container_name_length,
            "extra_header_count": self.extra_header_count,
            "valid_api_versions": ["v1", "v1.0"],
            "strict_cors_mode": true,
            "policies": [{"name": "Policy-0", "default": true}],
        })
    }

    /// Swift's `check_metadata` for `kind` (`object`, `container`,
    /// `account`): name and value lengths, count and overall size.
    fn check_metadata(&self, headers: &Headers, kind: &str) -> Result<()> {
        let prefix = format!("x-{kind}-meta-");
        let (mut count, mut size) = (0, 0);
        for (name, value) in headers.iter() {
            let lower = name.to_ascii_lowercase();
            let Some(key) = lower.strip_prefix(&prefix) else { continue };
            if key.is_empty() {
                return Err(Error::bad_request("Metadata name cannot be empty"));
            }
            count += 1;
            size += key.len() + value.len();
            if key.len() > self.max_meta_name_length {
                return Err(Error::bad_request(format!("Metadata name too long: {name}")));
            }
            if value.len() > self.max_meta_value_length {
                return Err(Error::bad_request(format!(
                    "Metadata value longer than {}: {name}",
                    self.max_meta_value_length
                )));
            }
            if count > self.max_meta_count {
                return Err(Error::bad_request(format!("Too many metadata items; max {}", self.max_meta_count)));
            }
            if size > self.max_meta_overall_size {
                return Err(Error::bad_request(format!(
                    "Total metadata too large; max {}",
                    self.max_meta_overall_size
                )));
            }
        }
        Ok(())
    }

    /// Name lengths of an account, container and object.
    fn check_names(&self, account: &str, container: Option<&str>, object: Option<&str>) -> Result<()> {
        if account.len() > self.max_account_name_length {
            return Err(Error::bad_request(format!(
                "Account name length of {} longer than {}",
                account.len(),
                self.max_account_name_length
            )));
        }
        if let Some(c) = container.filter(|c| c.len() > self.max_container_name_length) {
            return Err(Error::bad_request(format!(
                "Container name length of {} longer than {}",
                c.len(),
                self.max_container_name_length
            )));
        }
        if let Some(o) = object.filter(|o| o.len() > self.max_object_name_length) {
            return Err(Error::bad_request(format!(
                "Object name length of {} longer than {}",
                o.len(),
                self.max_object_name_length
            )));
        }
        Ok(())
    }

    /// The size rules of an object PUT (Swift's `check_object_creation`):
    /// 413 over `max_file_size`, 411 without any length, 400 for a bad one.
    fn check_object_size(&self, headers: &Headers) -> Result<()> {
        let chunked = headers.get("Transfer-Encoding").is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"));
        match headers.get("Content-Length") {
            Some(v) => {
                let n: u64 = v.trim().parse().map_err(|_| Error::bad_request("Invalid Content-Length"))?;
                if n > self.max_file_size {
                    return Err(Error::TooLarge(format!("Your request is too large (max {}).", self.max_file_size)));
                }
                Ok(())
            }
            None if chunked => Ok(()),
            None => Err(Error::LengthRequired),
        }
    }

    /// A listing `limit` over the maximum is 412, as in Swift's
    /// `constrain_req_limit`; one that is not all digits (`5000.0`) is
    /// ignored there (the default limit applies), so it passes here.
    fn check_limit(&self, limit: Option<&str>, max: usize) -> Result<()> {
        let Some(limit) = limit.filter(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit())) else {
            return Ok(());
        };
        match limit.parse::<usize>() {
            Ok(n) if n <= max => Ok(()),
            _ => Err(Error::PreconditionFailed(format!("Maximum limit is {max}"))),
        }
    }
}

/// Swift's `_check_path_header`: `[/]container/object`, %-decoded (the
/// object may hold more slashes); anything else is 412. For the headers
/// that name another object: `X-Copy-From`, `Destination`,
/// `X-Symlink-Target`.
#[doc(alias = "check_path_header")]
pub fn parse_path(value: &str, header: &str) -> Result<(String, String)> {
    let path = unquote(value)?;
    let path = path.strip_prefix('/').unwrap_or(&path);
    match path.split_once('/') {
        Some((c, o)) if !c.is_empty() && !o.is_empty() => Ok((c.to_string(), o.to_string())),
        _ => Err(Error::PreconditionFailed(format!(
            "{header} header must be of the form <container name>/<object name>"
        ))),
    }
}

/// Swift's `check_account_format` for `X-Copy-From-Account`,
/// `Destination-Account` and `X-Symlink-Target-Account`.
#[doc(alias = "check_account_format")]
pub fn parse_account(value: &str) -> Result<String> {
    let account = unquote(value)?;
    if account.is_empty() {
        return Err(Error::PreconditionFailed("Account name is required".into()));
    }
    if account.contains('/') {
        return Err(Error::PreconditionFailed("Account name cannot contain slashes".into()));
    }
    Ok(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, String)]) -> Headers {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn metadata_limits_are_swifts() {
        let c = Constraints::default();
        let ok: Vec<(&str, String)> = (0..90).map(|_| ("X-Object-Meta-K", "v".to_string())).collect();
        assert!(c.check_metadata(&headers(&ok), "object").is_ok());
        let many: Vec<(String, String)> = (0..91).map(|i| (format!("X-Object-Meta-K{i}"), "v".into())).collect();
        let many: Headers = many.into_iter().collect();
        assert_eq!(c.check_metadata(&many, "object").unwrap_err().status(), 400);
        let long_name: Headers =
            [(format!("X-Container-Meta-{}", "n".repeat(129)), "v".to_string())].into_iter().collect();
        assert_eq!(c.check_metadata(&long_name, "container").unwrap_err().status(), 400);
        let long_value = headers(&[("X-Account-Meta-A", "v".repeat(257))]);
        assert_eq!(c.check_metadata(&long_value, "account").unwrap_err().status(), 400);
        let big: Headers = (0..20).map(|i| (format!("X-Object-Meta-K{i:02}"), "v".repeat(250))).collect();
        assert!(c.check_metadata(&big, "object").unwrap_err().to_string().contains("Total metadata"));
    }

    #[test]
    fn object_sizes_give_411_413_400() {
        let c = Constraints::default();
        assert_eq!(c.check_object_size(&Headers::new()).unwrap_err().status(), 411);
        let big = headers(&[("Content-Length", "5368709123".into())]);
        assert_eq!(c.check_object_size(&big).unwrap_err().status(), 413);
        assert!(c.check_object_size(&headers(&[("Content-Length", "5368709122".into())])).is_ok());
        assert!(c.check_object_size(&headers(&[("Transfer-Encoding", "chunked".into())])).is_ok());
        assert_eq!(c.check_object_size(&headers(&[("Content-Length", "x".into())])).unwrap_err().status(), 400);
    }

    #[test]
    fn names_and_limits() {
        let c = Constraints::default();
        assert!(c.check_names("a", Some(&"c".repeat(256)), Some(&"o".repeat(1024))).is_ok());
        assert!(c.check_names("a", Some(&"c".repeat(257)), None).is_err());
        assert!(c.check_names("a", Some("c"), Some(&"o".repeat(1025))).is_err());
        assert_eq!(c.check_limit(Some("10001"), 10000).unwrap_err().status(), 412);
        assert!(c.check_limit(Some("10000"), 10000).is_ok());
        assert_eq!(c.check_limit(Some("99999999999999999999999"), 10000).unwrap_err().status(), 412);
        assert!(c.check_limit(Some("5000.0"), 10000).is_ok(), "not digits: ignored, as Swift");
    }

    #[test]
    fn paths_are_container_slash_object() {
        assert_eq!(parse_path("/c/o", "X-Copy-From").unwrap(), ("c".into(), "o".into()));
        assert_eq!(parse_path("c/a/b%20c", "X-Copy-From").unwrap(), ("c".into(), "a/b c".into()));
        for bad in ["", "/", "c", "/c", "/c/", "//o"] {
            let e = parse_path(bad, "Destination").unwrap_err();
            assert_eq!(e.status(), 412, "{bad}");
            assert!(e.to_string().contains("Destination header must be of the form"), "{e}");
        }
        assert_eq!(parse_path("/c/%FF", "X-Copy-From").unwrap_err().status(), 412);
        assert_eq!(parse_account("AUTH_x").unwrap(), "AUTH_x");
        assert_eq!(parse_account("a/b").unwrap_err().status(), 412);
        assert_eq!(parse_account("").unwrap_err().status(), 412);
    }
}
