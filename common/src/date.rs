//! UTC calendar dates of unix seconds, for HTTP dates and log lines.

/// English weekday abbreviations, from Thursday (1970-01-01's weekday).
pub const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
/// English month abbreviations, `Jan` first.
pub const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

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

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`, for days ≥ 0).
pub fn civil_from_days(days: u64) -> (u64, u32, u32) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + u64::from(month <= 2), month, day)
}

/// Days from 1970-01-01 to a date from 1970 on (the inverse of
/// [`civil_from_days`]).
pub fn days_from_civil(year: u64, month: u32, day: u32) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let (era, yoe) = (y / 400, y % 400);
    let m = u64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + u64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
