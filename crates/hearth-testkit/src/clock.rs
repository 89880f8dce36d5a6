//! The clock a test controls, shared by an instance's pages, federation and jobs.

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Utc};
use hearth_db::Clock;

/// Stands still until the test moves it, or, for an instance that federates over loopback,
/// runs on at the real rate from where it was last set: its deliveries wait real time before
/// a retry comes due, and `activitypub_federation` dates what it signs by the system clock, so
/// such a clock must not be set ahead of the system's by more than a signature's lifetime.
#[derive(Debug)]
pub struct TestClock(Mutex<Reading>);

#[derive(Debug)]
struct Reading {
    at: DateTime<Utc>,
    /// When `at` was read, for a clock that runs.
    since: Option<Instant>,
}

impl TestClock {
    /// A clock that stands at `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(Reading { at, since: None }))
    }

    /// A clock that reads `at` now and runs on from there.
    pub fn running(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(Reading {
            at,
            since: Some(Instant::now()),
        }))
    }

    /// Reads `at` from now on (and runs on from it, if it runs).
    pub fn set(&self, at: DateTime<Utc>) {
        let mut r = self.0.lock().unwrap_or_else(|p| p.into_inner());
        r.at = at;
        if r.since.is_some() {
            r.since = Some(Instant::now());
        }
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        let mut r = self.0.lock().unwrap_or_else(|p| p.into_inner());
        r.at += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        let r = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match r.since {
            Some(since) => r.at + chrono::Duration::from_std(since.elapsed()).unwrap_or_default(),
            None => r.at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_fixed_clock_moves_only_when_told_and_a_running_one_runs_on() {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let fixed = TestClock::fixed(at);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(fixed.now(), at);
        fixed.advance(chrono::Duration::days(7));
        assert_eq!(fixed.now(), at + chrono::Duration::days(7));
        let running = TestClock::running(at);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(running.now() > at);
        running.set(at - chrono::Duration::days(1));
        assert!(running.now() < at);
    }
}
