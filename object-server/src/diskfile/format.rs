//! The file format: body, then a JSON metadata footer, then a fixed
//! 16-byte trailer.
//!
//! ```text
//! +----------------------+-----------------------+------------------------------+
//! | body (Content-Length)| metadata: JSON object | json_len: u64 LE | "SWLTMD01" |
//! +----------------------+-----------------------+------------------------------+
//! 0                      body_len                 file_len - 16        file_len
//! ```
//!
//! The body streams to disk as it arrives and a read of the body starts at
//! offset 0; the metadata goes last, when it is known (the ETag is only
//! known at the end). `.ts` and `.meta` files are the same with an empty
//! body. Metadata values are strings (Swift's metadata dict); there is no
//! limit on their number or size but the file's, so 90 items and 1024-byte
//! names work on any filesystem (no xattrs).

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;

/// Swift's metadata: header-like names to string values.
pub type Metadata = BTreeMap<String, String>;

pub const MAGIC: &[u8; 8] = b"SWLTMD01";
pub const TRAILER_LEN: u64 = 16;
/// Footers larger than this are taken for corruption.
pub const MAX_FOOTER: u64 = 16 << 20;

/// The footer to append after the body: JSON and the trailer.
pub fn footer(meta: &Metadata) -> Vec<u8> {
    let mut out = serde_json::to_vec(meta).unwrap_or_else(|_| b"{}".to_vec());
    let json_len = out.len() as u64;
    out.extend_from_slice(&json_len.to_le_bytes());
    out.extend_from_slice(MAGIC);
    out
}

/// Parses the JSON footer. Values holding CR, LF or NUL would split a
/// response: they are corruption.
pub fn parse_metadata(json: &[u8]) -> Result<Metadata, String> {
    let value: serde_json::Value = serde_json::from_slice(json).map_err(|e| format!("metadata is not JSON: {e}"))?;
    let map = value.as_object().ok_or("metadata is not a JSON object")?;
    let mut out = Metadata::new();
    for (k, v) in map {
        let v = v.as_str().ok_or_else(|| format!("metadata {k:?} is not a string"))?;
        if k.is_empty() || k.contains(['\r', '\n', '\0', ':']) || v.contains(['\r', '\n', '\0']) {
            return Err(format!("metadata {k:?} holds a forbidden character"));
        }
        out.insert(k.clone(), v.to_string());
    }
    Ok(out)
}

/// Reads the metadata of an open file of `file_len` bytes; returns it with
/// the body length. `Err` is a reason to quarantine; `Ok(Err(io))` is an
/// I/O failure.
pub fn read_footer(file: &File, file_len: u64) -> std::io::Result<Result<(Metadata, u64), String>> {
    if file_len < TRAILER_LEN {
        return Ok(Err(format!("file of {file_len} bytes has no trailer")));
    }
    let mut trailer = [0u8; TRAILER_LEN as usize];
    file.read_exact_at(&mut trailer, file_len - TRAILER_LEN)?;
    if &trailer[8..] != MAGIC {
        return Ok(Err("bad trailer magic".into()));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&trailer[..8]);
    let json_len = u64::from_le_bytes(len);
    if json_len > MAX_FOOTER || json_len > file_len - TRAILER_LEN {
        return Ok(Err(format!("metadata length {json_len} does not fit the file")));
    }
    let mut json = vec![0u8; json_len as usize];
    file.read_exact_at(&mut json, file_len - TRAILER_LEN - json_len)?;
    Ok(parse_metadata(&json).map(|m| (m, file_len - TRAILER_LEN - json_len)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp_file(name: &str) -> (std::path::PathBuf, File) {
        let p = std::env::temp_dir().join(format!("swiftlet-fmt-{}-{name}", std::process::id()));
        let f = File::options().create(true).truncate(true).read(true).write(true).open(&p).unwrap();
        (p, f)
    }

    #[test]
    fn metadata_round_trips_with_90_items_and_long_names() {
        let mut meta = Metadata::new();
        meta.insert("name".into(), format!("/a/c/{}", "\u{2603}".repeat(341) + "o"));
        meta.insert("X-Timestamp".into(), "1700000000.00000".into());
        for i in 0..90 {
            meta.insert(format!("X-Object-Meta-Item{i:02}"), format!("value {i} \u{e9}\"quoted\"\\"));
        }
        let (path, mut f) = temp_file("roundtrip");
        let body = vec![7u8; 5000];
        f.write_all(&body).unwrap();
        f.write_all(&footer(&meta)).unwrap();
        let len = f.metadata().unwrap().len();
        let (back, body_len) = read_footer(&f, len).unwrap().unwrap();
        assert_eq!(body_len, 5000);
        assert_eq!(back, meta);
        assert!(back["name"].len() > 1024);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn corrupt_footers_are_reasons_not_panics() {
        let (path, mut f) = temp_file("corrupt");
        f.write_all(b"short").unwrap();
        assert!(read_footer(&f, 5).unwrap().is_err());
        let mut bad = footer(&Metadata::new());
        let n = bad.len();
        bad[n - 1] = b'X';
        f.write_all(&bad).unwrap();
        assert!(read_footer(&f, 5 + n as u64).unwrap().is_err());
        assert!(parse_metadata(b"{\"a\": \"x\\r\\nInjected: 1\"}").is_err());
        assert!(parse_metadata(b"[1]").is_err());
        assert!(parse_metadata(b"{\"a\": 1}").is_err());
        std::fs::remove_file(path).unwrap();
    }
}
