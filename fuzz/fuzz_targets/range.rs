//! `Range` headers over an object, as a GET answers them.
//!
//! Input: the object's length (byte 0 below 200 is the length itself;
//! otherwise the next 7 bytes are, up to 2^56 - 1, bigger than any file),
//! then the `Range` header and a `Content-Type` separated by NUL (lossy
//! UTF-8). Checks that `ranges::parse` and `plan` never panic or overflow,
//! that a parsed header prints back to the same specs, and that the plan
//! keeps Swift's rules: a bad header is the whole body, 416 only when no
//! range is satisfiable, every planned range is non-empty and inside the
//! object, at most `MAX_RANGES` of them, and out-of-order ones below
//! `MAX_NONASCENDING_RANGES`. For a 206, `content_range` prints each range
//! and `Multipart::new` announces exactly the length of the body it frames.
#![no_main]

mod fields;

use libfuzzer_sys::fuzz_target;
use object_server::ranges::{
    content_range, parse, plan, ranges_for_length, Multipart, Plan, Spec, MAX_NONASCENDING_RANGES, MAX_RANGES,
};

fuzz_target!(|input: &[u8]| {
    let Some((&sel, mut rest)) = input.split_first() else {
        return;
    };
    let length = if sel < 200 {
        u64::from(sel)
    } else {
        let mut n = [0u8; 8];
        let k = rest.len().min(7);
        n[..k].copy_from_slice(&rest[..k]);
        rest = &rest[k..];
        u64::from_le_bytes(n)
    };
    let f = fields::fields(rest, 2);
    let (header, content_type) = (f[0].as_str(), f[1].as_str());

    let specs = parse(header);
    if let Some(specs) = &specs {
        assert!(!specs.is_empty());
        for s in specs {
            match (s.start, s.end) {
                (None, None) => panic!("a spec with neither end: {header:?}"),
                (Some(a), Some(b)) => assert!(a <= b, "{header:?}"),
                _ => {}
            }
        }
        // Printed back, the specs parse to themselves.
        assert_eq!(parse(&print(specs)).as_ref(), Some(specs), "{header:?}");
    }

    assert_eq!(plan(None, length), Plan::Whole);
    let planned = plan(Some(header), length);
    match (&specs, &planned) {
        (None, p) => assert_eq!(p, &Plan::Whole, "a bad header must be ignored: {header:?}"),
        (Some(specs), Plan::Unsatisfiable) => assert!(ranges_for_length(specs, length).is_empty()),
        (Some(specs), Plan::Whole) => {
            assert_eq!(length, 0);
            assert!(!ranges_for_length(specs, length).is_empty());
        }
        (Some(specs), Plan::Ranges(r)) => {
            assert_eq!(&ranges_for_length(specs, length), r);
            check_ranges(r, length, header);
            check_multipart(r, length, content_type);
        }
    }
});

fn print(specs: &[Spec]) -> String {
    let n = |x: Option<u64>| x.map(|v| v.to_string()).unwrap_or_default();
    let list: Vec<String> = specs.iter().map(|s| format!("{}-{}", n(s.start), n(s.end))).collect();
    format!("bytes={}", list.join(","))
}

fn check_ranges(r: &[(u64, u64)], length: u64, header: &str) {
    assert!(!r.is_empty() && r.len() <= MAX_RANGES, "{} ranges: {header:?}", r.len());
    assert!(length > 0);
    for &(s, e) in r {
        assert!(s < e && e <= length, "range {s}..{e} of {length}: {header:?}");
        let cr = content_range(s, e, length);
        assert_eq!(cr, format!("bytes {s}-{}/{length}", e - 1));
    }
    if !r.windows(2).all(|w| w[0] <= w[1]) {
        assert!(r.len() < MAX_NONASCENDING_RANGES, "{} ranges out of order: {header:?}", r.len());
    }
}

/// The multipart framing announces the length of the body it frames,
/// counted here in u128, and built for small objects.
fn check_multipart(r: &[(u64, u64)], length: u64, content_type: &str) {
    let boundary = "0123456789abcdef0123456789abcdef".to_string();
    let mp = Multipart::new(r, content_type, length, boundary.clone());
    assert_eq!(mp.part_heads.len(), r.len());
    assert_eq!(mp.tail, format!("--{boundary}--").into_bytes());
    assert_eq!(mp.content_type(), format!("multipart/byteranges;boundary={boundary}"));
    let mut total = mp.tail.len() as u128;
    for (head, &(s, e)) in mp.part_heads.iter().zip(r) {
        let expected = format!(
            "--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: {}\r\n\r\n",
            content_range(s, e, length)
        );
        assert_eq!(head, expected.as_bytes());
        total += head.len() as u128 + u128::from(e - s) + 2;
    }
    assert_eq!(u128::from(mp.content_length), total);
    if length <= 4096 {
        let data: Vec<u8> = (0..length).map(|i| i as u8).collect();
        let mut body = Vec::new();
        for (head, &(s, e)) in mp.part_heads.iter().zip(r) {
            body.extend_from_slice(head);
            body.extend_from_slice(&data[s as usize..e as usize]);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(&mp.tail);
        assert_eq!(body.len() as u64, mp.content_length);
    }
}
