//! Swift's timestamps (re-exported from `db`, which stores them) and the
//! HTTP dates derived from them (calendar arithmetic: `swiftlet_server::date`).

/// Swift's timestamp, shared with the container and account databases.
pub use db::Timestamp;

use swiftlet_server::date::{Civil, MONTHS};

/// Days since the epoch of a UTC date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(secs: u64) -> String {
    let c = Civil::from_secs(secs);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        c.weekday_name(),
        c.day,
        c.month_name(),
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// Parses the three HTTP date formats (IMF-fixdate, RFC 850, asctime) to
/// seconds since the epoch. `None` for anything else (the header is then
/// ignored, as Swift does).
pub fn parse_http_date(s: &str) -> Option<u64> {
    let words: Vec<&str> = s.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    let (day, month, year, time) = match words.as_slice() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        [_, d, m, y, t, "GMT"] => (*d, *m, *y, *t),
        // Sunday, 06-Nov-94 08:49:37 GMT
        [_, dmy, t, "GMT"] => {
            let mut p = dmy.split('-');
            let (d, m, y) = (p.next()?, p.next()?, p.next()?);
            (d, m, y, *t)
        }
        // Sun Nov  6 08:49:37 1994
        [_, m, d, t, y] => (*d, *m, *y, *t),
        _ => return None,
    };
    let day: u32 = day.parse().ok()?;
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? as u32 + 1;
    let mut year: i64 = year.parse().ok()?;
    if year < 100 {
        year += if year < 70 { 2000 } else { 1900 };
    }
    let mut hms = time.split(':').map(|p| p.parse::<u32>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 || year < 1970 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    u64::try_from(days * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(sec)).ok()
}

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

    #[test]
    fn http_dates_round_trip() {
        assert_eq!(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784111777));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784111777));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(784111777));
        assert_eq!(parse_http_date("yesterday"), None);
        for s in [0u64, 951_782_400, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse_http_date(&http_date(s)), Some(s));
        }
    }
}
