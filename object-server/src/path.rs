//! Backend paths, parsed and validated before anything touches the disk.
//!
//! `/{device}/{partition}/{account}[/{container}[/{object}]]`, %-decoded,
//! UTF-8, no NUL. The device must be a single plain path component (never
//! `.`, `..`, empty or containing `/`) and the partition a decimal number,
//! so that `devices/{device}/objects/{partition}` can never leave
//! `devices/`; names are only ever hashed, never used as paths.
//!
//! [`route`] turns a request into a [`Route`] by depth (and, for
//! `REPLICATE`, by shape), so dispatch is unit-tested.

use crate::error::{Error, Result};
use crate::object::diskfile::layout::{is_hash, is_suffix};

/// Longest device name accepted (a file name).
pub const MAX_DEVICE_LEN: usize = 255;

/// An account or container path (depth 3 or 4), for `account.rs` and
/// `container.rs`; or an object row sent to a container (depth 5 with the
/// container-update marker header, see [`route`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendPath {
    pub device: String,
    pub partition: u32,
    pub account: String,
    /// Set for container paths.
    pub container: Option<String>,
    /// Set for object rows sent to a container (container updates).
    pub object: Option<String>,
    /// The raw query string (after `?`, still %-encoded), if any.
    pub query: Option<String>,
}

impl BackendPath {
    /// The query's `key=value` pairs, %-decoded (`+` is a space). Pairs
    /// that do not decode to UTF-8 are skipped.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let Some(q) = &self.query else { return Vec::new() };
        q.split('&')
            .filter(|p| !p.is_empty())
            .filter_map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                let k = String::from_utf8(percent_decode(&k.replace('+', " ")).ok()?).ok()?;
                let v = String::from_utf8(percent_decode(&v.replace('+', " ")).ok()?).ok()?;
                Some((k, v))
            })
            .collect()
    }
}

/// An object path (depth 5; the object name may hold `/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectPath {
    pub device: String,
    pub partition: u32,
    pub account: String,
    pub container: String,
    pub object: String,
}

impl ObjectPath {
    /// `/{account}/{container}/{object}`: Swift's `name` metadata.
    pub fn name(&self) -> String {
        format!("/{}/{}/{}", self.account, self.container, self.object)
    }
}

/// Where a request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Account(BackendPath),
    Container(BackendPath),
    Object(ObjectPath),
    /// `REPLICATE /{device}/{partition}[/{suffix}-{suffix}...]`: the
    /// partition's suffix hashes, recalculating the listed suffixes.
    Replicate {
        device: String,
        partition: u32,
        suffixes: Vec<String>,
    },
    /// swiftlet's ssync (docs/replication.md), from the object replicator
    /// of a peer: `SSYNC /{device}/{partition}/{suffix}-{suffix}...` lists
    /// what those suffixes hold; `SSYNC /{device}/{partition}/{hash}/{file}`
    /// takes one file (`{timestamp}.data|.meta|.ts`).
    Ssync {
        device: String,
        partition: u32,
        what: SsyncTarget,
    },
}

/// What an `SSYNC` request is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SsyncTarget {
    /// The hash folders of these suffixes and their files' timestamps.
    List(Vec<String>),
    /// One file of one hash folder.
    File { hash: String, name: String },
}

/// Decodes `%XX` escapes; a bad escape is an error (400).
fn percent_decode(s: &str) -> Result<Vec<u8>> {
    common::percent::decode_strict(s).ok_or_else(|| Error::bad_request("Invalid %-escape in path"))
}

fn check_device(d: &str) -> Result<()> {
    if d.is_empty() || d == "." || d == ".." || d.len() > MAX_DEVICE_LEN || d.contains(['/', '\0']) {
        return Err(Error::bad_request(format!("Invalid device: {d:?}")));
    }
    Ok(())
}

