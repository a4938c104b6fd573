//! The backend object API over HTTP against the real binary.

mod common;

use common::*;

const OBJ: &str = "/sda/1/a/c/o";

fn put(s: &ObjectServer, path: &str, body: &[u8], extra: &[(&str, &str)]) -> Reply {
    let t = ts();
    let mut h = vec![("X-Timestamp", t.as_str()), ("Content-Type", "text/plain")];
    h.extend_from_slice(extra);
    s.request("PUT", path, &h, body)
}

#[test]
fn put_get_head_delete_round_trip() {
    let s = ObjectServer::start("roundtrip");
    let body = b"hello world";
    let r = put(&s, OBJ, body, &[("X-Object-Meta-Color", "blue"), ("Content-Disposition", "inline")]);
    assert_eq!(r.status, 201, "{}", s.stderr());
    assert_eq!(r.header("etag"), Some(format!("\"{}\"", md5_hex(body)).as_str()));
    let g = s.request("GET", OBJ, &[], b"");
    assert_eq!(g.status, 200);
    assert_eq!(g.body, body);
    assert_eq!(g.header("content-type"), Some("text/plain"));
    assert_eq!(g.header("x-object-meta-color"), Some("blue"));
    assert_eq!(g.header("content-disposition"), Some("inline"));
    assert!(g.header("last-modified").is_some_and(|v| v.ends_with("GMT")));
    assert!(g.header("x-timestamp").is_some());
    let h = s.request("HEAD", OBJ, &[], b"");
    assert_eq!(h.status, 200);
    assert_eq!(h.header("content-length"), Some("11"));
    assert!(h.body.is_empty());
    let t = ts();
    let d = s.request("DELETE", OBJ, &[("X-Timestamp", &t)], b"");
    assert_eq!(d.status, 204);
    let g = s.request("GET", OBJ, &[], b"");
    assert_eq!(g.status, 404);
    assert_eq!(g.header("x-backend-timestamp"), Some(t.as_str()));
    assert_eq!(s.request("DELETE", OBJ, &[("X-Timestamp", &ts())], b"").status, 404);
    // One file left: the newest tombstone.
    let hash_files: Vec<_> = files_with(&s.device().join("objects"), ".ts");
    assert_eq!(hash_files.len(), 1, "{hash_files:?}");
    assert!(files_with(&s.device().join("objects"), ".data").is_empty());
    assert!(s.stdout().contains("\"PUT /sda/1/a/c/o\" 201"), "{}", s.stdout());
}

#[test]
fn ninety_metadata_items_and_a_1024_byte_name() {
    let s = ObjectServer::start("meta90");
    let name = format!("/sda/3/a/c/{}", "n".repeat(1024));
    let metas: Vec<(String, String)> = (0..90).map(|i| (format!("X-Object-Meta-K{i:02}"), format!("v{i}"))).collect();
    let h: Vec<(&str, &str)> = metas.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(put(&s, &name, b"x", &h).status, 201, "{}", s.stderr());
    let g = s.request("GET", &name, &[], b"");
    assert_eq!(g.status, 200);
    for (k, v) in &metas {
        assert_eq!(g.header(k), Some(v.as_str()), "{k}");
    }
}

#[test]
fn timestamps_are_required_and_newest_wins() {
    let s = ObjectServer::start("timestamps");
    let r = s.request("PUT", OBJ, &[("Content-Type", "text/plain")], b"x");
    assert_eq!(r.status, 400);
    assert_eq!(s.request("PUT", OBJ, &[("X-Timestamp", "yesterday"), ("Content-Type", "a/b")], b"x").status, 400);
    assert_eq!(s.request("DELETE", OBJ, &[], b"").status, 400);
    assert_eq!(s.request("POST", OBJ, &[], b"").status, 400);
    let old = ts();
    let new = ts();
    assert_eq!(s.request("PUT", OBJ, &[("X-Timestamp", &new), ("Content-Type", "a/b")], b"new").status, 201);
    let r = s.request("PUT", OBJ, &[("X-Timestamp", &old), ("Content-Type", "a/b")], b"old");
    assert_eq!(r.status, 409);
    assert_eq!(r.header("x-backend-timestamp"), Some(new.as_str()));
    assert_eq!(s.request("PUT", OBJ, &[("X-Timestamp", &new), ("Content-Type", "a/b")], b"same").status, 409);
    assert_eq!(s.request("DELETE", OBJ, &[("X-Timestamp", &old)], b"").status, 409);
    assert_eq!(s.request("GET", OBJ, &[], b"").body, b"new");
    assert_eq!(s.request("PUT", OBJ, &[("X-Timestamp", &new), ("Content-Type", "a/b")], b"").status, 409);
    // Missing Content-Type / length.
    assert_eq!(s.request("PUT", "/sda/1/a/c/o2", &[("X-Timestamp", &ts())], b"x").status, 400);
    let r = s.request("PUT", "/sda/1/a/c/o2", &[("X-Timestamp", &ts()), ("Content-Type", "a/b")], b"");
    assert_eq!(r.status, 201);
}

