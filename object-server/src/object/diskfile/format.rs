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
/// response: they are corruption. The one exception is `name`, the
/// object's own path, which is never sent as a header: an object name may
/// hold CR and LF (Swift allows them; only NUL is refused, at routing).
pub fn parse_metadata(json: &[u8]) -> Result<Metadata, String> {
    let map: Metadata =
        serde_json::from_slice(json).map_err(|e| format!("metadata is not a JSON object of strings: {e}"))?;
    for (k, v) in &map {
        let bad_value = if k == "name" { v.contains('\0') } else { v.contains(['\r', '\n', '\0']) };
        if k.is_empty() || k.contains(['\r', '\n', '\0', ':']) || bad_value {
            return Err(format!("metadata {k:?} holds a forbidden character"));
        }
    }
    Ok(map)
}

/// The length of the JSON before the trailer that ends a file of
/// `file_len` bytes; `Err` is a reason to quarantine.
pub fn json_len(trailer: &[u8], file_len: u64) -> Result<u64, String> {
    if file_len < TRAILER_LEN || trailer.len() != TRAILER_LEN as usize {
        return Err(format!("file of {file_len} bytes has no trailer"));
    }
    if &trailer[8..] != MAGIC {
        return Err("bad trailer magic".into());
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&trailer[..8]);
    let json_len = u64::from_le_bytes(len);
    if json_len > MAX_FOOTER || json_len > file_len - TRAILER_LEN {
        return Err(format!("metadata length {json_len} does not fit the file"));
    }
    Ok(json_len)
}

/// Parses a whole file held in memory: its metadata and body length.
pub fn parse_file(file: &[u8]) -> Result<(Metadata, u64), String> {
    let file_len = file.len() as u64;
    let trailer = &file[file.len().saturating_sub(TRAILER_LEN as usize)..];
    let json_len = json_len(trailer, file_len)?;
    let body_len = file_len - TRAILER_LEN - json_len;
    Ok((parse_metadata(&file[body_len as usize..file.len() - TRAILER_LEN as usize])?, body_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_with_90_items_and_long_names() {
        let mut meta = Metadata::new();
        meta.insert("name".into(), format!("/a/c/{}", "\u{2603}".repeat(341) + "o"));
        meta.insert("X-Timestamp".into(), "1700000000.00000".into());
        for i in 0..90 {
            meta.insert(format!("X-Object-Meta-Item{i:02}"), format!("value {i} \u{e9}\"quoted\"\\"));
        }
        let mut file = vec![7u8; 5000];
        file.extend_from_slice(&footer(&meta));
        let (back, body_len) = parse_file(&file).unwrap();
        assert_eq!(body_len, 5000);
        assert_eq!(back, meta);
        assert!(back["name"].len() > 1024);
        let trailer = &file[file.len() - 16..];
        assert_eq!(json_len(trailer, file.len() as u64).unwrap(), file.len() as u64 - 5016);
    }

    #[test]
    fn corrupt_footers_are_reasons_not_panics() {
        assert!(parse_file(b"short").is_err());
        assert!(parse_file(b"").is_err());
        let mut bad = b"body".to_vec();
        bad.extend_from_slice(&footer(&Metadata::new()));
        assert!(parse_file(&bad).is_ok());
        let n = bad.len();
        bad[n - 1] = b'X';
        assert!(parse_file(&bad).is_err());
        // A JSON length beyond the file, or over the cap.
        let mut long = footer(&Metadata::new());
        let n = long.len();
        long[n - 16..n - 8].copy_from_slice(&100u64.to_le_bytes());
        assert!(parse_file(&long).is_err());
        long[n - 16..n - 8].copy_from_slice(&(MAX_FOOTER + 1).to_le_bytes());
        assert!(json_len(&long[n - 16..], u64::MAX).is_err());
        assert!(parse_metadata(b"{\"a\": \"x\\r\\nInjected: 1\"}").is_err());
        // An object's own name may hold CR and LF: it is never a header.
        let named = parse_metadata(b"{\"name\": \"/a/c/line\\r\\nbreak\"}").unwrap();
        assert_eq!(named["name"], "/a/c/line\r\nbreak");
        assert!(parse_metadata(b"{\"name\": \"/a/c/nul\\u0000\"}").is_err());
        assert!(parse_metadata(b"[1]").is_err());
        assert!(parse_metadata(b"{\"a\": 1}").is_err());
    }
}
