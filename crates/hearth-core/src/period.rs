//! Periods. A check-in belongs to an ISO week in the group's time zone.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;

/// An ISO 8601 week, e.g. `2026-W48`. Ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    year: i32,
    week: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ISO week (expected YYYY-Www, e.g. 2026-W05): {0:?}")]
pub struct BadIsoWeek(pub String);

impl IsoWeek {
    /// The week containing `now` as seen on a wall clock in `tz`.
    pub fn containing(now: DateTime<Utc>, tz: Tz) -> Self {
        Self::of_date(now.with_timezone(&tz).date_naive())
    }

    pub fn of_date(date: NaiveDate) -> Self {
        let w = date.iso_week();
        Self {
            year: w.year(),
            week: w.week(),
        }
    }

    pub fn new(year: i32, week: u32) -> Option<Self> {
        NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).map(|_| Self { year, week })
    }

    pub fn year(self) -> i32 {
        self.year
    }
    pub fn week(self) -> u32 {
        self.week
    }

    /// Monday of this week.
    pub fn monday(self) -> NaiveDate {
        // Construction guarantees the week exists.
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon).unwrap_or(NaiveDate::MIN)
    }

    pub fn previous(self) -> Self {
        Self::of_date(self.monday() - chrono::Days::new(7))
    }

    /// "24 Nov 2026" style label of the Monday, for people rather than machines.
    pub fn human_label(self) -> String {
        format!("week of {}", self.monday().format("%-d %b %Y"))
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl FromStr for IsoWeek {
    type Err = BadIsoWeek;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadIsoWeek(s.to_owned());
        let (y, w) = s.split_once("-W").ok_or_else(bad)?;
        if y.len() != 4 || w.len() != 2 {
            return Err(bad());
        }
        let year = y.parse().map_err(|_| bad())?;
        let week = w.parse().map_err(|_| bad())?;
        Self::new(year, week).ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn week_follows_the_group_time_zone_not_utc() {
        // Sunday 23:30 UTC on 29 Nov 2026 is already Monday in Auckland.
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 23, 30, 0).unwrap();
        assert_eq!(
            IsoWeek::containing(now, chrono_tz::Europe::London).to_string(),
            "2026-W48"
        );
        assert_eq!(
            IsoWeek::containing(now, chrono_tz::Pacific::Auckland).to_string(),
            "2026-W49"
        );
    }

    #[test]
    fn iso_weeks_cross_years_correctly() {
        // 1 Jan 2027 is a Friday, in 2026-W53.
        let d = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert_eq!(IsoWeek::of_date(d).to_string(), "2026-W53");
        assert_eq!(
            "2027-W01"
                .parse::<IsoWeek>()
                .unwrap()
                .previous()
                .to_string(),
            "2026-W53"
        );
    }

    #[test]
    fn parsing_round_trips_and_rejects_nonsense() {
        for s in ["2026-W01", "2026-W53", "1999-W10"] {
            assert_eq!(s.parse::<IsoWeek>().unwrap().to_string(), s);
        }
        for s in ["2025-W53", "2026-W00", "2026W01", "26-W01", "2026-W1", ""] {
            assert!(s.parse::<IsoWeek>().is_err(), "{s}");
        }
    }

    #[test]
    fn weeks_order_by_time() {
        let a: IsoWeek = "2025-W52".parse().unwrap();
        let b: IsoWeek = "2026-W01".parse().unwrap();
        assert!(a < b);
        assert_eq!(b.monday().to_string(), "2025-12-29");
        assert_eq!(b.human_label(), "week of 29 Dec 2025");
    }
}
