//! swiftlet's ssync receiver against the real binary: what a peer's
//! replicator sends is merged as the original write would be (newest
//! wins, checked before commit), and nothing a peer sends wrong (a name
//! that does not hash there, another timestamp, a bad body, broken
//! framing) makes the node answer 5xx or store anything.

mod common;

use common::*;
use object_server::object::diskfile::format;
use object_server::object::ssync::METADATA_LENGTH;
use std::collections::BTreeMap;
use std::path::PathBuf;

const OBJ: &str = "/sda/1/a/c/o";

/// Puts `body` at `OBJ`; returns the data file's hash and metadata.
fn put(s: &ObjectServer, body: &[u8]) -> (String, BTreeMap<String, String>) {
    let t = ts();
    let r = s.request("PUT", OBJ, &[("X-Timestamp", t.as_str()), ("Content-Type", "text/plain")], body);
    assert_eq!(r.status, 201);
    let data = files_with(&s.device().join("objects"), ".data");
    assert_eq!(data.len(), 1);
    let hash = data[0].parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
    let (meta, _) = format::parse_whole(&std::fs::read(&data[0]).unwrap()).unwrap();
    (hash, meta)
}

/// An `SSYNC` upload of one file: metadata JSON, then the body.
fn upload(s: &ObjectServer, hash: &str, name: &str, meta: &BTreeMap<String, String>, body: &[u8]) -> Reply {
    let json = serde_json::to_vec(meta).unwrap();
    let mut all = json.clone();
    all.extend_from_slice(body);
    let len = json.len().to_string();
    s.request("SSYNC", &format!("/sda/1/{hash}/{name}"), &[(METADATA_LENGTH, len.as_str())], &all)
}

/// The metadata of a newer version of the object with `body`.
fn newer(meta: &BTreeMap<String, String>, t: &str, body: &[u8]) -> BTreeMap<String, String> {
    let mut m = meta.clone();
    m.insert("X-Timestamp".into(), t.into());
    m.insert("Content-Length".into(), body.len().to_string());
    m.insert("ETag".into(), md5_hex(body));
    m.insert("Crc32c".into(), format!("{:08x}", crc32c::crc32c(body)));
    m
}

fn get(s: &ObjectServer) -> Reply {
    s.request("GET", OBJ, &[], b"")
}

fn datas(s: &ObjectServer) -> Vec<PathBuf> {
    files_with(&s.device().join("objects"), ".data")
}

#[test]
fn a_newer_file_is_taken_and_an_older_or_equal_one_is_refused() {
    let s = ObjectServer::start("ssync-merge");
    let (hash, meta) = put(&s, b"first");
    let t = ts();
    let m = newer(&meta, &t, b"second");
    assert_eq!(upload(&s, &hash, &format!("{t}.data"), &m, b"second").status, 201);
    assert_eq!(get(&s).body, b"second");
    assert_eq!(datas(&s).len(), 1, "the older .data is cleaned up");
    // The same again, or the first one: 409, nothing changes.
    assert_eq!(upload(&s, &hash, &format!("{t}.data"), &m, b"second").status, 409);
    let old = &meta["X-Timestamp"];
    assert_eq!(upload(&s, &hash, &format!("{old}.data"), &meta, b"first").status, 409);
    assert_eq!(get(&s).body, b"second");
    // A big body waits for 100 Continue: a refusal comes before it.
    let big = vec![7u8; 200_000];
    let mb = newer(&meta, old, &big);
    let json = serde_json::to_vec(&mb).unwrap();
    let (len, jl) = ((json.len() + big.len()).to_string(), json.len().to_string());
    let headers = [("Expect", "100-continue"), ("Content-Length", len.as_str()), (METADATA_LENGTH, jl.as_str())];
    let r = s.request("SSYNC", &format!("/sda/1/{hash}/{old}.data"), &headers, &[json, big].concat());
    assert_eq!(r.status, 409);
    // A newer .meta applies; a tombstone newer than all deletes.
    let tm = ts();
    let mut post = BTreeMap::new();
    post.insert("name".to_string(), meta["name"].clone());
    post.insert("X-Timestamp".to_string(), tm.clone());
    post.insert("X-Object-Meta-Color".to_string(), "blue".to_string());
    assert_eq!(upload(&s, &hash, &format!("{tm}.meta"), &post, b"").status, 201);
    assert_eq!(get(&s).header("x-object-meta-color"), Some("blue"));
    let tt = ts();
    let mut gone = BTreeMap::new();
    gone.insert("name".to_string(), meta["name"].clone());
    gone.insert("X-Timestamp".to_string(), tt.clone());
    assert_eq!(upload(&s, &hash, &format!("{tt}.ts"), &gone, b"").status, 201);
    assert_eq!(get(&s).status, 404);
    // Nothing older comes back over it.
    assert_eq!(upload(&s, &hash, &format!("{t}.data"), &m, b"second").status, 409);
    assert_eq!(get(&s).status, 404);
    // The listing says what is there.
    let suffix = &hash[29..];
    let r = s.request("SSYNC", &format!("/sda/1/{suffix}"), &[], b"");
    assert_eq!(r.status, 200);
    let listed: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(listed[&hash]["t"], tt.as_str(), "{listed}");
}

