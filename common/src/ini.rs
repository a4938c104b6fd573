//! A tiny reader for the INI files Swift reads with Python's `ConfigParser`
//! (`swift.conf`): `[section]` headers, `key = value` or `key: value`, `#`
//! and `;` comment lines, keys lower-cased, values trimmed. Continuation
//! lines and interpolation beyond `%%` are not supported (Swift's hash
//! settings never use them).

use std::collections::BTreeMap;
use std::path::Path;

/// Sections of key/value pairs. Values are kept as raw bytes, because Swift
/// reads `swift.conf` as latin-1 and hashes the bytes of the prefix/suffix.
#[derive(Debug, Default, Clone)]
pub struct Ini {
    sections: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

impl Ini {
    /// Parses INI text. Lines outside any section are ignored.
    pub fn parse(text: &[u8]) -> Ini {
        let mut ini = Ini::default();
        let mut section: Option<String> = None;
        for raw in text.split(|&b| b == b'\n') {
            let line = trim(raw);
            if line.is_empty() || line[0] == b'#' || line[0] == b';' {
                continue;
            }
            if line[0] == b'[' {
                if let Some(end) = line.iter().position(|&b| b == b']') {
                    let name = String::from_utf8_lossy(&line[1..end]).into_owned();
                    ini.sections.entry(name.clone()).or_default();
                    section = Some(name);
                }
                continue;
            }
            let Some(name) = &section else { continue };
            let Some(sep) = line.iter().position(|&b| b == b'=' || b == b':') else { continue };
            let key = String::from_utf8_lossy(trim(&line[..sep])).to_lowercase();
            let value = unescape_percent(trim(&line[sep + 1..]));
            ini.sections.entry(name.clone()).or_default().insert(key, value);
        }
        ini
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> std::io::Result<Ini> {
        Ok(Ini::parse(&std::fs::read(path)?))
    }

    /// The raw value of `key` in `section`, if set.
    pub fn get(&self, section: &str, key: &str) -> Option<&[u8]> {
        self.sections.get(section)?.get(&key.to_lowercase()).map(Vec::as_slice)
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// ConfigParser's basic interpolation turns `%%` into `%`.
fn unescape_percent(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'%' && v.get(i + 1) == Some(&b'%') {
            i += 1;
        }
        out.push(v[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_keys_and_comments() {
        let ini = Ini::parse(
            b"# comment\n[swift-hash]\n; other\nswift_hash_path_suffix = end cap \n\
              Swift_Hash_Path_Prefix: start\n[other]\nx=1\n",
        );
        assert_eq!(ini.get("swift-hash", "swift_hash_path_suffix"), Some(&b"end cap"[..]));
        assert_eq!(ini.get("swift-hash", "swift_hash_path_prefix"), Some(&b"start"[..]));
        assert_eq!(ini.get("other", "x"), Some(&b"1"[..]));
        assert_eq!(ini.get("other", "y"), None);
        assert_eq!(ini.get("nope", "x"), None);
    }

    #[test]
    fn keeps_raw_bytes_and_unescapes_percent() {
        let ini = Ini::parse(b"[s]\nk = \xe9t\xe9 100%%\r\n");
        assert_eq!(ini.get("s", "k"), Some(&b"\xe9t\xe9 100%"[..]));
    }
}
