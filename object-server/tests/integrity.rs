//! "A rotten byte is never served": the per-block CRC32Cs of data files
//! (format version 2) checked on every read, against the real binary.
//! Bytes are flipped in the files on disk, then read over HTTP.

mod common;

use common::*;
use object_server::object::diskfile::format;
use std::path::PathBuf;

const OBJ: &str = "/sda/1/a/c/o";
const BLOCK: usize = 65_536;

fn put(s: &ObjectServer, path: &str, body: &[u8]) -> Reply {
    let t = ts();
    s.request("PUT", path, &[("X-Timestamp", t.as_str()), ("Content-Type", "text/plain")], body)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ (i / 65_536) as u8).collect()
}

/// The one data file of the server (there must be exactly one).
fn data_file(s: &ObjectServer) -> PathBuf {
    let data = files_with(&s.device().join("objects"), ".data");
    assert_eq!(data.len(), 1, "{data:?}");
    data[0].clone()
}

fn flip(path: &PathBuf, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x20;
    std::fs::write(path, &bytes).unwrap();
}

fn quarantined(s: &ObjectServer) -> usize {
    files_with(&s.device().join("quarantined/objects"), ".data").len()
}

fn range(s: &ObjectServer, spec: &str) -> Reply {
    s.request("GET", OBJ, &[("Range", spec)], b"")
}

#[test]
fn data_files_are_version_2_with_a_crc32c_per_block() {
    let s = ObjectServer::start("integrity-format");
    for len in [0, 1, BLOCK, BLOCK + 1, 5 * BLOCK + 7] {
        let body = pattern(len);
        assert_eq!(put(&s, OBJ, &body).status, 201);
        let bytes = std::fs::read(data_file(&s)).unwrap();
        assert!(bytes.ends_with(format::MAGIC_V2), "{len}");
        let (meta, l) = format::parse_whole(&bytes).unwrap();
        assert_eq!((l.body_len, l.block_size, l.blocks()), (len as u64, BLOCK as u64, len.div_ceil(BLOCK) as u64));
        assert_eq!(bytes.len() as u64, l.body_len + 4 * l.blocks() + l.json_len + 32);
        let table = &bytes[l.table_offset() as usize..l.json_offset() as usize];
        for (i, block) in body.chunks(BLOCK).enumerate() {
            assert_eq!(format::entry(table, i), Some(crc32c::crc32c(block)), "{len} block {i}");
        }
        // The whole CRC32C stays in the metadata; nothing internal is sent.
        assert_eq!(meta["Crc32c"], format!("{:08x}", crc32c::crc32c(&body)));
        let g = s.request("GET", OBJ, &[], b"");
        assert!(g.status == 200 && g.body == body, "{len}");
        assert!(g.headers.keys().all(|k| !k.contains("crc") && !k.contains("block")), "{:?}", g.headers);
    }
    // Tombstones and .meta files are version 2 too (no body, no table).
    let t = ts();
    assert_eq!(s.request("POST", OBJ, &[("X-Timestamp", &t), ("X-Object-Meta-A", "b")], b"").status, 202);
    let meta = files_with(&s.device().join("objects"), ".meta");
    let bytes = std::fs::read(&meta[0]).unwrap();
    assert!(bytes.ends_with(format::MAGIC_V2));
    assert_eq!(format::parse_file(&bytes).unwrap().1, 0);
    assert_eq!(s.request("HEAD", OBJ, &[], b"").header("x-object-meta-a"), Some("b"));
    assert_eq!(s.request("DELETE", OBJ, &[("X-Timestamp", &ts())], b"").status, 204);
    let tomb = files_with(&s.device().join("objects"), ".ts");
    assert!(std::fs::read(&tomb[0]).unwrap().ends_with(format::MAGIC_V2));
    assert_eq!(s.request("GET", OBJ, &[], b"").status, 404);
}