#[test]
fn what_a_peer_sends_wrong_is_refused_with_4xx_and_nothing_is_stored() {
    let s = ObjectServer::start("ssync-bad");
    let (hash, meta) = put(&s, b"kept");
    let t = ts();
    let good = newer(&meta, &t, b"new body");
    let name = format!("{t}.data");
    // A body whose checksum is not its metadata's: 422.
    assert_eq!(upload(&s, &hash, &name, &good, b"new bodY").status, 422);
    // A name that hashes elsewhere, or no name: 400.
    let mut other = good.clone();
    other.insert("name".into(), "/a/c/other".into());
    assert_eq!(upload(&s, &hash, &name, &other, b"new body").status, 400);
    let mut nameless = good.clone();
    nameless.remove("name");
    assert_eq!(upload(&s, &hash, &name, &nameless, b"new body").status, 400);
    // Another timestamp than the file's, a length that is not the body's.
    let t2 = ts();
    assert_eq!(upload(&s, &hash, &format!("{t2}.data"), &good, b"new body").status, 400);
    assert_eq!(upload(&s, &hash, &name, &good, b"new body!").status, 400);
    // A .ts or .meta with a body; a .meta with no .data to apply to.
    assert_eq!(upload(&s, &hash, &format!("{t}.ts"), &good, b"x").status, 400);
    let elsewhere = "00000000000000000000000000000abc";
    let mut lone = BTreeMap::new();
    lone.insert("name".to_string(), "/a/c/o".to_string());
    lone.insert("X-Timestamp".to_string(), t.clone());
    assert_eq!(upload(&s, elsewhere, &format!("{t}.meta"), &lone, b"").status, 400, "does not hash there");
    // Framing: no metadata length, one beyond the body, metadata that is
    // not JSON, no length at all, bad paths.
    let path = format!("/sda/1/{hash}/{name}");
    assert_eq!(s.request("SSYNC", &path, &[], b"{}").status, 400);
    assert_eq!(s.request("SSYNC", &path, &[(METADATA_LENGTH, "99")], b"{}").status, 400);
    assert_eq!(s.request("SSYNC", &path, &[(METADATA_LENGTH, "5")], b"nope!body").status, 400);
    assert_eq!(
        s.request("SSYNC", &path, &[(METADATA_LENGTH, "2"), ("Transfer-Encoding", "chunked")], b"0\r\n\r\n").status,
        411
    );
    for bad in [format!("/sda/1/{hash}/junk"), "/sda/1".to_string(), "/sda/1/zz".to_string(), "/sda/x/abc".to_string()]
    {
        let r = s.request("SSYNC", &bad, &[(METADATA_LENGTH, "2")], b"{}");
        assert!((400..500).contains(&r.status), "{bad}: {}", r.status);
    }
    // Still the first object, whole, and nothing else on disk.
    assert_eq!(get(&s).body, b"kept");
    assert_eq!(datas(&s).len(), 1);
    assert!(files_with(&s.device().join("tmp"), "").iter().all(|p| p.is_dir()), "no temp file left");
}
