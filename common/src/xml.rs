//! XML text escaping, as Swift's listings and S3 answers need it.

/// Appends `s` to `out` with `&`, `<`, `>`, `"` and `'` escaped, so it is
/// safe in text and in attribute values.
pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_characters_are_escaped() {
        let mut out = String::new();
        super::escape("a\"b<c>&'d", &mut out);
        assert_eq!(out, "a&quot;b&lt;c&gt;&amp;&apos;d");
    }
}
