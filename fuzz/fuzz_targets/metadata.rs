//! Metadata: the object file's footer, and container and account metadata
//! as PUTs and POSTs set it.
//!
//! Input: byte 0 picks what the rest is:
//!
//! * 0: an object file (and a metadata footer): `object::diskfile::format`'s
//!   `parse_metadata`, `parse_file`, `parse_whole`, `layout`, `json_len`
//!   and `check_blocks` never panic on any bytes; what they accept has no
//!   key or value that could split a response, the body, block table, JSON
//!   and trailer lengths add up to the file (both format versions), and
//!   the metadata written back with `footer` (version 1) or `footer_v2`
//!   (version 2, the bytes as a body in 512-byte blocks) parses to itself,
//!   its blocks check out, and `BlockSums` gives the body's CRC32C;
//! * 1: a database's stored metadata JSON (lossy UTF-8): `db::metadata`'s
//!   `from_json` never panics and what it accepts round-trips `to_json`;
//! * 2: limits and a series of metadata writes (see [`db_writes`]),
//!   applied as the container and account brokers do: `Limits::check`,
//!   then `merge`. `merge` agrees with a model of "newest timestamp per key
//!   wins" and is idempotent; `check` refuses exactly the writes that
//!   would take a measure past its limit and above where it was (user
//!   items and bytes as configured, or Swift's 90 and 4096 through
//!   `Limits::default()`; 150 items and 32 KiB of every kind, so a HEAD
//!   answer always parses at the proxy), so whatever the writes nothing
//!   stored grows past a limit, and metadata already past one still takes
//!   what does not grow it (removals, ACLs);
//!   the object server answers a refusal with 400; `reclaim` drops
//!   exactly the old tombstones; what is stored in the end round-trips its
//!   JSON;
//! * 3: header names (lossy UTF-8, NUL-separated): `database::canonical`
//!   and `object::title_case` never panic, change only ASCII case (for an
//!   ASCII name, as HTTP names are), and are idempotent.
#![no_main]

mod fields;

use db::metadata::{
    from_json, merge, reclaim, to_json, visible, Limits, Metadata, MAX_STORED_ITEMS, MAX_STORED_SIZE,
};
use db::Timestamp;
use libfuzzer_sys::fuzz_target;
use object_server::object::diskfile::format::{
    self, check_blocks, footer, footer_v2, json_len, layout, parse_file, parse_metadata, parse_whole, BlockSums,
    Version, MAX_FOOTER, TRAILER_LEN, TRAILER_LEN_V2,
};

fuzz_target!(|input: &[u8]| {
    let Some((&sel, rest)) = input.split_first() else {
        return;
    };
    match sel % 4 {
        0 => object_file(rest),
        1 => stored_json(&String::from_utf8_lossy(rest)),
        2 => db_writes(rest),
        _ => names(rest),
    }
});

fn object_file(bytes: &[u8]) {
    if let Ok(meta) = parse_metadata(bytes) {
        check_object_meta(&meta);
        let mut file = b"body".to_vec();
        file.extend_from_slice(&footer(&meta));
        assert_eq!(parse_file(&file), Ok((meta.clone(), 4)));
        // Version 2, with the input itself as the body.
        let mut sums = BlockSums::new(512);
        sums.update(bytes);
        // One block (no combining) gives the plain CRC32C.
        let mut one = BlockSums::new(format::MAX_BLOCK_SIZE);
        one.update(bytes);
        assert_eq!(sums.crc32c(), one.crc32c());
        let mut file = bytes.to_vec();
        file.extend_from_slice(&footer_v2(sums.into_table(), &meta, bytes.len() as u64, 512));
        let (back, l) = parse_whole(&file).expect("a version-2 file written here");
        assert_eq!((back, l.version, l.body_len), (meta, Version::V2, bytes.len() as u64));
        let table = &file[l.table_offset() as usize..l.json_offset() as usize];
        assert_eq!(check_blocks(bytes, 0, table, 512), Ok(()));
    }
    let len = bytes.len() as u64;
    if let Ok((meta, l)) = parse_whole(bytes) {
        check_object_meta(&meta);
        assert_eq!(parse_file(bytes), Ok((meta.clone(), l.body_len)));
        assert_eq!(l.body_len + l.table_len() + l.json_len + l.trailer_len(), len);
        let json = &bytes[l.json_offset() as usize..(len - l.trailer_len()) as usize];
        assert_eq!(parse_metadata(json), Ok(meta));
        match l.version {
            Version::V1 => {
                let trailer = &bytes[bytes.len() - TRAILER_LEN as usize..];
                assert_eq!(json_len(trailer, len), Ok(l.json_len));
            }
            Version::V2 => {
                let table = &bytes[l.table_offset() as usize..l.json_offset() as usize];
                let body = &bytes[..l.body_len as usize];
                // Never a panic, whatever the entries hold.
                let _ = check_blocks(body, 0, table, l.block_size);
            }
        }
    }
    let end = &bytes[bytes.len().saturating_sub(TRAILER_LEN_V2 as usize)..];
    let trailer = &bytes[bytes.len().saturating_sub(TRAILER_LEN as usize)..];
    let mut first = [0u8; 8];
    first[..bytes.len().min(8)].copy_from_slice(&bytes[..bytes.len().min(8)]);
    for file_len in [len, 0, TRAILER_LEN - 1, TRAILER_LEN, u64::MAX, u64::from_le_bytes(first)] {
        if let Ok(l) = layout(end, file_len) {
            let parts = u128::from(l.body_len + l.table_len()) + u128::from(l.json_len + l.trailer_len());
            assert_eq!(parts, u128::from(file_len));
        }
        match json_len(trailer, file_len) {
            Ok(n) => {
                assert_eq!(trailer.len() as u64, TRAILER_LEN);
                assert_eq!(&trailer[8..], format::MAGIC);
                assert!(n <= MAX_FOOTER && file_len >= TRAILER_LEN && n <= file_len - TRAILER_LEN);
            }
            Err(e) => assert!(!e.is_empty()),
        }
    }
}

