//! Weekly email reminders: when one is due, and what it says. A reminder carries the group's
//! name and two links, nothing about anyone's answers or anyone else.

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

use crate::IsoWeek;

/// Reminders go out from this local hour on the group's chosen day.
pub const SEND_FROM_HOUR: u32 = 9;

/// The week a reminder is due for at `now`: on the group's `weekday` (ISO, 1 = Monday) from
/// [`SEND_FROM_HOUR`] local time until the day ends. A day the instance was not running is
/// skipped rather than made up later in the week.
pub fn due_week(now: DateTime<Utc>, tz: Tz, weekday: u8) -> Option<IsoWeek> {
    let local = now.with_timezone(&tz);
    (local.weekday().number_from_monday() == u32::from(weekday) && local.hour() >= SEND_FROM_HOUR)
        .then(|| IsoWeek::containing(now, tz))
}

/// A reminder's subject and plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderText {
    pub subject: String,
    pub body: String,
}

/// The reminder: the group's name, the check-in link and the link that stops reminders.
pub fn reminder_text(group_name: &str, checkin_link: &str, stop_link: &str) -> ReminderText {
    ReminderText {
        subject: format!("Your weekly check-in with {group_name}"),
        body: format!(
            "Hello,\n\n\
             This is your weekly reminder from {group_name}:\n\
             your check-in for this week is open. It takes about two minutes,\n\
             and your answers are seen by you alone.\n\n\
             {checkin_link}\n\n\
             If you have already checked in this week, thank you:\n\
             there is nothing more to do.\n\n\
             You get this because you asked for weekly reminders.\n\
             To stop them, open this link:\n\
             {stop_link}\n"
        ),
    }
}

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadAddress(pub &'static str);

/// Checks an email address's shape (one `@`, a dotted domain, no spaces, at most 254
/// characters) and returns it trimmed. Whether it reaches anyone only sending can tell.
pub fn parse_address(raw: &str) -> Result<String, BadAddress> {
    let a = raw.trim();
    if a.is_empty() {
        return Err(BadAddress("Enter an email address"));
    }
    if a.chars().count() > 254 {
        return Err(BadAddress("An email address is at most 254 characters"));
    }
    let Some((local, domain)) = a.split_once('@') else {
        return Err(BadAddress("Enter an email address like name@example.org"));
    };
    let bad = |s: &str| {
        s.is_empty()
            || s.chars().any(|c| {
                c.is_whitespace()
                    || c.is_control()
                    || matches!(c, '@' | '<' | '>' | ',' | ';' | '"')
            })
    };
    if bad(local)
        || bad(domain)
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(BadAddress("Enter an email address like name@example.org"));
    }
    Ok(a.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn due_on_the_chosen_day_from_nine_local_time() {
        let tz: Tz = "Europe/London".parse().unwrap();
        // Wednesday 2 December 2026.
        let at = |h, m| Utc.with_ymd_and_hms(2026, 12, 2, h, m, 0).unwrap();
        assert_eq!(due_week(at(8, 59), tz, 3), None);
        assert_eq!(
            due_week(at(9, 0), tz, 3),
            Some(IsoWeek::new(2026, 49).unwrap())
        );
        assert_eq!(due_week(at(23, 59), tz, 3).map(|w| w.week()), Some(49));
        assert_eq!(due_week(at(12, 0), tz, 2), None);
        // In Auckland it is already Thursday: 01:00 (too early), then 10:00.
        let nz: Tz = "Pacific/Auckland".parse().unwrap();
        assert_eq!(due_week(at(12, 0), nz, 3), None);
        assert_eq!(due_week(at(12, 0), nz, 4), None);
        assert!(due_week(at(21, 0), nz, 4).is_some());
    }

    #[test]
    fn the_text_holds_the_group_and_the_links_only() {
        let t = reminder_text(
            "Tuesday Circle",
            "https://h.example/checkin",
            "https://h.example/reminders/stop/abc",
        );
        assert!(t.subject.contains("Tuesday Circle"));
        assert!(t.body.contains("https://h.example/checkin\n"));
        assert!(t.body.contains("https://h.example/reminders/stop/abc\n"));
        assert!(!t.body.contains("{"), "every placeholder is filled");
    }

    #[test]
    fn addresses_are_checked_for_shape() {
        assert_eq!(
            parse_address("  sam@example.org ").unwrap(),
            "sam@example.org"
        );
        for bad in [
            "",
            "sam",
            "sam@",
            "@example.org",
            "sam@example",
            "sam @example.org",
            "a@b@c.org",
            "sam@example.org.",
            "x<y>@e.org",
        ] {
            assert!(parse_address(bad).is_err(), "{bad:?}");
        }
        assert!(parse_address(&format!("{}@example.org", "a".repeat(250))).is_err());
    }
}
