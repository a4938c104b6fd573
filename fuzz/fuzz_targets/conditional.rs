//! Conditional GET/HEAD headers, and the other header values a backend
//! parses on its own: HTTP dates, `X-Timestamp`, `format=` and `Accept`.
//!
//! Input: one byte of flags (which of the four conditions are sent), five
//! bytes of `Last-Modified` seconds, then NUL-separated `If-Match`,
//! `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`, the
//! object's ETag and two more values (lossy UTF-8). Checks that nothing
//! panics; that `Conditions::evaluate` answers as swob does, in its order
//! (If-None-Match 304, If-Match 412, If-Modified-Since 304,
//! If-Unmodified-Since 412, else proceed), against a model written from
//! that rule; that `*` and a list naming the ETag always match; that a
//! parsed HTTP date prints back (`http_date`) to the same second; that a
//! parsed `X-Timestamp` prints back to itself and orders as its text does;
//! and that `Format::choose` always answers for a `format=` or no `Accept`.
#![no_main]

mod fields;

use db::{Format, Timestamp};
use http::date::{http_date, parse_http_date};
use libfuzzer_sys::fuzz_target;
use common::etag::normalize_etag;
use object_server::conditional::{matches, Conditions, Outcome};

/// 9999-12-31T23:59:59, the last second an HTTP date here can name.
const LAST_DATE: u64 = 253_402_300_799;

fuzz_target!(|input: &[u8]| {
    if input.len() < 6 {
        return;
    }
    let flags = input[0];
    let mut lm = [0u8; 8];
    lm[..5].copy_from_slice(&input[1..6]);
    let last_modified = u64::from_le_bytes(lm) % (LAST_DATE + 1);
    let f = fields::fields(&input[6..], 7);
    let sent = |bit: u8, v: &str| (flags & bit != 0).then(|| v.to_string());
    let (im, inm, ims, ius) = (sent(1, &f[0]), sent(2, &f[1]), sent(4, &f[2]), sent(8, &f[3]));
    let etag = f[4].as_str();

    let c = Conditions {
        if_match: im.as_deref(),
        if_none_match: inm.as_deref(),
        if_modified_since: ims.as_deref(),
        if_unmodified_since: ius.as_deref(),
    };
    let outcome = c.evaluate(etag, last_modified);
    assert_eq!(outcome, model(&c, etag, last_modified), "{flags:#x} {f:?} {last_modified}");

    // `*` always matches; so does a list naming the ETag, quoted or not,
    // whatever else it holds (if the ETag is one list item).
    assert!(matches("*", etag) && matches(&format!("{}, *", f[0]), etag));
    let tag = etag.trim();
    if !tag.is_empty() && !tag.contains(',') && normalize_etag(tag) == tag && tag == etag {
        assert!(matches(&format!("{},\"{tag}\"", f[1]), etag), "{f:?}");
        assert!(matches(&format!("{tag} ,{}", f[1]), etag), "{f:?}");
    }

    // HTTP dates: the object's own Last-Modified reads back, and a parsed
    // date prints to a date naming the same second.
    assert_eq!(parse_http_date(&http_date(last_modified)), Some(last_modified));
    for d in [&f[2], &f[3]] {
        let Some(t) = parse_http_date(d) else { continue };
        assert!(t <= LAST_DATE + 1, "{d:?} is {t}");
        // (`31 Dec 9999 23:59:60`, a leap second, is the one date past what
        // prints with a four-digit year; such a date is only compared.)
        if t <= LAST_DATE {
            let printed = http_date(t);
            assert_eq!(printed.len(), 29, "{printed:?}");
            assert_eq!(parse_http_date(&printed), Some(t), "{d:?} printed as {printed:?}");
        }
    }

    // X-Timestamp.
    let ts: Vec<Timestamp> = [&f[5], &f[6]].iter().filter_map(|s| check_timestamp(s)).collect();
    if let [a, b] = ts[..] {
        assert_eq!(a.cmp(&b), a.internal().cmp(&b.internal()), "{a} vs {b}");
    }

    // `format=` and `Accept` (listings).
    let format = Format::choose(Some(&f[5]), Some(&f[6]));
    if !f[5].is_empty() {
        assert!(format.is_some());
    }
    assert!(Format::choose(None, Some(&f[6])).is_some() || !f[6].trim().is_empty());
    assert_eq!(Format::choose(None, None), Some(Format::Plain));
});

/// swob's rule, written out: the first condition sent that decides wins.
fn model(c: &Conditions<'_>, etag: &str, last_modified: u64) -> Outcome {
    let listed = |list: &str| {
        list.split(',').any(|item| {
            let t = item.trim();
            let t = t.strip_prefix('"').and_then(|u| u.strip_suffix('"')).unwrap_or(t);
            !t.is_empty() && (t == "*" || t == etag)
        })
    };
    let date = |h: Option<&str>| h.and_then(parse_http_date);
    if c.if_none_match.is_some_and(listed) {
        Outcome::NotModified
    } else if c.if_match.is_some_and(|l| !listed(l)) {
        Outcome::PreconditionFailed
    } else if date(c.if_modified_since).is_some_and(|t| last_modified <= t) {
        Outcome::NotModified
    } else if date(c.if_unmodified_since).is_some_and(|t| last_modified > t) {
        Outcome::PreconditionFailed
    } else {
        Outcome::Proceed
    }
}

/// A parsed `X-Timestamp` prints to a fixed width and parses back to itself.
fn check_timestamp(s: &str) -> Option<Timestamp> {
    let t = Timestamp::parse(s).ok()?;
    let normal = t.normal();
    assert_eq!(normal.len(), 16, "{s:?}: {normal}");
    let internal = t.internal();
    assert_eq!(internal.len(), if t.offset() == 0 { 16 } else { 33 }, "{s:?}: {internal}");
    assert_eq!(Timestamp::parse(&internal).ok(), Some(t), "{s:?}: {internal}");
    assert_eq!(Timestamp::parse(&normal).ok(), Some(t.with_offset(0)), "{s:?}: {normal}");
    assert!(t.secs() <= t.ceil_secs() && t.ceil_secs() <= t.secs() + 1);
    assert_eq!(t.isoformat().len(), 26, "{s:?}");
    Some(t)
}
