//! The container format shared by ring and builder files, and the atomic
//! write both use. See docs/ring-format.md.
//!
//! ```text
//! magic (8 bytes) | header length (u32 BE) | JSON header | payload | md5 (16 bytes)
//! ```
//!
//! The md5 covers everything before it, so a truncated or corrupted file is
//! refused instead of silently mapping names to the wrong devices.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use serde_json::Value;

use crate::error::{Error, Result};

/// Magic of a compact ring file (`*.ring`).
pub const RING_MAGIC: &[u8; 8] = b"SWLTRING";
/// Magic of a builder file (`*.builder`).
pub const BUILDER_MAGIC: &[u8; 8] = b"SWLTBLDR";

/// Frames a JSON header and a binary payload.
pub fn encode(magic: &[u8; 8], header: &Value, payload: &[u8]) -> Vec<u8> {
    let header = header.to_string();
    let mut out = Vec::with_capacity(8 + 4 + header.len() + payload.len() + 16);
    out.extend_from_slice(magic);
    // Headers are small JSON documents (devices), far below 4 GiB.
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(payload);
    let sum = Md5::digest(&out);
    out.extend_from_slice(&sum);
    out
}

/// Checks magic and checksum; returns the JSON header and the payload.
pub fn decode<'a>(path: &Path, magic: &[u8; 8], bytes: &'a [u8]) -> Result<(Value, &'a [u8])> {
    if bytes.len() < 8 + 4 + 16 || &bytes[..8] != magic {
        let what = if magic == RING_MAGIC { "a swiftlet ring file" } else { "a swiftlet builder file" };
        return Err(Error::bad_file(path, format!("not {what} (bad magic)")));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 16);
    if Md5::digest(body).as_slice() != sum {
        return Err(Error::bad_file(path, "checksum mismatch (truncated or corrupt file)"));
    }
    let len = u32::from_be_bytes([body[8], body[9], body[10], body[11]]) as usize;
    let end = 12usize.checked_add(len).filter(|&e| e <= body.len());
    let end = end.ok_or_else(|| Error::bad_file(path, "header length past end of file"))?;
    let header: Value =
        serde_json::from_slice(&body[12..end]).map_err(|e| Error::bad_file(path, format!("bad JSON header: {e}")))?;
    Ok((header, &body[end..]))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, fsync, rename over `path`, fsync of the directory. On any
/// error the old file is untouched and the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| Error::bad_file(path, "not a file name"))?;
    let tmp = dir.join(format!(".{}.tmp.{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(&dir)?.sync_all()
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Reads a whole file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::io(path, e))
}

/// Appends `rows` (each a slice of device ids) as big-endian `u16`s.
pub fn put_table(out: &mut Vec<u8>, rows: &[Vec<u16>]) {
    for row in rows {
        for id in row {
            out.extend_from_slice(&id.to_be_bytes());
        }
    }
}

/// Reads `replicas` rows of `parts` big-endian `u16`s from the front of
/// `payload`; returns the rows and the rest.
pub fn get_table<'a>(
    path: &Path,
    payload: &'a [u8],
    replicas: usize,
    parts: usize,
) -> Result<(Vec<Vec<u16>>, &'a [u8])> {
    let need = replicas.checked_mul(parts).and_then(|n| n.checked_mul(2));
    let need =
        need.filter(|&n| n <= payload.len()).ok_or_else(|| Error::bad_file(path, "table shorter than header says"))?;
    let (table, rest) = payload.split_at(need);
    let rows = table
        .chunks_exact(parts * 2)
        .map(|row| row.chunks_exact(2).map(|b| u16::from_be_bytes([b[0], b[1]])).collect())
        .collect();
    Ok((rows, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_and_corruption() {
        let p = Path::new("x");
        let bytes = encode(RING_MAGIC, &json!({"a": 1}), b"payload");
        let (h, payload) = decode(p, RING_MAGIC, &bytes).unwrap();
        assert_eq!(h, json!({"a": 1}));
        assert_eq!(payload, b"payload");
        assert!(decode(p, BUILDER_MAGIC, &bytes).is_err());
        let mut bad = bytes.clone();
        bad[14] ^= 1;
        assert!(decode(p, RING_MAGIC, &bad).is_err());
        assert!(decode(p, RING_MAGIC, &bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn table_round_trip() {
        let rows = vec![vec![1u16, 2, 3], vec![4, 5, NONE]];
        let mut out = Vec::new();
        put_table(&mut out, &rows);
        out.push(9);
        let (back, rest) = get_table(Path::new("x"), &out, 2, 3).unwrap();
        assert_eq!(back, rows);
        assert_eq!(rest, &[9]);
        assert!(get_table(Path::new("x"), &out, 3, 3).is_err());
    }

    const NONE: u16 = u16::MAX;
}
