//! Backend request targets, as the object server routes them.
//!
//! Input: one byte (bits 0-2 pick the method, bit 3 marks a container
//! update), then the request target (lossy UTF-8). Checks that
//! `path::route` never panics, refuses only with 400, and that what it
//! accepts is safe and faithful: the device is one plain path component
//! (never empty, `.`, `..`, or holding `/` or NUL), the partition is the
//! decimal number written in the path, every name is the %-decoded text
//! between the slashes, the route kind follows the depth and the method,
//! and quoting the route back into a path routes to the same thing. The
//! target is also fed as a query string: `query_pairs` decodes, and pairs
//! re-encoded decode to the same pairs; and to `common::percent`: the
//! strict and the lax (Python's `unquote`) decodings agree where the strict
//! one accepts, and both undo `quote`.
#![no_main]

use common::percent::{decode, decode_strict, quote};
use libfuzzer_sys::fuzz_target;
use object_server::path::{route, BackendPath, ObjectPath, Route, SsyncTarget, MAX_DEVICE_LEN};

const METHODS: [&str; 8] = ["GET", "HEAD", "PUT", "POST", "DELETE", "REPLICATE", "OPTIONS", "replicate"];

fuzz_target!(|input: &[u8]| {
    let Some((&sel, rest)) = input.split_first() else {
        return;
    };
    let method = METHODS[usize::from(sel & 7)];
    let container_update = sel & 8 != 0;
    let target = String::from_utf8_lossy(rest);
    check_route(method, &target, container_update);
    check_query(&target);
    check_percent(&target);
});