#[test]
fn wrong_etag_is_422_and_stores_nothing() {
    let s = ObjectServer::start("etag");
    let r = put(&s, OBJ, b"body", &[("ETag", "\"00000000000000000000000000000000\"")]);
    assert_eq!(r.status, 422);
    assert_eq!(s.request("GET", OBJ, &[], b"").status, 404);
    assert!(files_with(&s.device(), ".data").is_empty());
    assert!(files_with(&s.device().join("tmp"), "").is_empty());
    let good = md5_hex(b"body");
    assert_eq!(put(&s, OBJ, b"body", &[("ETag", &good)]).status, 201);
}

#[test]
fn short_body_is_499_and_stores_nothing() {
    use std::io::Write;
    let s = ObjectServer::start("short");
    let mut c = std::net::TcpStream::connect(s.addr()).unwrap();
    let head = format!(
        "PUT {OBJ} HTTP/1.1\r\nHost: x\r\nX-Timestamp: {}\r\nContent-Type: a/b\r\nContent-Length: 100000\r\n\r\n",
        ts()
    );
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(&[1u8; 5000]).unwrap();
    drop(c);
    assert!(eventually(5, || s.stdout().contains("\"PUT /sda/1/a/c/o\" 499")), "{}", s.stdout());
    assert_eq!(s.request("GET", OBJ, &[], b"").status, 404);
    assert!(files_with(&s.device(), ".data").is_empty());
    assert!(files_with(&s.device().join("tmp"), "").is_empty());
}

#[test]
fn chunked_body_with_100_continue() {
    let s = ObjectServer::start("chunked");
    let t = ts();
    let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let r = s.request(
        "PUT",
        OBJ,
        &[("X-Timestamp", &t), ("Content-Type", "a/b"), ("Transfer-Encoding", "chunked"), ("Expect", "100-continue")],
        body,
    );
    assert_eq!(r.status, 201, "{}", s.stderr());
    assert_eq!(r.header("etag"), Some(format!("\"{}\"", md5_hex(b"hello world")).as_str()));
    let g = s.request("GET", OBJ, &[], b"");
    assert_eq!(g.body, b"hello world");
    assert_eq!(g.header("content-length"), Some("11"));
}

#[test]
fn ranges_and_conditionals() {
    let s = ObjectServer::start("ranges");
    let body: Vec<u8> = (0..100u8).collect();
    let etag = md5_hex(&body);
    assert_eq!(put(&s, OBJ, &body, &[]).status, 201);
    let r = s.request("GET", OBJ, &[("Range", "bytes=10-19")], b"");
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &body[10..20]);
    assert_eq!(r.header("content-range"), Some("bytes 10-19/100"));
    let r = s.request("GET", OBJ, &[("Range", "bytes=-5")], b"");
    assert_eq!(r.body, &body[95..]);
    let r = s.request("GET", OBJ, &[("Range", "bytes=0-1,98-")], b"");
    assert_eq!(r.status, 206);
    let ct = r.header("content-type").unwrap().to_string();
    assert!(ct.starts_with("multipart/byteranges;boundary="), "{ct}");
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(text.contains("Content-Range: bytes 0-1/100") && text.contains("Content-Range: bytes 98-99/100"));
    assert_eq!(r.header("content-length").unwrap().parse::<usize>().unwrap(), r.body.len());
    let r = s.request("GET", OBJ, &[("Range", "bytes=100-")], b"");
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */100"));
    assert_eq!(s.request("GET", OBJ, &[("Range", "bytes=5-1")], b"").status, 200);
    assert_eq!(s.request("GET", OBJ, &[("If-None-Match", &etag)], b"").status, 304);
    assert_eq!(s.request("GET", OBJ, &[("If-Match", "\"nope\"")], b"").status, 412);
    assert_eq!(s.request("GET", OBJ, &[("If-Match", &format!("\"{etag}\""))], b"").status, 200);
    let lm = s.request("HEAD", OBJ, &[], b"").header("last-modified").unwrap().to_string();
    assert_eq!(s.request("GET", OBJ, &[("If-Modified-Since", &lm)], b"").status, 304);
    let past = "Sat, 01 Jan 2000 00:00:00 GMT";
    assert_eq!(s.request("GET", OBJ, &[("If-Unmodified-Since", past)], b"").status, 412);
    assert_eq!(s.request("GET", "/sda/1/a/c/missing", &[("If-Match", "*")], b"").status, 412);
    // If-None-Match: * on PUT over an existing object.
    assert_eq!(put(&s, OBJ, b"x", &[("If-None-Match", "*")]).status, 412);
}