/// Nothing in an object's metadata may split a response: no key holds CR,
/// LF, NUL or `:`, no value CR, LF or NUL (`name`, never sent, may hold CR
/// and LF).
fn check_object_meta(meta: &format::Metadata) {
    for (k, v) in meta {
        assert!(!k.is_empty() && !k.contains(['\r', '\n', '\0', ':']), "key {k:?}");
        let forbidden: &[char] = if k == "name" { &['\0'] } else { &['\r', '\n', '\0'] };
        assert!(!v.contains(forbidden), "{k:?}: {v:?}");
    }
}

fn stored_json(s: &str) {
    if let Ok(meta) = from_json(s) {
        assert_eq!(from_json(&to_json(&meta)).ok(), Some(meta), "{s:?}");
    }
}

/// Keys the writes may set: user metadata (any case), system metadata,
/// ACLs, a prefix with nothing after it, and other headers.
const PREFIXES: [&str; 8] = [
    "X-Container-Meta-",
    "X-Account-Meta-",
    "x-cOntainer-meta-",
    "X-Container-Sysmeta-",
    "X-Container-Read",
    "X-Account-Meta",
    "",
    "X-Object-Meta-",
];

/// Caps on the items all writes set (well past the 150 stored) and on the
/// writes, so that one input stays quick.
const MAX_FUZZ_ITEMS: usize = 200;
const MAX_WRITES: usize = 6;

/// The writes: records of `[flags][copies][value length][timestamp]name\0`.
/// `flags` bit 0 starts a new write (request), bits 1-3 pick a key prefix
/// from [`PREFIXES`], bit 4 makes the value of `é` rather than `v`. A
/// record sets `copies` keys (`{prefix}{name}{i}`; just `{prefix}{name}`
/// for 0 or 1 copies) to a value of that many characters (0 removes) at
/// that second.
fn writes(mut data: &[u8]) -> Vec<Metadata> {
    let mut out: Vec<Metadata> = Vec::new();
    let mut items = 0;
    while data.len() >= 4 && items < MAX_FUZZ_ITEMS {
        let (flags, copies, vlen, secs) = (data[0], data[1], data[2], data[3]);
        let end = data[4..].iter().position(|b| *b == 0).map_or(data.len(), |i| i + 4);
        let name = String::from_utf8_lossy(&data[4..end]);
        data = data.get(end + 1..).unwrap_or(&[]);
        if flags & 1 != 0 || out.is_empty() {
            if out.len() == MAX_WRITES {
                break;
            }
            out.push(Metadata::new());
        }
        let prefix = PREFIXES[usize::from(flags >> 1 & 7)];
        let value = (if flags & 16 != 0 { "\u{e9}" } else { "v" }).repeat(usize::from(vlen));
        let ts = Timestamp::from_secs(u64::from(secs));
        let w = out.last_mut().expect("pushed");
        for i in 0..usize::from(copies).clamp(1, MAX_FUZZ_ITEMS - items) {
            let key = if copies > 1 { format!("{prefix}{name}{i}") } else { format!("{prefix}{name}") };
            w.insert(key, (value.clone(), ts));
            items += 1;
        }
    }
    out
}

