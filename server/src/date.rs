//! UTC calendar dates of unix seconds, for HTTP dates and log lines.

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// English month abbreviations, `Jan` first (as in HTTP dates).
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
    /// 0 = Thursday (the epoch's weekday); index into `DAYS`.
    weekday: usize,
}

impl Civil {
    /// Seconds since the epoch to a UTC date (Howard Hinnant's algorithm).
    pub fn from_secs(secs: u64) -> Civil {
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem / 60 % 60) as u32,
            second: (rem % 60) as u32,
            weekday: (days.rem_euclid(7)) as usize,
        }
    }

    /// The month's English abbreviation (`Jan`).
    pub fn month_name(&self) -> &'static str {
        MONTHS[(self.month - 1) as usize]
    }

    /// The weekday's English abbreviation (`Sun`).
    pub fn weekday_name(&self) -> &'static str {
        DAYS[self.weekday]
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
