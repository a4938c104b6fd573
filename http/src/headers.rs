//! An ordered header list.
//!
//! Names are kept exactly as received (Swift echoes metadata names back as
//! they were sent) and compared case-insensitively. The list is a plain `Vec`
//! scanned linearly: a request has a few dozen headers at most, and a scan
//! over them beats hashing.
//!
//! `write_to` writes names and values verbatim. The parser never produces a
//! name or value holding CR, LF or NUL, and code that builds headers from
//! anything else must not either (that would split the response).

use std::fmt;

/// An ordered list of `(name, value)` pairs with case-insensitive lookups.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// The value of the first header called `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The values of every header called `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether at least one header is called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Adds a header at the end, keeping any others of the same name.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.push((name.into(), value.into()));
    }

    /// Sets `name` to `value`: the first header of that name is replaced in
    /// place (name spelling included), later ones are removed; if there was
    /// none, the header is appended.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.position(&name) {
            Some(first) => {
                let mut i = first + 1;
                while i < self.entries.len() {
                    if self.entries[i].0.eq_ignore_ascii_case(&name) {
                        self.entries.remove(i);
                    } else {
                        i += 1;
                    }
                }
                self.entries[first] = (name, value);
            }
            None => self.entries.push((name, value)),
        }
    }

    /// Removes every header called `name` and returns the first one's value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let first = self.position(name)?;
        let (_, value) = self.entries.remove(first);
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        Some(value)
    }

    /// Every `(name, value)` pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The number of header lines (repeated names count once each).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no headers at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends one `Name: value\r\n` line per header to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        for (name, value) in &self.entries {
            debug_assert!(
                !value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0),
                "header {name} holds CR, LF or NUL"
            );
            out.reserve(name.len() + value.len() + 4);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl FromIterator<(String, String)> for Headers {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Headers {
        Headers { entries: iter.into_iter().collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Headers {
        [
            ("Content-Type", "text/plain"),
            ("X-Object-Meta-Color", "blue"),
            ("x-object-meta-color", "red"),
            ("Content-Length", "4"),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn get_is_case_insensitive_and_returns_first_match() {
        let h = sample();
        for name in ["x-object-meta-color", "X-OBJECT-META-COLOR", "X-Object-Meta-Color"] {
            assert_eq!(h.get(name), Some("blue"), "{name}");
        }
        assert_eq!(h.get("content-length"), Some("4"));
        assert_eq!(h.get("etag"), None);
    }

    #[test]
    fn get_all_returns_every_match_in_order() {
        let h = sample();
        let all: Vec<&str> = h.get_all("X-OBJECT-meta-color").collect();
        assert_eq!(all, ["blue", "red"]);
        assert_eq!(h.get_all("etag").count(), 0);
    }

    #[test]
    fn contains_is_case_insensitive() {
        let h = sample();
        assert!(h.contains("content-type"));
        assert!(!h.contains("content-typ"));
        assert!(!h.contains("content-type-x"));
    }

    #[test]
    fn names_keep_their_received_spelling() {
        let h = sample();
        let names: Vec<&str> = h.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["Content-Type", "X-Object-Meta-Color", "x-object-meta-color", "Content-Length"]);
    }

    #[test]
    fn append_keeps_existing_values() {
        let mut h = Headers::new();
        h.append("Via", "a");
        h.append("via", "b");
        assert_eq!(h.len(), 2);
        assert_eq!(h.get_all("VIA").collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn set_replaces_all_and_keeps_position_of_first() {
        let mut h = sample();
        h.set("X-OBJECT-META-COLOR", "green");
        let pairs: Vec<(&str, &str)> = h.iter().collect();
        assert_eq!(pairs, [("Content-Type", "text/plain"), ("X-OBJECT-META-COLOR", "green"), ("Content-Length", "4"),]);
    }

    #[test]
    fn set_appends_a_missing_header() {
        let mut h = sample();
        h.set("ETag", "abc");
        assert_eq!(h.len(), 5);
        assert_eq!(h.iter().last(), Some(("ETag", "abc")));
    }

    #[test]
    fn remove_drops_every_match_and_returns_the_first() {
        let mut h = sample();
        assert_eq!(h.remove("x-object-meta-color").as_deref(), Some("blue"));
        assert_eq!(h.len(), 2);
        assert!(!h.contains("X-Object-Meta-Color"));
        assert_eq!(h.remove("x-object-meta-color"), None);
    }

    #[test]
    fn empty_list_reports_empty() {
        let mut h = Headers::new();
        assert!(h.is_empty());
        assert_eq!(h.len(), 0);
        h.append("A", "1");
        assert!(!h.is_empty());
        h.remove("a");
        assert!(h.is_empty());
    }

    #[test]
    fn write_to_emits_one_crlf_line_per_header() {
        let mut h = Headers::new();
        h.append("Content-Length", "0");
        h.append("X-Trans-Id", "tx1");
        h.append("X-Empty", "");
        let mut out = b"HTTP/1.1 200 OK\r\n".to_vec();
        h.write_to(&mut out);
        assert_eq!(out, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Trans-Id: tx1\r\nX-Empty: \r\n");
    }

    #[test]
    fn debug_shows_pairs_in_order() {
        let mut h = Headers::new();
        h.append("A", "1");
        h.append("b", "2");
        assert_eq!(format!("{h:?}"), r#"{"A": "1", "b": "2"}"#);
    }

    #[test]
    fn clone_is_independent() {
        let h = sample();
        let mut c = h.clone();
        c.set("Content-Length", "5");
        assert_eq!(h.get("content-length"), Some("4"));
        assert_eq!(c.get("content-length"), Some("5"));
    }
}