/// Newest timestamp per key wins; a tie keeps what is there.
fn model_merge(meta: &Metadata, updates: &Metadata) -> Metadata {
    let mut out = meta.clone();
    for (k, (v, ts)) in updates {
        if out.get(k).is_none_or(|(_, old)| ts > old) {
            out.insert(k.clone(), (v.clone(), *ts));
        }
    }
    out
}

/// [user items, user bytes, items, bytes] of what a HEAD would show.
fn usage(meta: &Metadata) -> [usize; 4] {
    let mut u = [0; 4];
    for (k, (v, _)) in meta {
        if v.is_empty() {
            continue;
        }
        u[2] += 1;
        u[3] += k.len() + v.len();
        for p in ["x-account-meta-", "x-container-meta-"] {
            if k.len() >= p.len() && k.is_char_boundary(p.len()) && k[..p.len()].eq_ignore_ascii_case(p) {
                u[0] += 1;
                u[1] += k.len() - p.len() + v.len();
            }
        }
    }
    u
}

/// Byte 0 gives the limits (low 7 bits: 0 for Swift's defaults, else that
/// many user items and 40 times that many bytes) and, in bit 7, whether
/// the first write is stored unchecked (metadata already past a lowered
/// limit); then the writes ([`writes`]).
fn db_writes(data: &[u8]) {
    let Some((&b, data)) = data.split_first() else {
        return;
    };
    let n = usize::from(b & 0x7f);
    let limits = if n == 0 { Limits::default() } else { Limits { count: n, overall_size: n * 40 } };
    let max = [limits.count, limits.overall_size, MAX_STORED_ITEMS, MAX_STORED_SIZE];
    let mut stored = Metadata::new();
    for (i, w) in writes(data).into_iter().enumerate() {
        let merged = model_merge(&stored, &w);
        let (before, after) = (usage(&stored), usage(&merged));
        let checked = if i == 0 && b & 0x80 != 0 { Ok(()) } else { limits.check(&stored, &w) };
        if i > 0 || b & 0x80 == 0 {
            let grows_past = (0..4).any(|k| after[k] > max[k] && after[k] > before[k]);
            assert_eq!(checked.is_ok(), !grows_past, "{before:?} -> {after:?} under {max:?}: {checked:?}");
        }
        if let Err(why) = &checked {
            let e = object_server::database::db_error(db::Error::Invalid(why.clone()));
            assert_eq!(e.status(), 400);
        }

        let mut m = stored.clone();
        let changed = merge(&mut m, &w);
        assert_eq!(m, merged);
        assert_eq!(changed, m != stored);
        assert!(!merge(&mut m, &w), "merging twice changed something");
        assert_eq!(visible(&m).count(), usage(&m)[2]);

        // What reclaim drops: exactly the tombstones older than the age.
        let age = w.values().next().map_or(Timestamp::ZERO, |(_, ts)| *ts);
        let mut reclaimed = m.clone();
        let dropped = reclaim(&mut reclaimed, age);
        let expected: Metadata = m.iter().filter(|(_, (v, ts))| !(v.is_empty() && *ts < age)).map(clone).collect();
        assert_eq!(reclaimed, expected);
        assert_eq!(dropped, reclaimed.len() != m.len());

        if checked.is_ok() {
            // Nothing grows past a limit it was within, or further past
            // one it was already over.
            if i > 0 || b & 0x80 == 0 {
                for k in 0..4 {
                    assert!(after[k] <= max[k].max(before[k]), "{before:?} -> {after:?} under {max:?}");
                }
            }
            stored = m;
        }
    }
    assert_eq!(from_json(&to_json(&stored)).ok(), Some(stored));
}

fn clone<K: Clone, V: Clone>((k, v): (&K, &V)) -> (K, V) {
    (k.clone(), v.clone())
}

fn names(data: &[u8]) {
    for name in fields::fields(data, 4) {
        let c = object_server::database::canonical(&name);
        assert_eq!(c.to_ascii_lowercase(), name.to_ascii_lowercase(), "{name:?} -> {c:?}");
        assert_eq!(object_server::database::canonical(&c), c, "{name:?}");
        let t = object_server::object::title_case(&name);
        if name.is_ascii() {
            assert_eq!(t.to_ascii_lowercase(), name.to_ascii_lowercase(), "{name:?} -> {t:?}");
            assert_eq!(object_server::object::title_case(&t), t, "{name:?}");
        }
    }
}