#[test]
fn a_rotten_block_cuts_a_full_get_short_and_ranges_before_it_still_read() {
    let s = ObjectServer::start("integrity-block");
    let body = pattern(10 * BLOCK + 1000);
    assert_eq!(put(&s, OBJ, &body).status, 201);
    let k = 6;
    flip(&data_file(&s), k * BLOCK + 123);

    // (a) Ranges entirely before block k (and after it) read right.
    let r = range(&s, &format!("bytes=0-{}", k * BLOCK - 1));
    assert_eq!(r.status, 206);
    assert!(r.body == body[..k * BLOCK]);
    let r = range(&s, &format!("bytes={}-{}", 5 * BLOCK + 10, k * BLOCK - 1));
    assert!(r.status == 206 && r.body == body[5 * BLOCK + 10..k * BLOCK]);
    let r = range(&s, &format!("bytes={}-", 9 * BLOCK - 1));
    assert!(r.status == 206 && r.body == body[9 * BLOCK - 1..]);
    let r = range(&s, "bytes=-100");
    assert!(r.status == 206 && r.body == body[body.len() - 100..]);
    assert_eq!(quarantined(&s), 0, "{}", s.stderr());

    // (b) A full GET: the head went out, the body stops before block k.
    let g = s.request("GET", OBJ, &[], b"");
    assert_eq!(g.status, 200);
    assert_eq!(g.header("content-length"), Some(body.len().to_string().as_str()));
    assert!(g.body.len() <= k * BLOCK, "{} bytes sent", g.body.len());
    assert!(g.body == body[..g.body.len()], "a wrong byte was sent");
    assert!(eventually(5, || quarantined(&s) == 1), "{}", s.stderr());
    assert!(files_with(&s.device().join("objects"), ".data").is_empty());
    assert_eq!(s.request("GET", OBJ, &[], b"").status, 404);
    assert!(s.stderr().contains(&format!("block {k} ")), "{}", s.stderr());
}

#[test]
fn a_range_is_checked_in_whole_blocks_before_its_head_goes_out() {
    let s = ObjectServer::start("integrity-range");
    let body = pattern(8 * BLOCK);
    assert_eq!(put(&s, OBJ, &body).status, 201);
    flip(&data_file(&s), 3 * BLOCK + 5);
    // One byte of block 3, far from the rotten one: still the whole block
    // is checked, before any answer: 404, quarantined.
    let r = range(&s, &format!("bytes={}-{}", 4 * BLOCK - 2, 4 * BLOCK - 1));
    assert_eq!(r.status, 404);
    assert!(r.body.is_empty());
    assert!(eventually(5, || quarantined(&s) == 1), "{}", s.stderr());

    // Several ranges: the second one meets the rotten block, after the head.
    assert_eq!(put(&s, OBJ, &body).status, 201);
    flip(&data_file(&s), 3 * BLOCK + 5);
    let r = range(&s, &format!("bytes=0-9,{}-{}", 3 * BLOCK, 3 * BLOCK + 9));
    assert_eq!(r.status, 206);
    let announced: usize = r.header("content-length").unwrap().parse().unwrap();
    assert!(r.body.len() < announced);
    assert!(find(&r.body, &body[..10]).is_some(), "the first part was sent");
    assert!(find(&r.body, &body[3 * BLOCK..3 * BLOCK + 10]).is_none());
    assert!(eventually(5, || quarantined(&s) == 2), "{}", s.stderr());
}

#[test]
fn a_small_rotten_object_is_404_and_never_a_wrong_byte() {
    // Read whole at the open (3 KB, 40 KB), one block (64 KiB), the first
    // block of a bigger one: all checked before the head goes out.
    for (len, at) in [(3000, 1000), (40_000, 39_999), (BLOCK, 0), (3 * BLOCK, 100)] {
        let s = ObjectServer::start(&format!("integrity-small-{len}"));
        let body = pattern(len);
        assert_eq!(put(&s, OBJ, &body).status, 201);
        flip(&data_file(&s), at);
        let g = s.request("GET", OBJ, &[], b"");
        assert_eq!((g.status, g.body.len()), (404, 0), "{len}");
        assert!(eventually(5, || quarantined(&s) == 1), "{len}: {}", s.stderr());
        assert_eq!(s.request("HEAD", OBJ, &[], b"").status, 404);
    }
    // A HEAD reads a small file whole: its body is checked too.
    let s = ObjectServer::start("integrity-small-head");
    assert_eq!(put(&s, OBJ, b"tiny body").status, 201);
    flip(&data_file(&s), 2);
    assert_eq!(s.request("HEAD", OBJ, &[], b"").status, 404);
    assert_eq!(quarantined(&s), 1);
}

