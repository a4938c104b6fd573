//! UTC calendar dates of unix seconds, for HTTP dates and log lines.

use http::date::{civil_from_days, MONTHS, WEEKDAYS};

/// A UTC calendar time, enough for HTTP dates and log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Thursday (the epoch's weekday); index into `WEEKDAYS`.
    weekday: usize,
}

impl Civil {
    /// Seconds since the epoch to a UTC date.
    pub fn from_secs(secs: u64) -> Civil {
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year: year as i64,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem / 60 % 60) as u32,
            second: (rem % 60) as u32,
            weekday: (days % 7) as usize,
        }
    }

    /// The month's English abbreviation (`Jan`).
    pub fn month_name(&self) -> &'static str {
        MONTHS[(self.month - 1) as usize]
    }

    /// The weekday's English abbreviation (`Sun`).
    pub fn weekday_name(&self) -> &'static str {
        WEEKDAYS[self.weekday]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_become_utc_dates() {
        let c = Civil::from_secs(784111777);
        assert_eq!((c.year, c.month, c.day, c.hour, c.minute, c.second), (1994, 11, 6, 8, 49, 37));
        assert_eq!((c.weekday_name(), c.month_name()), ("Sun", "Nov"));
        let leap = Civil::from_secs(951_782_400);
        assert_eq!((leap.year, leap.month, leap.day, leap.weekday_name()), (2000, 2, 29, "Tue"));
    }
}
