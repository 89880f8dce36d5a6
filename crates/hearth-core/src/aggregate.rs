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

    /// The figures people may see, or `None` when fewer than k answered. At the ends of each
    /// figure's range the "not all, not none" rule applies (see [`Shown`]).
    pub fn figures(&self, k: MinCount) -> Option<WeekFigures> {
        if self.respondents < u32::from(k.get()) {
            return None;
        }
        let n = self.respondents;
        let hours = self.paid_sum + self.unpaid_sum;
        Some(WeekFigures {
            respondents: n,
            mean_wellbeing: Shown::mean_wellbeing(self.who5_pct_sum, n),
            share_low_wellbeing: Shown::share(self.low_wellbeing, n),
            share_burnout: Shown::share(self.burnout, n),
            share_time_pressure: Shown::share(self.time_pressure, n),
            mean_paid_hours: Shown::mean_hours(self.paid_sum, n),
            mean_unpaid_hours: Shown::mean_hours(self.unpaid_sum, n),
            funding_share_of_hours: (hours > 0).then(|| Shown::share(self.funding_sum, hours)),
        })
    }
}

/// A figure as a group sees it: exact, or a band at one end of its range.
///
/// **The "not all, not none" rule.** At the ends of its range a figure says something about
/// every person who answered: a share of 100 % at burnout level 3 or above says each of them
/// was, an average paid time of 0 says nobody was paid, an average wellbeing of 8 out of 100 from
/// five people says all five were in the low range. So an end is never shown on its own: it is
/// merged with the nearest value at which the statement is no longer certain, and that band is
/// shown whichever of its values is true. A share of c out of n is "1 in n or less" for c of 0
/// or 1 and "n − 1 in n or more" for n − 1 or n; average wellbeing is a band up to 52 ÷ n (one
/// person at 52, the lowest score outside the low range, and everyone else at 0) and from
/// 100 − 52 ÷ n; average hours are "1 or less" up to one hour a head (so 0 is never shown), and
/// "99 or more" from there. What a person who answered can still tell from their own answer
/// (for example, that they were the one at burnout 3 when the share is "1 in 5 or less") is no
/// more than any count of one tells them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shown {
    Exact(f64),
    /// The figure is this or less.
    AtMost(f64),
    /// The figure is this or more.
    AtLeast(f64),
}

/// The lowest WHO-5 percentage outside the low-wellbeing range (scores move in steps of 4).
const FIRST_NOT_LOW: u32 = 52;

impl Shown {
    /// `count` people (or hours) out of `of`, as a share 0–1.
    pub fn share(count: u32, of: u32) -> Shown {
        let of_f = f64::from(of.max(1));
        if count <= 1 {
            Shown::AtMost(1.0 / of_f)
        } else if count + 1 >= of {
            Shown::AtLeast(f64::from(of - 1) / of_f)
        } else {
            Shown::Exact(f64::from(count) / of_f)
        }
    }

    /// The average WHO-5 percentage of `n` people whose percentages add up to `sum`.
    pub fn mean_wellbeing(sum: u32, n: u32) -> Shown {
        let n = n.max(1);
        let nf = f64::from(n);
        let top = 100 * n - FIRST_NOT_LOW;
        if sum <= FIRST_NOT_LOW {
            Shown::AtMost(f64::from(FIRST_NOT_LOW) / nf)
        } else if sum >= top {
            Shown::AtLeast(f64::from(top) / nf)
        } else {
            Shown::Exact(f64::from(sum) / nf)
        }
    }

    /// Average hours a head for `n` people whose hours add up to `sum`.
    pub fn mean_hours(sum: u32, n: u32) -> Shown {
        let n = n.max(1);
        let max = u32::from(crate::instruments::MAX_HOURS);
        if sum <= n {
            Shown::AtMost(1.0)
        } else if sum >= (max - 1) * n {
            Shown::AtLeast(f64::from(max - 1))
        } else {
            Shown::Exact(f64::from(sum) / f64::from(n))
        }
    }

    /// The figure itself, or the edge of its band: what a chart draws.
    pub fn value(self) -> f64 {
        match self {
            Shown::Exact(v) | Shown::AtMost(v) | Shown::AtLeast(v) => v,
        }
    }

    /// In words, with `number` writing the value ("20%" becomes "20% or less").
    pub fn describe(self, number: impl Fn(f64) -> String) -> String {
        match self {
            Shown::Exact(v) => number(v),
            Shown::AtMost(v) => format!("{} or less", number(v)),
            Shown::AtLeast(v) => format!("{} or more", number(v)),
        }
    }

    /// For a CSV cell: the number, or the band as `<=0.200` / `>=0.800`.
    pub fn cell(self, number: impl Fn(f64) -> String) -> String {
        match self {
            Shown::Exact(v) => number(v),
            Shown::AtMost(v) => format!("<={}", number(v)),
            Shown::AtLeast(v) => format!(">={}", number(v)),
        }
    }
}

