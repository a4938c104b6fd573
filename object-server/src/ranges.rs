//! `Range` requests, as Swift's `swob.Range` answers them.
//!
//! A syntactically bad header is ignored (200 with the whole body). Of the
//! valid ranges, those that start past the end are dropped; none left is
//! 416. Swift's caps against range abuse (RFC 7233 §6.1) also give 416:
//! more than [`MAX_RANGES`] ranges, more than [`MAX_RANGE_OVERLAPS`]
//! overlapping pairs, or [`MAX_NONASCENDING_RANGES`] or more ranges out of
//! order.

pub const MAX_RANGES: usize = 50;
pub const MAX_RANGE_OVERLAPS: usize = 2;
pub const MAX_NONASCENDING_RANGES: usize = 8;

/// One requested range as written: `a-b`, `a-` or `-n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    pub start: Option<u64>,
    pub end: Option<u64>,
}

/// What to send for a `Range` header and a body length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// 200 with the whole body (no header, a bad header, or an empty body).
    Whole,
    /// 206 with these half-open `[start, end)` ranges (one or more).
    Ranges(Vec<(u64, u64)>),
    /// 416.
    Unsatisfiable,
}

/// Parses `bytes=...`; `None` if any part is malformed. Works on bytes,
/// so no header (whatever it holds) can split a character; numbers past
/// `u64::MAX` saturate (Python's ints do not overflow: such a start is
/// past any end, such an end is the last byte).
pub fn parse(header: &str) -> Option<Vec<Spec>> {
    let h: Vec<u8> = header.bytes().filter(|b| *b != b' ').collect();
    let list = h.get(..6).filter(|u| u.eq_ignore_ascii_case(b"bytes=")).map(|_| &h[6..])?;
    let number = |x: &[u8]| -> Option<Option<u64>> {
        if x.is_empty() {
            return Some(None);
        }
        if !x.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(Some(x.iter().fold(0u64, |n, d| n.saturating_mul(10).saturating_add(u64::from(d - b'0')))))
    };
    let mut specs = Vec::new();
    // Digits compared as the numbers they are, past u64::MAX too.
    let below = |b: &[u8], a: &[u8]| {
        let trim = |x: &[u8]| -> usize { x.iter().position(|d| *d != b'0').unwrap_or(x.len()) };
        let (a, b) = (&a[trim(a)..], &b[trim(b)..]);
        (b.len(), b) < (a.len(), a)
    };
    for r in list.split(|b| *b == b',') {
        let dash = r.iter().position(|b| *b == b'-')?;
        let (first, last) = (&r[..dash], &r[dash + 1..]);
        let (start, end) = (number(first)?, number(last)?);
        match (start, end) {
            (None, None) => return None,
            (Some(_), Some(_)) if below(last, first) => return None,
            _ => {}
        }
        specs.push(Spec { start, end });
    }
    Some(specs)
}

/// Swift's `ranges_for_length`.
pub fn ranges_for_length(specs: &[Spec], length: u64) -> Vec<(u64, u64)> {
    let mut all = Vec::new();
    for spec in specs {
        match (spec.start, spec.end) {
            (None, Some(0)) => {}
            (None, Some(n)) => all.push((length.saturating_sub(n), length)),
            (Some(a), None) if a < length => all.push((a, length)),
            (Some(a), Some(b)) if a < length => all.push((a, b.saturating_add(1).min(length))),
            _ => {}
        }
    }
    if all.len() > MAX_RANGES {
        return Vec::new();
    }
    let mut overlaps = 0;
    for (i, &(s1, e1)) in all.iter().enumerate() {
        for &(s2, e2) in &all[i + 1..] {
            if (s1 < s2 && s2 < e1) || (s1 < e2 && e2 < e1) || (s2 < s1 && s1 < e2) || (s2 < e1 && e1 < e2) {
                overlaps += 1;
                if overlaps > MAX_RANGE_OVERLAPS {
                    return Vec::new();
                }
            }
        }
    }
    let ascending = all.windows(2).all(|w| w[0] <= w[1]);
    if !ascending && all.len() >= MAX_NONASCENDING_RANGES {
        return Vec::new();
    }
    all
}

/// What to send for an optional `Range` header over `length` bytes.
pub fn plan(header: Option<&str>, length: u64) -> Plan {
    let Some(specs) = header.and_then(parse) else { return Plan::Whole };
    let ranges = ranges_for_length(&specs, length);
    if ranges.is_empty() {
        Plan::Unsatisfiable
    } else if length == 0 {
        Plan::Whole
    } else {
        Plan::Ranges(ranges)
    }
}

/// `Content-Range` of a half-open range.
pub fn content_range(start: u64, end: u64, length: u64) -> String {
    format!("bytes {}-{}/{length}", start, end - 1)
}

/// The framing of a `multipart/byteranges` body: the part headers before
/// each range and the closing line, so the length is known up front.
pub struct Multipart {
    pub boundary: String,
    pub part_heads: Vec<Vec<u8>>,
    pub tail: Vec<u8>,
    pub content_length: u64,
}

