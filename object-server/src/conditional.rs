//! Conditional GET/HEAD, in swob's order: `If-None-Match` (304),
//! `If-Match` (412), `If-Modified-Since` (304), `If-Unmodified-Since`
//! (412). Dates compare at whole seconds against `Last-Modified`; a date
//! that does not parse is ignored.

use crate::timestamp::parse_http_date;

/// The outcome of the conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Proceed,
    NotModified,
    PreconditionFailed,
}

use common::etag::normalize_etag;

/// True if a `If-(None-)Match` list names `etag` or `*`.
pub fn matches(list: &str, etag: &str) -> bool {
    list.split(',').map(normalize_etag).filter(|t| !t.is_empty()).any(|t| t == "*" || t == etag)
}

/// The conditions of a request (header values) over an existing object.
pub struct Conditions<'a> {
    pub if_match: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<&'a str>,
    pub if_unmodified_since: Option<&'a str>,
}

impl Conditions<'_> {
    /// Evaluates against an object's ETag and `Last-Modified` seconds.
    pub fn evaluate(&self, etag: &str, last_modified: u64) -> Outcome {
        if self.if_none_match.is_some_and(|l| matches(l, etag)) {
            return Outcome::NotModified;
        }
        if self.if_match.is_some_and(|l| !matches(l, etag)) {
            return Outcome::PreconditionFailed;
        }
        if self.if_modified_since.and_then(parse_http_date).is_some_and(|ims| last_modified <= ims) {
            return Outcome::NotModified;
        }
        if self.if_unmodified_since.and_then(parse_http_date).is_some_and(|ius| last_modified > ius) {
            return Outcome::PreconditionFailed;
        }
        Outcome::Proceed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::http_date;

    const ETAG: &str = "d41d8cd98f00b204e9800998ecf8427e";

    fn cond<'a>(
        im: Option<&'a str>,
        inm: Option<&'a str>,
        ims: Option<&'a str>,
        ius: Option<&'a str>,
    ) -> Conditions<'a> {
        Conditions { if_match: im, if_none_match: inm, if_modified_since: ims, if_unmodified_since: ius }
    }

    #[test]
    fn etag_conditions() {
        let quoted = format!("\"{ETAG}\"");
        assert_eq!(cond(Some(&quoted), None, None, None).evaluate(ETAG, 10), Outcome::Proceed);
        assert_eq!(cond(Some("*"), None, None, None).evaluate(ETAG, 10), Outcome::Proceed);
        assert_eq!(cond(Some("\"other\""), None, None, None).evaluate(ETAG, 10), Outcome::PreconditionFailed);
        assert_eq!(cond(None, Some(ETAG), None, None).evaluate(ETAG, 10), Outcome::NotModified);
        assert_eq!(cond(None, Some("a, *"), None, None).evaluate(ETAG, 10), Outcome::NotModified);
        assert_eq!(cond(None, Some("\"other\""), None, None).evaluate(ETAG, 10), Outcome::Proceed);
        // If-None-Match is checked first.
        assert_eq!(cond(Some("nope"), Some(ETAG), None, None).evaluate(ETAG, 10), Outcome::NotModified);
    }

    #[test]
    fn date_conditions_compare_whole_seconds() {
        let t = 1_700_000_000;
        let at = http_date(t);
        let before = http_date(t - 1);
        assert_eq!(cond(None, None, Some(&at), None).evaluate(ETAG, t), Outcome::NotModified);
        assert_eq!(cond(None, None, Some(&before), None).evaluate(ETAG, t), Outcome::Proceed);
        assert_eq!(cond(None, None, None, Some(&at)).evaluate(ETAG, t), Outcome::Proceed);
        assert_eq!(cond(None, None, None, Some(&before)).evaluate(ETAG, t), Outcome::PreconditionFailed);
        assert_eq!(cond(None, None, Some("garbage"), Some("garbage")).evaluate(ETAG, t), Outcome::Proceed);
    }
}
