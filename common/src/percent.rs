//! %-encoding of request paths, as Swift sends them to its backends, and
//! its decoding.

/// %-encodes a path for a backend request (Swift's `quote(path, safe='/')`):
/// ASCII letters, digits and `/-_.~` stay, every other byte becomes `%XX`.
pub fn quote(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hex_value(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Decodes `%XX` escapes as Python's `unquote` does: an escape that is not
/// two hex digits stays as it is.
pub fn decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1).and_then(|&c| hex_value(c)), b.get(i + 2).and_then(|&c| hex_value(c))) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Decodes `%XX` escapes; `None` if an escape is not two hex digits.
pub fn decode_strict(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let (h, l) = (hex_value(*b.get(i + 1)?)?, hex_value(*b.get(i + 2)?)?);
            out.push(h * 16 + l);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_keeps_bad_escapes_or_refuses_them() {
        assert_eq!(decode("a%20b%zz%4"), b"a b%zz%4");
        assert_eq!(decode_strict("a%20b%E2%98%83").unwrap(), "a b\u{2603}".as_bytes());
        assert_eq!(decode_strict("a%zz"), None);
        assert_eq!(decode_strict("a%4"), None);
    }

    #[test]
    fn quote_keeps_slashes_and_unreserved_bytes_and_encodes_the_rest() {
        assert_eq!(quote("/sda/1/a/c/o x\u{2603}"), "/sda/1/a/c/o%20x%E2%98%83");
        assert_eq!(quote("/a-b_c.d~e"), "/a-b_c.d~e");
        assert_eq!(quote("%?#"), "%25%3F%23");
    }
}
