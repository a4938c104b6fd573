//! %-encoding of request paths, as Swift sends them to its backends.

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

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quote_keeps_slashes_and_unreserved_bytes_and_encodes_the_rest() {
        assert_eq!(quote("/sda/1/a/c/o x\u{2603}"), "/sda/1/a/c/o%20x%E2%98%83");
        assert_eq!(quote("/a-b_c.d~e"), "/a-b_c.d~e");
        assert_eq!(quote("%?#"), "%25%3F%23");
    }
}