impl Multipart {
    /// Swift's layout: `--B\r\nContent-Type: T\r\nContent-Range: R\r\n\r\n`,
    /// the bytes, `\r\n`, ..., then `--B--`.
    pub fn new(ranges: &[(u64, u64)], content_type: &str, length: u64, boundary: String) -> Multipart {
        let mut part_heads = Vec::with_capacity(ranges.len());
        let mut total = 0u64;
        for &(s, e) in ranges {
            let head = format!(
                "--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: {}\r\n\r\n",
                content_range(s, e, length)
            )
            .into_bytes();
            total += head.len() as u64 + (e - s) + 2;
            part_heads.push(head);
        }
        let tail = format!("--{boundary}--").into_bytes();
        total += tail.len() as u64;
        Multipart { boundary, part_heads, tail, content_length: total }
    }

    pub fn content_type(&self) -> String {
        format!("multipart/byteranges;boundary={}", self.boundary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_follow_swob() {
        assert_eq!(plan(Some("bytes=0-9"), 100), Plan::Ranges(vec![(0, 10)]));
        assert_eq!(plan(Some("bytes=90-"), 100), Plan::Ranges(vec![(90, 100)]));
        assert_eq!(plan(Some("bytes=-10"), 100), Plan::Ranges(vec![(90, 100)]));
        assert_eq!(plan(Some("bytes=-200"), 100), Plan::Ranges(vec![(0, 100)]));
        assert_eq!(plan(Some("bytes=50-1000"), 100), Plan::Ranges(vec![(50, 100)]));
        assert_eq!(plan(Some("Bytes = 1 - 2"), 100), Plan::Ranges(vec![(1, 3)]));
    }

    #[test]
    fn bad_headers_are_ignored() {
        for h in ["bytes=5-3", "bytes=-", "bytes=45", "bytes=a-b", "items=0-1", "bytes=--0", "", "bytes=1-2,x"] {
            assert_eq!(plan(Some(h), 100), Plan::Whole, "{h}");
        }
        assert_eq!(plan(None, 100), Plan::Whole);
    }

    #[test]
    fn hostile_headers_neither_panic_nor_wrap() {
        // A multi-byte character where `bytes=` would end once panicked.
        assert_eq!(plan(Some("bytes\u{e9}=0-1"), 100), Plan::Whole);
        assert_eq!(plan(Some("\u{e9}\u{e9}\u{e9}=0-1"), 100), Plan::Whole);
        assert_eq!(plan(Some("bytes=0-1\u{e9}"), 100), Plan::Whole);
        // The largest end is the last byte, not a wrap to an empty range.
        assert_eq!(plan(Some("bytes=1-18446744073709551615"), 100), Plan::Ranges(vec![(1, 100)]));
        assert_eq!(plan(Some("bytes=1-99999999999999999999999"), 100), Plan::Ranges(vec![(1, 100)]));
        assert_eq!(plan(Some("bytes=99999999999999999999999-"), 100), Plan::Unsatisfiable);
        assert_eq!(plan(Some("bytes=-99999999999999999999999"), 100), Plan::Ranges(vec![(0, 100)]));
        // Both ends past u64::MAX, the last below the first: a bad header.
        assert_eq!(plan(Some("bytes=99999999999999999999999-99999999999999999999998"), 100), Plan::Whole);
        assert_eq!(plan(Some("bytes=007-7"), 100), Plan::Ranges(vec![(7, 8)]));
    }

    #[test]
    fn unsatisfiable_ranges_are_416() {
        assert_eq!(plan(Some("bytes=100-"), 100), Plan::Unsatisfiable);
        assert_eq!(plan(Some("bytes=-0"), 100), Plan::Unsatisfiable);
        assert_eq!(plan(Some("bytes=0-1"), 0), Plan::Unsatisfiable);
        assert_eq!(plan(Some("bytes=-5"), 0), Plan::Whole);
    }

    #[test]
    fn swifts_caps_on_abusive_ranges() {
        let many: Vec<String> = (0..51).map(|i| format!("{i}-{i}")).collect();
        assert_eq!(plan(Some(&format!("bytes={}", many.join(","))), 1000), Plan::Unsatisfiable);
        let fifty: Vec<String> = (0..50).map(|i| format!("{i}-{i}")).collect();
        assert!(matches!(plan(Some(&format!("bytes={}", fifty.join(","))), 1000), Plan::Ranges(r) if r.len() == 50));
        assert!(matches!(plan(Some("bytes=0-10,5-15,8-20"), 100), Plan::Unsatisfiable));
        assert!(matches!(plan(Some("bytes=0-10,5-15"), 100), Plan::Ranges(_)));
        let desc: Vec<String> = (0..8).rev().map(|i| format!("{}-{}", i * 10, i * 10 + 1)).collect();
        assert_eq!(plan(Some(&format!("bytes={}", desc.join(","))), 1000), Plan::Unsatisfiable);
        let desc7: Vec<String> = (0..7).rev().map(|i| format!("{}-{}", i * 10, i * 10 + 1)).collect();
        assert!(matches!(plan(Some(&format!("bytes={}", desc7.join(","))), 1000), Plan::Ranges(_)));
    }

    #[test]
    fn multipart_length_counts_every_byte() {
        let m = Multipart::new(&[(0, 2), (5, 10)], "text/plain", 10, "b0undary".into());
        let mut body = Vec::new();
        let data = b"0123456789";
        for (head, &(s, e)) in m.part_heads.iter().zip(&[(0usize, 2usize), (5, 10)]) {
            body.extend_from_slice(head);
            body.extend_from_slice(&data[s..e]);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(&m.tail);
        assert_eq!(body.len() as u64, m.content_length);
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with("--b0undary\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n01\r\n"));
        assert!(text.ends_with("56789\r\n--b0undary--"));
    }
}
