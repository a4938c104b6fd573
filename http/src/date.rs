//! HTTP dates (RFC 9110 §5.6.7): IMF-fixdate out, the three historic forms
//! in, and the `Date` header every response carries, formatted once per
//! second per thread.

use common::date::{civil_from_days, days_from_civil, MONTHS, WEEKDAYS};
use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// An IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(secs: u64) -> String {
    let days = secs / 86_400;
    let (year, month, day) = civil_from_days(days);
    let rem = secs % 86_400;
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Parses the three HTTP date forms (IMF-fixdate, RFC 850, asctime) to
/// seconds since the epoch. `None` for anything else (Swift then ignores the
/// header).
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
    let mut year: u64 = year.parse().ok()?;
    if year < 100 {
        year += if year < 70 { 2000 } else { 1900 };
    }
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 || !(1970..=9999).contains(&year) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec)
}

/// Parses an ISO 8601 UTC time as Python's `strptime` with
/// `%Y-%m-%dT%H:%M:%SZ` (Swift's temp URL expiry): a 4-digit year, other
/// fields of 1 or 2 digits, a real calendar day, from 1970 on.
pub fn parse_iso8601(s: &str) -> Option<u64> {
    let (date, time) = s.strip_suffix('Z')?.split_once('T')?;
    let field = |p: &str, max_len: usize| -> Option<u64> {
        (!p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse().ok())?
    };
    let mut d = date.splitn(3, '-');
    let (year, month, day) = (d.next()?, d.next()?, d.next()?);
    let mut t = time.splitn(3, ':');
    let (h, m, sec) = (field(t.next()?, 2)?, field(t.next()?, 2)?, field(t.next()?, 2)?);
    let (year, month, day) = (year.len() == 4).then(|| Some((field(year, 4)?, field(month, 2)?, field(day, 2)?)))??;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 61 || year < 1970 {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    (civil_from_days(days) == (year, month as u32, day as u32)).then_some(days * 86_400 + h * 3600 + m * 60 + sec)
}

/// The `Date` header's value for now: formatted at most once per second on
/// each thread.
pub(crate) fn with_now<R>(f: impl FnOnce(&str) -> R) -> R {
    thread_local! {
        static NOW: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    NOW.with(|now| {
        let mut now = now.borrow_mut();
        if now.0 != secs {
            *now = (secs, http_date(secs));
        }
        f(&now.1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_round_trip() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784111777));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784111777));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(784111777));
        for bad in ["yesterday", "Sun, 06 Nov 1969 08:49:37 GMT", "Sun, 32 Nov 1994 08:49:37 GMT", ""] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
        for s in [0u64, 951_782_400, 1_700_000_000, 4_102_444_800, 253_402_300_799] {
            assert_eq!(parse_http_date(&http_date(s)), Some(s));
        }
    }

    #[test]
    fn iso8601_times_parse_as_pythons_strptime() {
        assert_eq!(parse_iso8601("1994-11-06T08:49:37Z"), Some(784111777));
        assert_eq!(parse_iso8601("2000-2-29T0:0:0Z"), Some(951_782_400));
        for bad in ["1994-11-06T08:49:37", "1994-11-06 08:49:37Z", "94-11-06T08:49:37Z", "2001-02-29T00:00:00Z"] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
        for bad in ["1994-13-06T08:49:37Z", "1994-11-06T24:00:00Z", "1969-12-31T23:59:59Z", "+994-11-06T08:49:37Z"] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_date_header_is_now_and_formatted_once_a_second() {
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let first = with_now(str::to_string);
        let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let secs = parse_http_date(&first).unwrap();
        assert!((before..=after).contains(&secs), "{first}");
        // Within the same second the cached string is handed out again.
        let (a, b) = (with_now(|d| d.as_ptr()), with_now(|d| d.as_ptr()));
        let same_second = parse_http_date(&with_now(str::to_string)) == Some(secs);
        assert!(a == b || !same_second);
    }
}