fn parse_partition(p: &str) -> Result<u32> {
    if p.is_empty() || p.len() > 10 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::bad_request(format!("Invalid partition: {p:?}")));
    }
    p.parse().map_err(|_| Error::bad_request(format!("Invalid partition: {p:?}")))
}

fn is_suffix_list(s: &str) -> bool {
    s.split('-').all(is_suffix)
}

/// Parses a request's method and target into a [`Route`].
///
/// Depth 3 is an account, 4 a container, 5 an object, except that a
/// depth-5 request marked as a container update (`container_update`:
/// the request carries [`crate::object::container_update::MARKER_HEADER`]) is an
/// object row for the container, routed as `Route::Container` with
/// `object` set: in Swift those go to a separate container-server port,
/// here one process serves both.
pub fn route(method: &str, target: &str, container_update: bool) -> Result<Route> {
    let (raw_path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (target, None),
    };
    let decoded = percent_decode(raw_path)?;
    let path = String::from_utf8(decoded).map_err(|_| Error::bad_request("Invalid UTF8 or contains NULL"))?;
    if path.contains('\0') {
        return Err(Error::bad_request("Invalid UTF8 or contains NULL"));
    }
    let rest = path.strip_prefix('/').ok_or_else(|| Error::bad_request("Invalid path"))?;
    let mut parts: Vec<&str> = rest.splitn(5, '/').collect();
    // A trailing slash after the account or container names nothing more.
    if parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() < 2 {
        return Err(Error::bad_request(format!("Invalid path: {path}")));
    }
    check_device(parts[0])?;
    let partition = parse_partition(parts[1])?;
    let device = parts[0].to_string();
    if method == "REPLICATE" && (parts.len() == 2 || (parts.len() == 3 && is_suffix_list(parts[2]))) {
        let suffixes = parts.get(2).map(|s| s.split('-').map(str::to_string).collect()).unwrap_or_default();
        return Ok(Route::Replicate { device, partition, suffixes });
    }
    if method == "SSYNC" {
        let what = match &parts[2..] {
            [list] if is_suffix_list(list) => SsyncTarget::List(list.split('-').map(str::to_string).collect()),
            [hash, name] if is_hash(hash) && !name.contains('/') => {
                SsyncTarget::File { hash: hash.to_string(), name: name.to_string() }
            }
            _ => return Err(Error::bad_request(format!("Invalid SSYNC path: {path} (swiftlet's ssync, not Swift's)"))),
        };
        return Ok(Route::Ssync { device, partition, what });
    }
    if parts.len() < 3 || parts[2..].iter().any(|p| p.is_empty()) {
        return Err(Error::bad_request(format!("Invalid path: {path}")));
    }
    let account = parts[2].to_string();
    Ok(match parts.len() {
        3 => Route::Account(BackendPath { device, partition, account, container: None, object: None, query }),
        4 => Route::Container(BackendPath {
            device,
            partition,
            account,
            container: Some(parts[3].into()),
            object: None,
            query,
        }),
        _ if container_update => Route::Container(BackendPath {
            device,
            partition,
            account,
            container: Some(parts[3].into()),
            object: Some(parts[4].into()),
            query,
        }),
        _ => Route::Object(ObjectPath {
            device,
            partition,
            account,
            container: parts[3].to_string(),
            object: parts[4].to_string(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::percent::quote;

    fn obj(d: &str, p: u32, a: &str, c: &str, o: &str) -> Route {
        Route::Object(ObjectPath {
            device: d.into(),
            partition: p,
            account: a.into(),
            container: c.into(),
            object: o.into(),
        })
    }

    #[test]
    fn routes_by_depth() {
        assert_eq!(route("GET", "/sda/1/a/c/o", false).unwrap(), obj("sda", 1, "a", "c", "o"));
        assert_eq!(
            route("GET", "/sda/1/a/c/o/with/slashes/", false).unwrap(),
            obj("sda", 1, "a", "c", "o/with/slashes/")
        );
        match route("GET", "/sda/1/a/c?format=json&prefix=x%2Fy", false).unwrap() {
            Route::Container(p) => {
                assert_eq!(p.container.as_deref(), Some("c"));
                assert_eq!(p.query_pairs(), vec![("format".into(), "json".into()), ("prefix".into(), "x/y".into())]);
            }
            r => panic!("{r:?}"),
        }
        assert!(matches!(route("HEAD", "/sda/1/a", false).unwrap(), Route::Account(_)));
        assert!(matches!(route("HEAD", "/sda/1/a/", false).unwrap(), Route::Account(_)));
        assert!(matches!(route("PUT", "/sda/1/a/c/", false).unwrap(), Route::Container(_)));
        match route("DELETE", "/sda/1/a/c/o/x", true).unwrap() {
            Route::Container(p) => assert_eq!(p.object.as_deref(), Some("o/x")),
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn decodes_names() {
        assert_eq!(route("PUT", "/sda/0/a/c/%E2%98%83%20x", false).unwrap(), obj("sda", 0, "a", "c", "\u{2603} x"));
        let long = "o".repeat(1024);
        assert_eq!(route("PUT", &format!("/d/7/a/c/{long}"), false).unwrap(), obj("d", 7, "a", "c", &long));
    }

    #[test]
    fn replicate_takes_partition_and_suffixes() {
        assert_eq!(
            route("REPLICATE", "/sda/12/abc-0f1", false).unwrap(),
            Route::Replicate { device: "sda".into(), partition: 12, suffixes: vec!["abc".into(), "0f1".into()] }
        );
        assert_eq!(
            route("SSYNC", "/sda/12/abc-0f1", false).unwrap(),
            Route::Ssync {
                device: "sda".into(),
                partition: 12,
                what: SsyncTarget::List(vec!["abc".into(), "0f1".into()])
            }
        );
        assert_eq!(
            route("SSYNC", "/sda/12/0123456789abcdef0123456789abcdef/1700000000.00000.data", false).unwrap(),
            Route::Ssync {
                device: "sda".into(),
                partition: 12,
                what: SsyncTarget::File {
                    hash: "0123456789abcdef0123456789abcdef".into(),
                    name: "1700000000.00000.data".into()
                }
            }
        );
        for bad in ["/sda/12", "/sda/12/a/c/o", "/sda/12/0123456789ABCDEF0123456789ABCDEF/x.data", "/sda/12/xyz"] {
            assert!(route("SSYNC", bad, false).is_err(), "{bad}");
        }
        assert_eq!(
            route("REPLICATE", "/sda/12", false).unwrap(),
            Route::Replicate { device: "sda".into(), partition: 12, suffixes: vec![] }
        );
        // A database hash is for the container/account side.
        assert!(matches!(
            route("REPLICATE", "/sda/12/0123456789abcdef0123456789abcdef", false).unwrap(),
            Route::Account(_)
        ));
    }

    #[test]
    fn nothing_escapes_devices() {
        for bad in [
            "/../1/a/c/o",
            "/./1/a/c/o",
            "/%2E%2E/1/a/c/o",
            "/sda%2F..%2F..%2Fetc/1/a/c/o",
            "//1/a/c/o",
            "/sda/../a/c/o",
            "/sda/-1/a/c/o",
            "/sda/1x/a/c/o",
            "/sda/99999999999/a/c/o",
            "/sda/1/a//o",
            "/sda/1//c/o",
            "/sda/1/a/c/o%00",
            "/sda/1/a/c/%FF",
            "/sda/1/a/c/%zz",
            "sda/1/a/c/o",
            "/sda",
        ] {
            assert_eq!(route("GET", bad, false).map_err(|e| e.status()), Err(400), "{bad}");
        }
    }

    #[test]
    fn quotes_backend_paths() {
        assert_eq!(quote("/sda/1/a/c/o x\u{2603}"), "/sda/1/a/c/o%20x%E2%98%83");
    }
}
