//! Group aggregates for one closed week, and the minimum-count rule that guards them.
//!
//! Totals are integers so a frozen aggregate is stored exactly and stays byte-identical. The
//! figures people see are derived from totals only when at least k people answered.

use crate::checkin::CheckinAnswers;
use crate::scoring::{
    WellbeingBand, is_burnout, is_time_pressure, wellbeing_band, who5_percentage,
};
use crate::signal::{Measure, Signal};

/// The smallest k a group may choose, and the default.
pub const MIN_K: u8 = 3;
pub const DEFAULT_K: u8 = 5;
/// The largest k offered; beyond this most small groups would never see anything.
pub const MAX_K: u8 = 20;

/// The minimum number of respondents before a week's aggregate is shown. Never below 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MinCount(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the minimum count must be a whole number from {MIN_K} to {MAX_K}")]
pub struct BadMinCount;

impl MinCount {
    pub fn new(k: i64) -> Result<Self, BadMinCount> {
        u8::try_from(k)
            .ok()
            .filter(|k| (MIN_K..=MAX_K).contains(k))
            .map(MinCount)
            .ok_or(BadMinCount)
    }
    pub fn get(self) -> u8 {
        self.0
    }
    /// Below the default: the settings page warns about it.
    pub fn is_below_default(self) -> bool {
        self.0 < DEFAULT_K
    }
}

impl Default for MinCount {
    fn default() -> Self {
        MinCount(DEFAULT_K)
    }
}

/// Integer totals over one week's check-ins, one per member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WeekTotals {
    pub respondents: u32,
    pub who5_pct_sum: u32,
    pub low_wellbeing: u32,
    pub burnout: u32,
    pub time_pressure: u32,
    pub paid_sum: u32,
    pub unpaid_sum: u32,
    pub funding_sum: u32,
}

impl WeekTotals {
    pub fn of<'a>(answers: impl IntoIterator<Item = &'a CheckinAnswers>) -> Self {
        let mut t = WeekTotals::default();
        for a in answers {
            let pct = who5_percentage(a);
            t.respondents += 1;
            t.who5_pct_sum += u32::from(pct);
            t.low_wellbeing += u32::from(wellbeing_band(pct) != WellbeingBand::Other);
            t.burnout += u32::from(is_burnout(a));
            t.time_pressure += u32::from(is_time_pressure(a));
            t.paid_sum += u32::from(a.paid_hours());
            t.unpaid_sum += u32::from(a.unpaid_hours());
            t.funding_sum += u32::from(a.funding_hours());
        }
        t
    }

    /// How many in the week a sector measure counts, for the measures a week's totals keep.
    pub fn count_of(&self, m: Measure) -> Option<u32> {
        match m.signal() {
            Signal::LowWellbeing => Some(self.low_wellbeing),
            Signal::Burnout => Some(self.burnout),
            Signal::TimePressure => Some(self.time_pressure),
            _ => None,
        }
    }

    /// The figures people may see, or `None` when fewer than k answered.
    pub fn figures(&self, k: MinCount) -> Option<WeekFigures> {
        if self.respondents < u32::from(k.get()) {
            return None;
        }
        let n = f64::from(self.respondents);
        let hours = self.paid_sum + self.unpaid_sum;
        Some(WeekFigures {
            respondents: self.respondents,
            mean_wellbeing: f64::from(self.who5_pct_sum) / n,
            share_low_wellbeing: f64::from(self.low_wellbeing) / n,
            share_burnout: f64::from(self.burnout) / n,
            share_time_pressure: f64::from(self.time_pressure) / n,
            mean_paid_hours: f64::from(self.paid_sum) / n,
            mean_unpaid_hours: f64::from(self.unpaid_sum) / n,
            funding_share_of_hours: (hours > 0)
                .then(|| f64::from(self.funding_sum) / f64::from(hours)),
        })
    }
}

/// What a group sees for a closed week with enough respondents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeekFigures {
    pub respondents: u32,
    /// Mean WHO-5 percentage, 0–100.
    pub mean_wellbeing: f64,
    /// Shares are 0–1.
    pub share_low_wellbeing: f64,
    pub share_burnout: f64,
    pub share_time_pressure: f64,
    pub mean_paid_hours: f64,
    pub mean_unpaid_hours: f64,
    /// Funding-paperwork hours as a share of all hours; `None` when nobody logged hours.
    pub funding_share_of_hours: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkin::tests::answers;

    #[test]
    fn min_count_is_never_below_three() {
        for bad in [-1, 0, 1, 2, 21, 1000] {
            assert_eq!(MinCount::new(bad), Err(BadMinCount), "{bad}");
        }
        assert_eq!(MinCount::new(3).unwrap().get(), 3);
        assert!(MinCount::new(4).unwrap().is_below_default());
        assert!(!MinCount::default().is_below_default());
    }

    #[test]
    fn totals_count_each_answer_once() {
        let a = vec![
            answers([1, 1, 1, 1, 1], 3, 4), // 20 %: low, burnout, pressure
            answers([5, 5, 5, 5, 5], 1, 0), // 100 %
            answers([2, 2, 3, 3, 2], 2, 3), // 48 %: low, pressure
        ];
        let t = WeekTotals::of(&a);
        assert_eq!(t.respondents, 3);
        assert_eq!(t.who5_pct_sum, 168);
        assert_eq!((t.low_wellbeing, t.burnout, t.time_pressure), (2, 1, 2));
        assert_eq!((t.paid_sum, t.unpaid_sum, t.funding_sum), (30, 15, 6));
    }

    #[test]
    fn figures_appear_only_from_k_respondents() {
        let four: Vec<_> = (0..4).map(|_| answers([3; 5], 2, 1)).collect();
        let t = WeekTotals::of(&four);
        assert!(t.figures(MinCount::default()).is_none());
        let f = t.figures(MinCount::new(4).unwrap()).unwrap();
        assert_eq!(f.respondents, 4);
        assert!((f.mean_wellbeing - 60.0).abs() < 1e-9);
        assert!((f.funding_share_of_hours.unwrap() - 2.0 / 15.0).abs() < 1e-9);
        assert!(
            WeekTotals::default()
                .figures(MinCount::new(3).unwrap())
                .is_none()
        );
    }
}
