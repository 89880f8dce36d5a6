//! Periods. A check-in belongs to an ISO week in the group's time zone.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};
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

    pub fn next(self) -> Self {
        Self::of_date(self.monday() + chrono::Days::new(7))
    }

    /// The instant this week's group aggregate is frozen: the group's close weekday and hour
    /// after the week has ended, on the group's wall clock.
    pub fn closes_at(self, tz: Tz, close: WeekClose) -> DateTime<Utc> {
        let day =
            self.monday() + chrono::Days::new(7 + u64::from(close.weekday.num_days_from_monday()));
        let mut local = day
            .and_hms_opt(u32::from(close.hour), 0, 0)
            .unwrap_or_default();
        // A close hour that a clock change skips moves on to the next hour that exists.
        for _ in 0..3 {
            if let Some(t) = tz.from_local_datetime(&local).earliest() {
                return t.with_timezone(&Utc);
            }
            local += chrono::Duration::hours(1);
        }
        local.and_utc()
    }

    /// The newest week whose aggregate has closed by `now`.
    pub fn latest_closed(now: DateTime<Utc>, tz: Tz, close: WeekClose) -> Self {
        let mut w = Self::containing(now, tz).previous();
        while w.closes_at(tz, close) > now {
            w = w.previous();
        }
        w
    }

    /// "week of 24 Nov 2026": the Monday, for people rather than machines.
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

/// When a group's weeks close: a weekday and hour after the week ends, in the group's zone.
/// The default, Monday 00:00, closes each week the moment it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekClose {
    pub weekday: Weekday,
    pub hour: u8,
}

impl Default for WeekClose {
    fn default() -> Self {
        Self {
            weekday: Weekday::Mon,
            hour: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the week close must be a weekday from 1 (Monday) to 7 (Sunday) and an hour from 0 to 23")]
pub struct BadWeekClose;

impl WeekClose {
    /// `weekday` 1 = Monday … 7 = Sunday; `hour` 0–23.
    pub fn new(weekday: i64, hour: i64) -> Result<Self, BadWeekClose> {
        let weekday = match weekday {
            1 => Weekday::Mon,
            2 => Weekday::Tue,
            3 => Weekday::Wed,
            4 => Weekday::Thu,
            5 => Weekday::Fri,
            6 => Weekday::Sat,
            7 => Weekday::Sun,
            _ => return Err(BadWeekClose),
        };
        let hour = u8::try_from(hour)
            .ok()
            .filter(|h| *h < 24)
            .ok_or(BadWeekClose)?;
        Ok(Self { weekday, hour })
    }

    pub fn weekday_number(self) -> u8 {
        self.weekday.number_from_monday() as u8
    }

    /// "Monday at 00:00".
    pub fn describe(self) -> String {
        const NAMES: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        format!(
            "{} at {:02}:00",
            NAMES[self.weekday.num_days_from_monday() as usize],
            self.hour
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

#[cfg(test)]
mod close_tests {
    use super::*;
    use chrono::TimeZone;

    fn w(s: &str) -> IsoWeek {
        s.parse().unwrap()
    }

    #[test]
    fn by_default_a_week_closes_when_it_ends_in_the_groups_zone() {
        let london = chrono_tz::Europe::London;
        // 2026-W48 ends at Monday 30 Nov 00:00 London = 00:00 UTC (GMT).
        assert_eq!(
            w("2026-W48").closes_at(london, WeekClose::default()),
            Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
        );
        // In summer London is UTC+1.
        assert_eq!(
            w("2026-W27").closes_at(london, WeekClose::default()),
            Utc.with_ymd_and_hms(2026, 7, 5, 23, 0, 0).unwrap()
        );
    }

    #[test]
    fn a_later_close_gives_the_week_more_time() {
        let close = WeekClose::new(3, 12).unwrap(); // Wednesday 12:00
        let tz = chrono_tz::Europe::London;
        assert_eq!(
            w("2026-W48").closes_at(tz, close),
            Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap()
        );
        // Tuesday 1 Dec: W48 is over but not closed yet, so W47 is the newest closed week.
        let tue = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        assert_eq!(IsoWeek::latest_closed(tue, tz, close), w("2026-W47"));
        let thu = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
        assert_eq!(IsoWeek::latest_closed(thu, tz, close), w("2026-W48"));
        assert_eq!(
            IsoWeek::latest_closed(thu, tz, WeekClose::default()),
            w("2026-W48")
        );
    }

    #[test]
    fn a_close_hour_skipped_by_the_clock_change_moves_on() {
        // 29 Mar 2026 01:00 does not exist in London; a Sunday 01:00 close for W12 (closing
        // on Sunday 29 March) happens at 02:00 BST = 01:00 UTC.
        let close = WeekClose::new(7, 1).unwrap();
        assert_eq!(
            w("2026-W12").closes_at(chrono_tz::Europe::London, close),
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap()
        );
    }

    #[test]
    fn week_close_settings_are_validated() {
        for (d, h) in [(0, 0), (8, 0), (1, 24), (1, -1)] {
            assert_eq!(WeekClose::new(d, h), Err(BadWeekClose));
        }
        assert_eq!(WeekClose::new(2, 9).unwrap().describe(), "Tuesday at 09:00");
        assert_eq!(WeekClose::default().weekday_number(), 1);
    }
}