#[test]
fn a_range_is_ignored_when_the_named_metadata_is_present() {
    let s = ObjectServer::start("ignore-range");
    let link = "/sda/1/a/c/link";
    assert_eq!(put(&s, link, b"", &[("X-Object-Sysmeta-Symlink-Target", "c/o")]).status, 201);
    let ignore = ("X-Backend-Ignore-Range-If-Metadata-Present", "X-Object-Manifest, x-object-sysmeta-symlink-target");
    let r = s.request("GET", link, &[("Range", "bytes=7-10"), ignore], b"");
    assert_eq!((r.status, r.header("x-object-sysmeta-symlink-target")), (200, Some("c/o")));
    assert_eq!(s.request("GET", link, &[("Range", "bytes=7-10")], b"").status, 416);
    assert_eq!(put(&s, OBJ, b"0123456789", &[]).status, 201);
    assert_eq!(s.request("GET", OBJ, &[("Range", "bytes=7-8"), ignore], b"").body, b"78");
}

#[test]
fn post_replaces_metadata_and_delete_at_expires() {
    let s = ObjectServer::start("post");
    assert_eq!(put(&s, OBJ, b"x", &[("X-Object-Meta-A", "1"), ("X-Object-Meta-B", "2")]).status, 201);
    let r = s.request("POST", OBJ, &[("X-Timestamp", &ts()), ("X-Object-Meta-C", "3")], b"");
    assert_eq!(r.status, 202);
    assert_eq!(r.header("x-object-sysmeta-color"), None);
    let link = "/sda/1/a/c/link";
    assert_eq!(put(&s, link, b"", &[("X-Object-Sysmeta-Symlink-Target", "c/o")]).status, 201);
    let r = s.request("POST", link, &[("X-Timestamp", &ts()), ("X-Object-Meta-C", "3")], b"");
    assert_eq!((r.status, r.header("x-object-sysmeta-symlink-target")), (202, Some("c/o")));
    let g = s.request("HEAD", OBJ, &[], b"");
    assert_eq!(g.header("x-object-meta-a"), None);
    assert_eq!(g.header("x-object-meta-c"), Some("3"));
    assert_eq!(g.header("content-type"), Some("text/plain"));
    assert_eq!(s.request("POST", "/sda/1/a/c/nope", &[("X-Timestamp", &ts())], b"").status, 404);
    assert_eq!(put(&s, OBJ, b"x", &[("X-Delete-At", "1000")]).status, 400);
    assert_eq!(put(&s, OBJ, b"x", &[("X-Delete-At", "soon")]).status, 400);
    let soon = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 2).to_string();
    assert_eq!(put(&s, OBJ, b"x", &[("X-Delete-At", &soon)]).status, 201);
    assert_eq!(s.request("GET", OBJ, &[], b"").status, 200);
    assert!(eventually(5, || s.request("GET", OBJ, &[], b"").status == 404));
}

