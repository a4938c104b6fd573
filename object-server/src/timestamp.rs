//! Swift's timestamps (`common`'s, which the databases store too) and the
//! HTTP dates derived from them (`http::date`).

/// Swift's timestamp, shared with the container and account databases.
pub use common::Timestamp;

pub use http::date::{http_date, parse_http_date};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_swift_forms() {
        let t = Timestamp::parse("1700000000.12345").unwrap();
        assert_eq!(t.normal(), "1700000000.12345");
        assert_eq!(t.internal(), "1700000000.12345");
        assert_eq!(Timestamp::parse("1700000000").unwrap().normal(), "1700000000.00000");
        assert_eq!(Timestamp::parse("1.5").unwrap().normal(), "0000000001.50000");
        assert_eq!(Timestamp::parse("1700000000.123456").unwrap().normal(), "1700000000.12346");
        let o = Timestamp::parse("1700000000.12345_000000000000000a").unwrap();
        assert_eq!(o.internal(), "1700000000.12345_000000000000000a");
        assert!(o > t);
    }

    #[test]
    fn rejects_malformed_timestamps() {
        for bad in ["", "abc", "-1", "1e9", "1.2.3", "10000000000", "1_", "1_xyz", ".", "1 2"] {
            assert!(Timestamp::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn orders_like_swift_and_like_file_names() {
        let a = Timestamp::parse("999999999.99999").unwrap();
        let b = Timestamp::parse("1000000000.00000").unwrap();
        assert!(a < b);
        assert!(a.internal() < b.internal());
        let c = Timestamp::parse("1000000000.00000_0000000000000001").unwrap();
        assert!(b < c && b.internal() < c.internal());
    }

    #[test]
    fn last_modified_rounds_up() {
        assert_eq!(Timestamp::parse("1700000000.00001").unwrap().ceil_secs(), 1_700_000_001);
        assert_eq!(Timestamp::parse("1700000000").unwrap().ceil_secs(), 1_700_000_000);
    }
}