fn check_route(method: &str, target: &str, container_update: bool) {
    let routed = match route(method, target, container_update) {
        Ok(r) => r,
        Err(e) => {
            assert_eq!(e.status(), 400, "{target:?}: {e:?}");
            return;
        }
    };
    let (raw_path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let path = String::from_utf8(decode_strict(raw_path).expect("routed a bad %-escape")).expect("routed non-UTF-8");
    assert!(!path.contains('\0'), "routed a NUL: {path:?}");
    let rest = path.strip_prefix('/').expect("routed a path without a leading /");
    let mut parts: Vec<&str> = rest.splitn(5, '/').collect();
    if parts.last() == Some(&"") {
        parts.pop();
    }
    let (device, partition) = match &routed {
        Route::Account(p) | Route::Container(p) => (&p.device, p.partition),
        Route::Object(o) => (&o.device, o.partition),
        Route::Replicate { device, partition, .. } | Route::Ssync { device, partition, .. } => (device, *partition),
    };
    // The device stays inside devices/: one plain component.
    assert!(!device.is_empty() && device != "." && device != "..", "device {device:?}");
    assert!(!device.contains(['/', '\0']) && device.len() <= MAX_DEVICE_LEN, "device {device:?}");
    assert_eq!(device, parts[0]);
    // The partition is the number written, digits only.
    assert!(parts[1].bytes().all(|b| b.is_ascii_digit()), "partition {:?}", parts[1]);
    assert_eq!(parts[1].parse::<u64>().ok(), Some(u64::from(partition)), "partition {:?}", parts[1]);
    match &routed {
        Route::Replicate { suffixes, .. } => {
            assert_eq!(method, "REPLICATE");
            assert!(parts.len() <= 3);
            assert_eq!(suffixes.join("-"), parts.get(2).copied().unwrap_or(""));
            for s in suffixes {
                assert!(s.len() == 3 && s.bytes().all(|b| b.is_ascii_hexdigit()), "suffix {s:?}");
            }
        }
        Route::Ssync { what: SsyncTarget::List(suffixes), .. } => {
            assert_eq!(method, "SSYNC");
            assert_eq!(parts.len(), 3);
            assert_eq!(suffixes.join("-"), parts[2]);
            for s in suffixes {
                assert!(s.len() == 3 && s.bytes().all(|b| b.is_ascii_hexdigit()), "suffix {s:?}");
            }
        }
        Route::Ssync { what: SsyncTarget::File { hash, name }, .. } => {
            assert_eq!(method, "SSYNC");
            assert_eq!(parts.len(), 4);
            assert_eq!([hash.as_str(), name.as_str()], parts[2..]);
            assert!(hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "hash {hash:?}");
            assert!(!name.is_empty() && !name.contains(['/', '\0']), "file {name:?}");
        }
        Route::Account(p) => {
            assert_eq!(parts.len(), 3);
            check_backend_path(p, &parts, query);
        }
        Route::Container(p) => {
            assert_eq!(p.object.is_some(), parts.len() == 5, "{parts:?}");
            assert!(p.object.is_none() || container_update, "an object row without the container-update marker");
            check_backend_path(p, &parts, query);
        }
        Route::Object(o) => {
            assert!(!container_update, "a container update routed as an object");
            assert_eq!(parts.len(), 5);
            let ObjectPath { account, container, object, .. } = o;
            assert_eq!([account.as_str(), container.as_str(), object.as_str()], parts[2..]);
            assert!(!account.is_empty() && !container.is_empty() && !object.is_empty());
            assert!(!account.contains('/') && !container.contains('/'));
            assert_eq!(o.name(), format!("/{account}/{container}/{object}"));
        }
    }
    // Quoting the route back into a path routes to the same thing (leading
    // zeros of the partition and a trailing slash aside).
    let mut canonical = format!("/{device}/{partition}");
    match &routed {
        Route::Replicate { suffixes, .. } if !suffixes.is_empty() => canonical += &format!("/{}", suffixes.join("-")),
        Route::Replicate { .. } => {}
        Route::Ssync { what: SsyncTarget::List(suffixes), .. } => canonical += &format!("/{}", suffixes.join("-")),
        Route::Ssync { what: SsyncTarget::File { hash, name }, .. } => canonical += &format!("/{hash}/{name}"),
        Route::Account(p) | Route::Container(p) => {
            for name in [Some(&p.account), p.container.as_ref(), p.object.as_ref()].into_iter().flatten() {
                canonical += &format!("/{name}");
            }
        }
        Route::Object(o) => canonical += &format!("/{}/{}/{}", o.account, o.container, o.object),
    }
    let mut again = quote(&canonical);
    if let Some(q) = query {
        again += &format!("?{q}");
    }
    assert_eq!(route(method, &again, container_update).ok(), Some(routed), "{target:?} requoted as {again:?}");
}

fn check_backend_path(p: &BackendPath, parts: &[&str], query: Option<&str>) {
    let names: Vec<&str> =
        [Some(p.account.as_str()), p.container.as_deref(), p.object.as_deref()].into_iter().flatten().collect();
    assert_eq!(names, parts[2..]);
    assert!(names.iter().all(|n| !n.is_empty()), "{names:?}");
    assert!(!p.account.contains('/') && !p.container.as_deref().unwrap_or("").contains('/'));
    assert_eq!(p.query.as_deref(), query);
}

/// `query_pairs` of the input as a query string: no panic, no more pairs
/// than `&`-separated pieces, and the pairs, %-encoded again, decode to the
/// same pairs.
fn check_query(q: &str) {
    let p = BackendPath {
        device: "sda".into(),
        partition: 0,
        account: "a".into(),
        container: Some("c".into()),
        object: None,
        query: Some(q.to_string()),
    };
    let pairs = p.query_pairs();
    assert!(pairs.len() <= q.split('&').filter(|s| !s.is_empty()).count());
    let encoded: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    let again = BackendPath { query: Some(encoded.join("&")), ..p }.query_pairs();
    assert_eq!(again, pairs, "{q:?}");
}

/// %-encodes every byte but ASCII letters and digits.
fn encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// Where `decode_strict` accepts, `decode` gives the same bytes; both undo
/// `quote`, whose output is plain ASCII.
fn check_percent(s: &str) {
    let lax = decode(s);
    assert!(lax.len() <= s.len());
    if let Some(strict) = decode_strict(s) {
        assert_eq!(strict, lax, "{s:?}");
    }
    let quoted = quote(s);
    assert!(quoted.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_.~%".contains(&b)), "{quoted:?}");
    assert_eq!(decode_strict(&quoted).as_deref(), Some(s.as_bytes()), "{s:?}");
    assert_eq!(decode(&quoted), s.as_bytes(), "{s:?}");
}