#[test]
fn missing_device_is_507_and_bad_paths_are_400() {
    let s = ObjectServer::start("paths");
    let r = s.request("PUT", "/sdz/1/a/c/o", &[("X-Timestamp", &ts()), ("Content-Type", "a/b")], b"x");
    assert_eq!(r.status, 507);
    assert_eq!(s.request("GET", "/sdz/1/a/c/o", &[], b"").status, 507);
    for bad in ["/../1/a/c/o", "/%2E%2E/1/a/c/o", "/sda/1x/a/c/o", "/sda/1/a//o", "/sda%2F..%2F..%2Fx/1/a/c/o"] {
        assert_eq!(s.request("GET", bad, &[], b"").status, 400, "{bad}");
    }
    // Container and account paths go to their backends: none exist here.
    assert_eq!(s.request("GET", "/sda/1/a/c", &[], b"").status, 404);
    assert_eq!(s.request("HEAD", "/sda/1/a", &[], b"").status, 404);
    // Nothing was created outside devices/sda.
    let entries: Vec<_> =
        std::fs::read_dir(s.dir.0.join("devices")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(entries, vec![std::ffi::OsString::from("sda")]);
}

#[test]
fn a_flipped_byte_is_quarantined_on_get() {
    // Streamed in chunks (200 kB) and read whole with the metadata (3 kB).
    for (name, size, flip) in [("quarantine", 200_000, 150_000), ("quarantine-small", 3000, 1000)] {
        let s = ObjectServer::start(name);
        let body = vec![b'a'; size];
        assert_eq!(put(&s, OBJ, &body, &[]).status, 201);
        let data = files_with(&s.device().join("objects"), ".data");
        assert_eq!(data.len(), 1);
        let mut bytes = std::fs::read(&data[0]).unwrap();
        bytes[flip] ^= 1;
        std::fs::write(&data[0], &bytes).unwrap();
        // Never a wrong byte: the small body is checked before the answer
        // (404); the streamed one stops before the rotten block (64 KiB).
        let g = s.request("GET", OBJ, &[], b"");
        if size < 65_536 {
            assert_eq!((g.status, g.body.len()), (404, 0), "{name}");
        } else {
            assert_eq!(g.status, 200, "{name}");
            assert!(g.body.len() <= flip / 65_536 * 65_536 && g.body == body[..g.body.len()], "{name}");
        }
        assert!(eventually(5, || s.request("GET", OBJ, &[], b"").status == 404));
        let q = files_with(&s.device().join("quarantined/objects"), ".data");
        assert_eq!(q.len(), 1, "{}", s.stderr());
        assert!(s.stderr().contains("quarantin"), "{}", s.stderr());
    }
}

#[test]
fn objects_out_of_the_page_cache_are_read_on_tpool() {
    // The hub reads only what is cached; evicted files must come back whole.
    let s = ObjectServer::start("evicted");
    let small: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(put(&s, "/sda/1/a/c/small", &small, &[]).status, 201);
    assert_eq!(put(&s, "/sda/1/a/c/big", &big, &[]).status, 201);
    assert_eq!(
        s.request("POST", "/sda/1/a/c/small", &[("X-Timestamp", &ts()), ("X-Object-Meta-K", "v")], b"").status,
        202
    );
    let evict = || {
        for file in files_with(&s.device().join("objects"), "") {
            let f = std::fs::File::open(&file).unwrap();
            f.sync_all().unwrap();
            rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).unwrap();
        }
    };
    for _ in 0..2 {
        evict();
        let g = s.request("GET", "/sda/1/a/c/small", &[], b"");
        assert_eq!((g.status, g.header("x-object-meta-k")), (200, Some("v")));
        assert!(g.body == small);
        evict();
        let g = s.request("GET", "/sda/1/a/c/big", &[], b"");
        assert_eq!(g.status, 200);
        assert!(g.body == big);
        evict();
        let r = s.request("GET", "/sda/1/a/c/big", &[("Range", "bytes=100000-100009")], b"");
        assert_eq!((r.status, &r.body[..]), (206, &big[100_000..100_010]));
    }
}

#[test]
fn a_truncated_data_file_is_quarantined_on_open() {
    let s = ObjectServer::start("truncated");
    assert_eq!(put(&s, OBJ, b"some body", &[]).status, 201);
    let data = files_with(&s.device().join("objects"), ".data");
    let f = std::fs::OpenOptions::new().write(true).open(&data[0]).unwrap();
    f.set_len(4).unwrap();
    assert_eq!(s.request("HEAD", OBJ, &[], b"").status, 404);
    assert_eq!(files_with(&s.device().join("quarantined/objects"), ".data").len(), 1);
}