/// What a group sees for a closed week with enough respondents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeekFigures {
    pub respondents: u32,
    /// Mean WHO-5 percentage, 0–100.
    pub mean_wellbeing: Shown,
    /// Shares are 0–1.
    pub share_low_wellbeing: Shown,
    pub share_burnout: Shown,
    pub share_time_pressure: Shown,
    pub mean_paid_hours: Shown,
    pub mean_unpaid_hours: Shown,
    /// Funding-paperwork hours as a share of all hours; `None` when nobody logged hours.
    pub funding_share_of_hours: Option<Shown>,
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
        assert_eq!(f.mean_wellbeing, Shown::Exact(60.0));
        assert_eq!(
            f.funding_share_of_hours,
            Some(Shown::Exact(8.0 / 60.0)),
            "8 funding hours of 60"
        );
        assert!(
            WeekTotals::default()
                .figures(MinCount::new(3).unwrap())
                .is_none()
        );
    }

    /// Every value in the same band as `of`, from the values `all` a figure can take.
    fn same_band<T: Copy>(
        all: impl Iterator<Item = T>,
        of: Shown,
        shown: impl Fn(T) -> Shown,
    ) -> Vec<T> {
        all.filter(|&x| shown(x) == of).collect()
    }

    #[test]
    fn no_share_says_all_or_none() {
        for n in 3..=40 {
            for c in 0..=n {
                let band = same_band(0..=n, Shown::share(c, n), |x| Shown::share(x, n));
                assert!(band.contains(&c));
                assert!(band.iter().any(|&x| x != 0), "{c} of {n} reads as none");
                assert!(band.iter().any(|&x| x != n), "{c} of {n} reads as all");
            }
        }
        assert_eq!(Shown::share(0, 5), Shown::AtMost(0.2));
        assert_eq!(Shown::share(1, 5), Shown::AtMost(0.2));
        assert_eq!(Shown::share(2, 5), Shown::Exact(0.4));
        assert_eq!(Shown::share(3, 5), Shown::Exact(0.6));
        assert_eq!(Shown::share(5, 5), Shown::AtLeast(0.8));
        assert_eq!(
            Shown::share(0, 5).describe(|v| format!("{:.0}%", v * 100.0)),
            "20% or less"
        );
    }

    #[test]
    fn no_average_wellbeing_says_all_low_or_none_low() {
        for n in 3..=30u32 {
            // WHO-5 percentages move in steps of 4, so their sums do too.
            let sums = || (0..=25 * n).map(|s| s * 4);
            for sum in sums() {
                let band = same_band(sums(), Shown::mean_wellbeing(sum, n), |x| {
                    Shown::mean_wellbeing(x, n)
                });
                // Someone outside the low range is possible (one at 52, the rest at 0 or more)…
                assert!(
                    band.iter().any(|&s| s >= FIRST_NOT_LOW),
                    "{sum}/{n}: all low"
                );
                // …and someone inside it (one at 48, the rest at 100 or less).
                assert!(
                    band.iter().any(|&s| s <= 100 * (n - 1) + 48),
                    "{sum}/{n}: none low"
                );
            }
        }
        assert_eq!(Shown::mean_wellbeing(40, 5), Shown::AtMost(10.4));
        assert_eq!(Shown::mean_wellbeing(500, 5), Shown::AtLeast(89.6));
    }

    #[test]
    fn no_average_hours_says_nobody_or_everyone_at_the_limit() {
        let max = u32::from(crate::instruments::MAX_HOURS);
        for n in 3..=20u32 {
            for sum in [0, 1, n - 1, n, n + 1, (max - 1) * n, max * n] {
                let band = same_band(0..=max * n, Shown::mean_hours(sum, n), |x| {
                    Shown::mean_hours(x, n)
                });
                assert!(band.iter().any(|&s| s > 0), "{sum}/{n}: nobody");
                assert!(
                    band.iter().any(|&s| s < max * n),
                    "{sum}/{n}: all at the limit"
                );
            }
        }
        assert_eq!(Shown::mean_hours(0, 5), Shown::AtMost(1.0));
        assert_eq!(Shown::mean_hours(12, 5), Shown::Exact(2.4));
    }

    #[test]
    fn a_whole_week_of_the_same_answer_shows_bands() {
        let five: Vec<_> = (0..5).map(|_| answers([1; 5], 4, 4)).collect();
        let f = WeekTotals::of(&five).figures(MinCount::default()).unwrap();
        assert_eq!(f.share_burnout, Shown::AtLeast(0.8));
        assert_eq!(f.share_low_wellbeing, Shown::AtLeast(0.8));
        // 5 × 20 = 100 could be one person at 52: not all low for certain, so exact.
        assert_eq!(f.mean_wellbeing, Shown::Exact(20.0));
        let zeros: Vec<_> = (0..5).map(|_| answers([0; 5], 1, 1)).collect();
        let f = WeekTotals::of(&zeros).figures(MinCount::default()).unwrap();
        assert_eq!(f.mean_wellbeing, Shown::AtMost(10.4));
        assert_eq!(f.share_burnout, Shown::AtMost(0.2));
    }
}
