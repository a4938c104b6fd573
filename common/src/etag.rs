//! ETags as Swift compares them.

/// Strips the quotes of a strong ETag (swob's `normalize_etag`).
pub fn normalize_etag(tag: &str) -> &str {
    let t = tag.trim();
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        &t[1..t.len() - 1]
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_etag;

    #[test]
    fn quotes_of_a_strong_etag_go() {
        assert_eq!(normalize_etag(" \"abc\" "), "abc");
        assert_eq!(normalize_etag("abc"), "abc");
        assert_eq!(normalize_etag("\""), "\"");
    }
}