#[test]
fn rotten_metadata_or_table_is_found_at_the_open() {
    for (name, from_end) in [("json", 60), ("trailer", 20), ("table", 0)] {
        let s = ObjectServer::start(&format!("integrity-footer-{name}"));
        let body = pattern(2 * BLOCK + 10);
        assert_eq!(put(&s, OBJ, &body).status, 201);
        let path = data_file(&s);
        let len = std::fs::metadata(&path).unwrap().len() as usize;
        // The table's first entry sits right after the body.
        let at = if from_end == 0 { body.len() } else { len - from_end };
        flip(&path, at);
        let r = s.request(if name == "table" { "GET" } else { "HEAD" }, OBJ, &[], b"");
        assert_eq!(r.status, 404, "{name}");
        assert!(eventually(5, || quarantined(&s) == 1), "{name}: {}", s.stderr());
    }
}

/// Rewrites the server's data file as format version 1 (body, JSON, the
/// 16-byte trailer), keeping its metadata (`Crc32c` included).
fn make_version_1(s: &ObjectServer) -> PathBuf {
    let path = data_file(s);
    let bytes = std::fs::read(&path).unwrap();
    let (meta, l) = format::parse_whole(&bytes).unwrap();
    let mut v1 = bytes[..l.body_len as usize].to_vec();
    v1.extend_from_slice(&format::footer(&meta));
    std::fs::write(&path, &v1).unwrap();
    path
}

#[test]
fn version_1_files_still_read_and_are_checked_whole() {
    let s = ObjectServer::start("integrity-v1");
    let body = pattern(3 * BLOCK + 99);
    assert_eq!(put(&s, OBJ, &body).status, 201);
    let path = make_version_1(&s);
    assert!(std::fs::read(&path).unwrap().ends_with(format::MAGIC));
    let g = s.request("GET", OBJ, &[], b"");
    assert!(g.status == 200 && g.body == body);
    let r = range(&s, &format!("bytes={}-{}", BLOCK - 5, 2 * BLOCK + 5));
    assert!(r.status == 206 && r.body == body[BLOCK - 5..2 * BLOCK + 6]);
    assert_eq!(s.request("HEAD", OBJ, &[], b"").status, 200);
    let t = ts();
    assert_eq!(s.request("POST", OBJ, &[("X-Timestamp", &t), ("X-Object-Meta-K", "v")], b"").status, 202);
    let g = s.request("GET", OBJ, &[], b"");
    assert!(g.status == 200 && g.body == body && g.header("x-object-meta-k") == Some("v"));
    // Rot in a version-1 body: a full read finds it (as before: after the
    // response) and quarantines.
    flip(&path, 2 * BLOCK);
    assert_eq!(s.request("GET", OBJ, &[], b"").status, 200);
    assert!(eventually(5, || s.request("GET", OBJ, &[], b"").status == 404));
    assert_eq!(quarantined(&s), 1);
    assert!(s.stderr().contains("body CRC32C"), "{}", s.stderr());

    // A small version-1 body read whole is checked before it is sent.
    let s = ObjectServer::start("integrity-v1-small");
    assert_eq!(put(&s, OBJ, &pattern(3000)).status, 201);
    let path = make_version_1(&s);
    assert!(s.request("GET", OBJ, &[], b"").body == pattern(3000));
    flip(&path, 10);
    assert_eq!(s.request("GET", OBJ, &[], b"").status, 404);
    assert_eq!(quarantined(&s), 1);
}