#[test]
fn replicate_returns_suffix_hashes() {
    let s = ObjectServer::start("replicate");
    assert_eq!(put(&s, "/sda/5/a/c/one", b"1", &[]).status, 201);
    assert_eq!(put(&s, "/sda/5/a/c/two", b"2", &[]).status, 201);
    let r = s.request("REPLICATE", "/sda/5", &[], b"");
    assert_eq!(r.status, 200);
    let hashes: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let map = hashes.as_object().unwrap();
    assert!(!map.is_empty() && map.len() <= 2, "{map:?}");
    assert!(s.device().join("objects/5/hashes.json").exists());
    let before = map.clone();
    assert_eq!(s.request("DELETE", "/sda/5/a/c/one", &[("X-Timestamp", &ts())], b"").status, 204);
    let after: serde_json::Value = serde_json::from_slice(&s.request("REPLICATE", "/sda/5", &[], b"").body).unwrap();
    assert_ne!(after.as_object().unwrap(), &before);
    assert_eq!(s.request("REPLICATE", "/sda/6", &[], b"").body, b"{}");
}

/// A chunked body the way the proxy sends it: the checksums it computed
/// in the trailer.
fn trailed_put(s: &ObjectServer, path: &str, body: &[u8], etag: &str, crc: &str, extra: &[(&str, &str)]) -> Reply {
    let mut raw = Vec::new();
    for piece in body.chunks(7000) {
        raw.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        raw.extend_from_slice(piece);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(format!("0\r\nX-Backend-Etag: {etag}\r\nX-Backend-Crc32c: {crc}\r\n\r\n").as_bytes());
    let t = ts();
    let mut h = vec![
        ("X-Timestamp", t.as_str()),
        ("Content-Type", "a/b"),
        ("Transfer-Encoding", "chunked"),
        ("X-Backend-Checksums", "trailer"),
    ];
    h.extend_from_slice(extra);
    s.request("PUT", path, &h, &raw)
}

#[test]
fn the_proxys_trailer_gives_the_etag_and_its_crc32c_must_match() {
    let s = ObjectServer::start("trailer");
    let body: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
    let (etag, crc) = (md5_hex(&body), format!("{:08x}", crc32c::crc32c(&body)));
    let len = body.len().to_string();

    // Right checksums: stored with the proxy's ETag, served whole.
    let r = trailed_put(&s, OBJ, &body, &etag, &crc, &[("X-Backend-Obj-Content-Length", &len)]);
    assert_eq!(r.status, 201, "{}", s.stderr());
    assert_eq!(r.header("etag"), Some(format!("\"{etag}\"").as_str()));
    let g = s.request("GET", OBJ, &[], b"");
    assert!(g.status == 200 && g.body == body);
    assert_eq!(g.header("etag"), Some(format!("\"{etag}\"").as_str()));
    assert!(g.headers.iter().all(|(k, _)| !k.to_ascii_lowercase().contains("crc")), "{:?}", g.headers);

    // A CRC32C that does not match what arrived: 422, nothing stored.
    let other = "/sda/1/a/c/other";
    assert_eq!(trailed_put(&s, other, &body, &etag, "deadbeef", &[]).status, 422);
    // The client's ETag is checked against the proxy's MD5.
    let r = trailed_put(&s, other, &body, &etag, &crc, &[("ETag", "0123456789abcdef0123456789abcdef")]);
    assert_eq!(r.status, 422);
    // No trailer, or a length other than declared: refused.
    let mut h = vec![("X-Timestamp", "1700000000.00000"), ("Content-Type", "a/b"), ("Transfer-Encoding", "chunked")];
    h.push(("X-Backend-Checksums", "trailer"));
    assert_eq!(s.request("PUT", other, &h, b"5\r\nhello\r\n0\r\n\r\n").status, 400);
    let r = trailed_put(&s, other, &body, &etag, &crc, &[("X-Backend-Obj-Content-Length", "50001")]);
    assert_eq!(r.status, 400);
    assert_eq!(s.request("HEAD", other, &[], b"").status, 404);
    assert_eq!(files_with(&s.device().join("objects"), ".data").len(), 1);
    assert!(files_with(&s.device().join("tmp"), "").is_empty());
}

#[test]
fn data_files_without_a_crc32c_are_checked_by_md5() {
    // Written before CRC32Cs were stored: a full read checks the MD5.
    let s = ObjectServer::start("legacy");
    let body = vec![b'z'; 100_000];
    assert_eq!(put(&s, OBJ, &body, &[]).status, 201);
    let data = files_with(&s.device().join("objects"), ".data");
    let bytes = std::fs::read(&data[0]).unwrap();
    let (mut meta, body_len) = object_server::object::diskfile::format::parse_file(&bytes).unwrap();
    assert!(meta.remove("Crc32c").is_some(), "{meta:?}");
    let mut rewritten = bytes[..body_len as usize].to_vec();
    rewritten.extend_from_slice(&object_server::object::diskfile::format::footer(&meta));
    std::fs::write(&data[0], &rewritten).unwrap();
    assert!(s.request("GET", OBJ, &[], b"").body == body);
    assert_eq!(s.request("HEAD", OBJ, &[], b"").status, 200, "a good body stays");
    rewritten[500] ^= 1;
    std::fs::write(&data[0], &rewritten).unwrap();
    assert_eq!(s.request("GET", OBJ, &[], b"").status, 200);
    assert!(eventually(5, || s.request("GET", OBJ, &[], b"").status == 404));
    assert!(s.stderr().contains("body MD5"), "{}", s.stderr());
}

#[test]
fn a_whole_small_body_takes_the_proxys_checksums_from_the_head() {
    let s = ObjectServer::start("headsums");
    let body = b"a small object, whole".to_vec();
    let (etag, crc) = (md5_hex(&body), format!("{:08x}", crc32c::crc32c(&body)));
    let sums = |etag: &str, crc: &str| {
        vec![
            ("X-Backend-Checksums", "header".to_string()),
            ("X-Backend-Etag", etag.into()),
            ("X-Backend-Crc32c", crc.into()),
        ]
    };
    let put_with = |path: &str, h: &[(&str, String)], t: &str| {
        let mut all: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend([("X-Timestamp", t), ("Content-Type", "a/b")]);
        s.request("PUT", path, &all, &body)
    };

    let t = ts();
    let r = put_with(OBJ, &sums(&etag, &crc), &t);
    assert_eq!(r.status, 201, "{}", s.stderr());
    assert_eq!(r.header("etag"), Some(format!("\"{etag}\"").as_str()));
    let g = s.request("GET", OBJ, &[], b"");
    assert!(g.status == 200 && g.body == body);
    // An older or equal timestamp is refused before any file is made.
    assert_eq!(put_with(OBJ, &sums(&etag, &crc), &t).status, 409);

    let other = "/sda/1/a/c/other";
    // The bytes changed on the way: 422. No checksums: 400. The client's
    // ETag is checked against the proxy's MD5.
    assert_eq!(put_with(other, &sums(&etag, "deadbeef"), &ts()).status, 422);
    assert_eq!(put_with(other, &sums(&etag, &crc)[..1], &ts()).status, 400);
    let mut wrong = sums(&etag, &crc);
    wrong.push(("ETag", "0123456789abcdef0123456789abcdef".into()));
    assert_eq!(put_with(other, &wrong, &ts()).status, 422);
    assert_eq!(s.request("HEAD", other, &[], b"").status, 404);
    assert_eq!(files_with(&s.device().join("objects"), ".data").len(), 1);
    assert!(files_with(&s.device().join("tmp"), "").is_empty());
}

#[test]
fn a_big_body_flushed_in_the_background_as_it_arrives_is_stored_whole() {
    let s = ObjectServer::start("flushed");
    // Three background fdatasyncs' worth (one every 8 MiB), and a tail.
    let body: Vec<u8> = (0..(25 << 20) + 123u32).map(|i| (i % 251) as u8).collect();
    let r = put(&s, OBJ, &body, &[]);
    assert_eq!(r.status, 201, "{}", s.stderr());
    assert_eq!(r.header("etag"), Some(format!("\"{}\"", md5_hex(&body)).as_str()));
    let g = s.request("GET", OBJ, &[], b"");
    assert!(g.status == 200 && g.body == body);
    assert!(files_with(&s.device().join("tmp"), "").is_empty());
}
